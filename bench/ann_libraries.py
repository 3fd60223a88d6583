"""Choosing the approximate (HNSW) vector library: hnswlib, usearch and faiss-cpu on real vectors.

Vectors: the MiniLM passage vectors of an index's dense matrix (the research tier of the shared
corpus: 12,774 real vectors), and a larger set made of them (`--copies N`: each vector repeated N
times with Gaussian jitter, cosine ~0.9 to its original, then re-normalised; exact duplicates
would be a degenerate HNSW input that no real corpus has). Queries: the BioASQ 12b questions,
embedded by the product's query embedder. Ground truth: exact inner product (numpy).

Each library builds the same graph shape (M=16, ef_construction=200, inner product, 2 build
threads) and is searched one query at a time on one thread, at several ef. Printed per library:
build seconds, index bytes on disk, recall@10 and recall@200 (200 = the dense depth fused by
hybrid retrieval), p50/p95 ms per query. Not a test: it prints numbers.

    python bench/ann_libraries.py --index /tmp/full.db [--copies 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
M, EF_CONSTRUCTION, THREADS = 16, 200, 2
EFS = (64, 128, 256, 512)


def load_vectors(index: str) -> np.ndarray:
    """Return the dense matrix of a built index (rebuilt from its embeddings table when stale)."""
    from medcite.index.dense import ready_dense_index
    from medcite.index.store import open_store
    from medcite.settings import load_settings

    store = open_store(index, readonly=True, create=False)
    dense = ready_dense_index(store, load_settings(index_path=index))
    if dense is None:
        raise SystemExit(f"{index}: the index holds no vectors (ingest with embeddings first)")
    return dense._m.vectors


def jittered_copies(vectors: np.ndarray, copies: int, seed: int = 0) -> np.ndarray:
    """Return `copies` jittered unit-length copies of each vector (copy 0 is the original)."""
    rng = np.random.default_rng(seed)
    out = [vectors]
    for _ in range(copies - 1):
        noise = rng.standard_normal(vectors.shape).astype(np.float32) * (0.48 / np.sqrt(vectors.shape[1]))
        v = vectors + noise
        out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    return np.ascontiguousarray(np.vstack(out), dtype=np.float32)


def query_vectors(shared: Path) -> np.ndarray:
    """Return the embedded BioASQ 12b questions (the real queries of the retrieval benchmark)."""
    from medcite.eval.bioasq import load_golden
    from medcite.index.embed import get_embedder

    queries = [q for _, q in sorted(load_golden(sorted((shared / "bioasq_12b_golden").glob("*_golden.json")))[1].items())]
    return np.vstack([get_embedder(64).embed_query(q) for q in queries]).astype(np.float32)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> list[set[int]]:
    """Return the exact top-k row sets of every query."""
    out = []
    for q in queries:
        scores = vectors @ q
        out.append(set(np.argpartition(-scores, k - 1)[:k].tolist()))
    return out


class Hnswlib:
    name = "hnswlib 0.8.0"

    def build(self, vectors):
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=vectors.shape[1])
        self.index.init_index(max_elements=len(vectors), M=M, ef_construction=EF_CONSTRUCTION)
        self.index.add_items(vectors, np.arange(len(vectors)), num_threads=THREADS)
        self.index.set_num_threads(1)

    def save(self, path):
        self.index.save_index(str(path))

    def search(self, q, k, ef):
        self.index.set_ef(max(ef, k))
        return self.index.knn_query(q, k=k)[0][0]


class Usearch:
    name = "usearch 2.26"

    def build(self, vectors):
        from usearch.index import Index

        self.index = Index(ndim=vectors.shape[1], metric="ip", dtype="f32", connectivity=M,
                           expansion_add=EF_CONSTRUCTION)
        self.index.add(np.arange(len(vectors)), vectors, threads=THREADS)

    def save(self, path):
        self.index.save(str(path))

    def search(self, q, k, ef):
        self.index.expansion_search = max(ef, k)
        return self.index.search(q, k, threads=1).keys


class Faiss:
    name = "faiss-cpu 1.15 (HNSWFlat)"

    def build(self, vectors):
        import faiss

        faiss.omp_set_num_threads(THREADS)
        self.index = faiss.IndexHNSWFlat(vectors.shape[1], M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        self.index.add(vectors)
        faiss.omp_set_num_threads(1)

    def save(self, path):
        import faiss

        faiss.write_index(self.index, str(path))

    def search(self, q, k, ef):
        self.index.hnsw.efSearch = max(ef, k)
        return self.index.search(q[None, :], k)[1][0]


def measure(lib, vectors: np.ndarray, queries: np.ndarray, truth: dict[int, list[set[int]]]) -> list[dict]:
    """Return one row per ef: build seconds, bytes, recall@10/@200, p50/p95 ms of `lib`."""
    t0 = time.perf_counter()
    lib.build(vectors)
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        lib.save(Path(tmp) / "index.bin")
        size = (Path(tmp) / "index.bin").stat().st_size
    rows = []
    for ef in EFS:
        recall, times = {}, []
        for k in (10, 200):
            hits = 0
            for qi, q in enumerate(queries):
                t = time.perf_counter()
                found = lib.search(q, k, ef)
                if k == 10:
                    times.append((time.perf_counter() - t) * 1000)
                hits += len(truth[k][qi] & {int(x) for x in found})
            recall[k] = hits / (k * len(queries))
        times.sort()
        rows.append({"library": lib.name, "ef": ef, "build_s": build_s, "bytes": size, "r10": recall[10],
                     "r200": recall[200], "p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]})
    return rows


def exact_row(vectors: np.ndarray, queries: np.ndarray) -> dict:
    """Return the exact numpy search's row (the reference: recall 1)."""
    times = []
    for q in queries:
        t = time.perf_counter()
        np.argpartition(-(vectors @ q), 9)[:10]
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"library": "exact numpy", "ef": "-", "build_s": 0.0, "bytes": vectors.nbytes, "r10": 1.0, "r200": 1.0,
            "p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True, help="a built index with passage vectors")
    parser.add_argument("--copies", type=int, default=1, help="jittered copies of each real vector")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--libraries", default="hnswlib,usearch,faiss")
    args = parser.parse_args(argv)

    vectors = load_vectors(args.index)
    if args.copies > 1:
        vectors = jittered_copies(vectors, args.copies)
    queries = query_vectors(args.shared)
    truth = {k: exact_top(vectors, queries, k) for k in (10, 200)}
    libs = {"hnswlib": Hnswlib, "usearch": Usearch, "faiss": Faiss}
    rows = [exact_row(vectors, queries)]
    for name in args.libraries.split(","):
        rows += measure(libs[name](), vectors, queries, truth)
        print(f"{name}: done", file=sys.stderr)
    table = Table(title=f"HNSW libraries on {len(vectors):,} MiniLM vectors ({args.copies} cop"
                        f"{'y' if args.copies == 1 else 'ies'}), {len(queries)} BioASQ queries, M={M}, "
                        f"ef_construction={EF_CONSTRUCTION}")
    for col in ("library", "ef", "build s", "index MB", "recall@10", "recall@200", "p50 ms", "p95 ms"):
        table.add_column(col, justify="left" if col == "library" else "right")
    for r in rows:
        table.add_row(r["library"], str(r["ef"]), f"{r['build_s']:.1f}", f"{r['bytes'] / 1e6:.1f}", f"{r['r10']:.3f}",
                      f"{r['r200']:.3f}", f"{r['p50']:.2f}", f"{r['p95']:.2f}")
    Console(highlight=False, width=140).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
