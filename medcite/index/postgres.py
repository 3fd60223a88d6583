"""The server backend: PostgreSQL as the system of record, pgvector HNSW for vectors, and lexical
search either in a local tantivy index or in PostgreSQL full text (Settings.pg_lexical).

Selected by an index location `postgresql://…` (`--index` or MEDCITE_INDEX); needs the `postgres`
extra (psycopg, pgvector), imported only when such a location is opened.

Many readers, one writer at a time: API workers on several machines open the database read-only
(`default_transaction_read_only`); `medcite ingest` writes in transactions that take one advisory
lock (writers queue, readers never wait) and bump the corpus version in the same transaction, so a
reader sees the old corpus or the new one, never a mix (MVCC), and a killed ingest leaves no trace.

Schema changes are ordered migrations recorded in `schema_version`; opening a store applies the
missing ones under an advisory lock, so workers starting together migrate once.

Lexical search (README "PostgreSQL": measured on SciFact, which to use when):
- `tantivy` (default): the same BM25 index as the embedded default, built on each machine from
  the database rows into `<local_dir>/<database>/bm25/v<corpus version>` and rebuilt when the
  corpus version moves; answers are identical to a SQLite index of the same files.
- `postgres`: `tsvector` + GIN and `ts_rank` in the database; nothing local, nothing to rebuild,
  the choice when the corpus is too large to copy to every API machine.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from medcite.errors import IndexMissingError, MedciteError, NotFoundError
from medcite.index.lexical import LexicalIndex, build_analyzer
from medcite.index.store import (
    HIT_COLUMNS, CorpusCache, VectorIndex, bm25_body, hit_of, meta_entry, normalize_name, older_version, sections_of,
    tier_counts,
)
from medcite.records import Document, DrugName, Hit, Passage
from medcite.settings import LexicalBackend, load_settings

T = TypeVar("T")
WRITE_LOCK = 0x6D656463  # advisory lock key of writers ("medc")
MIGRATE_LOCK = 0x6D656464
EF_SEARCH_MIN = 100  # HNSW candidate list; pgvector returns at most ef_search rows per scan

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('corpus_version', '0');
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, tier TEXT NOT NULL, source_kind TEXT NOT NULL, source_id TEXT NOT NULL,
    title TEXT NOT NULL, date TEXT, url TEXT, version TEXT, meta TEXT NOT NULL, content_hash TEXT NOT NULL,
    source_file TEXT, corpus_version INTEGER NOT NULL, ingested_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX documents_tier ON documents(tier, source_kind);
CREATE TABLE passages (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    passage_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, tier TEXT NOT NULL, section TEXT NOT NULL, section_code TEXT, text TEXT NOT NULL,
    tsv TSVECTOR NOT NULL
);
CREATE INDEX passages_doc ON passages(doc_id, ordinal);
CREATE INDEX passages_tier ON passages(tier, seq);
CREATE INDEX passages_tsv ON passages USING GIN (tsv);
CREATE TABLE embeddings (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    passage_id TEXT PRIMARY KEY REFERENCES passages(passage_id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector VECTOR(384) NOT NULL
);
CREATE INDEX embeddings_hnsw ON embeddings USING hnsw (vector vector_ip_ops);
CREATE TABLE drug_names (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    name_norm TEXT NOT NULL, name TEXT NOT NULL, generic TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY (name_norm, generic, source)
);
CREATE INDEX drug_names_generic ON drug_names(generic);
CREATE TABLE doc_abbreviations (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE, short TEXT NOT NULL, long TEXT NOT NULL,
    PRIMARY KEY (doc_id, short, long)
);
CREATE TABLE ingest_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, run_id TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    source_file TEXT NOT NULL, record TEXT, status TEXT NOT NULL, message TEXT
);
CREATE TABLE ingest_files (
    path TEXT PRIMARY KEY, signature TEXT NOT NULL, format TEXT, status TEXT NOT NULL, run_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
"""),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def redact(uri: str) -> str:
    """Return the URI without its password (for messages, stats and cache folder names)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _connect(uri: str, readonly: bool):
    try:
        import psycopg
        from pgvector.psycopg import register_vector
    except ModuleNotFoundError:
        raise MedciteError("a postgresql:// index needs the postgres extra: pip install 'medcite[postgres]'") from None
    try:
        conn = psycopg.connect(uri, autocommit=True)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IndexMissingError(f"{redact(uri)}: cannot connect ({first})") from None
    return conn, register_vector


def migrate(conn) -> int:
    """Apply the migrations the database lacks, in order, each in its own transaction; return the version."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        done = {r[0] for r in conn.execute("SELECT version FROM schema_version")}
        for version, sql in MIGRATIONS:
            if version not in done:
                conn.execute(sql)
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    return max(done | {v for v, _ in MIGRATIONS})


class PostgresStore:
    """The Store protocol over one PostgreSQL database (see the module docstring)."""

    def __init__(self, uri: str, readonly: bool = False, create: bool = True, cache: CorpusCache | None = None,
                 lexical: str | None = None, local_dir: str | Path | None = None):
        settings = load_settings()
        self.uri = uri
        self.location = redact(uri)
        self.readonly = readonly
        self.cache = cache or CorpusCache()
        self.conn, register_vector = _connect(uri, readonly)
        if not readonly and create:
            migrate(self.conn)
        if self._schema_version() is None:
            self.conn.close()
            raise IndexMissingError(f"{self.location}: no medcite schema here; run `medcite ingest PATH --index {self.location}` first")
        register_vector(self.conn)
        if readonly:
            self.conn.execute("SET default_transaction_read_only = on")
        try:
            self.lexical_backend = LexicalBackend(lexical or settings.pg_lexical)
        except ValueError:
            raise MedciteError(f"MEDCITE_PG_LEXICAL={lexical or settings.pg_lexical!r}: use tantivy or postgres") from None
        base = Path(local_dir or settings.local_dir or Path.home() / ".cache" / "medcite")
        self.search_dir = base / hashlib.sha256(self.location.encode()).hexdigest()[:16]
        self.lexical = (LocalTantivy(self, self.search_dir / "bm25") if self.lexical_backend == LexicalBackend.TANTIVY
                        else PgFullText(self))
        self._vector_indexes: dict[str, VectorIndex] = {}
        self._in_tx = False

    def _schema_version(self) -> int | None:
        row = self.conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not row[0]:
            return None
        return self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]

    # ------------------------------------------------------------------ transactions and versions
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one write transaction; writers queue on one advisory lock."""
        if self._in_tx:
            yield
            return
        self._in_tx = True
        try:
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                yield
        finally:
            self._in_tx = False

    def corpus_version(self) -> int:
        """Return the corpus version: it increases with every committed change of content."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='corpus_version'").fetchone()
        return int(row[0]) if row else 0

    def bump_version(self) -> int:
        """Increase the corpus version (inside the transaction that changed content); return it."""
        row = self.conn.execute(
            "UPDATE meta SET value = (value::int + 1)::text WHERE key='corpus_version' RETURNING value"
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the connection and the lexical searcher."""
        self.lexical.close()
        self.conn.close()

    def interrupt(self) -> None:
        """Cancel the statement running on this connection (it fails); safe from another thread."""
        self.conn.cancel_safe(timeout=5.0)

    def cached(self, name: str, build: Callable[[], T]) -> T:
        """Return `build()` at the current corpus version, built once per cache."""
        return self.cache.get(name, self.corpus_version(), build)

    # ------------------------------------------------------------------ writes
    def upsert_document(self, doc: Document, passages: list[Passage]) -> str:
        """Store `doc` and its passages; return 'added', 'replaced' or 'unchanged' (as SQLiteStore)."""
        digest = doc.content_hash()
        row = self.conn.execute(
            "SELECT content_hash, source_kind, version FROM documents WHERE doc_id=%s", (doc.doc_id,)
        ).fetchone()
        if row is not None and (row[0] == digest or (row[1] != doc.source_kind and row[2] == doc.version)
                                or older_version(doc.version, row[2])):
            return "unchanged"  # the same rules as SQLiteStore.upsert_document (see there)
        status = "added" if row is None else "replaced"
        if row is not None:
            self.conn.execute("DELETE FROM documents WHERE doc_id=%s", (doc.doc_id,))
        self.conn.execute(
            "INSERT INTO documents VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            (
                doc.doc_id, doc.tier, doc.source_kind, doc.source_id, doc.title, doc.date, doc.url, doc.version,
                json.dumps({"meta": doc.meta, "sections": [[s.name, s.code] for s in doc.sections]}, default=str),
                digest, doc.source_file, self.corpus_version() + 1, time.time(),
            ),
        )
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO passages (passage_id, doc_id, ordinal, tier, section, section_code, text, tsv)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s, to_tsvector('english', %s))",
                [(p.passage_id, p.doc_id, p.ordinal, p.tier, p.section, p.section_code, p.text,
                  bm25_body(doc.title, p.section, p.text)) for p in passages],
            )
        return status

    def add_abbreviations(self, doc_id: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Record the abbreviation definitions found in one document."""
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO doc_abbreviations VALUES (%s,%s,%s) ON CONFLICT DO NOTHING",
                            [(doc_id, s, lf) for s, lf in pairs])

    def add_drug_names(self, names: Iterable[DrugName]) -> int:
        """Add drug-name dictionary entries (duplicates ignored); return how many were new."""
        rows = [(normalize_name(n.name), n.name, n.generic.lower().strip(), n.kind, n.source) for n in names if n.name and n.generic]
        if not rows:
            return 0
        before = self.conn.execute("SELECT COUNT(*) FROM drug_names").fetchone()[0]
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO drug_names (name_norm, name, generic, kind, source) VALUES (%s,%s,%s,%s,%s)"
                            " ON CONFLICT DO NOTHING", rows)
        return self.conn.execute("SELECT COUNT(*) FROM drug_names").fetchone()[0] - before

    def log(self, run_id: str, source_file: str, record: str | None, status: str, message: str | None = None) -> None:
        """Append one row to the ingest log."""
        self.conn.execute(
            "INSERT INTO ingest_log (run_id, at, source_file, record, status, message) VALUES (%s,%s,%s,%s,%s,%s)",
            (run_id, time.time(), source_file, record, status, message),
        )

    def file_signature(self, path: str) -> str | None:
        """Return the stored signature of a file whose ingest completed, or None."""
        row = self.conn.execute("SELECT signature FROM ingest_files WHERE path=%s AND status='done'", (path,)).fetchone()
        return row[0] if row else None

    def mark_file(self, path: str, signature: str, fmt: str | None, status: str, run_id: str) -> None:
        """Record that a file's ingest reached `status` ('done' lets a re-run skip it)."""
        self.conn.execute(
            "INSERT INTO ingest_files VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (path) DO UPDATE SET signature=EXCLUDED.signature,"
            " format=EXCLUDED.format, status=EXCLUDED.status, run_id=EXCLUDED.run_id, at=EXCLUDED.at",
            (path, signature, fmt, status, run_id, time.time()),
        )

    # ------------------------------------------------------------------ embeddings
    def missing_embeddings(self, model: str, tiers: list[str] | None) -> list[tuple[str, str, str, str]]:
        """Return (passage_id, title, section, text) of passages without a vector of `model`, in insertion order."""
        sql = ("SELECT p.passage_id, d.title, p.section, p.text FROM passages p JOIN documents d USING (doc_id)"
               " LEFT JOIN embeddings e ON e.passage_id = p.passage_id AND e.model = %s WHERE e.passage_id IS NULL")
        args: list[Any] = [model]
        if tiers is not None:
            sql, args = sql + " AND p.tier = ANY(%s)", args + [list(tiers)]
        return [tuple(r) for r in self.conn.execute(sql + " ORDER BY p.seq", args)]

    def put_embeddings(self, model: str, rows: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store (passage_id, float32 vector) rows of `model`, replacing older ones (call in a transaction)."""
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO embeddings (passage_id, model, vector) VALUES (%s,%s,%s) ON CONFLICT (passage_id)"
                " DO UPDATE SET model=EXCLUDED.model, vector=EXCLUDED.vector",
                [(pid, model, np.asarray(vec, dtype=np.float32)) for pid, vec in rows],
            )

    def embedding_marker(self) -> tuple[int, int]:
        """Return (rows, last sequence number) of the embeddings table: it changes with every write."""
        count, last = self.conn.execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM embeddings").fetchone()
        return int(count), int(last)

    def vector_index(self, model: str, settings: Any = None) -> VectorIndex:
        """Return the pgvector search of `model` (one per store and model; pgvector's own HNSW
        index serves every setting)."""
        if model not in self._vector_indexes:
            self._vector_indexes[model] = PgVectorIndex(self, model)
        return self._vector_indexes[model]

    # ------------------------------------------------------------------ lexical index
    def iter_bm25_rows(self, doc_ids: Iterable[str] | None = None) -> Iterator[tuple[str, str, str, str]]:
        """Yield (passage_id, doc_id, tier, body) of all passages in insertion order (doc_ids: only theirs)."""
        sql = ("SELECT p.passage_id, p.doc_id, p.tier, d.title, p.section, p.text FROM passages p"
               " JOIN documents d USING (doc_id)")
        args: list[Any] = []
        if doc_ids is not None:
            sql, args = sql + " WHERE p.doc_id = ANY(%s)", [list(doc_ids)]
        # A server-side cursor streams the rows: a rebuild of millions of passages stays in little memory.
        with self.conn.transaction(), self.conn.cursor(name="medcite_bm25_rows") as cur:
            cur.itersize = 5000  # rows per round trip (default 100)
            cur.execute(sql + " ORDER BY p.seq", args)
            for pid, doc_id, tier, title, section, text in cur:
                yield pid, doc_id, tier, bm25_body(title, section, text)

    def published_version(self) -> int:
        """Return the corpus version the last finished ingest published (the corpus version if none)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='published_version'").fetchone()
        return int(row[0]) if row else self.corpus_version()

    def sync_lexical(self, changed_doc_ids: Iterable[str] | None = None, base_version: int | None = None) -> str:
        """Publish the corpus version (an ingest has finished) and bring this machine's lexical index
        to it; return 'fresh' or 'rebuilt'. PostgreSQL full text is always current ('fresh')."""
        if not self.readonly:
            with self.transaction():
                self.conn.execute(
                    "INSERT INTO meta VALUES ('published_version', (SELECT value FROM meta WHERE key='corpus_version'))"
                    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
        return self.lexical.sync(self.published_version())

    def ensure_search_ready(self) -> None:
        """Bring this machine's lexical index to the published version. An ingest commits a batch
        at a time and publishes when it ends: an API machine rebuilds its tantivy copy once per
        ingest, not once per batch, and answers from the last published index meanwhile."""
        self.lexical.sync(self.published_version())

    # ------------------------------------------------------------------ reads
    def search(self, query: str, k: int = 10, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               term_weights: dict[str, float] | None = None) -> list[Hit]:
        """Return the k best lexical hits for `query`, optionally within a tier or a set of documents."""
        self.ensure_search_ready()
        ranked = self.lexical.search(query, k=k, tier=tier, doc_ids=doc_ids, term_weights=term_weights)
        return self.get_hits([pid for pid, _ in ranked], dict(ranked))

    def get_hits(self, passage_ids: list[str], scores: dict[str, float] | None = None) -> list[Hit]:
        """Return Hits for the given passage ids, in the given order (unknown ids are left out)."""
        if not passage_ids:
            return []
        rows = self.conn.execute(f"SELECT {HIT_COLUMNS} WHERE p.passage_id = ANY(%s)", (list(passage_ids),))
        found = {r[0]: hit_of(r, scores) for r in rows}
        return [found[p] for p in passage_ids if p in found]

    def get_document(self, doc_id: str) -> Document:
        """Return one document with its sections rebuilt from its passages (raises NotFoundError)."""
        row = self.conn.execute(
            "SELECT doc_id, tier, source_kind, source_id, title, date, url, version, meta, source_file FROM documents"
            " WHERE doc_id=%s", (doc_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{doc_id}: no such document in the index (try `medcite search`)")
        sections = sections_of(self.conn.execute(
            "SELECT section, section_code, text FROM passages WHERE doc_id=%s ORDER BY ordinal", (doc_id,)))
        return Document(doc_id=row[0], tier=row[1], source_kind=row[2], source_id=row[3], title=row[4], sections=sections,
                        date=row[5], url=row[6], version=row[7], meta=json.loads(row[8]).get("meta", {}), source_file=row[9])

    def passages_of(self, doc_id: str) -> list[Passage]:
        """Return the passages of one document in order."""
        return [
            Passage(r[0], r[1], r[2], r[3], r[4], r[6], r[5])
            for r in self.conn.execute(
                "SELECT passage_id, doc_id, ordinal, tier, section, section_code, text FROM passages WHERE doc_id=%s"
                " ORDER BY ordinal", (doc_id,))
        ]

    def passage_texts(self, tiers: Iterable[str]) -> Iterator[tuple[str, str]]:
        """Yield (doc_id, text) of every passage of `tiers`, in insertion order."""
        with self.conn.transaction(), self.conn.cursor(name="medcite_passage_texts") as cur:
            cur.itersize = 5000
            cur.execute("SELECT doc_id, text FROM passages WHERE tier = ANY(%s) ORDER BY seq", (list(tiers),))
            yield from cur

    def document_meta(self, doc_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return {doc_id: {title, tier, source_kind, source_id, date, url, version, meta}} for the ids."""
        rows = self.conn.execute(
            "SELECT doc_id, title, tier, source_kind, source_id, date, url, version, meta FROM documents WHERE doc_id = ANY(%s)",
            (list(dict.fromkeys(doc_ids)),))
        return {r[0]: meta_entry(*r[1:]) for r in rows}

    def documents_by_kind(self, tier: str | None = None, source_kind: str | None = None) -> list[str]:
        """Return the doc ids of a tier and/or source kind, sorted."""
        rows = self.conn.execute(
            "SELECT doc_id FROM documents WHERE (%s::text IS NULL OR tier=%s) AND (%s::text IS NULL OR source_kind=%s)"
            " ORDER BY doc_id COLLATE \"C\"", (tier or None, tier, source_kind or None, source_kind))
        return [r[0] for r in rows]

    def source_ids(self) -> dict[str, str]:
        """Return {doc_id: source_id} of every document."""
        return dict(self.conn.execute("SELECT doc_id, source_id FROM documents").fetchall())

    def labels_with_rxcui(self, code: str) -> list[tuple[str, dict[str, Any]]]:
        """Return (doc_id, meta) of the labels whose meta lists RxNorm `code` (sorted by doc id)."""
        rows = self.conn.execute(
            "SELECT doc_id, meta FROM documents WHERE tier='label' AND (meta::jsonb -> 'meta' -> 'rxcui') ? %s"
            " ORDER BY doc_id COLLATE \"C\"", (code,))
        return [(doc_id, json.loads(meta).get("meta", {})) for doc_id, meta in rows]

    def counts(self) -> dict[str, int]:
        """Return {"documents": n, "passages": n}."""
        docs, passages = self.conn.execute("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM passages)").fetchone()
        return {"documents": docs, "passages": passages}

    def drug_name_rows(self) -> list[tuple[str, str, str]]:
        """Return every (name, generic, kind) row of the drug dictionary."""
        return [tuple(r) for r in self.conn.execute(
            "SELECT name, generic, kind FROM drug_names GROUP BY name, generic, kind ORDER BY MIN(seq)")]

    def resolve_drug(self, name: str) -> list[str]:
        """Return the generic names a drug name resolves to (most sources first)."""
        rows = self.conn.execute(
            "SELECT generic, COUNT(*) n FROM drug_names WHERE name_norm=%s GROUP BY generic ORDER BY n DESC, generic COLLATE \"C\"",
            (normalize_name(name),))
        return [r[0] for r in rows]

    def synonyms(self, generic: str) -> list[str]:
        """Return every dictionary name (brand, synonym) that resolves to `generic`."""
        rows = self.conn.execute(
            "SELECT DISTINCT name_norm COLLATE \"C\" FROM drug_names WHERE generic=%s ORDER BY 1", (generic.lower(),))
        return [r[0] for r in rows]

    def brand_generics(self, name: str, limit: int = 3) -> list[str]:
        """Return the generics of `name` when the dictionary knows it as a brand and not as a generic."""
        norm = normalize_name(name)
        rows = self.conn.execute(
            "SELECT DISTINCT generic COLLATE \"C\" FROM drug_names WHERE name_norm=%s AND kind='brand' AND NOT EXISTS "
            "(SELECT 1 FROM drug_names WHERE name_norm=%s AND kind='generic') ORDER BY 1 LIMIT %s", (norm, norm, limit))
        return [r[0] for r in rows]

    def abbreviation_rows(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """Return (short, long, number of documents defining it) for the corpus-derived abbreviations."""
        rows = self.conn.execute(
            "SELECT short, long, COUNT(*) n FROM doc_abbreviations GROUP BY short, long HAVING COUNT(*) >= %s"
            " ORDER BY short COLLATE \"C\", n DESC, long COLLATE \"C\"", (min_count,))
        return [tuple(r) for r in rows]

    def stats(self) -> dict[str, Any]:
        """Return counts per tier and source kind, drug dictionary size, corpus version and sizes."""
        by_tier = tier_counts(
            self.conn.execute("SELECT tier, source_kind, COUNT(*) FROM documents GROUP BY tier, source_kind ORDER BY 1, 2"),
            self.conn.execute("SELECT p.tier, d.source_kind, COUNT(*) FROM passages p JOIN documents d USING (doc_id) GROUP BY 1, 2"))
        drug = dict(self.conn.execute("SELECT source, COUNT(*) FROM drug_names GROUP BY source ORDER BY source").fetchall())
        one = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "corpus_version": self.corpus_version(),
            "schema_version": self._schema_version(),
            "documents": sum(t["documents"] for t in by_tier.values()),
            "passages": sum(t["passages"] for t in by_tier.values()),
            "tiers": by_tier,
            "drug_dictionary": {"entries": sum(drug.values()), "generics": one("SELECT COUNT(DISTINCT generic) FROM drug_names"),
                                "sources": drug},
            "abbreviations": one("SELECT COUNT(*) FROM (SELECT DISTINCT short, long FROM doc_abbreviations) a"),
            "embeddings": one("SELECT COUNT(*) FROM embeddings"),
            "ingest_errors": one("SELECT COUNT(*) FROM ingest_log WHERE status='error'"),
            "index_file": self.location,
            "index_bytes": one("SELECT pg_database_size(current_database())"),
            "bm25_version": self.lexical.built_version(),
            "lexical": self.lexical_backend.value,
        }


class PgVectorIndex:
    """Vector search of one model through pgvector: HNSW (inner product) for the corpus or a tier,
    an exact scan for a set of documents or passages (small sets, where a graph walk would miss)."""

    def __init__(self, store: PostgresStore, model: str):
        self.store = store
        self.model = model
        self._size: tuple[int, float] | None = None  # (count, when read)

    @property
    def size(self) -> int:
        """Return the number of vectors of the model (re-read at most every 2 seconds)."""
        now = time.monotonic()
        if self._size is None or now - self._size[1] > 2.0:
            n = self.store.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model=%s", (self.model,)).fetchone()[0]
            self._size = (int(n), now)
        return self._size[0]

    def has_vector(self, passage_id: str) -> bool:
        """Return True when the passage has a vector of the model."""
        return bool(self.vectored([passage_id]))

    def vectored(self, passage_ids: Iterable[str]) -> set[str]:
        """Return the subset of `passage_ids` that have a vector of the model."""
        rows = self.store.conn.execute("SELECT passage_id FROM embeddings WHERE model=%s AND passage_id = ANY(%s)",
                                       (self.model, list(passage_ids)))
        return {r[0] for r in rows}

    def sync(self, force: bool = False) -> str:
        """Nothing to load: the database index is always current ('fresh')."""
        if force:
            self._size = None
        return "fresh"

    def search(self, query_vec: np.ndarray, k: int, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               allowed_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """Return up to k (passage_id, cosine) pairs, best first, ties broken on passage id."""
        if k <= 0:
            return []
        q = np.asarray(query_vec, dtype=np.float32)
        conn = self.store.conn
        if doc_ids is not None or allowed_ids is not None:
            rows = conn.execute(
                "SELECT e.passage_id, -(e.vector <#> %s) FROM embeddings e JOIN passages p USING (passage_id)"
                " WHERE e.model=%s AND (%s::text IS NULL OR p.tier=%s)"
                " AND (%s::text[] IS NULL OR p.doc_id = ANY(%s)) AND (%s::text[] IS NULL OR e.passage_id = ANY(%s))",
                (q, self.model, tier, tier, _list(doc_ids), _list(doc_ids), _list(allowed_ids), _list(allowed_ids)),
            ).fetchall()
        else:
            with conn.transaction():
                # ef_search bounds how many rows one scan returns; iterative scan keeps a tier filter from
                # emptying the result (pgvector >= 0.8).
                conn.execute(f"SET LOCAL hnsw.ef_search = {min(1000, max(EF_SEARCH_MIN, k + 20))}")
                conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                rows = conn.execute(
                    "SELECT e.passage_id, -(e.vector <#> %s) FROM embeddings e"
                    + (" JOIN passages p USING (passage_id) WHERE e.model=%s AND p.tier=%s" if tier else " WHERE e.model=%s")
                    + " ORDER BY e.vector <#> %s LIMIT %s",
                    (q, self.model, tier, q, k + 20) if tier else (q, self.model, q, k + 20),
                ).fetchall()
        return _best(rows, k)


def _best(rows: Iterable[tuple[str, float]], k: int) -> list[tuple[str, float]]:
    """Return the k best (passage_id, score), ties broken on the id as the embedded indexes do."""
    hits = [(pid, float(score)) for pid, score in rows]
    hits.sort(key=lambda h: (-round(h[1], 6), h[0]))
    return hits[:k]


def _list(ids: Iterable[str] | None) -> list[str] | None:
    return None if ids is None else list(ids)


class PgFullText:
    """Lexical search with PostgreSQL full text: `to_tsvector('english')` at ingest, GIN index,
    OR of the query's lexemes ranked by `ts_rank` (length-normalised), weighted expansion terms."""

    def __init__(self, store: PostgresStore):
        self.store = store
        self._num: tuple[int, int] | None = None  # (corpus version, passages)

    def query_terms(self, query: str) -> list[str]:
        """Return the lexemes of a user query as PostgreSQL analyzes it (deduplicated, in order)."""
        rows = self.store.conn.execute(
            "SELECT lexeme FROM unnest(to_tsvector('english', %s)) ORDER BY positions[1], lexeme", (query,))
        return [r[0] for r in rows if "'" not in r[0] and "\\" not in r[0]]

    def search(self, query: str, k: int = 10, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               term_weights: dict[str, float] | None = None) -> list[tuple[str, float]]:
        """Return up to k (passage_id, ts_rank score) pairs, best first, ties broken on passage id."""
        terms = self.query_terms(query)
        extra = {t: w for t, w in (term_weights or {}).items() if t not in terms and "'" not in t and "\\" not in t}
        if not terms and not extra:
            return []
        if doc_ids is not None:
            doc_ids = list(doc_ids)
            if not doc_ids:
                return []
        groups = [(1.0, terms)] if terms else []
        for weight in sorted(set(extra.values()), reverse=True):
            groups.append((weight, [t for t, w in extra.items() if w == weight]))
        queries = [" | ".join(f"'{t}'" for t in group) for _, group in groups]
        rank = " + ".join(f"{w!r} * ts_rank(tsv, %s::tsquery, 1)" for w, _ in groups)
        match = " || ".join("%s::tsquery" for _ in groups)
        rows = self.store.conn.execute(
            f"SELECT passage_id, {rank} AS score FROM passages WHERE tsv @@ ({match})"
            " AND (%s::text IS NULL OR tier=%s) AND (%s::text[] IS NULL OR doc_id = ANY(%s))"
            " ORDER BY score DESC, passage_id COLLATE \"C\" LIMIT %s",
            (*queries, *queries, tier, tier, doc_ids, doc_ids, k + 20),
        ).fetchall()
        return _best(rows, k)

    def doc_freq(self, term: str) -> int:
        """Return how many passages hold `term` (analyzed by PostgreSQL)."""
        row = self.store.conn.execute("SELECT COUNT(*) FROM passages WHERE tsv @@ plainto_tsquery('english', %s)", (term,))
        return int(row.fetchone()[0])

    def num_docs(self) -> int:
        """Return the number of passages (counted once per corpus version)."""
        version = self.store.corpus_version()
        if self._num is None or self._num[0] != version:
            self._num = (version, self.store.counts()["passages"])
        return self._num[1]

    def built_version(self) -> int | None:
        """Return the corpus version: full text is updated in the transaction that writes the passages."""
        return self.store.corpus_version()

    def sync(self, version: int) -> str:
        """Nothing to build ('fresh')."""
        return "fresh"

    def close(self) -> None:
        """Nothing is held open outside the connection."""


class LocalTantivy:
    """The embedded BM25 index (tantivy) built on this machine from the database rows, one folder
    per corpus version (`v<N>`): a new version is built beside the old one under a file lock, then
    served; readers of the old folder keep their open files. The two newest folders are kept."""

    def __init__(self, store: PostgresStore, folder: Path):
        self.store = store
        self.folder = Path(folder)
        self.analyzer = build_analyzer()
        self._index: LexicalIndex | None = None
        self._lock = threading.Lock()

    def _path(self, version: int) -> Path:
        return self.folder / f"v{version}"

    def sync(self, version: int) -> str:
        """Serve the index of `version`, building it when this machine has none; return 'fresh' or 'rebuilt'."""
        if self._index is not None and self._index.built_version() == version:
            return "fresh"
        with self._lock:
            status = "fresh"
            target = self._path(version)
            if LexicalIndex(target).built_version() != version:
                status = self._build(version)
            if self._index is not None:
                self._index.close()
            self._index = LexicalIndex(target)
            return status

    def _build(self, version: int) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per machine; the others wait, then find it built
            target = self._path(version)
            if LexicalIndex(target).built_version() == version:
                return "fresh"
            tmp = self.folder / f"v{version}.tmp{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            index = LexicalIndex(tmp)
            index.rebuild(self.store.iter_bm25_rows(), version)
            index.close()
            shutil.rmtree(target, ignore_errors=True)
            tmp.replace(target)
            for old in sorted(self.folder.glob("v*"), key=lambda p: -_version_of(p))[2:]:
                shutil.rmtree(old, ignore_errors=True)
            return "rebuilt"

    def _current(self) -> LexicalIndex:
        if self._index is None:
            self.sync(self.store.published_version())
        assert self._index is not None
        return self._index

    def query_terms(self, query: str) -> list[str]:
        """Return the analyzed terms of a user query (deduplicated, in order)."""
        return list(dict.fromkeys(self.analyzer.analyze(query)))

    def search(self, query: str, k: int = 10, tier: str | None = None, doc_ids: Iterable[str] | None = None,
               term_weights: dict[str, float] | None = None) -> list[tuple[str, float]]:
        """Return up to k (passage_id, bm25 score) pairs from the served version."""
        return self._current().search(query, k=k, tier=tier, doc_ids=doc_ids, term_weights=term_weights)

    def doc_freq(self, term: str) -> int:
        """Return how many passages contain the analyzed `term`."""
        return self._current().doc_freq(term)

    def num_docs(self) -> int:
        """Return the number of passages in the served index."""
        return self._current().num_docs()

    def built_version(self) -> int | None:
        """Return the corpus version of the served index (None before the first sync)."""
        return None if self._index is None else self._index.built_version()

    def close(self) -> None:
        """Drop the open searcher."""
        if self._index is not None:
            self._index.close()


def _version_of(path: Path) -> int:
    try:
        return int(path.name[1:])
    except ValueError:
        return -1
