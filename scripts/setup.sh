#!/usr/bin/env bash
# nasviz set-up: installs everything, then starts the dashboard (`run`, default) or runs the tests (`test`).
#   bash scripts/setup.sh run    # install + start the dashboard on http://localhost:8501
#   bash scripts/setup.sh test   # install + run the test suite
# Environment: NASVIZ_VENV (default .venv), PYTHON (default python3.11 or python3), NASVIZ_DATA (benchmark
# source files for the tests, e.g. ../shared/data).
set -euo pipefail

mode="${1:-run}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf '\033[1mnasviz setup:\033[0m %s\n' "$*" >&2; }

# ---- Debian packages: graphviz (cell drawings), chromium (figure export, browser tests) -----------------
need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  if command -v python3.11 >/dev/null 2>&1; then python_bin=python3.11; else python_bin=python3; fi
fi
"$python_bin" -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null; }
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    say "installing Debian packages with sudo: ${need_apt[*]}"
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
  else
    say "missing Debian packages: ${need_apt[*]}. Install them with:"
    say "    sudo apt-get install -y ${need_apt[*]}"
    say "(without them, cell drawings and figure export are unavailable)"
  fi
fi

# ---- Python environment ------------------------------------------------------------------------------------
venv="${NASVIZ_VENV:-$root/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  say "creating the virtual environment $venv"
  "$python_bin" -m venv "$venv"
fi
py="$venv/bin/python"
pip_quiet=(-q --disable-pip-version-check)
if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  # a bare `torch` requirement pulls a multi-GB CUDA build: take the CPU wheel, from a local wheel
  # directory when pip is configured with one (find-links), else from the PyTorch CPU index
  say "installing PyTorch 2.13.0 (CPU)"
  if "$py" -m pip install "${pip_quiet[@]}" --no-index --no-deps torch==2.13.0 >/dev/null 2>&1; then
    "$py" -m pip install "${pip_quiet[@]}" torch==2.13.0
  else
    "$py" -m pip install "${pip_quiet[@]}" torch==2.13.0 \
      --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
  fi
fi
stamp="$venv/.nasviz-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  say "installing nasviz and its Python dependencies"
  "$py" -m pip install "${pip_quiet[@]}" -r requirements.txt
  "$py" -m pip install "${pip_quiet[@]}" --no-deps -e .
  touch "$stamp"
fi

case "$mode" in
  run)
    say "starting the dashboard (Ctrl-C to stop)"
    exec "$venv/bin/streamlit" run app.py "$@"
    ;;
  test)
    say "running the tests"
    exec "$py" -m pytest -q -p no:cacheprovider "$@"
    ;;
  install)
    say "installed; activate with: source $venv/bin/activate"
    ;;
  *)
    say "unknown mode '$mode': use run, test or install"
    exit 2
    ;;
esac
