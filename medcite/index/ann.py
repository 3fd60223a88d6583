"""Approximate vector search: an HNSW graph (faiss-cpu) beside the exact dense matrix.

Why faiss-cpu (bench/ann_libraries.py, docs/scale.md): on the real MiniLM vectors of the shared
corpus hnswlib, usearch and faiss reach the same recall at the same ef (0.996-0.999 recall@10 at
ef 128-256) in well under a millisecond p50; faiss ships a binary wheel (hnswlib 0.8.0 has none
on PyPI and compiles from source, which needs a C++ toolchain in CI), and it filters inside the
graph walk (an `IDSelector` over matrix rows), which the tier / document restrictions of dense
search need; usearch built 2-3 times slower here.

The graph lives in the matrix's own folder (`<db>.search/dense/hnsw.faiss` + `hnsw.json`): it is
built into the temporary folder with the matrix and renamed with it, so the graph always
belongs to the matrix beside it (same rows, same state: model, corpus version, row count). A
matrix loaded without a graph of the current parameters gets one built when the store is
writable; a read-only reader without one searches exactly. Rows are the graph's ids, so a graph
is only used when it holds exactly as many rows as the matrix.

When it is used (`Settings.vector_search`): exact never, hnsw always, auto when the matrix
holds at least `Settings.ann_threshold` vectors. A filtered search (tier, documents, passage
ids) runs exactly over the allowed rows when they are few (below the threshold, or under
FILTER_FRACTION of the matrix: exact over them is then cheap and the graph walk would have to
visit many rows it cannot return); otherwise the graph is searched with the rows as a selector,
and exact search takes over if the graph returns fewer hits than asked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from medcite.settings import Settings, env_name

LIBRARY = "faiss-cpu"
GRAPH_FILE = "hnsw.faiss"
PARAMS_FILE = "hnsw.json"
FILTER_FRACTION = 0.05  # a filter keeping less than this share of the rows is searched exactly
BUILD_THREADS = 2  # faiss's OpenMP threads while adding vectors (one query always walks on one)


class VectorSearch(StrEnum):
    """How dense search finds its nearest vectors."""

    EXACT = "exact"  # one matrix product over every (allowed) row
    HNSW = "hnsw"  # the HNSW graph whatever the size
    AUTO = "auto"  # the graph from Settings.ann_threshold vectors on, exact below


@dataclass(frozen=True)
class AnnParams:
    """The settings of the graph: when it is used and how it is built and walked."""

    mode: VectorSearch
    threshold: int
    m: int
    ef_construction: int
    ef_search: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "AnnParams":
        """Return the parameters of `settings`; ValueError names the variable of a bad value."""
        try:
            mode = VectorSearch(str(settings.vector_search).strip().lower())
        except ValueError:
            choices = ", ".join(v.value for v in VectorSearch)
            raise ValueError(f"{env_name('vector_search')}={settings.vector_search!r}: use one of {choices}") from None
        for name in ("ann_threshold", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search"):
            if getattr(settings, name) < 1:
                raise ValueError(f"{env_name(name)}={getattr(settings, name)}: must be a positive integer")
        return cls(mode, settings.ann_threshold, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search)

    def wanted(self, rows: int) -> bool:
        """Return True when a matrix of `rows` vectors should have (and use) a graph."""
        if rows == 0 or self.mode is VectorSearch.EXACT:
            return False
        return self.mode is VectorSearch.HNSW or rows >= self.threshold

    def graph_key(self) -> dict:
        """Return what a stored graph must match to be reused (its build parameters)."""
        return {"library": LIBRARY, "m": self.m, "ef_construction": self.ef_construction}


class HnswGraph:
    """A faiss HNSW graph whose ids are the rows of one dense matrix."""

    def __init__(self, index, params: AnnParams):
        self.index = index
        self.params = params

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, n: int, rows: np.ndarray | None = None) -> list[tuple[int, float]] | None:
        """Return up to n (row, inner product) pairs, best first, or None when exact search should answer.

        rows (sorted matrix rows) restricts the result; None means every row.
        """
        import faiss

        total = self.size
        if rows is not None and len(rows) == total:
            rows = None  # a filter that keeps every row (the only embedded tier) is no filter
        if rows is not None and (len(rows) < self.params.threshold or len(rows) < FILTER_FRACTION * total):
            return None
        want = min(n, total if rows is None else len(rows))
        search_params = faiss.SearchParametersHNSW()
        search_params.efSearch = max(self.params.ef_search, want)
        bitmap = None
        if rows is not None:
            mask = np.zeros(total, dtype=bool)
            mask[rows] = True
            bitmap = np.packbits(mask, bitorder="little")  # kept alive while faiss reads it
            search_params.sel = faiss.IDSelectorBitmap(total, faiss.swig_ptr(bitmap))
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32)[None, :], want, params=search_params)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        del bitmap
        return hits if len(hits) == want else None


def build_graph(vectors: np.ndarray, params: AnnParams) -> HnswGraph:
    """Return a new HNSW graph over the rows of `vectors` (unit length: inner product = cosine)."""
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], params.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = params.ef_construction
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(min(BUILD_THREADS, os.cpu_count() or 1))
    try:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    finally:
        faiss.omp_set_num_threads(threads)
    return HnswGraph(index, params)


def write_graph(folder: Path, vectors: np.ndarray, params: AnnParams) -> HnswGraph | None:
    """Build and save the graph of `vectors` into `folder` when the parameters want one; return it.

    The file is written under a temporary name and renamed, so a reader never loads half a graph.
    """
    if not params.wanted(len(vectors)):
        return None
    import faiss

    graph = build_graph(vectors, params)
    tmp = folder / (GRAPH_FILE + ".tmp")
    faiss.write_index(graph.index, str(tmp))
    os.replace(tmp, folder / GRAPH_FILE)
    (folder / PARAMS_FILE).write_text(json.dumps({**params.graph_key(), "rows": len(vectors)}))
    return graph


def open_graph(folder: Path, vectors: np.ndarray, params: AnnParams, writable: bool) -> HnswGraph | None:
    """Return the graph of the matrix in `folder`: loaded when stored with these parameters and
    rows, else built and saved when `writable`, else None (dense search stays exact)."""
    if not params.wanted(len(vectors)):
        return None
    try:
        stored = json.loads((folder / PARAMS_FILE).read_text())
    except (OSError, ValueError):
        stored = None
    if stored == {**params.graph_key(), "rows": len(vectors)}:
        import faiss

        try:
            index = faiss.read_index(str(folder / GRAPH_FILE))
        except RuntimeError:  # a damaged or missing file: rebuild below when allowed
            index = None
        if index is not None and index.ntotal == len(vectors):
            return HnswGraph(index, params)
    return write_graph(folder, vectors, params) if writable else None

