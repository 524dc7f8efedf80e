#!/usr/bin/env bash
# The fast test subset on other supported Pythons (default: the newest, 3.13), each in its own venv
# (.venv-3.13). pyproject.toml says Python >= 3.11; the main run (`make test`) covers the machine's
# default Python, the oldest supported one.
#
# Where an interpreter comes from, in order: one already on the machine (python3.X on PATH, pyenv's
# versions, /usr/bin, /usr/local/bin), else Debian's python3.X package when apt knows one (as
# root). Nothing is downloaded from anywhere else. A version that can't be found is skipped with
# one line saying so; a test failure fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_LOCK_WAIT=(-o DPkg::Lock::Timeout=600)  # another apt-get may hold the dpkg lock: wait for it
MARKERS=${MARKERS:-"not browser and not kernel"}

version_of() {  # "3.10" for a Python 3.10 interpreter, nothing if it doesn't run
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

usable() {  # the interpreter is version $2 and can make a venv with pip
  [ -x "$1" ] && [ "$(version_of "$1")" = "$2" ] && "$1" -c 'import venv, ensurepip' 2>/dev/null
}

find_python() {  # print the path of a usable Python $1, installing Debian's if need be
  local v=$1 candidate
  local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
  for candidate in "$(command -v "python$v" || true)" \
                   $(ls -d "$pyenv_root"/versions/"$v".*/bin/python 2>/dev/null | sort -V -r) \
                   "/usr/bin/python$v" "/usr/local/bin/python$v"; do
    if [ -n "$candidate" ] && usable "$candidate" "$v"; then
      echo "$candidate"
      return 0
    fi
  done
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    local apt_candidate
    apt_candidate=$(apt-cache policy "python$v" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -n "$apt_candidate" ] && [ "$apt_candidate" != "(none)" ]; then
      echo "installing Debian's python$v ($apt_candidate)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK_WAIT[@]}" install -y -qq "python$v" "python$v-venv" >/dev/null
      if usable "/usr/bin/python$v" "$v"; then
        echo "/usr/bin/python$v"
        return 0
      fi
    fi
  fi
  return 1
}

status=0
for v in "${@:-3.13}"; do
  for version in $v; do
    if ! python=$(find_python "$version"); then
      echo "SKIPPED Python $version: not on this machine (PATH, pyenv, /usr/bin) and no Debian package for it"
      continue
    fi
    venv=".venv-$version"
    started=$(date +%s)
    if [ ! -f "$venv/.installed" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
      "$python" -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --upgrade pip
      "$venv/bin/python" -m pip install --quiet -e ".[dev]"
      touch "$venv/.installed"
    fi
    installed=$(date +%s)
    echo "== Python $version ($python): pytest -m \"$MARKERS\""
    if ! "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "$MARKERS"; then
      status=1
    fi
    finished=$(date +%s)
    echo "== Python $version: venv $((installed - started)) s, tests $((finished - installed)) s"
  done
done
exit $status
