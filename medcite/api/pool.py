"""Run index queries for the web service: worker threads, one read-only store each, a bounded queue,
and a time limit that really stops the query.

Why a store per thread: a sqlite3 connection and a tantivy searcher are not safe to share between
threads that run at the same time, and opening them per request costs more than the query. Each
worker opens the index read-only (WAL mode lets `medcite ingest` write meanwhile) on first use and
reloads its BM25 searcher when an ingest has published a newer index.

Bounded work:
- Admission: at most `workers + max_queue` queries are in the pool (running, waiting, or stopped
  but not yet out of the C call they were in). One more is refused at once with `Overloaded`
  (503 with Retry-After) instead of waiting behind the others; the event loop never waits for a
  worker, so /healthz and refusals stay fast whatever the queries do.
- Time limit: a query past `timeout` is answered with `QueryTimeout` (504) and stopped: its running
  SQL statement is interrupted and `QueryCancelled` is raised in its worker thread at the next
  Python instruction (PyThreadState_SetAsyncExc; a BaseException, so no `except Exception` in the
  library swallows it). The worker then takes the next query. A query still waiting is dropped.
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from medcite.index.store import CorpusCache, Store, open_store

T = TypeVar("T")

_SET_ASYNC_EXC = ctypes.pythonapi.PyThreadState_SetAsyncExc
_SET_ASYNC_EXC.argtypes = (ctypes.c_ulong, ctypes.py_object)
_CLEAR_ASYNC_EXC = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(("PyThreadState_SetAsyncExc", ctypes.pythonapi))


class QueryTimeout(Exception):
    """A query ran past the time limit (settings.query_timeout_s)."""


class Overloaded(Exception):
    """The pool holds as many queries as it may (settings.workers + settings.max_queue)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class QueryCancelled(BaseException):
    """Raised inside a worker thread to stop a query that ran past its time limit."""


_QUEUED, _RUNNING, _CANCELLED, _FINISHED = "queued", "running", "cancelled", "finished"


class _Job:
    """One query: what to call, where its result goes, and its state (guarded by `lock`)."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, deliver: Callable[[bool, Any], None]):
        self.fn, self.args, self.kwargs, self.deliver = fn, args, kwargs, deliver
        self.lock = threading.Lock()
        self.state = _QUEUED
        self.thread_id: int | None = None
        self.store: Store | None = None


class StorePool:
    """Worker threads that each hold a read-only store of one index file, behind a bounded queue."""

    def __init__(self, index_path: str, workers: int = 4, max_queue: int = 8,
                 opener: Callable[[str], Store] | None = None):
        self.index_path = index_path
        self.workers = max(1, workers)
        self.capacity = self.workers + max(0, max_queue)
        # One corpus cache for all workers: the lexicon and catalogs are built once, not per thread.
        self.cache = CorpusCache()
        self._opener = opener or (lambda path: open_store(path, readonly=True, create=False, cache=self.cache))
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._local = threading.local()
        self._stores: list[Store] = []
        self._lock = threading.Lock()  # guards _stores, _in_pool, _seconds
        self._in_pool = 0  # admitted and not yet finished (running, waiting, or being stopped)
        self._seconds = 0.1  # moving average of a query's duration, for Retry-After
        self._threads = [threading.Thread(target=self._work, name=f"medcite-query-{i}", daemon=True) for i in range(self.workers)]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------------ per-thread store
    def _store(self) -> Store:
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

    # ------------------------------------------------------------------ workers
    def _work(self) -> None:
        tid = threading.get_ident()
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._serve(job, tid)
            except QueryCancelled:
                pass  # raised after its query had finished its work: nothing is left to stop

    def _serve(self, job: _Job, tid: int) -> None:
        outcome: tuple[bool, Any] | None = None
        began: float | None = None
        try:
            with job.lock:
                if job.state == _CANCELLED:  # timed out while waiting: never started
                    return
                job.state, job.thread_id = _RUNNING, tid
            began = time.perf_counter()
            try:
                job.store = self._store()
                outcome = (True, job.fn(job.store, *job.args, **job.kwargs))
            except QueryCancelled:
                outcome = (False, QueryTimeout("query stopped at the time limit"))
            except BaseException as exc:  # delivered to the caller, who decides what it means
                outcome = (False, exc)
        finally:
            self._finish(job, tid)
            self._release(None if began is None else time.perf_counter() - began)
        job.deliver(*outcome)

    def _finish(self, job: _Job, tid: int) -> None:
        """Mark the job finished so that no stop is sent any more, then clear a stop sent just
        before; the loop survives that stop being raised in the middle (it is raised only once)."""
        while True:
            try:
                with job.lock:
                    job.state = _FINISHED
                _CLEAR_ASYNC_EXC(tid, None)
                return
            except QueryCancelled:
                continue

    def _release(self, seconds: float | None) -> None:
        with self._lock:
            self._in_pool -= 1
            if seconds is not None:
                self._seconds = 0.8 * self._seconds + 0.2 * seconds

    def _cancel(self, job: _Job) -> None:
        """Stop a job: drop it if it still waits, else interrupt its SQL and raise QueryCancelled in its thread."""
        with job.lock:
            if job.state == _QUEUED:
                job.state = _CANCELLED
            elif job.state == _RUNNING:
                job.state = _CANCELLED
                if job.store is not None:
                    job.store.interrupt()  # a running SQL statement fails with "interrupted"
                _SET_ASYNC_EXC(job.thread_id, QueryCancelled)

    # ------------------------------------------------------------------ admission and running
    def load(self) -> dict[str, int]:
        """Return the queries in the pool (running, waiting or being stopped), its limit and its workers."""
        with self._lock:
            return {"in_pool": self._in_pool, "limit": self.capacity, "workers": self.workers}

    def _admit(self) -> None:
        with self._lock:
            if self._in_pool >= self.capacity:
                wait = self._seconds * self._in_pool / self.workers
                raise Overloaded(
                    f"the server is busy: {self._in_pool} queries are running or waiting (limit {self.capacity}; "
                    "settings workers + max_queue); retry later", retry_after=max(1, math.ceil(wait)))
            self._in_pool += 1

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None, **kwargs: Any) -> T:
        """Return fn(store, *args, **kwargs) run on a worker; raise Overloaded when the pool is full and
        QueryTimeout (having stopped the query) after `timeout` seconds."""
        self._admit()
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()

        def settle(ok: bool, value: Any) -> None:
            if not future.done():
                future.set_result(value) if ok else future.set_exception(value)

        def deliver(ok: bool, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(settle, ok, value)
            except RuntimeError:  # the event loop has closed (shutdown): nobody waits any more
                pass

        job = _Job(fn, args, kwargs, deliver)
        self._queue.put(job)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=timeout)
        except asyncio.TimeoutError:
            self._cancel(job)
            raise QueryTimeout(f"query took longer than {timeout:g} s (settings.query_timeout_s)") from None
        except asyncio.CancelledError:  # the client went away: stop the work it asked for
            self._cancel(job)
            raise

    def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Return fn(store, *args, **kwargs) run on a worker, waiting without a time limit (scripts, tests)."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def deliver(ok: bool, value: Any) -> None:
            box["ok"], box["value"] = ok, value
            done.set()

        with self._lock:
            self._in_pool += 1
        self._queue.put(_Job(fn, args, kwargs, deliver))
        done.wait()
        if box["ok"]:
            return box["value"]
        raise box["value"]

    def close(self) -> None:
        """Stop the workers (after the queries they run) and close every store they opened."""
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)
        with self._lock:
            for store in self._stores:
                try:
                    store.close()
                except Exception:  # a store closed twice or already broken must not stop shutdown
                    pass
            self._stores.clear()
