"""Ingest files and folders into the store: detect, read, chunk, store in transactions, log.

Resumable: records are committed in batches, each batch in one transaction that also bumps the
corpus version; a file is marked done (with its size and mtime) only when all its records are
committed, so a re-run after `kill -9` skips finished files, re-reads the interrupted one (its
committed records are content-hash no-ops) and goes on. Derived search indexes are brought up to
date at the end, or rebuilt on next use if the run never got there.

`ingest/distributed.py` runs the same steps (plan_file, BatchWriter, finish_file, finish_run) with
the reading, chunking and embedding on Ray workers (`medcite ingest PATH --ray`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medcite.errors import InputError
from medcite.index.store import Store
from medcite.ingest.chunking import chunk_document
from medcite.ingest.detect import Reader, detect, skip_reason
from medcite.ingest.inflate import use_limits
from medcite.numbers import format_number
from medcite.records import Document, DrugName, Passage, RecordError
from medcite.settings import Settings

BATCH_DOCS = 200


@dataclass
class SourceCount:
    """Per-source tallies for the summary table."""

    tier: str
    source_kind: str
    documents: int = 0
    passages: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0


@dataclass
class IngestReport:
    """What one ingest run did: counts per source, skipped files, errors, timings."""

    run_id: str
    sources: dict[str, SourceCount] = field(default_factory=dict)
    drug_names: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files_done: int = 0
    files_already_done: int = 0
    seconds: float = 0.0
    source_seconds: dict[str, float] = field(default_factory=dict)
    corpus_version: int = 0
    lexical: str = ""
    dense: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `medcite ingest --json`."""
        return {
            "run_id": self.run_id,
            "corpus_version": self.corpus_version,
            "sources": [vars(s) for s in self.sources.values()],
            "drug_names": self.drug_names,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "errors": self.errors,
            "files_done": self.files_done,
            "files_already_done": self.files_already_done,
            "seconds": round(self.seconds, 2),
            "source_seconds": {k: round(v, 3) for k, v in self.source_seconds.items()},
            "lexical_index": self.lexical,
            "dense_index": self.dense,
        }


def expand_paths(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Return (file, explicit) pairs: explicit files as given, folders walked in sorted order."""
    out: list[tuple[Path, bool]] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    out.append((child, False))
        else:
            out.append((path, True))
    return out


def _signature(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _mine_abbreviations() -> Callable[[str], list[tuple[str, str]]] | None:
    try:
        from medcite.analyze.abbreviations import extract_pairs
    except ImportError:
        return None
    return extract_pairs


class BatchWriter:
    """Commits records (Documents, DrugNames, RecordErrors) in batches of BATCH_DOCS, one transaction
    each; used by the ingest driver for every file and by the eval runner for benchmark corpora."""

    def __init__(self, store: Store, settings: Settings, report: IngestReport, changed: set[str], on_error):
        self.store, self.settings, self.report, self.changed, self.on_error = store, settings, report, changed, on_error
        self.extract_pairs = _mine_abbreviations()
        self.pending: list[tuple[Document | DrugName | RecordError, list[Passage] | None]] = []
        # A file of a million bad lines must not write a million log rows: the first
        # `ingest_max_errors_per_file` errors are kept, the rest only counted (see `unreported`).
        self.errors_kept = 0
        self.errors_dropped = 0
        self.flushes = 0  # batches committed (the Ray ingest reports each one)

    def add(self, item, passages: list[Passage] | None = None) -> list[Passage]:
        """Queue one record (`passages`: a Document's chunks when already cut, e.g. by a Ray worker);
        return the passages of the documents the batch flush (if any) added or replaced."""
        if isinstance(item, RecordError):
            if self.errors_kept >= self.settings.ingest_max_errors_per_file:
                self.errors_dropped += 1
                return []
            self.errors_kept += 1
        self.pending.append((item, passages))
        if len(self.pending) >= BATCH_DOCS:
            return self.flush()
        return []

    def flush(self) -> list[Passage]:
        """Commit the queued records in one transaction; return the passages of the documents it
        added or replaced (those that need a new vector)."""
        if not self.pending:
            return []
        queued, self.pending = self.pending, []
        self.flushes += 1
        items = [item for item, _ in queued]
        changed_here: list[str] = []
        written: list[Passage] = []
        with self.store.transaction():
            drug_names: list[DrugName] = []
            for item, chunked in queued:
                if isinstance(item, RecordError):
                    self.store.log(self.report.run_id, item.source, item.record, "error", item.message)
                    continue
                if isinstance(item, DrugName):
                    drug_names.append(item)
                    continue
                passages = chunked if chunked is not None else chunk_document(item, self.settings.chunk_words)
                status = self.store.upsert_document(item, passages)
                key = f"{item.tier}/{item.source_kind}"
                count = self.report.sources.setdefault(key, SourceCount(item.tier, item.source_kind))
                count.documents += 1
                count.passages += len(passages)
                setattr(count, status, getattr(count, status) + 1)
                if status != "unchanged":
                    changed_here.append(item.doc_id)
                    written.extend(passages)
                    if self.extract_pairs:
                        pairs = {p for passage in passages for p in self.extract_pairs(passage.text)}
                        self.store.add_abbreviations(item.doc_id, sorted(pairs))
            if drug_names:
                added = self.store.add_drug_names(drug_names)
                src = drug_names[0].source
                self.report.drug_names[src] = self.report.drug_names.get(src, 0) + len(drug_names)
                if added:
                    changed_here.append("")  # the dictionary changed: the corpus version must move
            if changed_here:
                self.store.bump_version()
        self.changed.update(d for d in changed_here if d)
        for item in items:
            if isinstance(item, RecordError):
                self.report.errors.append(item.line())
                self.on_error(item.line())
        return written

    def unreported(self, source: str) -> str | None:
        """Return the one line counting the errors of `source` past the per-file limit (None if none)."""
        if not self.errors_dropped:
            return None
        return (f"{source}: {format_number(self.errors_dropped)} more errors not shown (the first "
                f"{self.settings.ingest_max_errors_per_file} are; limit MEDCITE_INGEST_MAX_ERRORS_PER_FILE)")


def ingest_paths(
    store: Store,
    paths: Iterable[Path],
    settings: Settings,
    force: bool = False,
    on_file: Callable[[Path, int, int], None] | None = None,
    on_record: Callable[[int], None] | None = None,
    on_error: Callable[[str], None] | None = None,
    on_stage: Callable[[str, int], Any] | None = None,
) -> IngestReport:
    """Ingest every file under `paths`; return the IngestReport. Never raises for bad records.

    Callbacks (all optional) drive the CLI's progress bar: on_file(path, i, n) before each file,
    on_record(n) after records are read, on_error(line) for each bad record, on_stage(name, total)
    for the index-building stages at the end (it may return a callable progress(n)).
    """
    report = IngestReport(run_id=uuid.uuid4().hex[:12])
    on_error = on_error or (lambda line: None)
    started = time.perf_counter()
    base_version = store.corpus_version()
    changed: set[str] = set()
    files = expand_paths(paths)
    for i, (path, explicit) in enumerate(files):
        if on_file:
            on_file(path, i, len(files))
        planned = plan_file(store, path, explicit, force, report, on_error)
        if planned is None:
            continue
        reader, sig = planned
        t0 = time.perf_counter()
        work = BatchWriter(store, settings, report, changed, on_error)
        n_read, failure = 0, None
        try:
            with use_limits(settings):  # decompression limits of every reader (ingest/inflate.py)
                for item in reader.read(path):
                    if isinstance(item, Document) and item.source_file is None:
                        item.source_file = str(path)
                    work.add(item)
                    n_read += 1
                    if on_record and n_read % 50 == 0:
                        on_record(50)
            work.flush()
        except Exception as exc:  # a reader bug or an unreadable file: report it, keep the batch going
            failure = describe_failure(path, exc)
        finish_file(store, report, work, path, sig, reader.format, n_read, failure)
        report.source_seconds[reader.format] = report.source_seconds.get(reader.format, 0.0) + time.perf_counter() - t0
    return finish_run(store, settings, report, changed, base_version, started, on_stage)


def plan_file(store: SQLiteStore, path: Path, explicit: bool, force: bool, report: IngestReport,
              on_error: Callable[[str], None]) -> tuple[Reader, str] | None:
    """Return (reader, signature) when `path` must be read; None when it is missing, already
    ingested with this signature, or claimed by no reader (recorded in `report` and the log)."""
    if not path.exists():
        line = f"{path}: no such file or folder"
        report.errors.append(line)
        on_error(line)
        return None
    sig = _signature(path)
    if not force and store.file_signature(str(path)) == sig:
        report.files_already_done += 1
        return None
    reader = detect(path)
    if reader is None:
        reason = skip_reason(path)
        if explicit and reason in {"unknown format", "documentation"} or explicit and path.stat().st_size == 0:
            why = "empty file" if path.stat().st_size == 0 else f"unknown format: no reader recognises this file ({reason})"
            line = f"{path}: {why}"
            report.errors.append(line)
            on_error(line)
            with store.transaction():
                store.log(report.run_id, str(path), None, "error", why)
        else:
            report.skipped.append((str(path), reason))
        return None
    return reader, sig


def describe_failure(path: Path, exc: Exception) -> tuple[str, str]:
    """Return (error line, log detail) for a file whose reading stopped on `exc`."""
    # a library error is already one line naming the file; anything else gets its type
    if isinstance(exc, InputError):
        return str(exc), exc.detail
    detail = f"{type(exc).__name__}: {exc}"
    return f"{path}: {detail}", detail


def finish_file(store: SQLiteStore, report: IngestReport, work: BatchWriter, path: Path, sig: str, fmt: str,
                n_read: int, failure: tuple[str, str] | None) -> list[Passage]:
    """Commit what is still queued for `path`, then mark it done (or log why it failed); return the
    passages of that last commit that were added or replaced.

    What was read before a failure is valid and kept; a failed file is not marked done, so the next
    run reads it again (its committed records are content-hash no-ops).
    """
    written = work.flush()
    _report_unreported(store, report, work, path, work.on_error)
    if failure is None:
        with store.transaction():
            store.mark_file(str(path), sig, fmt, "done", report.run_id)
            store.log(report.run_id, str(path), None, "done", f"{n_read} records ({fmt})")
        report.files_done += 1
        return written
    line, detail = failure
    report.errors.append(line)
    work.on_error(line)
    with store.transaction():
        store.log(report.run_id, str(path), None, "error", detail)
    return written


def finish_run(store: SQLiteStore, settings: Settings, report: IngestReport, changed: set[str], base_version: int,
               started: float, on_stage: Callable[[str, int], Any] | None = None) -> IngestReport:
    """Bring the BM25 index and the dense matrix up to date (embedding what still lacks a vector);
    return the completed report."""
    if on_stage:
        on_stage("bm25 index", 0)
    report.lexical = store.sync_lexical(changed, base_version)
    report.dense = sync_dense(store, settings, on_stage)
    report.corpus_version = store.corpus_version()
    report.seconds = time.perf_counter() - started
    return report


def _report_unreported(store: Store, report: IngestReport, work: BatchWriter, path: Path, on_error) -> None:
    line = work.unreported(str(path))
    if line is None:
        return
    report.errors.append(line)
    on_error(line)
    with store.transaction():
        store.log(report.run_id, str(path), None, "error", line)


def sync_dense(store: Store, settings: Settings, on_stage=None) -> str:
    """Embed passages that have no vector yet (when enabled); return what was done."""
    if not settings.embed_at_ingest:
        return "disabled"
    try:
        from medcite.index.dense import sync_embeddings
    except ImportError:
        return "unavailable"
    return sync_embeddings(store, on_stage=on_stage, settings=settings)
