"""Dense passage vectors: stored in the SQLite `embeddings` table, searched from a derived matrix.

System of record: one row per passage in `embeddings(passage_id, model, vector BLOB)` (384 float32,
unit length), written in transactions of a few hundred rows, so that a killed ingest keeps what
it embedded and the next run embeds only what is missing (`sync_embeddings` is resumable). Rows
go away with their passage (ON DELETE CASCADE) when a document is replaced.

Derived: `<db>.search/dense/` holds `vectors.npy` (n x 384 float32), `ids.json` (passage id, doc
id, tier per row) and `state.json` (corpus version, model, row count, last rowid). It is rebuilt
from the table when any of these differs, written to a temporary folder then renamed, so that a
reader never sees half a matrix.

Search is exact (one matrix-vector product: 0.8 ms p50 over the 12.8k research vectors of the
shared corpus, 7 ms over a 100k x 384 matrix) until the matrix reaches `Settings.ann_threshold`
rows; from there an HNSW graph stored beside it answers (medcite/index/ann.py, docs/scale.md).

Which passages get a vector: `Settings.dense_tiers` ("research" by default, "all" or a comma
list). Embedding runs at ~115 passages/s at 64 tokens on 2 cores here (~50/s at 128), so the
12.8k research passages of the shared corpus take ~2 minutes and the whole ingest ~3; all 104k
passages would take ~15 minutes at 64 tokens (docs/retrieval.md). One vector per passage: a
second model (another max_seq_len) replaces the first.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from medcite.index.ann import AnnParams, HnswGraph, open_graph, write_graph
from medcite.index.embed import DIM, get_embedder, model_name
from medcite.index.store import Store, VectorIndex, bm25_body
from medcite.settings import Settings, load_settings

WRITE_BATCH = 256  # passages embedded and committed per transaction
CHECK_SECONDS = 2.0  # how often a serving process looks for new vectors


def embedding_text(title: str, section: str, text: str) -> str:
    """Return the text embedded for a passage: the same title + section + text as the BM25 body."""
    return bm25_body(title, section, text)


def _tiers(settings: Settings) -> list[str] | None:
    value = (getattr(settings, "dense_tiers", "all") or "all").strip().lower()
    if value in {"all", "*"}:
        return None
    return [t.strip() for t in value.split(",") if t.strip()]


def missing_passages(store: Store, model: str, tiers: list[str] | None) -> list[tuple[str, str]]:
    """Return (passage_id, embedding text) of the passages with no vector of `model`, in insertion order."""
    return [(pid, embedding_text(title, section, text)) for pid, title, section, text in store.missing_embeddings(model, tiers)]


def put_vectors(store: Store, model: str, pairs: Iterable[tuple[str, np.ndarray]]) -> None:
    """Store (passage_id, vector) pairs of `model` in one transaction, replacing older ones."""
    with store.transaction():
        store.put_embeddings(model, pairs)


def sync_embeddings(store: Store, on_stage: Callable[[str, int], Any] | None = None,
                    settings: Settings | None = None) -> str:
    """Embed passages lacking a vector, then refresh the dense matrix; return a one-line summary.

    The summary reads e.g. "embedded 5183, matrix rebuilt (5183 vectors)" or "fresh (5183 vectors)".
    on_stage(name, total) may return a progress(n) callable (the CLI's progress bar).
    """
    settings = settings or load_settings()
    model = model_name(settings.embed_max_seq_len)
    todo = missing_passages(store, model, _tiers(settings))
    embedded = 0
    if todo:
        progress = on_stage("embeddings", len(todo)) if on_stage else None
        embedder = get_embedder(settings.embed_max_seq_len)
        for start in range(0, len(todo), WRITE_BATCH):
            chunk = todo[start : start + WRITE_BATCH]
            vectors = embedder.embed([text for _, text in chunk])
            # One transaction per chunk: a kill loses at most one chunk of work.
            put_vectors(store, model, zip((pid for pid, _ in chunk), vectors))
            embedded += len(chunk)
            if progress:
                progress(len(chunk))
    index = dense_index(store, settings)
    status = index.sync(force=True)
    prefix = f"embedded {embedded}, " if embedded else ""
    return f"{prefix}matrix {status} ({index.size} vectors)"


@dataclass(frozen=True)
class _Matrix:
    """One loaded matrix and its row maps, swapped in as a whole so a concurrent search never
    sees the vectors of one version with the ids of another."""

    vectors: np.ndarray
    pids: list[str]
    tier_rows: dict[str, np.ndarray]
    doc_rows: dict[str, list[int]]
    row_of: dict[str, int]
    graph: HnswGraph | None = None  # the HNSW graph over these rows, when the matrix is big enough


_EMPTY = _Matrix(np.zeros((0, DIM), dtype=np.float32), [], {}, {}, {})


class DenseIndex:
    """Inner-product search over the derived matrix of one store and model (exact, or HNSW above a size)."""

    def __init__(self, store: Store, model: str, settings: Settings | None = None):
        self.store = store
        self.model = model
        self.ann = AnnParams.from_settings(settings or load_settings())
        self.folder = store.search_dir / "dense"
        self._m = _EMPTY
        self._loaded_state: dict | None = None
        self._checked = 0.0

    @property
    def size(self) -> int:
        return len(self._m.pids)

    def has_vector(self, passage_id: str) -> bool:
        """Return True when the passage is in the matrix (it can be ranked by dense search)."""
        return passage_id in self._m.row_of

    def vectored(self, passage_ids: Iterable[str]) -> set[str]:
        """Return the subset of `passage_ids` that are in the matrix."""
        row_of = self._m.row_of
        return {pid for pid in passage_ids if pid in row_of}

    # ------------------------------------------------------------------ state
    def _expected(self) -> dict:
        count, last = self.store.embedding_marker()
        return {"corpus_version": self.store.corpus_version(), "model": self.model, "count": count, "last_rowid": last}

    def _disk_state(self) -> dict | None:
        try:
            return json.loads((self.folder / "state.json").read_text())
        except (OSError, ValueError):
            return None

    def sync(self, force: bool = False) -> str:
        """Make the matrix match the embeddings table; return 'fresh', 'loaded' or 'rebuilt'.

        A read-only store only builds a missing matrix; a stale one keeps serving (the running
        ingest will rebuild it), as the BM25 index does. Unless forced, a loaded matrix is checked
        against the table at most every CHECK_SECONDS (the check costs a COUNT over the table).
        """
        now = time.monotonic()
        if not force and self._loaded_state is not None and now - self._checked < CHECK_SECONDS:
            return "fresh"
        self._checked = now
        expected = self._expected()
        if self._loaded_state == expected:
            return "fresh"
        disk = self._disk_state()
        if disk == expected or (disk is not None and self.store.readonly):
            if self._loaded_state != disk:
                self._load()
            return "loaded"
        self._rebuild(expected)
        return "rebuilt"

    def _rebuild(self, state: dict) -> None:
        vectors, meta = self.store.embedding_matrix(self.model, DIM)
        tmp = self.folder.with_name("dense.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        np.save(tmp / "vectors.npy", vectors)
        (tmp / "ids.json").write_text(json.dumps(meta))
        (tmp / "state.json").write_text(json.dumps(state))
        graph = write_graph(tmp, vectors, self.ann)  # renamed with the matrix it indexes
        if self.folder.exists():
            shutil.rmtree(self.folder)
        tmp.replace(self.folder)
        self._set(vectors, meta, state, graph)

    def _load(self) -> None:
        try:
            vectors = np.load(self.folder / "vectors.npy")
            meta = json.loads((self.folder / "ids.json").read_text())
            state = json.loads((self.folder / "state.json").read_text())
        except (OSError, ValueError):
            return
        self._set(vectors, meta, state)

    def _set(self, vectors: np.ndarray, meta: dict, state: dict, graph: HnswGraph | None = None) -> None:
        tiers = np.array(meta["tiers"], dtype=object)
        if graph is None:
            graph = open_graph(self.folder, vectors, self.ann, writable=not self.store.readonly)
        doc_rows: dict[str, list[int]] = {}
        for row, doc_id in enumerate(meta["doc_ids"]):
            doc_rows.setdefault(doc_id, []).append(row)
        self._m = _Matrix(
            vectors=np.ascontiguousarray(vectors, dtype=np.float32),
            pids=meta["pids"],
            tier_rows={t: np.flatnonzero(tiers == t) for t in set(meta["tiers"])},
            doc_rows=doc_rows,
            row_of={pid: row for row, pid in enumerate(meta["pids"])},
            graph=graph,
        )
        self._loaded_state = state

    # ------------------------------------------------------------------ search
    def search(self, query_vec: np.ndarray, k: int, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               allowed_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """Return up to k (passage_id, cosine) pairs, best first, ties broken on passage id.

        tier / doc_ids / allowed_ids (passage ids) restrict the candidates.
        """
        m = self._m
        if not m.pids or k <= 0:
            return []
        rows: np.ndarray | None = None
        if doc_ids is not None:
            rows = np.array(sorted({r for d in doc_ids for r in m.doc_rows.get(d, ())}), dtype=np.int64)
        if tier is not None:
            tier_rows = m.tier_rows.get(tier, np.zeros(0, dtype=np.int64))
            rows = tier_rows if rows is None else np.intersect1d(rows, tier_rows)
        if allowed_ids is not None:
            allowed = np.array(sorted({m.row_of[p] for p in allowed_ids if p in m.row_of}), dtype=np.int64)
            rows = allowed if rows is None else np.intersect1d(rows, allowed)
        found = m.graph.search(query_vec, k + 20, rows) if m.graph is not None else None
        if found is not None:  # None: no graph, or a filter narrow enough for exact search
            return _best([(m.pids[row], score) for row, score in found], k)
        matrix = m.vectors if rows is None else m.vectors[rows]
        if not len(matrix):
            return []
        scores = matrix @ np.asarray(query_vec, dtype=np.float32)
        # Over-fetch past the cut so that equal scores at the boundary are ordered by id.
        n = min(len(scores), k + 20)
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        hits = []
        for i in top:
            row = int(i) if rows is None else int(rows[i])
            hits.append((m.pids[row], float(scores[i])))
        return _best(hits, k)


def _best(hits: list[tuple[str, float]], k: int) -> list[tuple[str, float]]:
    """Return the k best (passage_id, score), ties broken on passage id."""
    hits.sort(key=lambda h: (-round(h[1], 6), h[0]))
    return hits[:k]


def dense_index(store: Store, settings: Settings | None = None) -> VectorIndex:
    """Return the store's vector index for the settings' model (one per store); call .sync() before use."""
    settings = settings or load_settings()
    return store.vector_index(model_name(settings.embed_max_seq_len), settings)


def ready_dense_index(store: Store, settings: Settings) -> VectorIndex | None:
    """Return the store's dense index brought up to date, or None when it holds no vectors."""
    index = dense_index(store, settings)
    index.sync()
    return index if index.size else None
