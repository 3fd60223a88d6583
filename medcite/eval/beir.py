"""`medcite eval beir DIR`: retrieval quality on a BEIR-layout folder (SciFact, NFCorpus).

The folder holds `corpus.jsonl(.gz)`, `queries.jsonl` and `qrels/<split>.tsv(.gz)`. Documents come
from the BEIR reader (medcite.ingest.beir): its `read` for a corpus it accepts as evidence
(SciFact), its `iter_beir_corpus` for one it refuses as evidence but that is still a benchmark
(the preprocessed NFCorpus), so both are indexed exactly as the product indexes an abstract: one
"Abstract" section under the title.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from medcite.errors import InputError
from medcite.eval.runner import EvalResult, Stage, doc_keys, evaluate_store, index_documents, work_store
from medcite.ingest import beir as beir_reader
from medcite.records import Document, RecordError, Section
from medcite.settings import Settings


def corpus_file(folder: Path) -> Path:
    """Return the corpus file of a BEIR folder (raises InputError naming what is missing)."""
    for name in ("corpus.jsonl.gz", "corpus.jsonl"):
        if (folder / name).is_file():
            return folder / name
    raise InputError(str(folder), "no corpus.jsonl(.gz) here: pass a BEIR-layout folder")


def qrels_file(folder: Path, split: str) -> Path:
    """Return qrels/<split>.tsv(.gz) of a BEIR folder (raises InputError listing the splits found)."""
    for name in (f"{split}.tsv", f"{split}.tsv.gz"):
        if (folder / "qrels" / name).is_file():
            return folder / "qrels" / name
    found = sorted(p.name.split(".")[0] for p in (folder / "qrels").glob("*.tsv*")) if (folder / "qrels").is_dir() else []
    raise InputError(str(folder), f"no qrels/{split}.tsv; splits here: {', '.join(found) or 'none'}")


def iter_documents(path: Path) -> Iterator[Document | RecordError]:
    """Yield the corpus as Documents: the reader's own for evidence corpora, built here for the rest."""
    if beir_reader.sniff(path):
        yield from beir_reader.read(path)
        return
    for _id, title, text in beir_reader.iter_beir_corpus(path):
        yield Document(
            doc_id=f"beir:{_id}", tier="research", source_kind=beir_reader.SOURCE_KIND, source_id=_id,
            title=" ".join(title.split()), sections=[Section(name="Abstract", text=text.strip())] if text.strip() else [],
            source_file=str(path),
        )


def load_split(folder: Path, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Return (queries judged in the split, qrels of the split)."""
    qrels = beir_reader.load_qrels(qrels_file(folder, split))
    queries_path = folder / "queries.jsonl"
    if not queries_path.is_file():
        raise InputError(str(folder), "no queries.jsonl here")
    queries = beir_reader.load_queries(queries_path)
    return {q: t for q, t in queries.items() if q in qrels}, qrels


def evaluate_beir(folder: str | Path, settings: Settings, mode: str, split: str = "test",
                  workdir: str | Path | None = None, run_file: str | Path | None = None,
                  on_stage: Stage | None = None) -> EvalResult:
    """Return the EvalResult of `mode` retrieval over a BEIR folder's `split` queries."""
    folder = Path(folder)
    corpus = corpus_file(folder)
    queries, qrels = load_split(folder, split)
    st = corpus.stat()
    with work_store(workdir) as store:
        seconds = index_documents(
            store, iter_documents(corpus), str(corpus.resolve()), f"{st.st_size}:{st.st_mtime_ns}", settings,
            embed=mode != "bm25", on_stage=on_stage,
        )
        return evaluate_store(store, folder.name, split, queries, qrels, settings, mode, doc_keys(store), seconds,
                              run_file=run_file, on_stage=on_stage)
