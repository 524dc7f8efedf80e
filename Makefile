# Everything runs from a project-local virtual environment; `make demo` and `make test` set it up.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast browser-deps bench notebooks clean

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

browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
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
	rm -rf $(VENV) .pytest_cache build *.egg-info
