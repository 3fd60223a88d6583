"""Retrieval benchmark: one run, one table — system x dataset x (nDCG@10, R@10, R@100, q/s).

Systems: bm25s (a well-known BM25 implementation, its standard BEIR recipe: English stop words,
Snowball stemmer from PyStemmer, Lucene BM25 k1=1.5 b=0.75 over "title text"), and medcite in
its three modes (bm25, dense, hybrid) with the default settings. Datasets: SciFact test and
NFCorpus test (BEIR qrels) and the BioASQ 12b snippet pool (document-level, gold PMIDs).
Literature BM25 figures (BEIR paper, Anserini flat) sit beside the table as a sanity check.

    python bench/retrieval.py                      # the full table (~15 min the first time)
    python bench/retrieval.py --latency /tmp/full.db   # + hybrid query latency on a big index
    python bench/retrieval.py --datasets= --systems= --ann /tmp/full.db   # HNSW against exact search only

Indexes (and their embeddings) are kept in --workdir, so a second run only runs the queries.
Not a test: it prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from medcite.eval.beir import corpus_file, load_split
from medcite.eval.bioasq import load_golden
from medcite.eval.metrics import evaluate
from medcite.ingest.beir import iter_beir_corpus
from medcite.settings import load_settings

SHARED = Path(os.environ.get("MEDCITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
LITERATURE_NDCG10 = {"scifact": 0.679, "nfcorpus": 0.322}  # BEIR (Thakur et al. 2021), BM25 flat
MEDCITE_MODES = ("bm25", "dense", "hybrid")


def datasets(shared: Path) -> dict[str, dict]:
    """Return the benchmark datasets: name -> {kind, path(s)}."""
    return {
        "scifact": {"kind": "beir", "path": shared / "beir_scifact"},
        "nfcorpus": {"kind": "beir", "path": shared / "nfcorpus_beir_test_preprocessed"},
        "bioasq": {"kind": "bioasq", "paths": sorted((shared / "bioasq_12b_golden").glob("*_golden.json"))},
    }


def bioasq_questions(specs: dict) -> list[str]:
    """Return the BioASQ 12b question bodies (the real queries of the latency tables), by id."""
    return [q for _, q in sorted(load_golden(specs["bioasq"]["paths"])[1].items())]


# ---------------------------------------------------------------------------- bm25s
def _bm25s_corpus(spec: dict) -> tuple[list[str], list[str], dict[str, str], dict]:
    """Return (doc ids, texts, queries, qrels) of a dataset for bm25s."""
    if spec["kind"] == "beir":
        ids, texts = [], []
        for _id, title, text in iter_beir_corpus(corpus_file(spec["path"])):
            ids.append(_id)
            texts.append(f"{title} {text}".strip())
        queries, qrels = load_split(spec["path"], "test")
        return ids, texts, queries, qrels
    docs, queries, qrels = load_golden(spec["paths"])
    ids, texts = [], []
    for doc in docs:
        if hasattr(doc, "sections"):  # the same one document per PMID that medcite indexes
            ids.append(doc.source_id)
            texts.append(" ".join([doc.title] + [s.text for s in doc.sections]).strip())
    return ids, texts, queries, qrels


def run_bm25s(spec: dict) -> dict:
    """Return {metrics, qps, stemmer} of bm25s on one dataset's test queries (top 100 documents)."""
    import bm25s

    try:
        import Stemmer

        stemmer, stem_name = Stemmer.Stemmer("english"), "PyStemmer"
    except ImportError:  # bm25s then runs without stemming, which costs it ~1-2 nDCG points
        stemmer, stem_name = None, "none"
    ids, texts, queries, qrels = _bm25s_corpus(spec)
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    qids = sorted(queries)
    t0 = time.perf_counter()
    run = {}
    for qid in qids:  # one query at a time, as medcite is timed
        tokens = bm25s.tokenize([queries[qid]], stopwords="en", stemmer=stemmer, show_progress=False)
        k = min(100, len(ids))
        docs, _scores = retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        run[qid] = [ids[i] for i in docs[0]]
    seconds = time.perf_counter() - t0
    return {"metrics": evaluate(qrels, run), "qps": len(qids) / seconds, "note": f"stemmer: {stem_name}"}


# ---------------------------------------------------------------------------- medcite
def run_medcite(name: str, spec: dict, mode: str, workdir: Path, on_stage=None) -> dict:
    """Return {metrics, qps} of medcite in `mode` on one dataset (index kept in workdir/name)."""
    from medcite.eval.beir import evaluate_beir
    from medcite.eval.bioasq import evaluate_bioasq

    settings = load_settings()
    if spec["kind"] == "beir":
        result = evaluate_beir(spec["path"], settings, mode, split="test", workdir=workdir / name, on_stage=on_stage)
    else:
        result = evaluate_bioasq(spec["paths"], settings, mode, workdir=workdir / name, on_stage=on_stage)
    return {"metrics": result.metrics, "qps": result.qps, "note": f"settings {result.settings_hash}",
            "index_seconds": result.index_seconds}


# ---------------------------------------------------------------------------- latency
def latency(index_path: str, queries: list[str], repeat: int = 1) -> dict:
    """Return p50/p95/mean ms of hybrid_search(k=10) on a built index, and of its stages.

    Stages (each timed on its own over the same queries): BM25 with expansion, query embedding,
    exact dense search; plus an exact search over a random 100k x 384 matrix, the cost of the
    dense step had every passage of the shared corpus a vector (dense_tiers=all).
    """
    import numpy as np

    from medcite.index.dense import ready_dense_index
    from medcite.index.embed import get_embedder
    from medcite.index.store import open_store
    from medcite.retrieve.hybrid import CANDIDATES, bm25_ranking, hybrid_search

    settings = load_settings(index_path=index_path)
    store = open_store(index_path, readonly=True, create=False)
    for q in queries[:5]:  # warm-up: model load, matrix load, tantivy searcher
        hybrid_search(store, q, k=10, settings=settings)

    def pcts(times: list[float]) -> dict:
        times = sorted(times)
        return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
                "mean_ms": statistics.fmean(times)}

    def clock(fn) -> list[float]:
        out = []
        for _ in range(repeat):
            for q in queries:
                t0 = time.perf_counter()
                fn(q)
                out.append((time.perf_counter() - t0) * 1000)
        return out

    embedder = get_embedder(settings.embed_max_seq_len)
    index = ready_dense_index(store, settings)
    vecs = {q: embedder.embed_query(q) for q in queries}
    big = np.random.default_rng(0).standard_normal((100_000, 384)).astype(np.float32)
    result = {
        "hybrid": pcts(clock(lambda q: hybrid_search(store, q, k=10, settings=settings))),
        "bm25+expansion": pcts(clock(lambda q: bm25_ranking(store, q, CANDIDATES))),
        "embed query": pcts(clock(embedder.embed_query)),
        "dense search": pcts(clock(lambda q: index.search(vecs[q], CANDIDATES))) if index else None,
        "exact search 100k": pcts(clock(lambda q: np.argpartition(-(big @ vecs[q]), CANDIDATES)[:CANDIDATES])),
    }
    stats = store.stats()
    store.close()
    result.update(queries=len(queries) * repeat, passages=stats["passages"], embeddings=stats["embeddings"],
                  vectors_searched=index.size if index else 0)
    return result


# ---------------------------------------------------------------------------- HNSW against exact
def ann_versus_exact(index_path: str, queries: list[str], copies: list[int]) -> list[dict]:
    """Return, per matrix size, recall@10 / @200 of HNSW search against exact search and p50/p95 ms of both.

    Both run through DenseIndex.search (the product's path, k=10 and the fusion depth 200) over
    the index's real vectors; a size of N copies repeats every vector N times with jitter (as in
    bench/ann_libraries.py), the graph built with the default Settings (M, ef_construction, ef_search).
    """
    from ann_libraries import jittered_copies

    from medcite.index.ann import AnnParams, build_graph
    from medcite.index.dense import DenseIndex, ready_dense_index
    from medcite.index.embed import get_embedder
    from medcite.index.store import open_store
    from medcite.retrieve.hybrid import CANDIDATES

    settings = load_settings(index_path=index_path, vector_search="hnsw")
    store = open_store(index_path, readonly=True, create=False)
    base = ready_dense_index(store, load_settings(index_path=index_path, vector_search="exact"))
    if base is None:
        raise SystemExit(f"{index_path}: the index holds no vectors")
    embedder = get_embedder(settings.embed_max_seq_len)
    vecs = [embedder.embed_query(q) for q in queries]
    params = AnnParams.from_settings(settings)
    rows = []
    for n in copies:
        vectors = base._m.vectors if n == 1 else jittered_copies(base._m.vectors, n)
        meta = {key: [f"{v}~{c}" if c and key == "pids" else v for c in range(n) for v in values]
                for key, values in (("pids", base._m.pids), ("doc_ids", [p.rsplit("#", 1)[0] for p in base._m.pids]),
                                    ("tiers", ["research"] * base.size))}
        started = time.perf_counter()
        graph = build_graph(vectors, params)
        build_s = time.perf_counter() - started
        exact, hnsw = DenseIndex(store, base.model, settings), DenseIndex(store, base.model, settings)
        exact._set(vectors, meta, {}, None)  # a read-only store: no graph is built or loaded
        hnsw._set(vectors, meta, {}, graph)
        row = {"vectors": len(vectors), "build_s": build_s, "ef_search": params.ef_search}
        for k in (10, CANDIDATES):
            found = {name: [[p for p, _ in ix.search(v, k)] for v in vecs] for name, ix in (("exact", exact), ("hnsw", hnsw))}
            row[f"recall@{k}"] = sum(len(set(a) & set(e)) for a, e in zip(found["hnsw"], found["exact"])) / sum(
                len(e) for e in found["exact"])
            for name, ix in (("exact", exact), ("hnsw", hnsw)):
                times = []
                for v in vecs:
                    t0 = time.perf_counter()
                    ix.search(v, k)
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                row[f"{name}@{k}"] = (statistics.median(times), times[int(0.95 * (len(times) - 1))])
        rows.append(row)
        print(f"ann: {len(vectors)} vectors done", file=sys.stderr)
    store.close()
    return rows


def print_ann(rows: list[dict], queries: int) -> None:
    """Print the HNSW-against-exact table."""
    t = Table(title=f"Dense search, HNSW (faiss, M=16, ef_construction=200) against exact: {queries} BioASQ questions")
    for col in ("vectors", "ef_search", "HNSW build s", "recall@10", "recall@200", "exact p50/p95 ms k=10",
                "HNSW p50/p95 ms k=10", "exact p50/p95 ms k=200", "HNSW p50/p95 ms k=200"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(f"{r['vectors']:,}", str(r["ef_search"]), f"{r['build_s']:.1f}", f"{r['recall@10']:.3f}",
                  f"{r['recall@200']:.3f}", *(f"{r[key][0]:.2f} / {r[key][1]:.2f}"
                                              for key in ("exact@10", "hnsw@10", "exact@200", "hnsw@200")))
    Console(highlight=False, width=200).print(t)


def print_table(names: list[str], systems: list[str], rows: list[dict]) -> None:
    """Print the system x dataset table."""
    table = Table(title="Retrieval: nDCG@10 / Recall@10 / Recall@100 / queries per second (test splits)")
    table.add_column("system")
    for name in names:
        lit = LITERATURE_NDCG10.get(name)
        table.add_column(f"{name}" + (f"\n(lit. BM25 {lit})" if lit else ""), justify="right")
    for system in systems:
        cells = []
        for name in names:
            r = next(r for r in rows if r["system"] == system and r["dataset"] == name)
            m = r["metrics"]
            cells.append(f"{m['ndcg@10']:.3f} / {m['recall@10']:.3f} / {m['recall@100']:.3f} / {r['qps']:.0f}")
        table.add_row(system, *cells)
    Console(highlight=False).print(table)


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/medcite-bench"), help="kept benchmark indexes")
    parser.add_argument("--datasets", default="scifact,nfcorpus,bioasq")
    parser.add_argument("--systems", default="bm25s,medcite-bm25,medcite-dense,medcite-hybrid")
    parser.add_argument("--latency", metavar="INDEX", help="also time hybrid queries on this index (e.g. /tmp/full.db)")
    parser.add_argument("--ann", metavar="INDEX", help="also compare HNSW with exact dense search on this index")
    parser.add_argument("--ann-copies", default="1,8", help="matrix sizes for --ann, in jittered copies of the vectors")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    def on_stage(name, total):
        bar = tqdm(total=total or None, desc=name, file=sys.stderr, leave=False, dynamic_ncols=True)
        return bar.update

    specs = datasets(args.shared)
    names = [d for d in args.datasets.split(",") if d]
    systems = [s for s in args.systems.split(",") if s]
    rows: list[dict] = []
    for name in names:
        for system in systems:
            started = time.perf_counter()
            if system == "bm25s":
                out = run_bm25s(specs[name])
            else:
                out = run_medcite(name, specs[name], system.split("-", 1)[1], args.workdir, on_stage)
            out.update(system=system, dataset=name, wall_seconds=time.perf_counter() - started)
            rows.append(out)
            m = out["metrics"]
            print(f"{system:15s} {name:9s} nDCG@10 {m['ndcg@10']:.4f} R@100 {m['recall@100']:.4f} "
                  f"{out['qps']:.1f} q/s", file=sys.stderr)

    if rows:
        print_table(names, systems, rows)
    result: dict = {"rows": rows}
    if args.ann:
        result["ann"] = ann_versus_exact(args.ann, bioasq_questions(specs), [int(c) for c in args.ann_copies.split(",")])
        print_ann(result["ann"], len(bioasq_questions(specs)))
    if args.latency:
        result["latency"] = latency(args.latency, bioasq_questions(specs))
        lat = result["latency"]
        lt = Table(title=f"Query latency on {args.latency}: {lat['passages']} passages, {lat['vectors_searched']} "
                         f"vectors searched, {lat['queries']} BioASQ questions, k=10")
        for col in ("stage", "p50 ms", "p95 ms", "mean ms"):
            lt.add_column(col, justify="left" if col == "stage" else "right")
        for stage in ("hybrid", "bm25+expansion", "embed query", "dense search", "exact search 100k"):
            if lat.get(stage):
                v = lat[stage]
                lt.add_row(stage, f"{v['p50_ms']:.1f}", f"{v['p95_ms']:.1f}", f"{v['mean_ms']:.1f}")
        Console(highlight=False).print(lt)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
