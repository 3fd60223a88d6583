"""The dosing model of one FDA label: every dose statement of Dosage & Administration as a row
with the population it is for, what kind of statement it is, and the span it came from.

A row is one sentence of D&A prose or one row of a D&A table (tables keep one row a line; the
header row names the columns, so a "Maximum ... Dosage" column gives maximum doses). What a row is
for is read from the label's own words, in the row and in what governs it: the numbered
subsection heading ("2.4 Dosage in Patients with Renal Impairment"), the table's first cell
("Pediatric patients weighing 20 kg to less than 50 kg") and a lead-in sentence ending in ":"
("In patients with acute uncomplicated malaria and severe chronic renal impairment, ..."):

- population: age band (adults, pediatric patients N to M years, elderly), weight band, renal
  impairment (CrCl / eGFR thresholds, ESRD, dialysis), hepatic impairment (Child-Pugh class or
  mild / moderate / severe), a genotype (CYP2D6 poor metabolizers), an interacting drug or
  class (strong CYP3A inhibitors, named drugs), a treatment phase (induction, maintenance,
  loading);
- kind: recommended dose, maximum, titration step, dose reduction for adverse reactions, a
  switch table from another drug, avoid / not recommended, no adjustment needed, or a clinical
  study sentence (never a recommendation).

A dose is an amount ("125 mg"; a volume of a concentration the label states, "5 mL (125 mg/5 mL)",
is read as the amount it holds) or a count of capsules or tablets ("one capsule every 12 hours").

The check (`label_dose`) picks the rows that apply to the patient; a pediatric weight-band row,
a titration step or a study sentence is never taken for the adult recommended dose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from medcite.analyze.label_text import (
    DOSAGE,
    SEE_REF,
    LabelText,
    SectionText,
    Span,
    ancestry_regions,
    full_text_start,
    heading_title,
    numbered_subsections,
    sentences_of,
    strip_heading,
)
from medcite.analyze.regimen import find_counts, find_doses, find_frequencies, find_routes
from medcite.records import Dose, Frequency


# Bump when the rows read from a label change: rows extracted at ingest by another version are
# read again from the label text instead of being trusted.
LABEL_MODEL_VERSION = 13


class Population(StrEnum):
    """Who a dose statement is for, beyond the indication."""

    ADULT = "adult"
    PEDIATRIC = "pediatric"
    ELDERLY = "elderly"
    RENAL = "renal"
    HEPATIC = "hepatic"
    GENOTYPE = "genotype"
    INTERACTION = "interaction"
    ANCESTRY = "ancestry"


# Populations whose rows adjust the dose of the indication's row (not age bands, which replace it).
ADJUSTED = frozenset({Population.RENAL, Population.HEPATIC, Population.GENOTYPE, Population.INTERACTION, Population.ANCESTRY})
_ADJUSTED = ADJUSTED


class RowKind(StrEnum):
    """What a dose statement of the label says."""

    RECOMMENDED = "recommended"
    MAXIMUM = "maximum"
    TITRATION = "titration"
    REDUCTION = "reduction"  # a dose modification for adverse reactions or toxicity
    SWITCH = "switch"  # converting from another drug or formulation
    AVOID = "avoid"  # avoid / not recommended / contraindicated in this population
    NO_ADJUSTMENT = "no_adjustment"
    STUDY = "study"  # what a clinical study gave, not a recommendation
    PREPARATION = "preparation"  # how to prepare or dilute it (mL of water, per syringe)


@dataclass
class Band:
    """A numeric band of the patient (age in years, weight in kg, CrCl in mL/min): lo <= x < hi."""

    lo: float | None = None
    hi: float | None = None
    hi_inclusive: bool = False

    def holds(self, x: float) -> bool:
        if self.lo is not None and x < self.lo:
            return False
        if self.hi is not None and (x > self.hi or (x == self.hi and not self.hi_inclusive)):
            return False
        return True

    def to_dict(self) -> dict:
        return {"lo": self.lo, "hi": self.hi, "hi_inclusive": self.hi_inclusive}


@dataclass
class DosingRow:
    """One dose statement of the label (see module docstring)."""

    span: Span
    subsection: str | None
    heading: str
    doses: list[Dose]
    frequencies: list[Frequency]
    routes: list[str]
    kind: RowKind
    populations: set[Population] = field(default_factory=set)
    age: Band | None = None
    weight: Band | None = None
    crcl: Band | None = None
    dialysis: bool = False
    child_pugh: set[str] = field(default_factory=set)
    genes: set[str] = field(default_factory=set)
    interacting: list[str] = field(default_factory=list)  # the words naming the interacting drug or class
    phase: str | None = None
    metabolizer: str | None = None  # poor | intermediate | extensive | ultrarapid, for genotype rows
    ancestry: set[str] = field(default_factory=set)  # regions of an ancestry row ("East Asian"), label_text.REGION_WORDS
    daily: bool = False  # the row speaks of daily totals ("mg per day", "total daily dose", a "Daily Dosage" column)
    table: bool = False
    source: str = ""  # the text the doses were read from (the sentence, or the table cell)
    daily_doses: list[bool] = field(default_factory=list)  # per dose: is it a daily total?

    def to_dict(self) -> dict:
        """Return the row as `medcite label --json` prints it."""
        return {
            "subsection": self.subsection, "heading": self.heading, "kind": self.kind,
            "populations": sorted(self.populations), "age": self.age and self.age.to_dict(),
            "weight": self.weight and self.weight.to_dict(), "crcl": self.crcl and self.crcl.to_dict(),
            "dialysis": self.dialysis, "child_pugh": sorted(self.child_pugh), "genes": sorted(self.genes),
            "interacting": self.interacting, "phase": self.phase, "metabolizer": self.metabolizer, "ancestry": sorted(self.ancestry), "daily": self.daily, "table": self.table,
            "doses": [d.text for d in self.doses], "frequencies": [f.text for f in self.frequencies],
            "daily_doses": self.daily_doses,
            "routes": self.routes, "text": " ".join(self.span.text.split()), "start": self.span.start,
            "end": self.span.end, "passages": self.span.passage_ids,
        }


# ---------------------------------------------------------------- the words that qualify a row

_NUM = r"(\d+(?:\.\d+)?)"
_AGE_UNIT = r"(?:years?|yrs?|months?)"
_AGE_RANGE = re.compile(rf"\b(?:aged?\s+)?{_NUM}\s*(?:to|-|–|through)\s*(?:less\s+than\s+)?{_NUM}\s*{_AGE_UNIT}", re.I)
_AGE_MIN = re.compile(rf"\b{_NUM}\s*{_AGE_UNIT}(?:\s+of\s+age)?\s+(?:and|or)\s+(?:older|above|over)|(?:≥|>=|older\s+than|over|greater\s+than|more\s+than)\s*{_NUM}\s*{_AGE_UNIT}", re.I)
_AGE_MAX = re.compile(rf"(?:younger\s+than|less\s+than|under|<)\s*{_NUM}\s*{_AGE_UNIT}", re.I)
_WEIGHT_RANGE = re.compile(rf"(?:[≥>]=?\s*)?\b{_NUM}\s*kg\s*(?:to|-|–)\s*(?:less\s+than\s+|<(?!=)\s*|≤\s*|<=\s*)?{_NUM}\s*kg", re.I)
_WEIGHT_MIN = re.compile(rf"(?:weighing\s+)?(?:at\s+least\s+|≥\s*|>=?\s*|over\s+|more\s+than\s+|greater\s+than\s+|above\s+){_NUM}\s*kg|"
                         rf"\b{_NUM}\s*kg\s+(?:or\s+(?:more|greater|above)|and\s+(?:above|over|greater))", re.I)
_WEIGHT_MAX = re.compile(rf"(?:less\s+than|under|<|below|up\s+to)\s*{_NUM}\s*kg", re.I)
_PEDIATRIC = re.compile(r"\b(?:pediatric|paediatric|child(?:ren)?(?![-\s]Pugh)|adolescents?|infants?|neonates?)\b", re.I)
_ADULT = re.compile(r"\badults?\b", re.I)
_ELDERLY = re.compile(r"\b(?:elderly|geriatric|older\s+adults?)\b", re.I)
_RENAL = re.compile(r"\b(?:renal|kidney)\s+(?:impairment|insufficiency|disease|function|failure)|\bCrCl\b|\bCLcr\b|"
                    r"creatinine\s+clearance|\beGFR\b|end[-\s]stage\s+renal|\bESRD\b|dialysis", re.I)
_DIALYSIS = re.compile(r"dialysis|end[-\s]stage\s+renal|\bESRD\b", re.I)
_SEVERE_RENAL = re.compile(r"severe(?:ly)?\s+(?:chronic\s+)?(?:renal|kidney)\s+(?:impairment|insufficiency|failure)", re.I)
_CRCL_BELOW = re.compile(r"(?:<|≤|less\s+than(?:\s+or\s+equal\s+to)?|below|under)\s*" + _NUM + r"\s*(?:mL|ml)\s*/\s*min", re.I)
_CRCL_RANGE = re.compile(_NUM + r"\s*(?:to|-|–)\s*(?:less\s+than\s+)?" + _NUM + r"\s*(?:mL|ml)\s*/\s*min", re.I)
_HEPATIC = re.compile(r"\b(?:hepatic|liver)\s+(?:impairment|insufficiency|disease|dysfunction)|Child[-\s]Pugh|cirrho", re.I)
_CHILD_PUGH_SCORE = re.compile(r"Child[-\s]Pugh\s+(?:score\s+)?(?:of\s+)?(\d{1,2})\s*(?:to|-|–)\s*(\d{1,2})", re.I)
_CHILD_PUGH = re.compile(r"Child[-\s]Pugh\s+(?:class\s+|score\s+)?\(?([ABC])(?:\s*(?:,|or|and|to)\s*([ABC]))?(?:\s*(?:,|or|and)\s*([ABC]))?", re.I)
_SEVERITY = {"mild": "A", "moderate": "B", "severe": "C"}
_HEPATIC_SEVERITY = re.compile(r"\b(mild|moderate|severe)(?:\s*(?:,|or|and|to)\s*(mild|moderate|severe))?(?:\s*(?:,|or|and)\s*(mild|moderate|severe))?\s+hepatic", re.I)
_GENE = re.compile(r"\b(CYP\d[A-Z]\d{1,2}|UGT1A1|TPMT|NUDT15|DPYD|HLA-[A-Z]+)\s*(?:poor|intermediate|ultra-?rapid)?\s*metaboli[sz]ers?|"
                   r"\b(?:poor|intermediate)\s+metaboli[sz]ers?\s+(?:of|for)\s+(CYP\d[A-Z]\d{1,2})|\b(CYP\d[A-Z]\d{1,2})\s+PMs?\b|"
                   r"\b(UGT1A1|TPMT|NUDT15|DPYD)\b[^.]{0,40}(?:homozygous|heterozygous|deficien|\*\d)|"
                   r"\b(CYP\d[A-Z]\d{1,2})\s*(?:genotypes?\s*)?\*\d+[A-Z]?\s*/\s*\*\d|"
                   r"\b(?:homozygous|heterozygous|deficien\w*)\s+(?:\w+\s+){0,2}(?:of\s+|in\s+)?(TPMT|NUDT15|DPYD|UGT1A1)\b", re.I)
_METABOLIZER = re.compile(r"\b(poor|intermediate|extensive|normal|ultra-?rapid)\s+metaboli[sz]ers?|\b(PM|IM|EM|NM|URM)s?\b(?=\s*[:|)])", re.I)
_INTERACTING = re.compile(r"\b(?:strong|moderate|weak|potent)?\s*(?:CYP\s?\d[A-Z]\d{0,2}|P-?gp|P-glycoprotein|UGT1A1|OATP1B1)"
                          r"(?:\s+(?:and|or|/)\s+(?:CYP\s?\d[A-Z]\d{0,2}|P-?gp))?\s+(?:inhibitors?|inducers?|substrates?)|"
                          r"\b(?:strong|moderate|potent)?\s*(?:inhibitors?|inducers?)\s+of\s+(?:CYP\s?\d[A-Z]\d{0,2}|P-?gp|P-glycoprotein)|"
                          r"\bconcomitant(?:ly)?\s+(?:use|administration|treatment)\b|\bconcomitantly\b|\bcoadminist|\bco-administ|(?<!monotherapy\sor\s)\bin\s+combination\s+with\b(?!\s+(?:other|another)\b)|"
                          r"\bwhen\s+(?:used|given|administered)\s+(?:with|in\s+combination)|\bdrug\s+interactions?\b|\binteracting\s+drugs?\b", re.I)
MAINTENANCE_PHASE = "maintenance"  # "maintenance dosage ... after titration": not a starting dose
LATER_PHASE = "later"
_LATER = re.compile(r"^\s*(?:\d+\s?\.\s?\d+\s+[^.]{0,60}?)?after\s+(?:the\s+first\s+)?(?:one|two|three|\d+)\s+(?:years?|months?)\b", re.I)
_PHASE = re.compile(r"\b(induction|maintenance|loading|initial\s+therapy|continuation)\b", re.I)
_MAXIMUM = re.compile(r"\bmaxim(?:um|al)\b|\bnot\s+(?:to\s+)?exceed|\bshould\s+not\s+exceed|\bup\s+to\b|\bno\s+more\s+than\b|"
                      r"\bhigher\s+than\b[^.]{0,40}\bnot\s+(?:been\s+)?(?:studied|recommended)|\bdo\s+not\s+exceed", re.I)
_TITRATION = re.compile(r"\btitrat|\bincrease[sd]?\b|\bincrements?\b|\bescalat|\bup-?titrat|\bafter\s+(?:one|1|two|2)\s+weeks?\b", re.I)
_REDUCTION = re.compile(r"\bdose\s+(?:reduction|modification|level)s?\b|\breduce[sd]?\b|\bdecrease[sd]?\b|\binterrupt|\bwithhold|"
                        r"\badverse\s+reactions?\b|\btoxicit|\bresum", re.I)
_SWITCH = re.compile(r"\bswitch(?:ing)?\s+(?:from|to)\b|\bconvert(?:ing)?\s+(?:from|to)\b|\bcurrent\s+\w+\s+(?:daily\s+)?dos", re.I)
_AVOID = re.compile(r"\bavoid\b|\bnot\s+recommended\b|\bcontraindicated\b|\bshould\s+not\s+be\s+(?:used|given|administered)|"
                    r"\bdo\s+not\s+(?:use|administer|give)\b", re.I)
_NO_ADJUST = re.compile(r"\bno\s+(?:dose|dosage)\s+adjustments?\b|\bnot\s+(?:necessary|required)\s+to\s+adjust|"
                        r"\bdose\s+adjustment\s+is\s+not\s+(?:necessary|required|needed)", re.I)
_STUDY = re.compile(r"\b(?:were|was|been)\s+(?:randomi[sz]ed|treated|enrolled|administered|given|shown|studied|demonstrated|evaluated)\b|"
                    r"\bno\s+evidence\b|\bno\s+additional\s+benefit\b|\bin\s+(?:clinical\s+)?(?:trials?|stud(?:y|ies))\b|"
                    r"\bpatients\s+received\b|\bmean\b|\bmedian\b", re.I)
_DAILY = re.compile(r"(?:per|a|/|each)\s*day\b|\bdaily\s+dos|\btotal\s+daily|\bmg/day\b|\bdivided\s+doses\b", re.I)
_TITLE_SMALL = r"(?:for|with|of|and|in|to|that|are|on|or|the|from|by|taking|receiving)"
_HEADING = re.compile(r"^\s*\d+\s?\.\s?\d+(?:\.\d+)?\s+((?:(?:[A-Z(][\w/,()\-–&']*|" + _TITLE_SMALL + r")\s+){0,14}?)"
                      r"(?=[A-Z][a-z]+\s+(?!" + _TITLE_SMALL + r"\b)[a-z]|The\b|For\b|In\b|If\b|Administer\b|Take\b|[A-Z]{3,}\s+(?:is|should|may|can|[a-z]+)\b)")


_UNSTATED_REDUCTION = re.compile(r"\b(?:dose|dosage)\s+reduction\b|\breduce\s+the\s+(?:\w+\s+)?(?:dose|dosage|dosing\s+frequency)\b|"
                                 r"\b(?:dose|dosage)\s+(?:(?:should|must|may)\s+)?be\s+(?:reduced|decreased|lowered|halved)|\bhalve\s+the\s+(?:\w+\s+)?(?:dose|dosage)|\breduced\s+by\s+\d+\s*%|"
                                 r"\b(?:half|one[-\s]quarter|a\s+quarter)\s+(?:of\s+)?(?:the\s+)?(?:\w+\s+){0,3}?(?:dose|dosage)\b|\blower\s+(?:starting\s+)?(?:dose|dosage)s?\s+(?:is|are|should|may)\b", re.I)
_BACK_REFERENCE = re.compile(r"\b(?:such|these|those)\s+patients\b", re.I)


def _years(m: re.Match[str], value: str) -> float:
    return float(value) / (12.0 if "month" in m.group(0).lower() else 1.0)


def _bands(text: str) -> tuple[Band | None, Band | None]:
    age = None
    if m := _AGE_RANGE.search(text):
        lo, hi = _years(m, m.group(1)), _years(m, m.group(2))
        age = Band(lo, hi, hi_inclusive="less than" not in m.group(0).lower())
    elif m := _AGE_MIN.search(text):
        age = Band(_years(m, m.group(1) or m.group(2)), None)
    elif m := _AGE_MAX.search(text):
        age = Band(None, _years(m, m.group(1)))
    weight = None
    if m := _WEIGHT_RANGE.search(text):
        exclusive = "less than" in m.group(0).lower() or re.search(r"<(?!=)", m.group(0)) is not None
        weight = Band(float(m.group(1)), float(m.group(2)), hi_inclusive=not exclusive)
    elif m := _WEIGHT_MIN.search(text):
        weight = Band(float(m.group(1) or m.group(2)), None)
    elif m := _WEIGHT_MAX.search(text):
        weight = Band(None, float(m.group(1)), hi_inclusive=m.group(0).lower().startswith("up"))
    return age, weight


def _renal(text: str) -> tuple[Band | None, bool]:
    if not _RENAL.search(text):
        return None, False
    if m := _CRCL_RANGE.search(text):
        return Band(float(m.group(1)), float(m.group(2)), hi_inclusive="less than" not in m.group(0).lower()), bool(_DIALYSIS.search(text))
    if m := _CRCL_BELOW.search(text):
        return Band(None, float(m.group(1)), hi_inclusive="equal" in m.group(0).lower() or "≤" in m.group(0)), bool(_DIALYSIS.search(text))
    if _SEVERE_RENAL.search(text):
        return Band(None, 30.0), bool(_DIALYSIS.search(text))
    return None, bool(_DIALYSIS.search(text))


def _child_pugh(text: str) -> set[str]:
    out: set[str] = set()
    for m in _CHILD_PUGH.finditer(text):
        out |= {g.upper() for g in m.groups() if g}
    for m in _CHILD_PUGH_SCORE.finditer(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        out |= {c for c, (a, b) in {"A": (5, 6), "B": (7, 9), "C": (10, 15)}.items() if a <= hi and lo <= b}
    for m in _HEPATIC_SEVERITY.finditer(text):
        out |= {_SEVERITY[g.lower()] for g in m.groups() if g}
    return out


_EXCEPT = re.compile(r"[,;(]?\s*\bexcept\b[^.;]*", re.I)
_AFTER_DAILY = re.compile(r"\s*(?:per|a|/|each)\s*day\b|\s*(?:total\s+)?daily\s+dos", re.I)
_AFTER_FREQUENCY = re.compile(r"[^.;|]{0,25}?\b(?:once|twice|three|four|every|daily|q\d|b\.?i\.?d|t\.?i\.?d)", re.I)


def mark_daily(row: DosingRow) -> None:
    """Set, for each dose, whether it is a daily total: "/day" or "per day" right after it, or a
    row about daily totals where no frequency follows the dose ("Maximum Daily Dosage | 60 mg")."""
    text = row.source
    out = []
    for d in row.doses:
        after = text[d.end : d.end + 30]
        if d.unit.endswith("/day") or _AFTER_DAILY.match(after):
            out.append(True)
        else:
            out.append(row.daily and not _AFTER_FREQUENCY.match(after))
    row.daily_doses = out


def qualify(row: DosingRow, context: str) -> None:
    """Set the population, bands and phase of `row` from its own text and the text governing it;
    an "except in patients ..." clause names who the row is not for, so it does not qualify it."""
    text = _EXCEPT.sub(" ", f"{context} {row.span.text}")
    row.age, row.weight = _bands(text)
    if _PEDIATRIC.search(text) or (row.age and row.age.hi is not None and row.age.hi <= 18):
        row.populations.add(Population.PEDIATRIC)
    if _ADULT.search(text):
        row.populations.add(Population.ADULT)
    if _ELDERLY.search(text):
        row.populations.add(Population.ELDERLY)
    crcl, dialysis = _renal(text)
    if crcl is not None or dialysis or _RENAL.search(text):
        row.populations.add(Population.RENAL)
        row.crcl, row.dialysis = crcl, dialysis
    if _HEPATIC.search(text):
        row.populations.add(Population.HEPATIC)
        row.child_pugh = _child_pugh(text)
    genes = {g.upper() for m in _GENE.finditer(text) for g in m.groups() if g}
    if m := _METABOLIZER.search(row.span.text) or _METABOLIZER.search(text):
        word = (m.group(1) or m.group(2)).lower()
        row.metabolizer = {"pm": "poor", "im": "intermediate", "em": "extensive", "nm": "extensive", "normal": "extensive",
                           "urm": "ultrarapid", "ultra-rapid": "ultrarapid"}.get(word, word)
        genes = genes or {g.upper() for g in re.findall(r"\bCYP\d[A-Z]\d{1,2}\b", context)} or {"*"}
    if genes:
        row.populations.add(Population.GENOTYPE)
        row.genes = genes
    if regions := ancestry_regions(text):
        row.populations.add(Population.ANCESTRY)
        row.ancestry = regions
    inter = [" ".join(m.group(0).split()) for m in _INTERACTING.finditer(text)]
    if inter:
        row.populations.add(Population.INTERACTION)
        row.interacting = inter
    if _LATER.search(row.span.text):
        row.phase = LATER_PHASE  # "After one year, administer 60 mg twice daily": not the first year's dose
    elif m := _PHASE.search(text):
        row.phase = m.group(1).lower().split()[0]


# a step of a titration ("increase ... by adding up to 200 mg/day", "increments not to exceed 5 mg"):
# its "up to" bounds the step, not the dose
_STEP = re.compile(r"\bincrement|\bdose\s+titrations?\b|\badjustments?\s+(?:not|should|must)|\badding\b|\bincrease\w*\s[^.]{0,40}?\bby\b", re.I)
_UNTIL = re.compile(r"\buntil\s+(?:disease\s+progression|unacceptable\s+toxicity)[^.;]*", re.I)
_PREPARATION = re.compile(r"\bwater\b|\bsyringe\b|\bglass\b|\bdilut|\breconstitut|\bdiluent\b|\bsodium\s+chloride\b|\bdextrose\b|\bvial\b", re.I)
_RECOMMENDED = re.compile(r"\b(?:recommended|usual)\s+(?:starting\s+|initial\s+|maintenance\s+|adult\s+)?(?:dose|dosage)s?\b", re.I)


def _kind(text: str, column_max: bool) -> RowKind:
    text = _UNTIL.sub(" ", strip_heading(text) if re.match(r"\s*\d+\s?\.\s?\d+\s+[A-Z]", text) else text)  # "until disease progression or unacceptable toxicity": how long, not a reduction
    if _PREPARATION.search(text) and not _RECOMMENDED.search(text):
        return RowKind.PREPARATION
    if _SWITCH.search(text):
        return RowKind.SWITCH
    if _NO_ADJUST.search(text):
        return RowKind.NO_ADJUSTMENT
    if _STUDY.search(text) and not re.search(r"\brecommended\b", text, re.I):
        return RowKind.STUDY
    if column_max:
        return RowKind.MAXIMUM
    if _AVOID.search(text) and not re.search(r"\bto\s+avoid\b", text, re.I):
        return RowKind.AVOID  # with doses: those doses are to be avoided; without: the drug is
    if _for_toxicity(text):
        return RowKind.REDUCTION  # a modification for adverse reactions, not a population's dose
    if _MAXIMUM.search(text) and not _STEP.search(text):
        return RowKind.MAXIMUM
    if _TITRATION.search(text):
        return RowKind.TITRATION
    return RowKind.RECOMMENDED


def _undosed_table_row(sent: Span, number: str | None, headings: dict, lead: str) -> DosingRow | None:
    """Return the row of a table line that reduces the dose for a population without a number
    ("Known CYP2D6 Poor Metabolizers | Administer half of usual dose"), which is a row of the
    table, not its header; None for any other line without a dose."""
    text = sent.text
    first_cell = text.strip(" |").split("|")[0]
    if not _UNSTATED_REDUCTION.search(text) or not population_item(f"{first_cell}: "):
        return None
    row = DosingRow(sent, number, headings.get(number, ""), [], find_frequencies(text), [], RowKind.RECOMMENDED, table=True, source=text)
    qualify(row, f"{row.heading} {lead}")
    return row


def _toxicity_steps(rows: list[DosingRow], heading: str) -> list[DosingRow]:
    """Rows of a subsection about adverse reactions ("2.3 Dosage Modifications for Adverse
    Reactions") are the steps down for toxicity, not doses to start or keep a patient on."""
    if _for_toxicity(heading):
        for row in rows:
            if row.kind in (RowKind.RECOMMENDED, RowKind.TITRATION, RowKind.MAXIMUM) and not row.populations & ADJUSTED:
                row.kind = RowKind.REDUCTION
    return rows


def _for_toxicity(text: str) -> bool:
    return bool(re.search(r"\badverse\s+reactions?\b|\btoxicit|\bgrade\s+[2-4]\b|\bintolera|\bdose\s+level", text, re.I))


# ---------------------------------------------------------------- rows of a D&A section


def _subsection_of(subs: list[tuple[str, int, int]], pos: int) -> tuple[str | None, str, int]:
    for number, s, e in subs:
        if s <= pos < e:
            return number, "", s
    return None, "", 0


def _heading_text(section: SectionText, start: int) -> str:
    head = section.text[start : start + 300]
    if m := _HEADING.match(head):
        return m.group(1).strip()
    # a long title ("2.5 Dosage Modification with Concomitant Use of Strong CYP3A4 Enzyme Inducers
    # or UGT Enzyme Inducers"): its run of capitalised words, when they name one population and
    # nothing else (a run that goes on into "Adult Patients: Induction" or into a second
    # population is the subsection's first lines, not its title)
    title = heading_title(head)
    probe = DosingRow(Span(title, 0, 0, []), None, "", [], [], [], RowKind.RECOMMENDED)
    qualify(probe, "")
    one = len(probe.populations) == 1 and probe.phase is None and probe.age is None and probe.weight is None
    return " ".join(title.split()) if one and ":" not in title else ""


def _table_home(section: SectionText, subs, row_text: str, before: int):
    """Return the subsection a table row belongs to: where its words stand in the prose (openFDA
    appends its tables after the section's text, where they would fall in the last subsection)."""
    words = " ".join(row_text.replace("|", " ").split()[:6])
    if len(words) < 12:
        return None
    flat = " ".join(section.text[:before].split())
    pos = flat.find(words)
    if pos < 0:
        return None
    # map the position in the whitespace-folded text back to the section text
    folded = 0
    for i, ch in enumerate(section.text[:before]):
        if folded >= pos:
            return _subsection_of(subs, i)[0]
        if not (ch.isspace() and i > 0 and section.text[i - 1].isspace()):
            folded += 1
    return None


def dosing_rows(label: LabelText) -> list[DosingRow]:
    """Return every dose statement of the label's Dosage & Administration (full text only). A
    prose sentence with four or more doses in a section that also has tables is the table
    flattened into prose, and is read from the table instead."""
    rows: list[DosingRow] = []
    for section in label.by_code(DOSAGE):
        has_tables = any(" | " in ln for ln in section.text.split("\n"))
        begin = full_text_start(section)
        subs = numbered_subsections(section.text, 2)
        headings = {number: _heading_text(section, s) for number, s, _ in subs}
        header: list[str] = []
        lead, pending = "", ""  # a lead-in sentence ending in ":"; first cells of rows spanning the next
        home = None  # the subsection of the current table
        previous = ""  # the sentence before, for "such patients"
        sublead: dict[str | None, str] = {}  # per subsection, the population list item being read
        for sent in sentences_of(section, begin):
            text = sent.text
            number, _, _ = _subsection_of(subs, sent.start)
            if item := population_item(text):
                sublead[number] = item
            is_row = " | " in text or text.startswith("| ")
            doses = find_doses(text) or ([] if is_row else find_counts(text))  # "one capsule every 12 hours"
            if is_row and not doses and header and (row := _undosed_table_row(sent, home or number, headings, lead)):
                rows.append(row)
                continue
            if is_row and not doses:
                header, pending, home = [c.strip() for c in text.split("|")], "", None
                continue
            if is_row:
                home = home or _table_home(section, subs, text, sent.start) or number
                number = home
            elif (has_tables and len(doses) >= 4) or (re.match(r"\s*Table\s+\d", text) and len(doses) >= 2) or flattened_table(text):
                continue  # a table flattened into prose: read from the table, or not at all
            heading = headings.get(number, "") if number else ""
            if header and not is_row and not doses and len(text.split()) <= 25:
                pending += " " + text  # a row of a table whose other cells span the next row
                continue
            if not is_row:
                header, pending = [], ""
            if not doses:
                if not is_row and _UNSTATED_REDUCTION.search(text):
                    row = DosingRow(sent, number, heading, [], find_frequencies(text), [], RowKind.RECOMMENDED, source=text)
                    qualify(row, heading)
                    if row.populations & _ADJUSTED:
                        rows.append(row)  # "dosage reduction is recommended in patients with ...": no number
                lead = text if text.rstrip().endswith(":") else (lead if is_row else "")
                previous = text
                continue
            if _BACK_REFERENCE.search(text):
                lead = f"{lead} {previous}"
            found = _rows_of(sent, text, number, heading, header, f"{sublead.get(number, '')} {lead} {pending}".strip(), is_row)
            rows.extend(_toxicity_steps(found, heading))
            pending, previous = "", text
            if not is_row and not text.rstrip().endswith(":"):
                lead = ""
        in_mass(rows, section.text)
    return _continued(rows)


_CONCENTRATION = re.compile(r"(\d+(?:\.\d+)?)\s*(mg|mcg)\s*(?:/|per)\s*(\d+(?:\.\d+)?)?\s*m[lL]\b")


def _per_ml(m: re.Match[str]) -> tuple[str, float]:
    return m.group(2), float(m.group(1)) / float(m.group(3) or 1)


def in_mass(rows: list[DosingRow], section_text: str) -> None:
    """Give volumes of a stated concentration as the amount of drug they hold: "5 mL (125 mg/5 mL)"
    is 125 mg. The concentration is the one written right after the volume, else the only one the
    section states per a stated volume (several: a volume stays a volume). The "5 mL" of
    "125 mg/5 mL" is not a dose."""
    # "10 to 20 mcg/mL" is a serum level; a product's concentration names its volume ("125 mg/5 mL")
    stated = {_per_ml(m) for m in _CONCENTRATION.finditer(section_text) if m.group(3)}
    for row in rows:
        text, kept, flags = row.source, [], []
        for d, daily in zip(row.doses, row.daily_doses or [row.daily] * len(row.doses)):
            if d.unit.removesuffix("/day") == "mL":
                if re.search(r"(?:mg|mcg)\s*(?:/|per)\s*$", text[max(0, d.start - 8) : d.start]):
                    continue  # the volume of a concentration
                near = _CONCENTRATION.match(text, d.end + m.end()) if (m := re.match(r"\s*\(\s*", text[d.end :])) else None
                conc = _per_ml(near) if near else (next(iter(stated)) if len(stated) == 1 else None)
                if conc is not None:
                    unit, k = conc
                    d = Dose(d.value * k, unit + d.unit.removeprefix("mL"), f"{d.text} ({d.value * k:g} {unit})", d.start, d.end,
                             d.value_max * k if d.value_max is not None else None)
            kept.append(d)
            flags.append(daily)
        row.doses, row.daily_doses = kept, flags


_WHO = ("populations", "age", "weight", "crcl", "dialysis", "child_pugh", "genes", "interacting", "metabolizer", "ancestry")


_ITEM = re.compile(r"\s*(?:\d+\s?\.\s?\d+\s+)?([^:.;]{3,80}?)\s*:\s")


def population_item(text: str) -> str | None:
    """Return the label of a population list item a sentence opens with ("Strong CYP3A
    inhibitors : Less than 6 months of age: ...", "Moderate Hepatic Impairment (Child-Pugh Class
    B): ..."): the doses after it, in this and the next sentences, are for that population."""
    m = _ITEM.match(text)
    if m is None or len(m.group(1).split()) > 8:
        return None
    probe = DosingRow(Span(m.group(1), 0, 0, []), None, "", [], [], [], RowKind.RECOMMENDED)
    qualify(probe, "")
    return m.group(1) if probe.populations & ADJUSTED else None


def frequency_only(row: DosingRow) -> bool:
    """Return True for a row that changes how often, not how much ("reduce the dosing frequency
    to once daily")."""
    return not row.doses and bool(row.frequencies)


def _continued(rows: list[DosingRow]) -> list[DosingRow]:
    """A titration or maximum sentence that names nobody continues the row before it in the same
    subsection ("The recommended starting dosage for pediatric patients 12 to 17 years of age is
    200 mg ... After 1 week, dosage may be titrated ... to the maximum recommended dosage of
    400 mg"): it is for that row's population, not for everyone."""
    for before, row in zip(rows, rows[1:]):
        if (row.kind in (RowKind.TITRATION, RowKind.MAXIMUM) and not row.populations and not row.table and not before.table
                and before.populations and before.subsection == row.subsection):
            for name in _WHO:
                value = getattr(before, name)
                setattr(row, name, set(value) if isinstance(value, set) else list(value) if isinstance(value, list) else value)
    return rows


def _reduction_step(row: DosingRow, text: str) -> None:
    """A "dose reduction" step that names no population is a modification for adverse reactions."""
    if row.kind == RowKind.RECOMMENDED and not (row.populations & ADJUSTED) and re.search(r"\bdose\s+reductions?\b|\breduced\s+dose", text, re.I):
        row.kind = RowKind.REDUCTION


_TITLE_WORD = re.compile(r"(?<=[a-z0-9)] )[A-Z][a-z]{2,}\b")


def flattened_table(text: str) -> bool:
    """Return True when a prose "sentence" is a table run together (openFDA text keeps an SPL
    table's cells as words): several doses and many capitalised cell words mid-sentence
    ("Moderate Weak Continue ... 84 mg twice daily CYP3A Inhibitor Strong Reduce ...")."""
    doses = len(find_doses(text))
    titles = len(_TITLE_WORD.findall(SEE_REF.sub(" ", text)))
    return doses >= 3 and titles >= 6 and bool(re.search(r"\b(?:twice|once)\b.*\b(?:twice|once)\b", text))


_STRENGTH_BEFORE = re.compile(r"\bof\s+(?:the\s+)?$", re.I)
_STRENGTH_AFTER = re.compile(r"^\s*(?:tablets|capsules|strengths?)\b", re.I)


_STEP_BEFORE = re.compile(r"\b(?:(?:titrat|increas|decreas|reduc|adjust|rais|lower)\w*\s+(?:\w+\s+){0,3}?by(?:\s+an?)?|"
                          r"increments?\s+of(?:\s+up\s+to)?|steps?\s+of)\s*$", re.I)
_STEP_AFTER = re.compile(r"^\s*(?:to\s+\d[\d.]*\s*\w+\s+)?(?:increments?|steps?|decrements?)\b", re.I)


def row_doses(text: str) -> list[Dose]:
    """Return the doses of a row, without tablet strengths ("2 of the 100 mg tablets") and without
    the steps of a titration ("titrate by 12.5 to 25 mcg increments", "in increments of 50 mg"):
    a step is how much to change a dose, not a dose."""
    out = []
    for d in find_doses(text):
        before, after = text[max(0, d.start - 30) : d.start], text[d.end :]
        if _STRENGTH_BEFORE.search(before[-12:]) and _STRENGTH_AFTER.match(after):
            continue
        if _STEP_BEFORE.search(before) or _STEP_AFTER.match(after):
            continue
        out.append(d)
    return out


_SINGLE_DAILY = re.compile(r"\b(?:administered|given|taken)\s+(?:in|as)\s+a\s+single\s+(?:daily\s+)?dose\b|\bsingle\s+daily\s+dose\b", re.I)


def dose_frequencies(text: str) -> list[Frequency]:
    """Return how often a row says to give its doses: the written frequencies, and once daily for a
    daily amount "administered in a single dose" ("75 mg per day, administered in a single dose")."""
    out = find_frequencies(text)
    if _DAILY.search(text):
        out += [Frequency(1, 1.0, 1.0, "once daily", m.group(0), m.start(), m.end()) for m in _SINGLE_DAILY.finditer(text)
                if not any(f.start <= m.start() < f.end for f in out)]
    return sorted(out, key=lambda f: f.start)


def _with_counts(doses: list[Dose], text: str) -> list[Dose]:
    """Return the doses with the counts of capsules or tablets the sentence gives beside them
    ("(45 mg of ... and 105 mg of ...) is one tablet once daily"): an order may give either."""
    counts = [c for c in find_counts(text) if not any(d.start <= c.start < d.end for d in doses)]
    return sorted(doses + counts, key=lambda d: d.start)


def _rows_of(sent: Span, text: str, number, heading: str, header: list[str], lead: str, is_row: bool) -> list[DosingRow]:
    """Return the row(s) of one sentence or table line: a table line gives one row per dose cell,
    each qualified by the line's first cell and its column header."""
    if not is_row:
        doses = _with_counts(row_doses(text), text)
        row = DosingRow(sent, number, heading, doses, dose_frequencies(text), [r.name for r in find_routes(text)],
                        _kind(text, False), daily=bool(_DAILY.search(text)), source=text)
        qualify(row, f"{heading} {lead}")
        _reduction_step(row, text)
        mark_daily(row)
        return [row]
    cells = [c.strip() for c in text.split("|")]
    first = next((c for c in cells if c and not find_doses(c)), "")
    out: list[DosingRow] = []
    for i, cell in enumerate(cells):
        if not find_doses(cell):
            continue
        col = header[i] if i < len(header) else ""
        column_max = bool(re.search(r"\bmaxim", col, re.I))
        kind = _kind(f"{col} {cell}", column_max)
        if kind == RowKind.REDUCTION and not _for_toxicity(f"{heading} {lead} {col} {first}"):
            kind = RowKind.RECOMMENDED
        elif kind in (RowKind.RECOMMENDED, RowKind.TITRATION, RowKind.MAXIMUM) and _for_toxicity(first):
            kind = RowKind.REDUCTION  # the line of a toxicity ("No toxicity | ↑ 25 mg/m2 up to a maximum ..."): a modification
        row = DosingRow(sent, number, heading, row_doses(cell), find_frequencies(cell), [r.name for r in find_routes(cell)],
                        kind, daily=bool(_DAILY.search(f"{col} {cell}")), table=True, source=cell)
        qualify(row, f"{heading} {lead} {col} {first}")
        _reduction_step(row, f"{col} {cell}")
        mark_daily(row)
        out.append(row)
    return out



_ADJUSTING = re.compile(r"\brecommended\s+(?:dose|dosage)\b|\breduc|\bshould\s+not\s+exceed|\bmaxim|\bdo\s+not\s+exceed|\blimit\s+the\s+dose", re.I)


def adjustment_rows(label: LabelText) -> list[DosingRow]:
    """Return the dose adjustments the label states outside Dosage & Administration: sentences of
    Drug Interactions, Use in Specific Populations and Precautions that give (or call for) a
    dose for a population ("For patients receiving ... potent CYP3A4 inhibitors, the
    recommended dose of DETROL is 1 mg twice daily"). Only population rows come from there."""
    from medcite.analyze.label_text import INTERACTIONS, PRECAUTIONS, SPECIFIC_POPULATIONS

    rows: list[DosingRow] = []
    for section in label.by_code(INTERACTIONS, SPECIFIC_POPULATIONS, PRECAUTIONS):
        for sent in sentences_of(section, full_text_start(section)):
            text = sent.text
            if not _ADJUSTING.search(text) or _STUDY.search(text) or _for_toxicity(text) or flattened_table(text):
                continue
            doses = row_doses(text)
            if not doses and not _UNSTATED_REDUCTION.search(text):
                continue
            row = DosingRow(sent, None, "", doses, find_frequencies(text), [r.name for r in find_routes(text)], _kind(text, False),
                            daily=bool(_DAILY.search(text)), source=text)
            qualify(row, "")
            mark_daily(row)
            if row.populations & ADJUSTED and row.kind in (RowKind.RECOMMENDED, RowKind.MAXIMUM, RowKind.AVOID):
                rows.append(row)
    return rows


def label_rows(label: LabelText) -> list[DosingRow]:
    """Return the label's dosing rows (the model `medcite label` prints): Dosage & Administration,
    then the population adjustments stated elsewhere."""
    return dosing_rows(label) + adjustment_rows(label)


def stored_rows(store, label: LabelText) -> list[DosingRow]:
    """Return the label's dosing rows as extracted at ingest (`analyze.resources`), or read now
    (and saved when the index folder is writable) for a label added since or a store without them."""
    from medcite.analyze.resources import load_label_rows, save_label_rows

    rows = load_label_rows(store, label.doc_id)
    if rows is None:
        rows = label_rows(label)
        save_label_rows(store, label.doc_id, rows)
    return rows
