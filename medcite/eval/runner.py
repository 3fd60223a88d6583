"""The evaluation loop shared by `medcite eval beir` and `medcite eval bioasq`.

1. Index a benchmark's documents with the product's own code: a SQLiteStore in a work folder,
   documents chunked and stored in transactions by the ingest driver's batch writer, the BM25
   index and the passage embeddings built as `medcite ingest` builds them.
2. Run every query through `medcite.retrieve.hybrid.ranked_passages` (the function behind
   `medcite search`), turn passages into documents (a document scores its best passage), keep
   the top 100 documents.
3. Score the run with pytrec_eval (medcite.eval.metrics) and time the queries.

A work folder given by the caller is kept and reused: a second run finds the documents unchanged
(content hashes) and the vectors already stored, so only the queries run again.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from medcite.eval.metrics import Qrels, evaluate, write_trec_run
from medcite.index.store import SQLiteStore, Store
from medcite.records import Document, RecordError
from medcite.settings import Settings

DOC_DEPTH = 100  # documents kept per query (Recall@100)
PASSAGE_DEPTH = 200  # passages per query (= hybrid.CANDIDATES, so eval fuses as the product does)

Stage = Callable[[str, int], Any]  # on_stage(name, total) -> progress(n) or None


@dataclass
class EvalResult:
    """One system on one dataset: the mean metrics, speed and the run itself."""

    dataset: str
    split: str
    mode: str
    metrics: dict[str, float]
    queries: int
    seconds: float
    documents: int
    passages: int
    index_seconds: float
    settings_hash: str
    run: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def qps(self) -> float:
        """Queries per second over the whole query loop (embedding the query included)."""
        return self.queries / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `medcite eval ... --json`."""
        return {
            "dataset": self.dataset, "split": self.split, "mode": self.mode,
            "metrics": {k: round(v, 4) for k, v in self.metrics.items() if k != "queries"},
            "queries": self.queries, "queries_per_second": round(self.qps, 2), "query_seconds": round(self.seconds, 2),
            "documents": self.documents, "passages": self.passages, "index_seconds": round(self.index_seconds, 1),
            "settings_hash": self.settings_hash,
        }


@contextmanager
def work_store(workdir: str | Path | None) -> Iterator[Store]:
    """Yield a writable store in `workdir` (kept) or in a temporary folder (deleted afterwards)."""
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        store = SQLiteStore(Path(workdir) / "eval.db")
        try:
            yield store
        finally:
            store.close()
        return
    with tempfile.TemporaryDirectory(prefix="medcite-eval-") as tmp:
        store = SQLiteStore(Path(tmp) / "eval.db")
        try:
            yield store
        finally:
            store.close()


def index_documents(store: Store, documents: Iterable[Document | RecordError], source: str, signature: str,
                    settings: Settings, embed: bool = True, on_stage: Stage | None = None) -> float:
    """Store `documents` with the ingest driver's batch writer and build the search indexes.

    `source`/`signature` mark the corpus as done in the store, so a kept work folder is not read
    again. Returns the seconds spent (0 when everything was already there).
    """
    from medcite.index.dense import sync_embeddings
    from medcite.ingest.driver import IngestReport, BatchWriter

    started = time.perf_counter()
    if store.file_signature(source) != signature:
        report = IngestReport(run_id="eval")
        writer = BatchWriter(store, settings, report, set(), on_error=lambda line: None)
        progress = on_stage("indexing", 0) if on_stage else None
        for n, doc in enumerate(documents, start=1):
            writer.add(doc)
            if progress and n % 100 == 0:
                progress(100)
        writer.flush()
        with store.transaction():
            store.mark_file(source, signature, "eval", "done", report.run_id)
    store.sync_lexical()
    if embed:
        sync_embeddings(store, on_stage=on_stage, settings=settings)
    return time.perf_counter() - started


def run_queries(store: Store, queries: Mapping[str, str], settings: Settings, mode: str,
                doc_key: Mapping[str, str] | None = None, on_stage: Stage | None = None) -> tuple[dict[str, list[str]], float]:
    """Return ({query id: benchmark doc ids, best first}, seconds spent in retrieval).

    doc_key maps store doc ids to the benchmark's ids (e.g. "s2:4983" -> "4983"); ids missing
    from it are used as they are.
    """
    from medcite.retrieve.hybrid import documents_from_passages, ranked_passages

    progress = on_stage(f"queries ({mode})", len(queries)) if on_stage else None
    run: dict[str, list[str]] = {}
    spent = 0.0
    for qid in sorted(queries):
        t0 = time.perf_counter()
        ranked = ranked_passages(store, queries[qid], k=PASSAGE_DEPTH, settings=settings, mode=mode)
        spent += time.perf_counter() - t0
        docs = documents_from_passages(ranked)[:DOC_DEPTH]
        run[qid] = [doc_key.get(d, d) if doc_key else d for d, _ in docs]
        if progress:
            progress(1)
    return run, spent


def evaluate_store(store: Store, dataset: str, split: str, queries: Mapping[str, str], qrels: Qrels,
                   settings: Settings, mode: str, doc_key: Mapping[str, str] | None, index_seconds: float,
                   run_file: str | Path | None = None, on_stage: Stage | None = None) -> EvalResult:
    """Return the EvalResult of running `queries` (those judged in `qrels`) against `store`."""
    judged = {q: t for q, t in queries.items() if q in qrels}
    run, seconds = run_queries(store, judged, settings, mode, doc_key, on_stage)
    if run_file:
        write_trec_run(run_file, run, tag=f"medcite-{mode}")
    counts = store.counts()
    metrics = evaluate(qrels, run)
    return EvalResult(
        dataset=dataset, split=split, mode=mode, metrics=metrics, queries=int(metrics["queries"]), seconds=seconds,
        documents=counts["documents"], passages=counts["passages"], index_seconds=index_seconds, settings_hash=settings.hash(), run=run,
    )


def doc_keys(store: Store) -> dict[str, str]:
    """Return {store doc id: source id} for every document of the store (benchmark ids)."""
    return store.source_ids()
