"""Tune hybrid fusion on TRAIN/DEV queries only: SciFact train qrels and NFCorpus dev qrels.

For each query the BM25 ranking (with and without query expansion) and the dense ranking are
computed once; every fusion setting is then scored on those lists (document level, nDCG@10):
RRF with k in {10, 20, 60} and convex combination of min-max normalised scores, each with dense
weights from 0.25 to 2. The setting with the best mean nDCG@10 over the two datasets is
printed; the defaults in medcite/settings.py were chosen from this output (docs/retrieval.md).
Test qrels are never read here.

    python bench/tune_fusion.py [--workdir /tmp/medcite-bench]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from medcite.eval.beir import corpus_file, iter_documents, load_split
from medcite.eval.metrics import evaluate
from medcite.eval.runner import DOC_DEPTH, PASSAGE_DEPTH, doc_keys, index_documents, work_store
from medcite.retrieve.hybrid import bm25_ranking, dense_ranking, documents_from_passages, fuse
from medcite.settings import load_settings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TUNE_SPLITS = {"scifact": ("beir_scifact", "train"), "nfcorpus": ("nfcorpus_beir_test_preprocessed", "dev")}
DENSE_WEIGHTS = (0.25, 0.4, 0.5, 0.6, 0.75, 1.0, 1.5, 2.0)
RRF_KS = (10, 20, 60)


def candidate_lists(name: str, folder: Path, split: str, workdir: Path, settings) -> tuple[dict, dict, dict]:
    """Return (queries' rankings {qid: (bm25 + abbreviations, bm25, dense)}, qrels, doc key).

    The benchmark indexes hold no drug dictionary, so abbreviations are the only expansion here.
    """
    queries, qrels = load_split(folder, split)
    lists = {}
    # Build (or reuse) the index exactly as the eval command does.
    with work_store(workdir / name) as store:
        corpus = corpus_file(folder)
        st = corpus.stat()
        index_documents(store, iter_documents(corpus), str(corpus.resolve()), f"{st.st_size}:{st.st_mtime_ns}",
                        settings, embed=True)
        key = doc_keys(store)
        for i, qid in enumerate(sorted(queries)):
            text = queries[qid]
            lists[qid] = (
                bm25_ranking(store, text, PASSAGE_DEPTH, expand=True, abbreviations=True),
                bm25_ranking(store, text, PASSAGE_DEPTH, expand=True, abbreviations=False),
                dense_ranking(store, text, PASSAGE_DEPTH, settings),
            )
            if i % 100 == 0:
                print(f"{name} {split}: {i}/{len(queries)} queries", file=sys.stderr)
    return lists, qrels, key


def score(lists: dict, qrels: dict, key: dict, pick) -> dict:
    """Return the mean metrics of the document run made by pick(bm25, bm25_noexp, dense) per query."""
    run = {}
    for qid, (bm25, bm25_plain, dense) in lists.items():
        docs = documents_from_passages(pick(bm25, bm25_plain, dense))[:DOC_DEPTH]
        run[qid] = [key.get(d, d) for d, _ in docs]
    return evaluate(qrels, run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/medcite-bench"))
    args = parser.parse_args(argv)
    base = load_settings()
    data = {name: candidate_lists(name, args.shared / folder, split, args.workdir, base)
            for name, (folder, split) in TUNE_SPLITS.items()}

    configs = [("bm25 + abbreviations", lambda b, p, d: b), ("bm25", lambda b, p, d: p), ("dense", lambda b, p, d: d)]
    for k in RRF_KS:
        for w in DENSE_WEIGHTS:
            s = replace(base, fusion="rrf", rrf_k=k, dense_weight=w)
            configs.append((f"rrf k={k} w={w}", lambda b, p, d, s=s: fuse(p, d, s)))
    for w in DENSE_WEIGHTS:
        s = replace(base, fusion="convex", dense_weight=w)
        configs.append((f"convex w={w}", lambda b, p, d, s=s: fuse(p, d, s)))
        configs.append((f"convex w={w} + abbreviations", lambda b, p, d, s=s: fuse(b, d, s)))

    rows = []
    for label, pick in configs:
        values = {name: score(lists, qrels, key, pick) for name, (lists, qrels, key) in data.items()}
        mean = sum(v["ndcg@10"] for v in values.values()) / len(values)
        rows.append((label, values, mean))
    table = Table(title="Fusion tuning on SciFact train + NFCorpus dev (nDCG@10 / R@100)")
    table.add_column("setting")
    for name, (folder, split) in TUNE_SPLITS.items():
        table.add_column(f"{name} {split}", justify="right")
    table.add_column("mean nDCG@10", justify="right")
    for label, values, mean in sorted(rows, key=lambda r: -r[2]):
        table.add_row(label, *[f"{v['ndcg@10']:.4f} / {v['recall@100']:.4f}" for v in values.values()], f"{mean:.4f}")
    Console(highlight=False).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
