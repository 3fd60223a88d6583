"""Reader for BEIR corpora (`corpus.jsonl` / `corpus.jsonl.gz`: {"_id","title","text","metadata"}),
plus the query / qrels loaders used by `medcite eval beir`.

SciFact's `_id` is a Semantic Scholar (S2ORC) corpus id, not a PMID, so documents get
``s2:<_id>`` and a Semantic Scholar URL. Each abstract is one "Abstract" section;
`metadata.sentences` is kept in meta because SciFact rationales point at sentence indices.

NFCorpus as held here is PREPROCESSED by its authors (lowercased, stop-words removed, numbers
replaced): fine for lexical retrieval evaluation, never to be quoted as evidence. `sniff` does not
claim it and `skip_reason` tells the driver why; `iter_beir_corpus` still reads it for evaluation.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from medcite.ingest.inflate import open_text
from medcite.records import Document, RecordError, Section

FORMAT = "beir_corpus"
SOURCE_KIND = "beir"
PREPROCESSED_REASON = "preprocessed NFCorpus text (lowercased, stop-words removed): evaluation only"
_SNIFF_BYTES = 8192


def _is_jsonl(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".jsonl") or name.endswith(".jsonl.gz")


def _open_text(path: Path) -> IO[str]:
    return open_text(path)  # gunzipped under the ingest limits (ingest/inflate.py)


def _first_record(path: Path) -> dict | None:
    """Return the first JSON line of a .jsonl(.gz) file (read from its first KB only), or None."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    line = head.split(b"\n", 1)[0]
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


def _is_corpus_record(rec: dict | None) -> bool:
    return rec is not None and {"_id", "title", "text"} <= rec.keys()


def _is_preprocessed(rec: dict | None) -> bool:
    meta = (rec or {}).get("metadata")
    return isinstance(meta, dict) and meta.get("text_preprocessed") is True


def sniff(path: Path) -> bool:
    """Return True for a BEIR corpus file with real text (not queries, not preprocessed NFCorpus)."""
    if not _is_jsonl(path):
        return False
    rec = _first_record(path)
    return _is_corpus_record(rec) and not _is_preprocessed(rec)


def skip_reason(path: Path) -> str | None:
    """Return why a BEIR file is not ingested as evidence (preprocessed corpus, queries), else None."""
    if not _is_jsonl(path):
        return None
    rec = _first_record(path)
    if _is_corpus_record(rec) and _is_preprocessed(rec):
        return PREPROCESSED_REASON
    if rec is not None and "_id" in rec and "text" in rec and "title" not in rec:
        return "BEIR queries: evaluation only"
    return None


def read(path: Path) -> Iterator[Document | RecordError]:
    """Yield one Document per corpus line; RecordErrors for bad lines or an unreadable file.

    A preprocessed corpus (NFCorpus) is refused as a whole with one RecordError: it only gets
    here when a caller forces the format, and its text must never become citable evidence.
    """
    path = Path(path)
    source = str(path)
    try:
        first = _first_record(path)
    except (OSError, EOFError) as exc:
        yield RecordError(source, None, f"cannot open: {exc}")
        return
    if _is_preprocessed(first):
        yield RecordError(source, None, f"refused: {PREPROCESSED_REASON}")
        return
    for lineno, rec, error in _iter_lines(path):
        if error:
            yield RecordError(source, f"line {lineno}" if lineno else None, error)
            continue
        try:
            yield _document(rec, source, lineno)
        except _BadRecord as exc:
            yield RecordError(source, f"line {lineno}", str(exc))


class _BadRecord(ValueError):
    pass


def _document(rec: dict, source: str, lineno: int) -> Document:
    doc_id = str(rec.get("_id") or "").strip()
    if not doc_id:
        raise _BadRecord("no _id")
    if _is_preprocessed(rec):
        raise _BadRecord(f"_id {doc_id}: refused: {PREPROCESSED_REASON}")
    title = " ".join(str(rec.get("title") or "").split())
    text = str(rec.get("text") or "").strip()
    if not title and not text:
        raise _BadRecord(f"_id {doc_id}: neither title nor text")
    meta: dict = {}
    metadata = rec.get("metadata")
    if isinstance(metadata, dict):
        sentences = metadata.get("sentences")
        if isinstance(sentences, list):
            meta["sentences"] = [str(s) for s in sentences]
        if "structured" in metadata:
            meta["structured"] = bool(metadata["structured"])
    return Document(
        doc_id=f"s2:{doc_id}",
        tier="research",
        source_kind=SOURCE_KIND,
        source_id=doc_id,
        title=title,
        sections=[Section(name="Abstract", text=text)] if text else [],
        url=f"https://api.semanticscholar.org/CorpusID:{doc_id}",
        meta=meta,
        source_file=source,
    )


def _iter_lines(path: Path) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield (line number, record, error) for each non-empty line; error set for bad lines / file."""
    lineno = 0
    try:
        with _open_text(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    yield lineno, None, f"not valid JSON: {exc}"
                    continue
                if not isinstance(rec, dict):
                    yield lineno, None, f"expected a JSON object, found {type(rec).__name__}"
                    continue
                yield lineno, rec, None
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # truncated gzip, undecodable bytes
        yield lineno + 1, None, f"cannot read the rest of the file: {exc}"


# ---------------------------------------------------------------- evaluation helpers


def iter_beir_corpus(path: Path) -> Iterator[tuple[str, str, str]]:
    """Yield (_id, title, text) for every readable line of a BEIR corpus, preprocessed or not.

    For evaluation only (BM25 / dense runs over the benchmark's own ids); bad lines are skipped.
    """
    for _lineno, rec, error in _iter_lines(Path(path)):
        if error or rec is None or "_id" not in rec:
            continue
        yield str(rec["_id"]), str(rec.get("title") or ""), str(rec.get("text") or "")


def load_queries(path: Path, split: str | None = None) -> dict[str, str]:
    """Return {query id: query text} from a BEIR queries.jsonl.

    `split` keeps only queries whose metadata.beir_split equals it (SciFact's file holds train and
    test claims together); queries without that field are kept whatever the split.
    """
    out: dict[str, str] = {}
    for _lineno, rec, error in _iter_lines(Path(path)):
        if error or rec is None or "_id" not in rec:
            continue
        meta = rec.get("metadata")
        rec_split = meta.get("beir_split") if isinstance(meta, dict) else None
        if split is not None and rec_split is not None and rec_split != split:
            continue
        out[str(rec["_id"])] = str(rec.get("text") or "")
    return out


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Return {query id: {doc id: relevance}} from a BEIR qrels .tsv / .tsv.gz (header optional).

    The shape is the one pytrec_eval expects.
    """
    path = Path(path)
    out: dict[str, dict[str, int]] = {}
    with _open_text(path) as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            try:
                score = int(row[2])
            except ValueError:
                continue
            out.setdefault(row[0], {})[row[1]] = score
    return out
