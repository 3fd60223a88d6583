"""Label-check benchmark: per-field accuracy, unsafe verdicts and latency per case on benchmark files.

    medcite ingest /work/shared/data --index /tmp/full.db
    python bench/labelcheck.py --index /tmp/full.db [FILE ...]

FILE defaults to ../shared/benchmarks/label-check/dev.jsonl. Each case runs through the product's
label check (`medcite.eval.labelcheck`, the code behind `medcite eval labelcheck`); the table has
one row per file: cases right, unsafe verdicts (expected mismatch / not_indicated / off_label, got
matches / on_label), accuracy of each field and p50 / p95 milliseconds per case (the first case,
which builds the drug lexicon, is timed too). Not a test: it prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.table import Table

from medcite.eval.labelcheck import FIELDS, evaluate_labelcheck, read_cases
from medcite.index.store import open_store
from medcite.records import RecordError
from medcite.render.tables import console

SHARED = Path(os.environ.get("MEDCITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")).parent
DEV = SHARED / "benchmarks" / "label-check" / "dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=[DEV])
    parser.add_argument("--index", required=True)
    args = parser.parse_args()
    store = open_store(args.index, readonly=True)
    table = Table(title=f"Label check on {args.index}")
    for col in ("file", "cases", "right", "unsafe", *FIELDS, "alerts", "p50 ms", "p95 ms"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for path in args.files:
        cases = [c for c in read_cases(path) if not isinstance(c, RecordError)]
        score = evaluate_labelcheck(store, cases).to_dict()
        cells = [f"{f['right']}/{f['scored']}" if f["scored"] else "-" for f in score["fields"].values()]
        table.add_row(path.name, str(score["cases"]), str(score["correct"]), str(score["unsafe"]), *cells,
                      f"{score['seconds_p50'] * 1000:.0f}", f"{score['seconds_p95'] * 1000:.0f}")
    store.close()
    console.print(table)


if __name__ == "__main__":
    main()
