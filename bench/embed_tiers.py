"""What embedding every tier (labels and guidelines too) does to answer retrieval, against research only.

    python bench/embed_tiers.py --research IDX_R --all IDX_A [--limit N] [--json]

IDX_R and IDX_A hold the same ingested corpus; IDX_R has vectors for the research tier only
(`MEDCITE_DENSE_TIERS=research`, the default), IDX_A for every tier (`MEDCITE_DENSE_TIERS=all`). On the
K-QA development questions (lines whose index is not a multiple of 8: the evaluation split is never
looked at) it prints, for each index:
- evidence recall: for each tier, the share of each must-have statement's content words found in the
  passages answering retrieves for it (hybrid, k_guideline / k_label / k_research per tier), averaged;
- the answers (`medcite eval qa`): answered / abstained, content words, MiniLM, ask p50 / p95;
- vectors per tier and their disk (embeddings rows in SQLite + the dense matrix).
Embedding time is not measured here (it is `sync_embeddings`' progress; see docs/scale.md).
Not a test: it prints a table, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from medcite.eval.qa import content_word_recall, evaluate_qa, in_split, load_items
from medcite.index.embed import DIM
from medcite.index.store import open_store
from medcite.retrieve.search import search_passages
from medcite.settings import load_settings

SHARED = Path(os.environ.get("MEDCITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
KQA = SHARED / "eval_kqa" / "questions_w_answers.jsonl"
TIERS = ("guideline", "label", "research")


def evidence_recall(store, settings, limit: int | None) -> dict[str, float]:
    """Return, per tier, the mean must-have content-word recall of the passages retrieved for K-QA dev."""
    dataset, items = load_items(KQA)
    chosen = [it for it in items if in_split(dataset, it.index, "dev")][:limit]
    k = {"guideline": settings.k_guideline, "label": settings.k_label, "research": settings.k_research}
    out = {}
    for tier in TIERS:
        shares = []
        for it in chosen:
            hits = search_passages(store, it.question, k=k[tier], tier=tier, settings=settings)
            share = content_word_recall(it.statements, [h.text for h in hits])
            if share is not None:
                shares.append(share)
        out[tier] = round(statistics.fmean(shares), 4)
    return out


def vectors(store) -> dict[str, int]:
    """Return the vectors per tier and their bytes (rows of 384 float32, stored twice: table and matrix)."""
    stats = store.stats()
    dense = store.search_dir / "dense"
    matrix = sum(p.stat().st_size for p in dense.rglob("*") if p.is_file()) if dense.exists() else 0
    return {"embeddings": stats["embeddings"], "vector_mb": round(stats["embeddings"] * DIM * 4 / 1e6, 1),
            "matrix_mb": round(matrix / 1e6, 1), "index_mb": round(stats["index_bytes"] / 1e6, 1)}


def measure(index: str, limit: int | None) -> dict:
    """Return every measure of one index."""
    settings = load_settings(index_path=index)
    store = open_store(index, readonly=True)
    try:
        recall = evidence_recall(store, settings, limit)
        summary = evaluate_qa(store, KQA, settings, split="dev", limit=limit)[0].summary()
        return {"index": index, "evidence_recall": recall, "answers": summary, **vectors(store)}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--research", required=True, help="index with research vectors only")
    parser.add_argument("--all", dest="all_tiers", required=True, help="the same corpus with every tier embedded")
    parser.add_argument("--limit", type=int, default=None, help="at most this many K-QA dev questions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [("research only", measure(args.research, args.limit)), ("all tiers", measure(args.all_tiers, args.limit))]
    if args.json:
        print(json.dumps(dict(rows), indent=2))
        return
    n = rows[0][1]["answers"]["questions"]
    print(f"# embedded tiers — K-QA dev ({n} questions)")
    print("| vectors | evidence recall guideline / label / research | answered / abstained | content words | MiniLM "
          "| answer words | ask p50 / p95 s | embeddings | vectors MB | index MB |")
    print("|---|---|---|---:|---:|---:|---|---:|---:|---:|")
    for name, r in rows:
        a, e = r["answers"], r["evidence_recall"]
        print(f"| {name} | {e['guideline']} / {e['label']} / {e['research']} | {a['answered']} / {a['abstained']} | "
              f"{a['recall_proxy']['content_words']} | {a['recall_proxy']['minilm']} | {a['answer_words']} | "
              f"{a['latency']['p50']} / {a['latency']['p95']} | {r['embeddings']} | {r['vector_mb']} | {r['index_mb']} |")


if __name__ == "__main__":
    main()
