#!/usr/bin/env bash
# The README's main job: set up, ingest the starter corpus (../shared/data), answer the seed case.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
DATA="${MEDCITE_DATA:-../shared/data}"
.venv/bin/medcite ingest "$DATA" --index medcite.db
.venv/bin/medcite stats --index medcite.db
.venv/bin/medcite ask --index medcite.db --file examples/seed-case.txt
