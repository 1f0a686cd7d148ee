#!/usr/bin/env bash
# Set up (or bring up to date) the project's virtual environment in .venv and build the sample session.
# Idempotent and quick when nothing changed. Needs Python 3.11 and the PyPI registry.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python_bin="$candidate"; break
    fi
  done
fi
[ -n "$python_bin" ] || { echo "setup: Python 3.11 is required (mediapipe 0.10.21 wheels)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi

stamp=".venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing dependencies (first run takes a few minutes: torch is large)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --progress-bar off -e '.[dev]'
  .venv/bin/python -m pip check
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# A command from a Debian package that some tests need: installed when missing and we can (root with
# apt-get), else those tests skip, and this says so. Usage: debian_tool COMMAND PACKAGE WHAT-NEEDS-IT
debian_tool() {
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing $1 ($3)"
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$2" >/dev/null; } ||
      echo "setup: could not install $1: $3 will skip" >&2
  else
    echo "setup: no $1 (apt-get install $2 as root): $3 will skip" >&2
  fi
}

# Headless Chromium: `integrity screenshot` and the dashboard's test (which skips without it). ~15 s once.
debian_tool chromium chromium "integrity screenshot, the dashboard test"
# promtool, from Debian's prometheus package: the alert rules' tests (tests/unit/test_alert_rules.py).
debian_tool promtool prometheus "the alert rules' tests"

if [ ! -f .integrity/sample-session/manifest.json ]; then
  .venv/bin/integrity sample
fi
