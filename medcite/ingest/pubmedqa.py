"""Reader for PubMedQA PQA-L (`ori_pqal.json`: a dict PMID -> {QUESTION, CONTEXTS, LABELS, ...}).

One Document per PMID, doc_id ``pmid:<PMID>`` -- the same id as the PubMed XML reader, so the
same article read from both sources is one document in the store.

PubMedQA carries no article title: its QUESTION (a question written from the title) stands in
as the title and `meta["title_is_question"]` says so, so that renderers never present it as the
paper's title. Sections: each CONTEXT under its LABEL (the abstract's own section labels, the
conclusion removed) plus LONG_ANSWER as "Conclusions" (it is the abstract's conclusion).

`test_ground_truth.json` (PMID -> yes/no/maybe) is an evaluation file, never ingested.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from medcite.records import Document, RecordError, Section

FORMAT = "pubmedqa"
_SNIFF_BYTES = 4096
# A PQA-L file opens with `{ "<PMID>": { "QUESTION": ...` (possibly pretty-printed).
_HEAD = re.compile(r'^\s*\{\s*"\d+"\s*:\s*\{\s*"QUESTION"\s*:', re.S)
_GROUND_TRUTH = re.compile(r'^\s*\{\s*"\d+"\s*:\s*"(yes|no|maybe)"', re.S)


def _head(path: Path) -> str:
    with open(path, "rb") as fh:
        return fh.read(_SNIFF_BYTES).decode("utf-8", "replace")


def sniff(path: Path) -> bool:
    """Return True for a PubMedQA corpus file (.json opening with a PMID keyed record with QUESTION)."""
    if path.suffix.lower() != ".json":
        return False
    head = _head(path)
    return bool(_HEAD.match(head)) and '"CONTEXTS"' in head


def skip_reason(path: Path) -> str | None:
    """Return why a PubMedQA evaluation file is not ingested (test_ground_truth.json), else None."""
    if path.suffix.lower() != ".json":
        return None
    if _GROUND_TRUTH.match(_head(path)):
        return "PubMedQA answer labels (PMID -> yes/no/maybe): evaluation only"
    return None


def read(path: Path) -> Iterator[Document | RecordError]:
    """Yield one Document per PMID of an `ori_pqal.json`-shaped file, RecordErrors for bad entries."""
    path = Path(path)
    source = str(path)
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:  # one JSON object: if it does not parse, nothing is readable
        yield RecordError(source, None, f"cannot read PubMedQA JSON: {exc}")
        return
    if not isinstance(data, dict):
        yield RecordError(source, None, f"expected a JSON object keyed by PMID, found {type(data).__name__}")
        return
    for pmid, entry in data.items():
        try:
            yield _document(str(pmid), entry, source)
        except _BadEntry as exc:
            yield RecordError(source, f"PMID {pmid}", str(exc))
        except Exception as exc:  # never let one odd entry stop the file
            yield RecordError(source, f"PMID {pmid}", f"unreadable entry: {type(exc).__name__}: {exc}")


class _BadEntry(ValueError):
    pass


def _document(pmid: str, entry: object, source: str) -> Document:
    if not pmid.isdigit():
        raise _BadEntry("key is not a PMID")
    if not isinstance(entry, dict):
        raise _BadEntry(f"entry is a {type(entry).__name__}, not an object")
    question = " ".join(str(entry.get("QUESTION") or "").split())
    contexts = entry.get("CONTEXTS")
    if not question or not isinstance(contexts, list):
        raise _BadEntry("QUESTION or CONTEXTS missing")
    labels = entry.get("LABELS") or []
    if not isinstance(labels, list) or (labels and len(labels) != len(contexts)):
        raise _BadEntry(f"{len(contexts)} CONTEXTS but LABELS is {labels!r:.80}")

    sections = []
    for i, text in enumerate(contexts):
        text = str(text or "").strip()
        if not text:
            continue
        label = str(labels[i]).strip() if labels and labels[i] else ""
        # The labels are the abstract's own Label attributes (BACKGROUND, METHODS...): keep the
        # raw label as the code so it can be compared with PubMed XML sections of the same paper.
        sections.append(Section(name=label or "Abstract", text=text, code=label or None))
    long_answer = str(entry.get("LONG_ANSWER") or "").strip()
    if long_answer:
        sections.append(Section(name="Conclusions", text=long_answer, code="CONCLUSIONS"))

    year_raw = str(entry.get("YEAR") or "").strip()
    year = int(year_raw) if year_raw.isdigit() else None
    meshes = entry.get("MESHES") or []
    meta = {
        "title_is_question": True,
        "year": year,
        # PubMedQA gives descriptor names only: major-topic status is unknown, not false.
        "mesh": [{"name": str(m), "ui": None, "major": None} for m in meshes if m],
        "pubmedqa_decision": entry.get("final_decision"),
    }
    return Document(
        doc_id=f"pmid:{pmid}",
        tier="research",
        source_kind=FORMAT,
        source_id=pmid,
        title=question,
        sections=sections,
        date=str(year) if year else None,
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        meta=meta,
        source_file=source,
    )
