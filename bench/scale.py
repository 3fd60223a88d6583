"""Scale of the embedded backend (SQLite + tantivy + HNSW): ingest rate, disk, RAM, query latency.

The corpus: the research-tier documents of a built index (the PubMed-like part of the shared
corpus), repeated with distinct ids (`<doc id>~<copy>`) until N passages; each copy of a passage
keeps its real MiniLM vector (copy 0) or that vector with Gaussian jitter (cosine ~0.9, then
re-normalised; exact duplicates would be a degenerate HNSW input), so nothing is embedded
again. Everything is written through the product's code: `upsert_document` in transactions of
500 documents, `put_vectors`, `sync_lexical` (tantivy), the dense matrix and its HNSW graph.

Queries (the BioASQ 12b questions) run in a fresh read-only process, as `medcite serve` opens an
index, whose peak RSS is the serving RAM: BM25 (with expansion, depth 200), dense exact and HNSW
(depth 200, recall@10 of HNSW against exact), and hybrid retrieval through
`retrieve.hybrid.ranked_passages` (query embedding included) with the graph.

    python bench/scale.py --source /tmp/full.db --passages 100000,300000 --workdir /tmp/scale
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DOCS_PER_TX = 500


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def source_corpus(index: str):
    """Return (documents with their passages, {passage id: vector}, model) of the research tier of `index`."""
    from medcite.index.dense import ready_dense_index
    from medcite.index.store import open_store
    from medcite.settings import load_settings

    store = open_store(index, readonly=True, create=False)
    dense = ready_dense_index(store, load_settings(index_path=index, vector_search="exact"))
    if dense is None:
        raise SystemExit(f"{index}: the index holds no vectors (ingest with embeddings first)")
    vectors = {pid: dense._m.vectors[row] for row, pid in enumerate(dense._m.pids)}
    docs = [(store.get_document(d), store.passages_of(d)) for d in store.documents_by_kind(tier="research")]
    docs = [(d, ps) for d, ps in docs if ps and all(p.passage_id in vectors for p in ps)]
    model = dense.model
    store.close()
    return docs, vectors, model


def copy_of(doc, passages, copy: int):
    """Return the document and passages of one copy, under ids that differ from every other copy."""
    from dataclasses import replace

    if copy == 0:
        return doc, passages
    doc_id = f"{doc.doc_id}~{copy}"
    return (replace(doc, doc_id=doc_id, source_id=f"{doc.source_id}~{copy}"),
            [replace(p, doc_id=doc_id, passage_id=f"{doc_id}#{p.passage_id.rsplit('#', 1)[1]}") for p in passages])


def jitter(vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a unit vector near `vector` (cosine ~0.9), standing for a different passage."""
    v = vector + rng.standard_normal(vector.shape).astype(np.float32) * (0.48 / np.sqrt(vector.shape[0]))
    return v / np.linalg.norm(v)


def build(target: int, source: str, db: Path) -> dict:
    """Build an index of `target` passages at `db`; return the timings of each stage."""
    from medcite.index.ann import AnnParams, open_graph
    from medcite.index.dense import DenseIndex, put_vectors
    from medcite.index.store import open_store
    from medcite.settings import load_settings

    docs, vectors, model = source_corpus(source)
    if db.exists():
        db.unlink()
    shutil.rmtree(db.with_name(db.name + ".search"), ignore_errors=True)
    store = open_store(db)
    rng = np.random.default_rng(0)
    out: dict = {"passages": 0, "sqlite_s": 0.0, "vectors_s": 0.0, "sqlite_cpu_s": 0.0}
    copy, i = 0, 0
    while out["passages"] < target:
        batch, pairs = [], []
        while len(batch) < DOCS_PER_TX and out["passages"] < target:
            doc, passages = copy_of(*docs[i], copy)
            batch.append((doc, passages))
            pairs += [(new.passage_id, vectors[old.passage_id] if copy == 0 else jitter(vectors[old.passage_id], rng))
                      for new, old in zip(passages, docs[i][1])]
            out["passages"] += len(passages)
            i += 1
            if i == len(docs):
                copy, i = copy + 1, 0
        t0, c0 = time.perf_counter(), time.process_time()
        with store.transaction():
            for doc, passages in batch:
                store.upsert_document(doc, passages)
            store.bump_version()
        t1, c1 = time.perf_counter(), time.process_time()
        put_vectors(store, model, pairs)
        t2 = time.perf_counter()
        out["sqlite_s"] += t1 - t0
        out["sqlite_cpu_s"] += c1 - c0
        out["vectors_s"] += t2 - t1
    t0, c0 = time.perf_counter(), time.process_time()
    store.sync_lexical()
    out["tantivy_s"], out["tantivy_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    exact = DenseIndex(store, model, load_settings(index_path=str(db), vector_search="exact"))
    t0 = time.perf_counter()
    exact.sync(force=True)
    out["matrix_s"] = time.perf_counter() - t0
    params = AnnParams.from_settings(load_settings(vector_search="hnsw"))
    t0, c0 = time.perf_counter(), time.process_time()
    open_graph(exact.folder, exact._m.vectors, params, writable=True)
    out["hnsw_s"], out["hnsw_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    out["copies"] = copy + 1
    out["build_peak_rss_mb"] = peak_rss_mb()
    store.close()
    return out


def disk(db: Path) -> dict:
    """Return the MB on disk of the SQLite file, the tantivy index, the matrix and the HNSW graph."""
    search = db.with_name(db.name + ".search")

    def mb(paths) -> float:
        return sum(p.stat().st_size for p in paths if p.is_file()) / 1e6

    dense = search / "dense"
    return {"sqlite_mb": mb([db, db.with_name(db.name + "-wal")]), "tantivy_mb": mb((search / "bm25").rglob("*")),
            "matrix_mb": mb([dense / "vectors.npy", dense / "ids.json"]), "hnsw_mb": mb([dense / "hnsw.faiss"])}


def pcts(times: list[float]) -> tuple[float, float]:
    """Return (p50, p95) of a list of milliseconds."""
    times = sorted(times)
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def query(db: str, shared: Path) -> dict:
    """Time the queries on a built index in this (fresh, read-only) process; return p50/p95 and RSS."""
    from medcite.eval.bioasq import load_golden
    from medcite.index.dense import DenseIndex
    from medcite.index.embed import get_embedder, model_name
    from medcite.index.store import open_store
    from medcite.retrieve.hybrid import CANDIDATES, bm25_ranking, ranked_passages
    from medcite.settings import load_settings

    questions = [q for _, q in sorted(load_golden(sorted((shared / "bioasq_12b_golden").glob("*_golden.json")))[1].items())]
    settings = load_settings(index_path=db, vector_search="hnsw")
    store = open_store(db, readonly=True, create=False)
    t0 = time.perf_counter()
    hnsw = DenseIndex(store, model_name(settings.embed_max_seq_len), settings)
    hnsw.sync()
    load_s = time.perf_counter() - t0
    if hnsw._m.graph is None:
        raise SystemExit(f"{db}: no HNSW graph stored beside the matrix")
    exact = DenseIndex(store, hnsw.model, load_settings(index_path=db, vector_search="exact"))
    exact._m = hnsw._m.__class__(**{**hnsw._m.__dict__, "graph": None})  # the same matrix, searched exactly
    embedder = get_embedder(settings.embed_max_seq_len)
    vecs = [embedder.embed_query(q) for q in questions]
    for q in questions[:5]:  # warm-up: tantivy searcher, expansion tables
        ranked_passages(store, q, k=10, settings=settings)
    out: dict = {"queries": len(questions), "load_s": load_s}
    for name, fn in (("bm25", lambda i: bm25_ranking(store, questions[i], CANDIDATES)),
                     ("exact", lambda i: exact.search(vecs[i], CANDIDATES)),
                     ("hnsw", lambda i: hnsw.search(vecs[i], CANDIDATES)),
                     ("hybrid", lambda i: ranked_passages(store, questions[i], k=10, settings=settings))):
        times, cpu = [], []
        for i in range(len(questions)):
            t, c = time.perf_counter(), time.thread_time()
            fn(i)
            cpu.append((time.thread_time() - c) * 1000)
            times.append((time.perf_counter() - t) * 1000)
        out[name], out[f"{name}_cpu"] = pcts(times), pcts(cpu)
    hits = sum(len({p for p, _ in hnsw.search(v, 10)} & {p for p, _ in exact.search(v, 10)}) for v in vecs)
    out["recall@10"] = hits / (10 * len(vecs))
    out["serve_peak_rss_mb"] = peak_rss_mb()
    store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", help="a built index with research-tier vectors (e.g. /tmp/full.db)")
    parser.add_argument("--passages", default="100000", help="comma list of corpus sizes in passages")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/medcite-scale"))
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--query-only", metavar="INDEX", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.query_only:
        print(json.dumps(query(args.query_only, args.shared)))
        return 0
    if not args.source:
        parser.error("--source is required")
    rows = []
    for target in (int(n) for n in args.passages.split(",")):
        db = args.workdir / f"scale-{target}.db"
        args.workdir.mkdir(parents=True, exist_ok=True)
        row = {"target": target, **build(target, args.source, db), **disk(db)}
        # One thread per query (as each API worker runs one), so that thread CPU time is its whole cost.
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        child = subprocess.run([sys.executable, __file__, "--query-only", str(db), "--shared", str(args.shared)],
                               capture_output=True, text=True, check=True, env=env)
        row.update(json.loads(child.stdout.strip().splitlines()[-1]))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    print_tables(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def print_tables(rows: list[dict]) -> None:
    """Print the ingest / disk / RAM table and the query latency table."""
    t = Table(title="Embedded backend at scale: ingest rate, disk, RAM (faiss HNSW M=16, ef_construction=200)")
    for col in ("passages", "SQLite passages/s [CPU]", "SQLite vectors/s", "tantivy build s [CPU]", "matrix s",
                "HNSW build s [CPU]",
                "SQLite MB", "tantivy MB", "matrix MB", "HNSW MB", "build peak RSS MB", "serve peak RSS MB"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(f"{r['passages']:,}", f"{r['passages'] / r['sqlite_s']:,.0f} [{r['passages'] / r['sqlite_cpu_s']:,.0f}]",
                  f"{r['passages'] / r['vectors_s']:,.0f}", f"{r['tantivy_s']:.1f} [{r['tantivy_cpu_s']:.1f}]",
                  f"{r['matrix_s']:.1f}", f"{r['hnsw_s']:.1f} [{r['hnsw_cpu_s']:.1f}]", f"{r['sqlite_mb']:,.0f}",
                  f"{r['tantivy_mb']:,.0f}", f"{r['matrix_mb']:,.0f}", f"{r['hnsw_mb']:,.0f}",
                  f"{r['build_peak_rss_mb']:,.0f}", f"{r['serve_peak_rss_mb']:,.0f}")
    q = Table(title="Query latency p50 / p95 ms, wall clock and \\[thread CPU] (BioASQ questions; depth 200; "
                    "hybrid includes the query embedding)")
    for col in ("passages", "BM25 + expansion", "dense exact", "dense HNSW", "HNSW recall@10", "hybrid (HNSW)"):
        q.add_column(col, justify="right")
    for r in rows:
        cells = {k: f"{r[k][0]:.1f} / {r[k][1]:.1f} [{r[k + '_cpu'][0]:.1f} / {r[k + '_cpu'][1]:.1f}]"
                 for k in ("bm25", "exact", "hnsw", "hybrid")}
        q.add_row(f"{r['passages']:,}", cells["bm25"], cells["exact"], cells["hnsw"], f"{r['recall@10']:.3f}",
                  cells["hybrid"])
    console = Console(highlight=False, width=220)
    console.print(t)
    console.print(q)


if __name__ == "__main__":
    sys.exit(main())
