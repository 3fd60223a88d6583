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
from enum import StrEnum
from typing import Any, Literal

# How sections are cut into passages (medcite.ingest.chunking); part of every content hash, so a
# new version re-chunks every record on the next ingest.
CHUNKING_VERSION = 2

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
            "chunking": CHUNKING_VERSION,
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
    # evidence level of the cited document as the answer ranked it ("randomized controlled trial",
    # "Level of evidence C2", an NGC grade); None for labels
    evidence: str | None = None


class SentenceKind(StrEnum):
    """How a sentence of an answer was made (the verifier checks each kind its own way)."""

    EXTRACT = "extract"  # a span of its cited passage
    TEMPLATE = "template"  # facts of a LabelCheck (or of a passage) set in fixed words
    NOTE = "note"  # says that evidence is absent, e.g. no label held: no claim, so nothing to cite
    GENERATED = "generated"  # written by the LLM composer: a paraphrase of the passages it was given


@dataclass
class Sentence:
    """One sentence of an answer and the citation numbers that support it."""

    text: str
    citations: list[int] = field(default_factory=list)
    kind: str = SentenceKind.EXTRACT  # a SentenceKind
    # the heading a quoted list item or table row stands under in its source ("Tumour Control")
    context: str | None = None
    # a template or note sentence: the template's key and the values set in it (medcite.compose.templates)
    template: str | None = None
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class AnswerSection:
    """One part of an answer: a tier (guideline / label / research), or 'bottom_line' / 'monitoring'."""

    tier: str
    heading: str
    sentences: list[Sentence] = field(default_factory=list)
    note: str | None = None  # e.g. "No FDA label for lanreotide is held in the index."


class IndicationStatus(StrEnum):
    """Is the case's use of the drug among its label's indications?"""

    ON_LABEL = "on_label"  # the condition is one of the label's indications
    OFF_LABEL = "off_label"  # the condition is recognised and is not among the indications
    NOT_INDICATED = "not_indicated"  # a Limitation of Use or a "not indicated / not for" sentence excludes it
    UNCLEAR = "unclear"  # no condition recognised, or only a partial match
    NO_LABEL = "no_label"  # no label of the drug is held in the index


class RegimenStatus(StrEnum):
    """Prescribed dose, frequency or route against the label's dosing row for this patient."""

    MATCHES = "matches"  # the dosing row for this indication and population covers the order
    MISMATCH = "mismatch"  # it does not, or a fact of the case requires an adjustment the order ignores
    NOT_STATED = "not_stated"  # could not be checked; `detail` says why
    NOT_PRESCRIBED = "not_prescribed"  # the order gives none


class AlertKind(StrEnum):
    """What a label sentence that a fact of the case triggers is."""

    CONTRAINDICATION = "contraindication"
    BOXED_WARNING = "boxed_warning"
    WARNING = "warning"
    INTERACTION = "interaction"
    DOSAGE = "dosage"  # a dose adjustment the fact calls for
    POPULATION = "population"  # age, pregnancy, lactation, renal or hepatic impairment


class ReviewCategory(StrEnum):
    """The one outcome of a label check in batch review, on a CDS card and in the bottom line;
    `SEVERITY` orders them, worst first."""

    CONTRAINDICATED = "contraindicated"  # a contraindication this patient's facts trigger
    NOT_INDICATED = "not indicated"
    OFF_LABEL = "off-label"
    DOSE_MISMATCH = "dose mismatch"
    UNCLEAR = "unclear"  # no label, or something could not be checked (the check says why)
    ON_LABEL = "on-label"  # indication on label and every prescribed part of the regimen matches


SEVERITY: tuple[ReviewCategory, ...] = (
    ReviewCategory.CONTRAINDICATED, ReviewCategory.NOT_INDICATED, ReviewCategory.OFF_LABEL,
    ReviewCategory.DOSE_MISMATCH, ReviewCategory.UNCLEAR, ReviewCategory.ON_LABEL,
)


@dataclass
class Verdict:
    """One verdict with the label passages that support it (`IndicationStatus`)."""

    status: IndicationStatus
    citations: list[int] = field(default_factory=list)
    text: str | None = None


@dataclass
class DoseVerdict:
    """Prescribed vs labeled dose, frequency or route (`RegimenStatus`); `detail` says why when
    the status is not_stated or mismatch."""

    status: RegimenStatus
    labeled: str | None = None
    prescribed: str | None = None
    citations: list[int] = field(default_factory=list)
    detail: str | None = None


@dataclass
class Alert:
    """A boxed warning, contraindication or warning that a fact of the case triggers."""

    kind: AlertKind
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

    def regimen(self) -> dict[str, DoseVerdict]:
        """Return the dose, frequency and route verdicts by name."""
        return {"dose": self.dose, "frequency": self.frequency, "route": self.route}

    def category(self) -> ReviewCategory:
        """Return the check's one outcome. "on-label" only when the indication is on label and
        every prescribed part of the regimen matches (and something was prescribed); anything
        undecided is "unclear"; a contraindication this patient triggers outranks everything."""
        if any(a.kind == AlertKind.CONTRAINDICATION for a in self.alerts):
            return ReviewCategory.CONTRAINDICATED
        status = self.indication.status
        if self.label is None:
            return ReviewCategory.UNCLEAR
        if status == IndicationStatus.NOT_INDICATED:
            return ReviewCategory.NOT_INDICATED
        if status == IndicationStatus.OFF_LABEL:
            return ReviewCategory.OFF_LABEL
        parts = [v for v in self.regimen().values() if v.status != RegimenStatus.NOT_PRESCRIBED]
        if any(v.status == RegimenStatus.MISMATCH for v in parts):
            return ReviewCategory.DOSE_MISMATCH
        if status == IndicationStatus.ON_LABEL and parts and all(v.status == RegimenStatus.MATCHES for v in parts):
            return ReviewCategory.ON_LABEL
        return ReviewCategory.UNCLEAR

    def undecided(self) -> list[str]:
        """Return what could not be checked and why, one phrase each ("dose: units not comparable")."""
        out = []
        if self.indication.status in (IndicationStatus.UNCLEAR, IndicationStatus.NO_LABEL):
            out.append(f"indication: {self.note or self.indication.status}")
        for name, v in self.regimen().items():
            if v.status == RegimenStatus.NOT_STATED:
                out.append(f"{name}: {v.detail or 'the label states none to compare'}")
        return out


class Intent(StrEnum):
    """What a question asks (medcite.analyze.question). Each intent decides which label sections,
    guideline and research passages answer it."""

    INFORMATION = "information"  # what is it, what kind of drug
    MECHANISM = "mechanism"  # how it works, how fast, how long it stays in the body
    INDICATION = "indication"  # what it is used for, whether it treats a condition
    DOSING = "dosing"  # how much, how often, overdose, a missed dose
    ADMINISTRATION = "administration"  # how and when to take it, for how long, how to stop
    PRODUCT = "product"  # what it contains or looks like, how it is supplied and stored
    ADVERSE_EFFECTS = "adverse_effects"
    INTERACTIONS = "interactions"
    CONTRAINDICATIONS = "contraindications"  # and special populations: pregnancy, children, organ impairment
    MONITORING = "monitoring"
    COMPARISON = "comparison"
    DIAGNOSIS = "diagnosis"  # symptoms, causes, tests
    MANAGEMENT = "management"  # treatment, prevention, what to do
    PROGNOSIS = "prognosis"  # course, duration, contagiousness, outcome
    CASE_REGIMEN = "case_regimen"  # a case with a proposed regimen to check


class SubjectKind(StrEnum):
    """What a question is about."""

    DRUG = "drug"
    DRUG_CLASS = "drug_class"
    CONDITION = "condition"
    TEST = "test"
    PROCEDURE = "procedure"


@dataclass
class Subject:
    """One thing a question is about, with its span. name: the drug's generic (salt words aside), the
    class name from the labels' pharmacologic classes, the condition's name, or the words as written.
    generics: for a drug class, the generics of the labels held in that class."""

    kind: SubjectKind
    name: str
    text: str
    start: int
    end: int
    generics: list[str] = field(default_factory=list)


@dataclass
class Understanding:
    """What a question asks about what: its intent, the words that decided it, its subjects, and
    whether the label check runs (only when the text proposes a regimen or asks about one)."""

    intent: Intent
    subjects: list[Subject] = field(default_factory=list)
    cue: str | None = None
    check_label: bool = False

    def of_kind(self, *kinds: SubjectKind) -> list[Subject]:
        """Return the subjects of the given kinds, in text order."""
        return [s for s in self.subjects if s.kind in kinds]


class AnswerStatus(StrEnum):
    """Whether an answer answers: `answered` when its bottom line quotes evidence on the question's
    subject and intent, `abstained` when it says what the index lacks instead."""

    ANSWERED = "answered"
    ABSTAINED = "abstained"


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
    understanding: Understanding | None = None
    status: AnswerStatus = AnswerStatus.ANSWERED
    # what the index lacks, when the answer abstains ("The index holds no label for ...")
    abstention: str | None = None
    # who wrote the prose: {"requested", "used", "model", "fallback"} (compose.llm; README "LLM composer")
    composer: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the stable JSON shape documented in the README (`medcite ask --json`)."""
        return asdict(self)


# ---------------------------------------------------------------- case facts
# Step 1 of answering a case (medcite.analyze.facts): free text -> structured facts. Every fact
# carries `start`/`end` character offsets into the case text so the UI can highlight it.


@dataclass
class Dose:
    """A dose as written: value and canonical unit (mg, mcg, g, mg/m2, mg/kg, mcg/kg, units/kg,
    GBq, MBq, mCi, units, IU, mL, mEq, mmol, capsule, tablet; "/day" appended for a daily total, e.g. "mg/day")."""

    value: float
    unit: str
    text: str
    start: int
    end: int
    value_max: float | None = None  # upper end of a range ("4 to 8 mg")


@dataclass
class Frequency:
    """How often a drug is given, normalised so that comparisons are arithmetic: `times` doses every
    `per_days` days; interval_days = per_days / times (1 = once daily, 0.5 = twice daily, 28 = every
    4 weeks). `text` is the canonical wording derived from the numbers ("once daily", "every 4
    weeks"), `as_written` the case's words. A month counts 30 days. "as needed" has no numbers."""

    times: int | None
    per_days: float | None
    interval_days: float | None
    text: str
    as_written: str
    start: int
    end: int
    as_needed: bool = False


@dataclass
class Route:
    """Route of administration: `name` from the openFDA route vocabulary in lower case (oral,
    intravenous, intramuscular, subcutaneous, intravitreal, topical, respiratory (inhalation)...);
    `detail` keeps a qualifier the vocabulary lacks ("deep" for deep subcutaneous)."""

    name: str
    text: str
    start: int
    end: int
    detail: str | None = None


@dataclass
class Duration:
    """How long a drug is given: value + unit (days, weeks, months, years, cycles, doses); `days`
    when the unit is a time (a month counts 30 days)."""

    value: float
    unit: str
    days: float | None
    text: str
    start: int
    end: int


@dataclass
class DrugMention:
    """A drug named in the case, resolved through the drug dictionary ("Xeloda" -> capecitabine).

    role: proposed (prescribed / to start / given) | comedication (already taking) | previous
    (stopped, prior, history of) | diagnostic (an imaging agent: "dotatate avid", "DOTATATE PET")
    | unspecified. `role_text` is the words that decided it. Dose, frequency, route and duration are those written after the drug (or,
    failing that, before it) in the same sentence."""

    text: str
    start: int
    end: int
    generic: str
    name_kind: str  # kind of the dictionary name matched: generic | brand | synonym
    role: str = "unspecified"
    role_text: str | None = None
    negated: bool = False
    dose: Dose | None = None
    frequency: Frequency | None = None
    route: Route | None = None
    duration: Duration | None = None


@dataclass
class Qualifier:
    """A qualifier of a condition as written: kind grade | differentiation | functional | resection |
    extent | stage | site, its normalised value ("2", "well", "non-functional", "resected",
    "unresectable", "metastatic", "liver") and its span."""

    kind: str
    value: str
    text: str
    start: int
    end: int


@dataclass
class ConditionMention:
    """A condition named in the case: a noun phrase ending in a disease word, or an abbreviation
    the case or the corpus defines (then `name` is the long form and `abbreviation` the short).

    The typed fields summarise `qualifiers` (grade 2, well differentiated, non-functional,
    resected / unresectable, metastatic / locally advanced, stage, metastatic sites)."""

    text: str
    start: int
    end: int
    name: str
    abbreviation: str | None = None
    source: str = "pattern"  # pattern | abbreviation
    negated: bool = False
    grade: int | None = None
    differentiation: str | None = None
    functional: str | None = None
    resection: str | None = None
    extent: str | None = None
    stage: str | None = None
    sites: list[str] = field(default_factory=list)
    qualifiers: list[Qualifier] = field(default_factory=list)


@dataclass
class Genotype:
    """A pharmacogenomic result: gene ("HLA-B", "CYP2C19", "DPYD", "UGT1A1", "G6PD"...), allele
    in star form ("*15:02", "*28", "*2/*2") when written, and status (positive | negative | poor /
    intermediate / normal / extensive / rapid / ultrarapid metabolizer | deficient | homozygous |
    heterozygous | genotype). negated: inside a negation ("not a CYP2C19 poor metabolizer",
    "DPD deficiency was ruled out"); a negated bare allele gets status "negative"."""

    gene: str
    allele: str | None
    status: str
    text: str
    start: int
    end: int
    negated: bool = False


@dataclass
class Finding:
    """One patient fact with its span. kind: age | sex | pregnancy | lactation | weight | crcl |
    egfr | esrd | dialysis | child_pugh | hepatic_impairment | negation (value = the negated words)."""

    kind: str
    value: Any
    text: str
    start: int
    end: int
    unit: str | None = None
    negated: bool = False


@dataclass
class PatientFacts:
    """Facts about the patient; each typed field is also a `Finding` in `findings` (with offsets)."""

    age_years: float | None = None
    sex: str | None = None  # female | male
    pregnant: bool | None = None
    weight_kg: float | None = None
    crcl_ml_min: float | None = None
    egfr: float | None = None  # mL/min/1.73 m2
    esrd: bool | None = None
    dialysis: bool | None = None
    child_pugh: str | None = None  # A | B | C
    hepatic_impairment: str | None = None  # mild | moderate | severe
    genotypes: list[Genotype] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class CaseFacts:
    """Everything extracted from one case text (see medcite.analyze.facts.extract_facts)."""

    text: str
    drugs: list[DrugMention] = field(default_factory=list)
    conditions: list[ConditionMention] = field(default_factory=list)
    patient: PatientFacts = field(default_factory=PatientFacts)
    negations: list[Finding] = field(default_factory=list)
    abbreviations: dict[str, str] = field(default_factory=dict)  # defined in the case text itself

    def proposed(self) -> list[DrugMention]:
        """Return the drugs proposed for the patient (not negated)."""
        return [d for d in self.drugs if d.role == "proposed" and not d.negated]

    def to_dict(self) -> dict[str, Any]:
        """Return the facts as plain JSON-able data."""
        return asdict(self)
