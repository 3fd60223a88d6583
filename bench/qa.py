"""Answer quality and latency on real questions: K-QA and MedicationQA through `medcite eval qa`.

Prints one table: per file and split, intent accuracy (MedicationQA), answered vs abstained, the
must-have recall proxy (content words, MiniLM similarity), mean answer length, ask p50 / p95; then
the wall time of a cold `medcite ask` process on the seed case (median of --cold runs).

    python bench/qa.py --index /tmp/full.db [--limit N] [--cold 3]

K-QA lines whose index is a multiple of 8 are the evaluation split: rules are developed on the
others and these are only ever reported. Not a test: it prints a table, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from medcite.eval.qa import evaluate_qa
from medcite.index.store import open_store
from medcite.settings import load_settings

SHARED = Path(os.environ.get("MEDCITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-case.txt"
FILES = [("K-QA", SHARED / "eval_kqa" / "questions_w_answers.jsonl", False),
         ("MedicationQA", SHARED / "eval_medicationqa" / "medicationqa.json", True)]


def cold_start(index: str, runs: int) -> list[float]:
    """Return the wall seconds of `runs` fresh `medcite ask --file seed-case.txt` processes."""
    script = Path(sys.executable).with_name("medcite")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "medcite.cli"]
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(command + ["ask", "--index", index, "--file", str(SEED)],
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        out.append(time.perf_counter() - t0)
    return out


def _fmt(v, digits: int = 3) -> str:
    return "—" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="/tmp/full.db")
    parser.add_argument("--limit", type=int, default=None, help="questions per split")
    parser.add_argument("--cold", type=int, default=3, help="cold `medcite ask` runs (0: skip)")
    parser.add_argument("--medicationqa-answers", action="store_true", help="also answer MedicationQA (slow)")
    args = parser.parse_args()
    settings = load_settings(index_path=args.index)
    store = open_store(args.index, readonly=True)
    table = Table(title=f"answers — {args.index} (settings {settings.hash()}, corpus version {store.corpus_version()})")
    for col in ("file", "split", "n", "intent acc.", "answered", "abstained", "content words", "MiniLM", "answer words",
                "p50 s", "p95 s"):
        table.add_column(col, justify="left" if col in ("file", "split") else "right")
    for name, path, intents in FILES:
        if not path.exists():
            continue
        only = intents and not args.medicationqa_answers
        for r in evaluate_qa(store, path, settings, split="all", limit=args.limit, intent_only=only):
            s = r.summary()
            table.add_row(name, s["split"], str(s["questions"]), _fmt(s["intent"]["accuracy"]),
                          "—" if only else str(s["answered"]), "—" if only else str(s["abstained"]),
                          _fmt(s["recall_proxy"]["content_words"]), _fmt(s["recall_proxy"]["minilm"]),
                          _fmt(s["answer_words"], 0), _fmt(s["latency"]["p50"]), _fmt(s["latency"]["p95"]))
    store.close()
    console = Console()
    console.print(table)
    if args.cold:
        runs = cold_start(args.index, args.cold)
        console.print(f"cold `medcite ask --file examples/seed-case.txt`: median {statistics.median(runs):.2f} s "
                      f"(runs: {', '.join(f'{x:.2f}' for x in runs)})")


if __name__ == "__main__":
    main()
