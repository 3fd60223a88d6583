"""`medcite ingest PATH --ray [ADDRESS]`: reading, chunking and embedding on a Ray cluster.

Workers do the CPU work: one task reads, parses and chunks one file (`read_file`); one task embeds
up to EMBED_BATCH passages (`embed_texts`, one ONNX thread per task, one task per CPU). The driver
is the only writer: it takes each file's records in the order of the plain ingest, commits them
through the same `BatchWriter` (batches of BATCH_DOCS, one transaction each, corpus version bumped
with them), sends the passages it added or replaced to the embedding tasks, and commits the
vectors as they come back, a task's rows in one transaction.

Same result as the plain ingest: files are committed in the plain order with the same batches, so
the documents, passages, corpus version and dictionary are the same, and each embedded passage
gets the vector the plain path computes (the same model on the same text).

Resumable, nothing lost: a killed worker is a failed task, which Ray runs again (`max_retries`);
a killed driver leaves the state of its last commit. A file is marked done only after its records
are committed, so the next run skips finished files and reads the others again (committed records
are content-hash no-ops); its vectors are committed apart, so the next run ends with a sweep that
embeds every passage of the embedded tiers still without one (`missing_passages`) and recomputes
nothing already stored.

Ray is an optional extra (`pip install medcite[ray]`), imported only here and only when `--ray`
is given. On a remote cluster (`ADDRESS`), every node needs medcite installed and the files at
the same paths (a shared file system), as the workers open them by path.
"""

from __future__ import annotations

import importlib
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medcite.errors import MedciteError
from medcite.index.store import SQLiteStore
from medcite.ingest.chunking import chunk_document
from medcite.ingest.driver import (
    BatchWriter, IngestReport, describe_failure, expand_paths, finish_file, finish_run, plan_file,
)
from medcite.ingest.inflate import use_limits
from medcite.records import Document, DrugName, Passage, RecordError
from medcite.settings import Settings

EMBED_BATCH = 256  # passages per embedding task: ~2-4 s of one core, one transaction on return
READ_AHEAD = 4  # files read ahead of the one being committed (bounds the driver's memory)
EMBED_IN_FLIGHT = 8  # embedding tasks queued at once before the driver waits for one
LOCAL_CPUS = 2  # CPUs of the local cluster started when no ADDRESS is given


@dataclass
class FileResult:
    """What a worker read from one file: records in file order (a Document with its passages)."""

    items: list[tuple[Document | DrugName | RecordError, list[Passage] | None]]
    n_read: int
    failure: tuple[str, str] | None  # (error line, log detail) when reading stopped early
    seconds: float


def read_file(path: str, reader_module: str, settings: Settings) -> FileResult:
    """Worker: return the records of one file, each Document chunked into its passages.

    Never raises for bad input: what was read before a failure is returned with the failure.
    """
    module = importlib.import_module(reader_module)
    items: list[tuple[Document | DrugName | RecordError, list[Passage] | None]] = []
    failure = None
    started = time.perf_counter()
    try:
        with use_limits(settings):  # the same decompression limits as the plain ingest
            for item in module.read(Path(path)):
                passages = None
                if isinstance(item, Document):
                    if item.source_file is None:
                        item.source_file = path
                    passages = chunk_document(item, settings.chunk_words)
                items.append((item, passages))
    except Exception as exc:  # a reader bug or an unreadable file: the driver reports and logs it
        failure = describe_failure(Path(path), exc)
    return FileResult(items, len(items), failure, time.perf_counter() - started)


def embed_texts(texts: list[str], max_seq_len: int) -> Any:
    """Worker: return the (n, 384) unit vectors of `texts` (one ONNX thread: Ray gives a task one CPU)."""
    from medcite.index.embed import get_embedder

    return get_embedder(max_seq_len, threads=1).embed(texts)


def _ray():
    try:
        import ray
    except ImportError:
        raise MedciteError("--ray needs Ray: pip install 'medcite[ray]' (or run without --ray)") from None
    return ray


@contextmanager
def ray_cluster(address: str | None = None, num_cpus: int = LOCAL_CPUS) -> Iterator[Any]:
    """Connect to the Ray cluster at `address` (None: start a local one) for the block; yield `ray`.

    A process already connected (a test session, a notebook) keeps its connection.
    """
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    if address:
        ray.init(address=address, logging_level="WARNING")
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()


class EmbeddingQueue:
    """Sends passages to embedding tasks and commits their vectors as the tasks finish.

    A document written again while its vectors are in flight (a newer version later in the run)
    makes those vectors stale: they are dropped, and the new passages are queued instead.
    """

    def __init__(self, ray, store: SQLiteStore, settings: Settings, on_commit: Callable[[str], None]):
        from medcite.index.dense import _tiers
        from medcite.index.embed import model_name

        self.ray, self.store, self.on_commit = ray, store, on_commit
        self.max_seq_len = settings.embed_max_seq_len
        self.model = model_name(settings.embed_max_seq_len)
        self.tiers = _tiers(settings)
        self.task = ray.remote(num_cpus=1, max_retries=3)(embed_texts)
        self.in_flight: dict[Any, list[tuple[str, str, int]]] = {}  # task -> (passage id, doc id, generation)
        self._generation: dict[str, int] = {}  # doc id -> times written this run (docs with vectors in flight)
        self._open: Counter[str] = Counter()  # doc id -> its vectors in flight
        self.embedded = 0

    def wants(self, passage: Passage) -> bool:
        """Return True when the passage's tier is embedded (Settings.dense_tiers)."""
        return self.tiers is None or passage.tier in self.tiers

    def submit(self, passages: list[Passage], titles: dict[str, str]) -> None:
        """Queue the passages of embedded tiers (titles: doc id -> title, part of the embedded text)."""
        from medcite.index.dense import embedding_text

        rows = [(p.passage_id, p.doc_id, embedding_text(titles[p.doc_id], p.section, p.text)) for p in passages if self.wants(p)]
        # a document written again makes its vectors still in flight stale (see the class docstring)
        for doc_id in {p.doc_id for p in passages if self.wants(p) or p.doc_id in self._open}:
            self._generation[doc_id] = self._generation.get(doc_id, 0) + 1
        self.submit_rows(rows)

    def submit_rows(self, rows: list[tuple[str, str, str]]) -> None:
        """Queue (passage id, doc id, text) rows in tasks of EMBED_BATCH, waiting when too many run."""
        for start in range(0, len(rows), EMBED_BATCH):
            chunk = rows[start : start + EMBED_BATCH]
            while len(self.in_flight) >= EMBED_IN_FLIGHT:
                self.collect(block=True)
            ref = self.task.remote([text for _, _, text in chunk], self.max_seq_len)
            self.in_flight[ref] = [(pid, doc_id, self._generation.get(doc_id, 0)) for pid, doc_id, _ in chunk]
            self._open.update(doc_id for _, doc_id, _ in chunk)

    def collect(self, block: bool = False) -> None:
        """Commit the vectors of finished tasks (block: wait for at least one)."""
        if not self.in_flight:
            return
        done, _ = self.ray.wait(list(self.in_flight), num_returns=1 if block else len(self.in_flight),
                                timeout=None if block else 0)
        for ref in done:
            self._commit(self.in_flight.pop(ref), self.ray.get(ref))

    def drain(self) -> None:
        """Wait for every task in flight and commit its vectors."""
        while self.in_flight:
            self.collect(block=True)

    def _commit(self, rows: list[tuple[str, str, int]], vectors) -> None:
        keep = []
        for (pid, doc_id, generation), vec in zip(rows, vectors):
            if self._generation.get(doc_id, 0) == generation:
                keep.append((pid, vec))
            self._open[doc_id] -= 1
            if not self._open[doc_id]:
                del self._open[doc_id]
                self._generation.pop(doc_id, None)
        if not keep:
            return
        with self.store.transaction():
            self.store.put_embeddings(self.model, keep)
        self.embedded += len(keep)
        self.on_commit("embeddings")

    def sweep(self) -> None:
        """Queue every passage of the embedded tiers that has no vector yet (left by an earlier,
        interrupted run, or dropped as stale), then wait for all of them."""
        from medcite.index.dense import missing_passages

        self.drain()
        missing = missing_passages(self.store, self.model, self.tiers)
        self.submit_rows([(pid, pid.rsplit("#", 1)[0], text) for pid, text in missing])
        self.drain()


def ingest_paths_ray(
    store: SQLiteStore,
    paths: Iterable[Path],
    settings: Settings,
    force: bool = False,
    on_file: Callable[[Path, int, int], None] | None = None,
    on_error: Callable[[str], None] | None = None,
    on_stage: Callable[[str, int], Any] | None = None,
    on_commit: Callable[[str], None] | None = None,
) -> IngestReport:
    """Ingest every file under `paths` with Ray workers (call inside `ray_cluster()`); return the
    IngestReport, as `ingest_paths` does. on_commit(kind) is called after each committed batch
    ("records" or "embeddings")."""
    import ray

    report = IngestReport(run_id=uuid.uuid4().hex[:12])
    on_error = on_error or (lambda line: None)
    on_commit = on_commit or (lambda kind: None)
    started = time.perf_counter()
    base_version = store.corpus_version()
    changed: set[str] = set()
    files = expand_paths(paths)
    planned = []
    for path, explicit in files:
        plan = plan_file(store, path, explicit, force, report, on_error)
        if plan is not None:
            planned.append((path, *plan))
    reader_task = ray.remote(num_cpus=1, max_retries=3)(read_file)
    embeddings = EmbeddingQueue(ray, store, settings, on_commit) if settings.embed_at_ingest else None
    queue = deque(planned)
    reading: deque = deque()
    for i in range(len(planned)):
        while queue and len(reading) < READ_AHEAD:
            path, reader, sig = queue.popleft()
            reading.append((path, reader, sig, reader_task.remote(str(path), reader.module.__name__, settings)))
        path, reader, sig, ref = reading.popleft()
        if on_file:
            on_file(path, i, len(planned))
        result: FileResult = ray.get(ref)
        _commit_file(store, settings, report, changed, on_error, on_commit, embeddings, path, reader.format, sig, result)
        if embeddings:
            embeddings.collect()
    if embeddings:
        if on_stage:
            on_stage("embeddings (ray)", 0)
        embeddings.sweep()
    finish_run(store, settings, report, changed, base_version, started, on_stage)
    if embeddings:
        report.dense = f"embedded {embeddings.embedded} on ray, {report.dense}"
    return report


def _commit_file(store, settings, report, changed, on_error, on_commit, embeddings, path, fmt, sig, result: FileResult):
    """Commit one file's records in BatchWriter batches, queue what they added for embedding, mark the file."""
    work = BatchWriter(store, settings, report, changed, on_error)
    titles = {item.doc_id: item.title for item, _ in result.items if isinstance(item, Document)}

    def committed(flushes: int, passages: list[Passage]) -> None:
        if embeddings and passages:
            embeddings.submit(passages, titles)
        if work.flushes > flushes:
            on_commit("records")

    for item, passages in result.items:
        flushes = work.flushes
        committed(flushes, work.add(item, passages))
    flushes = work.flushes
    committed(flushes, finish_file(store, report, work, path, sig, fmt, result.n_read, result.failure))
    report.source_seconds[fmt] = report.source_seconds.get(fmt, 0.0) + result.seconds
