# Everything runs from a project-local virtual environment; `make demo` and `make test` set it up.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Other supported Pythons for `make test-pythons`: the newest (pyproject says >= 3.11; the oldest,
# 3.11, is the machine's python3 that `make test` runs).
PYTHONS ?= 3.13
# Another apt-get (unattended upgrades, a second job) may hold the dpkg lock: wait for it, don't fail.
APT_GET := apt-get -o DPkg::Lock::Timeout=600

.PHONY: demo test test-fast test-pythons browser-deps bench notebooks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## The main job: execute the quickstart notebook on the local Bedrock service and print its result.
demo: $(STAMP)
	$(PY) scripts/run_notebook.py notebooks/quickstart.ipynb

## The whole test suite (installs Debian's chromium for the browser tests when run as root).
test: $(STAMP) browser-deps
	$(PY) -m pytest

## Everything but the browser and notebook-kernel tests.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not browser and not kernel"

## The fast subset on each of $(PYTHONS), in .venv-X.Y (a Python not on the machine is skipped, saying so).
test-pythons:
	bash scripts/test_other_pythons.sh $(PYTHONS)

browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then $(APT_GET) update -qq && $(APT_GET) install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' (browser tests will skip)"; fi; \
	fi

bench: $(STAMP)
	$(PY) benchmarks/bench_local_service.py
	$(PY) benchmarks/bench_magics.py
	$(PY) benchmarks/bench_batch.py

## Execute every notebook on the local service (what CI does in tests/test_notebooks.py).
notebooks: $(STAMP)
	$(PY) scripts/run_notebook.py notebooks/*.ipynb

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache build *.egg-info
