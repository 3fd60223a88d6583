"""IR metrics computed by pytrec_eval (the trec_eval C code), never by hand.

Runs are ranked lists. trec_eval re-sorts a run by score (and breaks ties on the document id in
its own order), so `to_trec_run` turns ranks into strictly decreasing scores first: the order that
is evaluated is exactly the order medcite returned.

Means are taken over every query of the qrels that has at least one relevant document; a query
with no results counts as 0 (pytrec_eval itself skips queries missing from the run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytrec_eval

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[str]]  # query id -> document ids, best first

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
_TREC_NAMES = {"ndcg@10": "ndcg_cut_10", "recall@10": "recall_10", "recall@100": "recall_100"}


def to_trec_run(run: Run, depth: int | None = None) -> dict[str, dict[str, float]]:
    """Return the pytrec_eval run dict: the i-th of n documents gets score n - i (depth cuts each list)."""
    out: dict[str, dict[str, float]] = {}
    for qid, docs in run.items():
        ranked = list(dict.fromkeys(docs))[:depth] if depth else list(dict.fromkeys(docs))
        n = len(ranked)
        out[qid] = {doc: float(n - i) for i, doc in enumerate(ranked)}
    return out


def judged_queries(qrels: Qrels) -> list[str]:
    """Return the query ids that have at least one relevant (relevance > 0) document, sorted."""
    return sorted(q for q, docs in qrels.items() if any(r > 0 for r in docs.values()))


def per_query(qrels: Qrels, run: Run) -> dict[str, dict[str, float]]:
    """Return {query id: {metric: value}} for METRICS over the judged queries (missing runs score 0)."""
    queries = judged_queries(qrels)
    qrels_used = {q: {d: int(r) for d, r in qrels[q].items()} for q in queries}
    full = to_trec_run({q: run.get(q, []) for q in queries})
    top10 = to_trec_run({q: run.get(q, []) for q in queries}, depth=10)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels_used, {"ndcg_cut.10", "recall.10,100"})
    mrr = pytrec_eval.RelevanceEvaluator(qrels_used, {"recip_rank"})
    scored = evaluator.evaluate({q: d for q, d in full.items() if d})
    scored_mrr = mrr.evaluate({q: d for q, d in top10.items() if d})
    out: dict[str, dict[str, float]] = {}
    for q in queries:
        row = {name: scored.get(q, {}).get(trec, 0.0) for name, trec in _TREC_NAMES.items()}
        row["mrr@10"] = scored_mrr.get(q, {}).get("recip_rank", 0.0)
        out[q] = row
    return out


def evaluate(qrels: Qrels, run: Run) -> dict[str, float]:
    """Return the mean of each metric in METRICS (plus 'queries': how many were averaged)."""
    rows = per_query(qrels, run)
    n = len(rows)
    means = {m: (sum(r[m] for r in rows.values()) / n if n else 0.0) for m in METRICS}
    means["queries"] = n
    return means


def write_trec_run(path: str | Path, run: Run, tag: str = "medcite", depth: int = 100) -> int:
    """Write a TREC run file (qid Q0 docid rank score tag); return the number of lines written."""
    lines = []
    for qid in sorted(run):
        ranked = list(dict.fromkeys(run[qid]))[:depth]
        n = len(ranked)
        lines += [f"{qid} Q0 {doc} {i + 1} {n - i} {tag}" for i, doc in enumerate(ranked)]
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""))
    return len(lines)


def read_trec_run(path: str | Path) -> dict[str, list[str]]:
    """Return {qid: [docid, ...]} ordered by rank from a TREC run file."""
    rows: dict[str, list[tuple[int, str]]] = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4:
            rows.setdefault(parts[0], []).append((int(parts[3]), parts[2]))
    return {q: [d for _, d in sorted(r)] for q, r in rows.items()}


