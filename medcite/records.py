"""Typed records shared by every stage of the pipeline.

Readers (ingest/) produce `Document`s made of `Section`s; the chunker turns sections into
`Passage`s (never across a section boundary); the store keeps both. Retrieval returns `Hit`s.
The answer pipeline produces an `Answer` made of `AnswerSection`s of `Sentence`s, each citing
numbered `Citation`s, plus one `LabelCheck` per drug in the case.

Ids are stable:
- research: ``pmid:<PMID>`` (or ``s2:<corpus id>`` for SciFact/BEIR records that carry no PMID)
- label:    ``spl:<set id>`` (the version and effective date are fields)
- guideline: ``ngc:<NGC id>``, ``pdq:<summary slug>``, ``ncidrug:<slug>``
- passage:  ``<doc id>#<ordinal>``
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Tier = Literal["guideline", "label", "research"]
TIERS: tuple[str, ...] = ("guideline", "label", "research")


@dataclass
class Section:
    """One section of a source document as the source structures it.

    name: human-readable heading ("Indications & Usage", "Major Recommendations", "Stage IV > Treatment").
    code: machine code where the source has one (LOINC section code for labels, NGC field name...).
    text: plain text of the section (tables flattened to text, markup stripped).
    """

    name: str
    text: str
    code: str | None = None


@dataclass
class Document:
    """A source document with provenance.

    doc_id: stable id (see module docstring).
    tier: guideline | label | research.
    source_kind: the reader that produced it (openfda_json, spl_xml, pubmed_xml, pubmedqa, beir,
        ngc_json, ngc_xml, pdq_md, nci_drug_md).
    source_id: the id in the source system (PMID, SPL set id, NGC id, PDQ slug).
    version / date: SPL version and effective date (YYYY-MM-DD); publication year or date for
        articles; release date for guidelines.
    meta: source-specific fields: for research journal, year, mesh, publication_types; for labels
        set_id, spl_id, version, effective_time, generic_names, brand_names, routes, rxcui, unii,
        application_numbers; for guidelines developer, pmids, evidence grades.
    """

    doc_id: str
    tier: str
    source_kind: str
    source_id: str
    title: str
    sections: list[Section] = field(default_factory=list)
    date: str | None = None
    url: str | None = None
    version: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source_file: str | None = None

    def content_hash(self) -> str:
        """Return a sha256 of everything that defines this record's content (not its source file)."""
        payload = {
            "doc_id": self.doc_id,
            "tier": self.tier,
            "source_kind": self.source_kind,
            "source_id": self.source_id,
            "title": self.title,
            "date": self.date,
            "url": self.url,
            "version": self.version,
            "meta": self.meta,
            "sections": [asdict(s) for s in self.sections],
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Passage:
    """A chunk of one section of one document: the unit that is indexed, retrieved and cited."""

    passage_id: str
    doc_id: str
    ordinal: int
    tier: str
    section: str
    text: str
    section_code: str | None = None


@dataclass
class DrugName:
    """One drug-name dictionary entry: `name` (as written) resolves to `generic` (lower case INN).

    kind: generic | brand | synonym. source: labels | drugsfda | drugbank | nci.
    """

    name: str
    generic: str
    kind: str
    source: str


@dataclass
class RecordError:
    """A record a reader could not read. Readers yield these instead of raising, so that the
    rest of the batch goes on; the ingest driver prints and logs them."""

    source: str
    record: str | None
    message: str

    def line(self) -> str:
        """Return the one-line error message naming file and record."""
        where = self.source + (f" [{self.record}]" if self.record else "")
        return f"{where}: {self.message}"


@dataclass
class Hit:
    """A retrieved passage with its score and the document fields needed to show and cite it."""

    passage_id: str
    doc_id: str
    tier: str
    source_kind: str
    source_id: str
    title: str
    section: str
    text: str
    score: float
    section_code: str | None = None
    url: str | None = None
    date: str | None = None

    def snippet(self, width: int = 240) -> str:
        """Return the first `width` characters of the passage text, on one line."""
        text = " ".join(self.text.split())
        return text if len(text) <= width else text[: width - 1].rstrip() + "…"


# ---------------------------------------------------------------- answer records


@dataclass
class Citation:
    """A numbered reference to one retrieved passage."""

    n: int
    passage_id: str
    doc_id: str
    tier: str
    source_id: str
    title: str
    section: str
    url: str | None = None
    date: str | None = None
    source_kind: str | None = None


@dataclass
class Sentence:
    """One sentence of an answer and the citation numbers that support it."""

    text: str
    citations: list[int] = field(default_factory=list)
    kind: str = "extract"  # extract (a span of a cited passage) | template (facts of a LabelCheck)


@dataclass
class AnswerSection:
    """One part of an answer: a tier (guideline / label / research), or 'bottom_line' / 'monitoring'."""

    tier: str
    heading: str
    sentences: list[Sentence] = field(default_factory=list)
    note: str | None = None  # e.g. "No FDA label for lanreotide is held in the index."


@dataclass
class Verdict:
    """One verdict with the label passages that support it."""

    status: str
    citations: list[int] = field(default_factory=list)
    text: str | None = None


@dataclass
class DoseVerdict:
    """Prescribed vs labeled dose: status matches | mismatch | not_stated | not_prescribed."""

    status: str
    labeled: str | None = None
    prescribed: str | None = None
    citations: list[int] = field(default_factory=list)
    detail: str | None = None


@dataclass
class Alert:
    """A boxed warning, contraindication or warning that a fact of the case triggers."""

    kind: str  # boxed_warning | contraindication | warning | interaction
    text: str
    trigger: str
    citations: list[int] = field(default_factory=list)


@dataclass
class LabelCheck:
    """The regimen of one drug checked against its FDA label."""

    drug: str
    label: dict[str, Any] | None  # {set_id, title, version, effective_date} or None if not held
    indication: Verdict
    dose: DoseVerdict
    frequency: DoseVerdict
    route: DoseVerdict
    alerts: list[Alert] = field(default_factory=list)
    note: str | None = None


@dataclass
class Answer:
    """The full answer to a case or question, ready to render as markdown or JSON."""

    question: str
    facts: dict[str, Any]
    label_checks: list[LabelCheck]
    sections: list[AnswerSection]
    references: list[Citation]
    verification: dict[str, Any]
    corpus_version: int
    settings_hash: str
    bottom_line: list[Sentence] = field(default_factory=list)
    effect_sizes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the stable JSON shape documented in the README (`medcite ask --json`)."""
        return asdict(self)
