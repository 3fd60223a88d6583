#!/usr/bin/env bash
# Create .venv and install medcite with its test extras (PyPI only; no model hub downloads).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'
