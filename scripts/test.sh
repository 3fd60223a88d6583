#!/usr/bin/env bash
# The README's test command: set up the venv, then run the whole suite on ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/python -m pytest -q
