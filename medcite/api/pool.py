"""Run index queries for the web service: a bounded thread pool, one read-only store per thread.

Why a store per thread: a sqlite3 connection and a tantivy searcher are not safe to share between
threads that run at the same time, and opening them per request costs more than the query. Each
worker opens the index read-only (WAL mode lets `medcite ingest` write meanwhile) on first use and
reloads its BM25 searcher when an ingest has published a newer index.

A query that runs past the time limit is answered with `QueryTimeout` (the API turns it into 504);
its SQLite work is interrupted so that the worker is freed as soon as the library returns control.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from medcite.index.store import SQLiteStore, open_store

T = TypeVar("T")


class QueryTimeout(Exception):
    """A query ran past the time limit (settings.query_timeout_s)."""


class StorePool:
    """A thread pool whose workers each hold a read-only store of one index file."""

    def __init__(self, index_path: str, workers: int = 4, opener: Callable[[str], SQLiteStore] | None = None):
        self.index_path = index_path
        self.workers = workers
        self._opener = opener or (lambda path: open_store(path, readonly=True, create=False))
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medcite-query")
        self._local = threading.local()
        self._stores: list[SQLiteStore] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ per-thread store
    def _store(self) -> SQLiteStore:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._opener(self.index_path)
            self._local.store = store
            self._local.bm25_version = store.lexical.built_version()
            with self._lock:
                self._stores.append(store)
        else:
            # An ingest that finished since the last query published a new BM25 index: drop the
            # cached searcher so that this worker answers from the newest complete index.
            built = store.lexical.built_version()
            if built != self._local.bm25_version:
                store.lexical.close()
                self._local.bm25_version = built
        return store

    def _call(self, fn: Callable[..., T], args: tuple, kwargs: dict, holder: dict) -> T:
        store = self._store()
        holder["store"] = store
        try:
            return fn(store, *args, **kwargs)
        finally:
            holder["done"] = True

    # ------------------------------------------------------------------ running queries
    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None, **kwargs: Any) -> T:
        """Return fn(store, *args, **kwargs) run on a worker; raise QueryTimeout after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        holder: dict[str, Any] = {}
        future = loop.run_in_executor(self._executor, self._call, fn, args, kwargs, holder)
        try:
            return await asyncio.wait_for(future, timeout=timeout)
        except asyncio.TimeoutError:
            store = holder.get("store")
            if store is not None and not holder.get("done"):
                # Makes the running SQL statement fail with OperationalError("interrupted").
                store.conn.interrupt()
            raise QueryTimeout(f"query took longer than {timeout:g} s (settings.query_timeout_s)") from None

    def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Return fn(store, *args, **kwargs) run on a worker, waiting without a time limit (scripts, tests)."""
        return self._executor.submit(self._call, fn, args, kwargs, {}).result()

    def close(self) -> None:
        """Stop the workers and close every store they opened."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for store in self._stores:
                try:
                    store.close()
                except Exception:  # a store closed twice or already broken must not stop shutdown
                    pass
            self._stores.clear()
