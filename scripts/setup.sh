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

# Headless Chromium: `integrity screenshot` and the dashboard's test (which skips without it). ~15 s once.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium (integrity screenshot, the dashboard test)"
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } ||
      echo "setup: could not install chromium: the dashboard test will skip" >&2
  else
    echo "setup: no chromium (apt-get install chromium as root): the dashboard test will skip" >&2
  fi
fi

# promtool, from Debian's prometheus package: the alert rules' tests (tests/unit/test_alert_rules.py) skip without it.
if ! command -v promtool >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing promtool (the alert rules' tests)"
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } ||
      echo "setup: could not install promtool: the alert rules' tests will skip" >&2
  else
    echo "setup: no promtool (apt-get install prometheus as root): the alert rules' tests will skip" >&2
  fi
fi

if [ ! -f .integrity/sample-session/manifest.json ]; then
  .venv/bin/integrity sample
fi
