"""Answer latency benchmark: p50 / p95 wall time of `medcite.compose.answer.ask` on a full index.

Questions: BioASQ 12b question bodies, K-QA patient questions, and our label-check cases (worded
from the shared FDA labels), plus the seed case. The first call (which loads the case resources and the embedding model,
~1.5 s, once per process and corpus version) is reported apart as "cold".

    medcite ingest /work/shared/data --index /tmp/full.db
    python bench/answer.py --index /tmp/full.db [--n 20] [--mode hybrid]

Not a test: it prints a table, it asserts nothing. Target: p50 <= 0.5 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from medcite.compose.answer import ask
from medcite.index.store import open_store
from medcite.settings import load_settings

SHARED = Path(os.environ.get("MEDCITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-case.txt"

# Label-check cases worded from the shared labels (Afinitor, Zortress, Tegretol, Xeloda).
CASES = [
    "A 58-year-old woman with progressive, metastatic pancreatic neuroendocrine tumor (PNET) is started on everolimus 10 mg orally once daily.",
    "A 58-year-old woman with progressive, metastatic pancreatic neuroendocrine tumor (PNET) is started on everolimus 5 mg orally once daily.",
    "A 55-year-old woman with a functional carcinoid tumor and carcinoid syndrome is prescribed everolimus 10 mg orally once daily.",
    "A 45-year-old kidney transplant recipient at low-moderate immunologic risk is started on everolimus 0.75 mg orally twice daily, "
    "with basiliximab induction, reduced-dose cyclosporine and corticosteroids.",
    "A 62-year-old man with advanced renal cell carcinoma (RCC) after failure of treatment with sunitinib is started on everolimus 10 mg orally once daily.",
    "A patient with metastatic colorectal cancer is prescribed Xeloda 1250 mg/m2 orally twice daily for the first 14 days of each 21-day cycle.",
    "A 34-year-old Han Chinese man with epilepsy (partial seizures) tests positive for HLA-B*1502. Carbamazepine 200 mg twice daily is planned.",
    "A 70-year-old woman with Stage III colon cancer after resection, who takes warfarin for atrial fibrillation, is to start adjuvant capecitabine "
    "1,250 mg/m2 orally twice daily for the first 14 days of each 21-day cycle. Her CrCl is 40 mL/min.",
]


def questions(shared: Path, n: int) -> list[tuple[str, str]]:
    """Return (source, question) pairs: n BioASQ bodies, n K-QA questions, the cases, the seed."""
    out: list[tuple[str, str]] = []
    golden = sorted((shared / "bioasq_12b_golden").glob("*_golden.json"))
    if golden:
        qs = json.loads(golden[0].read_text(encoding="utf-8"))["questions"]
        out += [("bioasq", q["body"]) for q in qs[:n]]
    kqa = shared / "eval_kqa" / "questions.jsonl"
    if kqa.exists():
        with kqa.open(encoding="utf-8") as fh:
            lines = [json.loads(line) for _, line in zip(range(n), fh)]
        out += [("kqa", q["Question"]) for q in lines]
    out += [("case", c) for c in CASES]
    if SEED.exists():
        out.append(("seed", SEED.read_text().strip()))
    return out


def pct(values: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="/tmp/full.db")
    parser.add_argument("--n", type=int, default=15, help="questions per public set (BioASQ, K-QA)")
    parser.add_argument("--mode", choices=["bm25", "dense", "hybrid"], default=None)
    args = parser.parse_args()
    settings = load_settings(index_path=args.index, retrieval_mode=args.mode)
    store = open_store(args.index, readonly=True)
    qs = questions(SHARED, args.n)
    t0 = time.perf_counter()
    ask(store, qs[0][1], settings=settings)
    cold = time.perf_counter() - t0
    times: dict[str, list[float]] = {}
    dropped = sentences = 0
    for source, q in qs:
        t = time.perf_counter()
        answer = ask(store, q, settings=settings)
        times.setdefault(source, []).append(time.perf_counter() - t)
        dropped += answer.verification["dropped"]
        sentences += answer.verification["sentences"]
    version = store.corpus_version()
    store.close()
    table = Table(title=f"ask latency — {args.index} (mode {settings.retrieval_mode}, corpus version {version})")
    for col in ("questions", "n", "p50 s", "p95 s", "max s"):
        table.add_column(col, justify="right" if col != "questions" else "left")
    every = [x for v in times.values() for x in v]
    for source, values in list(times.items()) + [("all", every)]:
        table.add_row(source, str(len(values)), f"{statistics.median(values):.3f}", f"{pct(values, 95):.3f}", f"{max(values):.3f}")
    console = Console()
    console.print(table)
    console.print(f"cold first call (loads the case resources and the embedding model): {cold:.2f} s; "
                  f"sentences kept {sentences}, dropped by verification {dropped}")


if __name__ == "__main__":
    main()
