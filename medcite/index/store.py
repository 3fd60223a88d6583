"""The embedded index: one SQLite file as the system of record, plus derived search indexes.

Tables: documents, passages, drug_names, doc_abbreviations, embeddings, ingest_log, ingest_files,
meta (corpus_version, schema_version). Every write happens inside a transaction
(`BEGIN IMMEDIATE`); the corpus version is bumped in the same transaction as the change it
describes, so a killed ingest leaves either the old or the new state, never a mix.

Derived indexes (BM25 in `<db>.search/bm25`, dense vectors in `<db>.search/dense`) record the
corpus version they were built from and are rebuilt when it differs.

`Store` is the small interface the rest of the pipeline uses; `SQLiteStore` implements it. A
server backend (PostgreSQL + pgvector) implements the same Protocol.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np


from medcite.errors import IndexMissingError, NotFoundError
from medcite.index.lexical import LexicalIndex
from medcite.records import Document, DrugName, Hit, Passage, Section

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    tier TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    url TEXT,
    version TEXT,
    meta TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    source_file TEXT,
    corpus_version INTEGER NOT NULL,
    ingested_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_tier ON documents(tier, source_kind);
CREATE TABLE IF NOT EXISTS passages (
    passage_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    tier TEXT NOT NULL,
    section TEXT NOT NULL,
    section_code TEXT,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS embeddings (
    passage_id TEXT PRIMARY KEY REFERENCES passages(passage_id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS drug_names (
    name_norm TEXT NOT NULL,
    name TEXT NOT NULL,
    generic TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (name_norm, generic, source)
);
CREATE INDEX IF NOT EXISTS drug_names_generic ON drug_names(generic);
CREATE TABLE IF NOT EXISTS doc_abbreviations (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    short TEXT NOT NULL,
    long TEXT NOT NULL,
    PRIMARY KEY (doc_id, short, long)
);
CREATE TABLE IF NOT EXISTS ingest_log (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    at REAL NOT NULL,
    source_file TEXT NOT NULL,
    record TEXT,
    status TEXT NOT NULL,
    message TEXT
);
CREATE TABLE IF NOT EXISTS ingest_files (
    path TEXT PRIMARY KEY,
    signature TEXT NOT NULL,
    format TEXT,
    status TEXT NOT NULL,
    run_id TEXT NOT NULL,
    at REAL NOT NULL
);
"""


def bm25_body(title: str, section: str, text: str) -> str:
    """Return the text indexed for BM25: title and section name give the passage its context."""
    return f"{title}\n{section}\n{text}"


T = TypeVar("T")


def older_version(incoming: str | None, stored: str | None) -> bool:
    """Return True when both versions are numbers and `incoming` is the lower one."""
    try:
        return int(incoming) < int(stored)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


HIT_COLUMNS = ("p.passage_id, p.doc_id, p.tier, d.source_kind, d.source_id, d.title, p.section, p.text,"
               " p.section_code, d.url, d.date FROM passages p JOIN documents d USING (doc_id)")


def hit_of(row: Sequence[Any], scores: dict[str, float] | None) -> Hit:
    """Return the Hit of one row of HIT_COLUMNS (score from `scores`, else 0)."""
    return Hit(passage_id=row[0], doc_id=row[1], tier=row[2], source_kind=row[3], source_id=row[4], title=row[5],
               section=row[6], text=row[7], score=(scores or {}).get(row[0], 0.0), section_code=row[8], url=row[9], date=row[10])


def sections_of(rows: Iterable[tuple[str, str | None, str]]) -> list[Section]:
    """Return the sections rebuilt from (section, section_code, text) passage rows in order."""
    sections: list[Section] = []
    for name, code, text in rows:
        if sections and sections[-1].name == name and sections[-1].code == code:
            sections[-1].text += "\n" + text
        else:
            sections.append(Section(name=name, code=code, text=text))
    return sections


def meta_entry(title, tier, source_kind, source_id, date, url, version, meta: str) -> dict[str, Any]:
    """Return one value of `document_meta` from the stored columns (meta is the stored JSON)."""
    return {"title": title, "tier": tier, "source_kind": source_kind, "source_id": source_id, "date": date, "url": url,
            "version": version, "meta": json.loads(meta).get("meta", {})}


def tier_counts(doc_rows: Iterable[tuple[str, str, int]], passage_rows: Iterable[tuple[str, str, int]]) -> dict[str, dict[str, Any]]:
    """Return stats' {tier: {documents, passages, sources: {kind: {documents, passages}}}} from
    (tier, source_kind, count) rows of documents and of passages."""
    by_tier: dict[str, dict[str, Any]] = {}
    for tier, kind, ndocs in doc_rows:
        t = by_tier.setdefault(tier, {"documents": 0, "passages": 0, "sources": {}})
        t["documents"] += ndocs
        t["sources"][kind] = {"documents": ndocs, "passages": 0}
    for tier, kind, npass in passage_rows:
        by_tier[tier]["passages"] += npass
        by_tier[tier]["sources"][kind]["passages"] = npass
    return by_tier


def normalize_name(name: str) -> str:
    """Return a drug name as looked up: lower case, single spaces."""
    return " ".join(name.lower().replace("®", "").replace("™", "").split())


class LexicalSearch(Protocol):
    """A full-text (BM25-like) index of passages: what retrieval and query building read."""

    def query_terms(self, query: str) -> list[str]:
        """Return the analyzed terms of a user query (deduplicated, in order)."""
        ...

    def search(self, query: str, k: int = 10, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               term_weights: dict[str, float] | None = None) -> list[tuple[str, float]]:
        """Return up to k (passage_id, score) pairs, best first, ties broken on passage id."""
        ...

    def doc_freq(self, term: str) -> int:
        """Return how many passages hold the analyzed `term`."""
        ...

    def num_docs(self) -> int:
        """Return the number of passages indexed."""
        ...

    def built_version(self) -> int | None:
        """Return the corpus version the index answers from (None when there is none yet)."""
        ...

    def close(self) -> None:
        """Drop open searchers (the next search opens the newest committed index)."""
        ...


class VectorIndex(Protocol):
    """Passage vectors of one embedding model, searched by inner product (cosine of unit vectors)."""

    @property
    def size(self) -> int:
        """Return the number of vectors searchable."""
        ...

    def has_vector(self, passage_id: str) -> bool:
        """Return True when the passage can be ranked by vector search."""
        ...

    def vectored(self, passage_ids: Iterable[str]) -> set[str]:
        """Return the subset of `passage_ids` that have a vector."""
        ...

    def sync(self, force: bool = False) -> str:
        """Bring the searchable vectors up to the stored ones; return 'fresh', 'loaded' or 'rebuilt'."""
        ...

    def search(self, query_vec: np.ndarray, k: int, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               allowed_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """Return up to k (passage_id, cosine) pairs, best first, ties broken on passage id."""
        ...


@runtime_checkable
class Store(Protocol):
    """Every read and write of stored data, whatever the backend (SQLite file, PostgreSQL server).

    Writes happen inside `transaction()`; the corpus version is bumped in the transaction that
    changed content. Reads never see half a transaction. `search_dir` is a local folder for files
    derived from the corpus (search indexes, answer resources), keyed by corpus version.
    """

    location: str  # the SQLite file or the database URI (passwords removed), for messages and cache keys
    readonly: bool
    search_dir: Path
    lexical: LexicalSearch

    # ---- lifecycle and versions
    def transaction(self) -> AbstractContextManager[None]:
        """Return a context that runs its block in one write transaction (rolled back on error)."""
        ...

    def corpus_version(self) -> int:
        """Return the corpus version: it increases with every committed change of content."""
        ...

    def bump_version(self) -> int:
        """Increase the corpus version inside the current transaction; return it."""
        ...

    def close(self) -> None:
        """Close connections and searchers."""
        ...

    def interrupt(self) -> None:
        """Stop the statement running on this store's connection (it fails); callable from another thread."""
        ...

    def cached(self, name: str, build: Callable[[], T]) -> T:
        """Return `build()` at the current corpus version, built once per store (or shared cache)."""
        ...

    # ---- writes (inside transaction())
    def upsert_document(self, doc: Document, passages: list[Passage]) -> str:
        """Store a document and its passages; return 'added', 'replaced' or 'unchanged'."""
        ...

    def add_abbreviations(self, doc_id: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Record the abbreviation definitions found in one document."""
        ...

    def add_drug_names(self, names: Iterable[DrugName]) -> int:
        """Add drug-name dictionary entries (duplicates ignored); return how many were new."""
        ...

    def log(self, run_id: str, source_file: str, record: str | None, status: str, message: str | None = None) -> None:
        """Append one row to the ingest log."""
        ...

    def file_signature(self, path: str) -> str | None:
        """Return the stored signature of a file whose ingest completed, or None."""
        ...

    def mark_file(self, path: str, signature: str, fmt: str | None, status: str, run_id: str) -> None:
        """Record that a file's ingest reached `status`."""
        ...

    # ---- embeddings
    def missing_embeddings(self, model: str, tiers: list[str] | None) -> list[tuple[str, str, str, str]]:
        """Return (passage_id, title, section, text) of passages without a vector of `model`, in insertion order."""
        ...

    def put_embeddings(self, model: str, rows: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store (passage_id, unit float32 vector) rows of `model` (replacing older ones)."""
        ...

    def vector_index(self, model: str, settings: Any = None) -> VectorIndex:
        """Return the vector search of `model` over this store (one instance per store, model and
        search settings: `Settings` picks exact or HNSW search where the backend offers both)."""
        ...

    # ---- derived lexical index
    def sync_lexical(self, changed_doc_ids: Iterable[str] | None = None, base_version: int | None = None) -> str:
        """Bring the lexical index up to the corpus version; return 'fresh', 'updated' or 'rebuilt'."""
        ...

    def ensure_search_ready(self) -> None:
        """Build a missing lexical index (and a stale one unless read-only)."""
        ...

    # ---- reads
    def search(self, query: str, k: int = 10, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               term_weights: dict[str, float] | None = None) -> list[Hit]:
        """Return the k best lexical hits for `query`, optionally within a tier or a set of documents."""
        ...

    def get_hits(self, passage_ids: list[str], scores: dict[str, float] | None = None) -> list[Hit]:
        """Return Hits for the given passage ids, in the given order (unknown ids are left out)."""
        ...

    def get_document(self, doc_id: str) -> Document:
        """Return one document with its sections rebuilt from its passages (raises NotFoundError)."""
        ...

    def passages_of(self, doc_id: str) -> list[Passage]:
        """Return the passages of one document in order."""
        ...

    def passage_texts(self, tiers: Iterable[str]) -> Iterator[tuple[str, str]]:
        """Yield (doc_id, text) of every passage of `tiers`, in insertion order."""
        ...

    def document_meta(self, doc_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return {doc_id: {title, tier, source_kind, source_id, date, url, version, meta}} for the ids."""
        ...

    def documents_by_kind(self, tier: str | None = None, source_kind: str | None = None) -> list[str]:
        """Return the doc ids of a tier and/or source kind, sorted."""
        ...

    def source_ids(self) -> dict[str, str]:
        """Return {doc_id: source_id} of every document."""
        ...

    def labels_with_rxcui(self, code: str) -> list[tuple[str, dict[str, Any]]]:
        """Return (doc_id, meta) of the labels whose meta lists RxNorm `code` (sorted by doc id)."""
        ...

    def counts(self) -> dict[str, int]:
        """Return {"documents": n, "passages": n}."""
        ...

    def drug_name_rows(self) -> list[tuple[str, str, str]]:
        """Return every (name, generic, kind) row of the drug dictionary."""
        ...

    def resolve_drug(self, name: str) -> list[str]:
        """Return the generic names a drug name resolves to (most sources first)."""
        ...

    def synonyms(self, generic: str) -> list[str]:
        """Return every dictionary name (brand, synonym) that resolves to `generic`."""
        ...

    def brand_generics(self, name: str, limit: int = 3) -> list[str]:
        """Return the generics of `name` when it is a brand name and no generic (sorted, at most `limit`)."""
        ...

    def abbreviation_rows(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """Return (short, long, number of documents defining it) for the corpus-derived abbreviations."""
        ...

    def stats(self) -> dict[str, Any]:
        """Return counts per tier and source kind, dictionary size, corpus version and index sizes."""
        ...


class CorpusCache:
    """Values derived from the whole corpus (drug lexicon, label catalog, abbreviation tables), one
    per name at one corpus version; a new corpus version rebuilds them. A store owns one; the
    stores of one serving pool share one, so memory stays flat whatever the number of threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, Any]] = {}

    def get(self, name: str, version: int, build: Callable[[], T]) -> T:
        """Return the value of `name` at `version`, calling `build()` when it is missing or older."""
        with self._lock:
            hit = self._entries.get(name)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = build()
        with self._lock:
            self._entries[name] = (version, value)
        return value


class SQLiteStore:
    """The default embedded backend: SQLite system of record + tantivy BM25 (+ dense vectors)."""

    def __init__(self, path: str | Path, readonly: bool = False, create: bool = True, cache: CorpusCache | None = None):
        self.path = Path(path)
        self.location = str(self.path)
        self.readonly = readonly
        self.cache = cache or CorpusCache()
        self._vector_indexes: dict[tuple, VectorIndex] = {}
        if not self.path.exists() and (readonly or not create):
            raise IndexMissingError(f"{self.path}: no index here; run `medcite ingest PATH` first (or pass --index)")
        if readonly:
            uri = f"file:{self.path.resolve()}?mode=ro"
            self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.executescript(SCHEMA)
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('corpus_version', '0')")
        self.search_dir = self.path.with_name(self.path.name + ".search")
        self.lexical = LexicalIndex(self.search_dir / "bm25")
        self._in_tx = False

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one write transaction (BEGIN IMMEDIATE); roll back on any exception."""
        if self._in_tx:
            yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._in_tx = True
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._in_tx = False

    def corpus_version(self) -> int:
        """Return the corpus version: it increases with every committed change of content."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='corpus_version'").fetchone()
        return int(row[0]) if row else 0

    def bump_version(self) -> int:
        """Increase the corpus version (call inside the transaction that changed content); return it."""
        version = self.corpus_version() + 1
        self.conn.execute("UPDATE meta SET value=? WHERE key='corpus_version'", (str(version),))
        return version

    def close(self) -> None:
        """Close the connection and the BM25 searcher."""
        self.lexical.close()
        self.conn.close()

    def interrupt(self) -> None:
        """Stop the running SQL statement (it fails with "interrupted"); safe from another thread."""
        self.conn.interrupt()

    def cached(self, name: str, build: Callable[[], T]) -> T:
        """Return `build()` at the current corpus version, built once per cache (see CorpusCache)."""
        return self.cache.get(name, self.corpus_version(), build)

    # ------------------------------------------------------------------ writes
    def upsert_document(self, doc: Document, passages: list[Passage]) -> str:
        """Store `doc` and its passages; return 'added', 'replaced' or 'unchanged' (same content hash).

        Must be called inside `transaction()`; the caller bumps the corpus version once per batch.
        """
        digest = doc.content_hash()
        row = self.conn.execute(
            "SELECT content_hash, source_kind, version FROM documents WHERE doc_id=?", (doc.doc_id,)
        ).fetchone()
        if row is not None and row[0] == digest:
            return "unchanged"
        if row is not None and row[1] != doc.source_kind and row[2] == doc.version:
            # The same version of the same record from another format (an SPL XML of a label already
            # read from openFDA JSON, an NGC XML of a summary read from the JSONL): the first one stays,
            # so re-ingesting a folder never flip-flops between the two.
            return "unchanged"
        if row is not None and older_version(doc.version, row[2]):
            # An older version of a stored record (e.g. a 2014 SPL of a label whose 2022 version is
            # held) never replaces the newer one.
            return "unchanged"
        status = "added" if row is None else "replaced"
        if row is not None:
            self.conn.execute("DELETE FROM documents WHERE doc_id=?", (doc.doc_id,))
        self.conn.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.doc_id, doc.tier, doc.source_kind, doc.source_id, doc.title, doc.date, doc.url, doc.version,
                json.dumps({"meta": doc.meta, "sections": [[s.name, s.code] for s in doc.sections]}, default=str),
                digest, doc.source_file, self.corpus_version() + 1, time.time(),
            ),
        )
        self.conn.executemany(
            "INSERT INTO passages VALUES (?,?,?,?,?,?,?)",
            [(p.passage_id, p.doc_id, p.ordinal, p.tier, p.section, p.section_code, p.text) for p in passages],
        )
        return status

    def add_abbreviations(self, doc_id: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Record the abbreviation definitions found in one document."""
        self.conn.executemany("INSERT OR IGNORE INTO doc_abbreviations VALUES (?,?,?)", [(doc_id, s, l) for s, l in pairs])

    def add_drug_names(self, names: Iterable[DrugName]) -> int:
        """Add drug-name dictionary entries (duplicates ignored); return how many were new."""
        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT OR IGNORE INTO drug_names VALUES (?,?,?,?,?)",
            [(normalize_name(n.name), n.name, n.generic.lower().strip(), n.kind, n.source) for n in names if n.name and n.generic],
        )
        return self.conn.total_changes - before

    def log(self, run_id: str, source_file: str, record: str | None, status: str, message: str | None = None) -> None:
        """Append one row to the ingest log."""
        self.conn.execute(
            "INSERT INTO ingest_log (run_id, at, source_file, record, status, message) VALUES (?,?,?,?,?,?)",
            (run_id, time.time(), source_file, record, status, message),
        )

    def file_signature(self, path: str) -> str | None:
        """Return the stored signature of a file whose ingest completed, or None."""
        row = self.conn.execute("SELECT signature FROM ingest_files WHERE path=? AND status='done'", (path,)).fetchone()
        return row[0] if row else None

    def mark_file(self, path: str, signature: str, fmt: str | None, status: str, run_id: str) -> None:
        """Record that a file's ingest reached `status` ('done' lets a re-run skip it)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO ingest_files VALUES (?,?,?,?,?,?)", (path, signature, fmt, status, run_id, time.time())
        )

    # ------------------------------------------------------------------ embeddings
    def missing_embeddings(self, model: str, tiers: list[str] | None) -> list[tuple[str, str, str, str]]:
        """Return (passage_id, title, section, text) of passages without a vector of `model`, in rowid order."""
        sql = (
            "SELECT p.passage_id, d.title, p.section, p.text FROM passages p JOIN documents d USING (doc_id) "
            "LEFT JOIN embeddings e ON e.passage_id = p.passage_id AND e.model = ? WHERE e.passage_id IS NULL"
        )
        args: list[Any] = [model]
        if tiers is not None:
            sql += f" AND p.tier IN ({','.join('?' * len(tiers))})"
            args += tiers
        return [tuple(r) for r in self.conn.execute(sql + " ORDER BY p.rowid", args)]

    def put_embeddings(self, model: str, rows: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store (passage_id, float32 vector) rows of `model`, replacing older ones (call in a transaction)."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?,?,?)",
            [(pid, model, np.asarray(vec, dtype=np.float32).tobytes()) for pid, vec in rows],
        )

    def embedding_marker(self) -> tuple[int, int]:
        """Return (rows, last rowid) of the embeddings table: it changes with every write."""
        # All rows, not one model's: COUNT(*) then reads the primary-key index, not 100k vector
        # blobs. MAX(rowid) moves with every write, even one that leaves the count unchanged.
        count, last = self.conn.execute("SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM embeddings").fetchone()
        return int(count), int(last)

    def embedding_matrix(self, model: str, dim: int) -> tuple[np.ndarray, dict[str, list[str]]]:
        """Return (n x dim float32 matrix, {"pids", "doc_ids", "tiers"}) of `model`'s vectors in passage order."""
        rows = self.conn.execute(
            "SELECT e.passage_id, p.doc_id, p.tier, e.vector FROM embeddings e JOIN passages p USING (passage_id) "
            "WHERE e.model=? ORDER BY p.rowid",
            (model,),
        ).fetchall()
        vectors = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        return vectors, {"pids": [r[0] for r in rows], "doc_ids": [r[1] for r in rows], "tiers": [r[2] for r in rows]}

    def vector_index(self, model: str, settings: Any = None) -> VectorIndex:
        """Return this store's vector index of `model` (a matrix derived from the table, with an HNSW
        graph above the settings' threshold; call .sync()), one per model and search settings."""
        from medcite.index.ann import AnnParams
        from medcite.index.dense import DenseIndex  # dense builds on this module
        from medcite.settings import load_settings

        key = (model, AnnParams.from_settings(settings or load_settings()))
        if key not in self._vector_indexes:
            self._vector_indexes[key] = DenseIndex(self, model, settings)
        return self._vector_indexes[key]

    # ------------------------------------------------------------------ derived indexes
    def iter_bm25_rows(self, doc_ids: Iterable[str] | None = None) -> Iterator[tuple[str, str, str, str]]:
        """Yield (passage_id, doc_id, tier, body) for all passages, or for those of `doc_ids`."""
        sql = (
            "SELECT p.passage_id, p.doc_id, p.tier, d.title, p.section, p.text FROM passages p "
            "JOIN documents d USING (doc_id)"
        )
        if doc_ids is None:
            rows = self.conn.execute(sql + " ORDER BY p.rowid")
            for pid, doc_id, tier, title, section, text in rows:
                yield pid, doc_id, tier, bm25_body(title, section, text)
            return
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for pid, doc_id, tier, title, section, text in self.conn.execute(sql + f" WHERE p.doc_id IN ({marks})", chunk):
                yield pid, doc_id, tier, bm25_body(title, section, text)

    def sync_lexical(self, changed_doc_ids: Iterable[str] | None = None, base_version: int | None = None) -> str:
        """Bring the BM25 index up to the corpus version; return 'fresh', 'updated' or 'rebuilt'.

        Incremental when the index was built at `base_version` and `changed_doc_ids` lists every
        document added, replaced or removed since then; otherwise (e.g. after a killed ingest left
        the index behind) it is rebuilt from the store.
        """
        version = self.corpus_version()
        built = self.lexical.built_version()
        if built == version:
            return "fresh"
        if changed_doc_ids is not None and built is not None and built == base_version:
            ids = list(changed_doc_ids)
            self.lexical.update(ids, self.iter_bm25_rows(ids), version)
            return "updated"
        self.lexical.rebuild(self.iter_bm25_rows(), version)
        return "rebuilt"

    def ensure_search_ready(self) -> None:
        """Rebuild derived indexes that are missing, or stale after an interrupted ingest.

        A read-only store (serving) only builds a missing index: while `medcite ingest` is running
        it keeps answering from the last complete index, which the ingest brings up to date.
        """
        built = self.lexical.built_version()
        if built is None or (built != self.corpus_version() and not self.readonly):
            self.sync_lexical()

    # ------------------------------------------------------------------ reads
    def search(self, query: str, k: int = 10, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               term_weights: dict[str, float] | None = None) -> list[Hit]:
        """Return the k best BM25 hits for `query`, optionally within a tier or a set of documents."""
        self.ensure_search_ready()
        ranked = self.lexical.search(query, k=k, tier=tier, doc_ids=doc_ids, term_weights=term_weights)
        return self.get_hits([pid for pid, _ in ranked], dict(ranked))

    def get_hits(self, passage_ids: list[str], scores: dict[str, float] | None = None) -> list[Hit]:
        """Return Hits for the given passage ids, in the given order (unknown ids are left out)."""
        if not passage_ids:
            return []
        found: dict[str, Hit] = {}
        for i in range(0, len(passage_ids), 500):
            chunk = passage_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(f"SELECT {HIT_COLUMNS} WHERE p.passage_id IN ({marks})", chunk):
                found[r[0]] = hit_of(r, scores)
        return [found[p] for p in passage_ids if p in found]

    def get_document(self, doc_id: str) -> Document:
        """Return one document with its sections rebuilt from its passages (raises NotFoundError)."""
        row = self.conn.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{doc_id}: no such document in the index (try `medcite search`)")
        stored = json.loads(row["meta"])
        sections = sections_of(self.conn.execute(
            "SELECT section, section_code, text FROM passages WHERE doc_id=? ORDER BY ordinal", (doc_id,)))
        return Document(
            doc_id=row["doc_id"], tier=row["tier"], source_kind=row["source_kind"], source_id=row["source_id"],
            title=row["title"], sections=sections, date=row["date"], url=row["url"], version=row["version"],
            meta=stored.get("meta", {}), source_file=row["source_file"],
        )

    def passages_of(self, doc_id: str) -> list[Passage]:
        """Return the passages of one document in order."""
        return [
            Passage(r[0], r[1], r[2], r[3], r[4], r[6], r[5])
            for r in self.conn.execute(
                "SELECT passage_id, doc_id, ordinal, tier, section, section_code, text FROM passages WHERE doc_id=? ORDER BY ordinal",
                (doc_id,),
            )
        ]

    def passage_texts(self, tiers: Iterable[str]) -> Iterator[tuple[str, str]]:
        """Yield (doc_id, text) of every passage of `tiers`, in rowid order."""
        tiers = list(tiers)
        marks = ",".join("?" * len(tiers))
        yield from self.conn.execute(f"SELECT doc_id, text FROM passages WHERE tier IN ({marks}) ORDER BY rowid", tiers)

    def source_ids(self) -> dict[str, str]:
        """Return {doc_id: source_id} of every document."""
        return {doc_id: source_id for doc_id, source_id in self.conn.execute("SELECT doc_id, source_id FROM documents")}

    def labels_with_rxcui(self, code: str) -> list[tuple[str, dict[str, Any]]]:
        """Return (doc_id, meta) of the labels whose meta lists RxNorm `code` (sorted by doc id)."""
        rows = self.conn.execute(
            "SELECT doc_id, meta FROM documents WHERE tier='label' AND meta LIKE ? ORDER BY doc_id", (f'%"{code}"%',)
        )
        out = []
        for doc_id, meta in rows:
            info = json.loads(meta).get("meta", {})
            if code in (info.get("rxcui") or []):  # LIKE is a prefilter: the code must be an rxcui
                out.append((doc_id, info))
        return out

    def counts(self) -> dict[str, int]:
        """Return {"documents": n, "passages": n}."""
        docs, passages = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM passages)"
        ).fetchone()
        return {"documents": docs, "passages": passages}

    def document_meta(self, doc_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return {doc_id: {title, tier, source_kind, source_id, date, url, version, meta}} for the ids."""
        out: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(doc_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(f"SELECT * FROM documents WHERE doc_id IN ({marks})", chunk):
                out[r["doc_id"]] = meta_entry(r["title"], r["tier"], r["source_kind"], r["source_id"], r["date"], r["url"],
                                              r["version"], r["meta"])
        return out

    def documents_by_kind(self, tier: str | None = None, source_kind: str | None = None) -> list[str]:
        """Return the doc ids of a tier and/or source kind."""
        sql, args = "SELECT doc_id FROM documents WHERE 1=1", []
        if tier:
            sql, args = sql + " AND tier=?", args + [tier]
        if source_kind:
            sql, args = sql + " AND source_kind=?", args + [source_kind]
        return [r[0] for r in self.conn.execute(sql + " ORDER BY doc_id", args)]

    def drug_name_rows(self) -> list[tuple[str, str, str]]:
        """Return every (name, generic, kind) row of the drug dictionary."""
        # In first-insertion order, spelled out so that every backend returns the same list.
        return [tuple(r) for r in self.conn.execute(
            "SELECT name, generic, kind FROM drug_names GROUP BY name, generic, kind ORDER BY MIN(rowid)")]

    def resolve_drug(self, name: str) -> list[str]:
        """Return the generic names a drug name resolves to (most sources first)."""
        rows = self.conn.execute(
            "SELECT generic, COUNT(*) n FROM drug_names WHERE name_norm=? GROUP BY generic ORDER BY n DESC, generic",
            (normalize_name(name),),
        )
        return [r[0] for r in rows]

    def synonyms(self, generic: str) -> list[str]:
        """Return every dictionary name (brand, synonym) that resolves to `generic`."""
        rows = self.conn.execute("SELECT DISTINCT name_norm FROM drug_names WHERE generic=? ORDER BY name_norm", (generic.lower(),))
        return [r[0] for r in rows]

    def brand_generics(self, name: str, limit: int = 3) -> list[str]:
        """Return the generics of `name` when the dictionary knows it as a brand and not as a generic."""
        norm = normalize_name(name)
        rows = self.conn.execute(
            "SELECT DISTINCT generic FROM drug_names WHERE name_norm=? AND kind='brand' AND NOT EXISTS "
            "(SELECT 1 FROM drug_names WHERE name_norm=? AND kind='generic') ORDER BY generic LIMIT ?",
            (norm, norm, limit),
        )
        return [r[0] for r in rows]

    def abbreviation_rows(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """Return (short, long, number of documents defining it) for the corpus-derived abbreviations."""
        return [
            tuple(r)
            for r in self.conn.execute(
                "SELECT short, long, COUNT(*) n FROM doc_abbreviations GROUP BY short, long HAVING n>=? ORDER BY short, n DESC, long",
                (min_count,),
            )
        ]

    def stats(self) -> dict[str, Any]:
        """Return counts per tier and source kind, drug dictionary size, corpus version and index sizes."""
        by_tier = tier_counts(
            self.conn.execute("SELECT tier, source_kind, COUNT(*) FROM documents GROUP BY tier, source_kind ORDER BY tier, source_kind"),
            self.conn.execute("SELECT p.tier, d.source_kind, COUNT(*) FROM passages p JOIN documents d USING (doc_id)"
                              " GROUP BY p.tier, d.source_kind"))
        drug = {
            src: n for src, n in self.conn.execute("SELECT source, COUNT(*) FROM drug_names GROUP BY source ORDER BY source")
        }
        n_generics = self.conn.execute("SELECT COUNT(DISTINCT generic) FROM drug_names").fetchone()[0]
        errors = self.conn.execute("SELECT COUNT(*) FROM ingest_log WHERE status='error'").fetchone()[0]
        return {
            "corpus_version": self.corpus_version(),
            "schema_version": SCHEMA_VERSION,
            "documents": sum(t["documents"] for t in by_tier.values()),
            "passages": sum(t["passages"] for t in by_tier.values()),
            "tiers": by_tier,
            "drug_dictionary": {"entries": sum(drug.values()), "generics": n_generics, "sources": drug},
            "abbreviations": self.conn.execute("SELECT COUNT(DISTINCT short || '|' || long) FROM doc_abbreviations").fetchone()[0],
            "embeddings": self.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0],
            "ingest_errors": errors,
            "index_file": str(self.path),
            "index_bytes": self.path.stat().st_size if self.path.exists() else 0,
            "bm25_version": self.lexical.built_version(),
        }


def open_store(path: str | Path, readonly: bool = False, create: bool = True, cache: CorpusCache | None = None) -> Store:
    """Return the store at `path` (created when missing unless readonly/create=False).

    A `postgresql://` URI opens the PostgreSQL backend (the `postgres` extra); anything else is a
    SQLite file. Stores given the same `cache` share what is derived from the corpus."""
    if is_server_uri(str(path)):
        from medcite.index.postgres import PostgresStore  # optional extra: imported only when asked for

        return PostgresStore(str(path), readonly=readonly, create=create, cache=cache)
    return SQLiteStore(path, readonly=readonly, create=create, cache=cache)


def is_server_uri(location: str) -> bool:
    """Return True when `location` names a database server (postgresql:// or postgres://), not a file."""
    return location.startswith(("postgresql://", "postgres://"))
