"""The text of one FDA label as the concordance check reads it: sections rebuilt from the stored
passages (so that every span maps back to the passage that holds it), sentence spans, numbered
subsections ("1.2 Neuroendocrine Tumors (NET) ...") and the Indications & Usage split into its
indications and Limitations of Use.

openFDA label text is flattened: a section starts with the Highlights summary ("... ( 1.1 )"),
then the full prescribing information with numbered subsections; there are no line breaks. The
subsection markers of the full text are told from cross-references ("( 1.1 )", "[see ... (2.3)]")
by what surrounds them: a marker is not inside brackets and is followed by a capitalised heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from medcite.index.lexical import build_analyzer

# LOINC section codes the concordance check reads.
INDICATIONS = "34067-9"
DOSAGE = "34068-7"
BOXED = "34066-1"
CONTRAINDICATIONS = "34070-3"
WARNINGS_PRECAUTIONS = "43685-7"
WARNINGS = "34071-1"
PRECAUTIONS = "42232-9"
ADVERSE = "34084-4"
INTERACTIONS = "34073-7"
SPECIFIC_POPULATIONS = "43684-0"
MEDGUIDE = "42231-1"
PATIENT_INSERT = "42230-3"
PREGNANCY = "42228-7"

# Chapter numbers of the PLR label layout (21 CFR 201.57): where numbered subsections start.
CHAPTERS = {INDICATIONS: 1, DOSAGE: 2, CONTRAINDICATIONS: 4, WARNINGS_PRECAUTIONS: 5, ADVERSE: 6, INTERACTIONS: 7,
            SPECIFIC_POPULATIONS: 8}

# A sentence ends at . ! ? followed by space and a capital, digit or bracket; not after the
# abbreviations labels use mid-sentence ("e.g.", "i.e.", "vs.", "approx.").
_SENT_END = re.compile(r"(?<=[.!?])(?:\[\d+(?:\s*[-–,]\s*\d+)*\])*[\]\)]?\s+(?=[A-Z0-9(\[•])")
_NO_SPLIT_BEFORE = re.compile(r"(?:\b(?:e\.g|i\.e|vs|approx|Fig|No|Dr|St|et al|U\.S|ca)\.|\b[A-Z]\.)$")
# Words that say a sentence excludes a use rather than describes one.
EXCLUDING = re.compile(
    r"\bnot\s+(?:indicated|recommended|approved)(?:\s+and\s+is\s+not\s+recommended)?\s+(?:for|to|as|in)\b|"
    r"\bnot\s+for\s+(?:use|treat)|\bnot\s+(?:been\s+)?(?:established|demonstrated)\b|\bnot\s+be\s+used\b|"
    r"\bshould\s+not\s+be\s+(?:used|treated|administered)|\bineffective\b|\bnot\s+effective\b|"
    r"\bhave\s+not\s+been\s+(?:established|evaluated|studied)|\b(?:use|used)\b[^.]{0,40}\bis\s+not\s+recommended",
    re.IGNORECASE,
)
# A sentence about use with other drugs ("not recommended in combination with ..."), not about a condition.
COMBINATION_USE = re.compile(r"\bin\s+combination\b|\bconcomitant", re.IGNORECASE)
_LIMITATION_MARK = re.compile(r"\blimitations?\s+of\s+use\b", re.IGNORECASE)
# "other than kidney and liver", "except ...": the words named there are excluded from the
# sentence's scope, so they must not count as a match for the case.
_OTHER_THAN = re.compile(r"\b(?:other\s+than|except(?:\s+for)?)\s+(?:\w+(?:\s+(?:and|or)\s+\w+)?)", re.IGNORECASE)
# British spellings used by NGC's Canadian and UK guidelines, mapped so "tumours" meets "tumors".
_BRITISH = [(re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"\btumour", "tumor"), (r"\bhaem", "hem"), (r"\banaem", "anem"), (r"\boesophag", "esophag"),
    (r"\boestr", "estr"), (r"\bpaediatr", "pediatr"), (r"\bleukaem", "leukem"), (r"\bfoetal", "fetal"),
)]
_NON = re.compile(r"\bnon[-‐‑–—\s]+(?=[a-z])", re.IGNORECASE)  # hyphen, Unicode hyphens, en and em dash
# Cross-references a quote drops: "[see ... (5.1)]", "( 1.2 )".
# The words a label uses for an at-risk ancestry, by the region names `patient` gives a case's
# ancestry ("Korean ancestry" -> "East Asian").
REGION_WORDS = {
    "East Asian": r"\bEast[\s-]*(?:/[\s-]*Southeast[\s-]*)?Asian|\b(?:Han\s+)?Chinese|\bJapanese|\bKorean|\bTaiwanese",
    "Southeast Asian": r"\bSoutheast[\s-]*Asian|/[\s-]*Southeast[\s-]*Asian|\bThai\b|\bVietnamese|\bFilipino|\bMalaysian|\bIndonesian",
    "South Asian": r"\bSouth[\s-]+Asian|\bIndian\b",
    "Asian": r"\bAsian",
    "African": r"\bAfrican|\bBlack\b",
}
_ANCESTRY_WORD = re.compile(r"\bancestry|\bdescent\b|\bheritage\b|"
                            # "Dosing in Asian Patients": a region's people as the patients a dose is for
                            r"\b(?:Asian|African|Chinese|Japanese|Korean)\s+(?:patients|subjects|adults)\b", re.IGNORECASE)


def ancestry_regions(text: str) -> set[str]:
    """Return the regions a label sentence names as an ancestry ("patients of East-/Southeast-Asian
    ancestry" -> {"East Asian", "Southeast Asian", "Asian"}); empty when it names none."""
    if not _ANCESTRY_WORD.search(text):
        return set()
    return {region for region, words in REGION_WORDS.items() if re.search(words, text, re.IGNORECASE)}


SEE_REF = re.compile(r"\[\s*s\s?ee[^\]]*\]|\(\s*\d+(?:\.\s?\d+)?(?:\s*,\s*\d+(?:\.\s?\d+)?)*\s*\)", re.IGNORECASE)


@dataclass
class SectionText:
    """One label section rebuilt from its passages: `text` is the passages joined by a newline and
    `spans` maps character ranges back to passage ids."""

    code: str | None
    name: str
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)

    def passages_for(self, start: int, end: int) -> list[str]:
        """Return the ids of the passages that hold any of text[start:end], in order."""
        return [pid for s, e, pid in self.spans if s < max(end, start + 1) and start < e]


@dataclass
class Span:
    """A piece of a section: its text, offsets and the passages that hold it."""

    text: str
    start: int
    end: int
    passage_ids: list[str]
    code: str | None = None


@dataclass
class IndicationUnit:
    """One indication of a label (a numbered subsection, or the whole section when unnumbered)."""

    number: str | None
    heading: str
    span: Span
    limitations: list[Span] = field(default_factory=list)
    is_limitation: bool = False  # a subsection that is itself "Limitations of Use"
    section: SectionText | None = field(default=None, repr=False)


@dataclass
class LabelText:
    """A label's sections by LOINC code (several sections may share one code)."""

    doc_id: str
    title: str
    meta: dict
    sections: list[SectionText]

    def by_code(self, *codes: str) -> list[SectionText]:
        """Return the sections with any of `codes`, in label order."""
        return [s for s in self.sections if s.code in codes]

    def names(self) -> list[str]:
        """Return the brand and generic names the label calls its drug by (for heading cuts)."""
        out = list(self.meta.get("brand_names") or []) + list(self.meta.get("generic_names") or [])
        return [n for n in dict.fromkeys(out) if n]


def load_label(store, doc_id: str) -> LabelText:
    """Return the LabelText of one label document, rebuilt from its stored passages."""
    meta = store.document_meta([doc_id]).get(doc_id, {})
    sections: list[SectionText] = []
    for p in store.passages_of(doc_id):
        last = sections[-1] if sections else None
        if last is not None and last.name == p.section and last.code == p.section_code:
            start = len(last.text) + 1
            last.text += "\n" + p.text
        else:
            last = SectionText(code=p.section_code, name=p.section, text=p.text)
            sections.append(last)
            start = 0
        last.spans.append((start, start + len(p.text), p.passage_id))
    return LabelText(doc_id=doc_id, title=meta.get("title", doc_id), meta=meta.get("meta", {}), sections=sections)


# ---------------------------------------------------------------- sentences and terms


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return (start, end) offsets of the sentences of text[start:end]; a line break always ends
    a sentence (list items and headings of guidelines stand on their own lines)."""
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    line_start = start
    while line_start < end:
        nl = text.find("\n", line_start, end)
        line_end = end if nl < 0 else nl
        out.extend(_line_sentences(text, line_start, line_end))
        line_start = line_end + 1
    return out


def _line_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    if " | " in text[start:end] and text[start:end].count("|") >= 2:
        return [_trim(text, start, end)]  # a table row: one unit, its cells are not sentences
    out: list[tuple[int, int]] = []
    cur = start
    for m in _SENT_END.finditer(text, start, end):
        before = text[cur : m.start() + 1].rstrip()
        if _NO_SPLIT_BEFORE.search(before):
            continue
        if before[-2:-1].isdigit() and text[m.end() : m.end() + 1].isdigit():
            continue  # "(5. 7 )": a section number with a stray space, not a sentence end
        if text[cur : m.start() + 1].strip():
            out.append(_trim(text, cur, m.end()))
        cur = m.end()
    if text[cur:end].strip():
        out.append(_trim(text, cur, end))
    return out


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def clean_span(text: str) -> str:
    """Return a label sentence on one line with cross-references ("[see ... (5.1)]", "( 1.2 )")
    removed: the sentence as a reader quotes it."""
    out = SEE_REF.sub("", text)
    out = re.sub(r"^\s*\d+\s?\.\s?\d+\s+", "", out)  # a leading subsection number
    out = re.sub(r"\s+([.,;:])", r"\1", out)
    return " ".join(out.split())


def quote(text: str) -> str:
    """Return a label sentence as quoted in an answer: a subsection's first sentence loses its
    number and heading, cross-references are removed, whitespace is collapsed."""
    if re.match(r"\s*\d+\s?\.\s?\d+\s+[A-Z]", text):
        text = strip_heading(text)
    return clean_span(text)


@lru_cache(maxsize=1)
def _analyzer():
    return build_analyzer()


def terms(text: str, drop_other_than: bool = False) -> list[str]:
    """Return the stemmed content words of `text` ("non-functional" stays one word, "nonfunct";
    with drop_other_than, the words of "other than X" clauses are left out)."""
    if drop_other_than:
        text = _OTHER_THAN.sub(" ", text)
    text = _NON.sub("non", text)
    for pattern, repl in _BRITISH:
        text = pattern.sub(repl, text)
    return _analyzer().analyze(text)


# ---------------------------------------------------------------- numbered subsections


def numbered_subsections(text: str, chapter: int) -> list[tuple[str, int, int]]:
    """Return (number, start, end) of the subsections "<chapter>.<k> Heading ..." of the full
    prescribing information, skipping the Highlights and cross-references; [] when unnumbered."""
    pattern = re.compile(rf"(?<![\d.])({chapter})\s?\.\s?(\d{{1,2}})(?![\d.])\s+(?=[A-Z])")
    marks: list[tuple[int, int, int]] = []
    for m in pattern.finditer(text):
        before = text[max(0, m.start() - 3) : m.start()]
        if re.search(r"[(\[,]\s*$", before) or re.search(r"\band\s*$|\bor\s*$", text[max(0, m.start() - 5) : m.start()]):
            continue
        after = text[m.end() : m.end() + 3]
        if after.startswith((")", ",")):
            continue
        marks.append((int(m.group(2)), m.start(), m.end()))
    # Keep the run 1, 2, 3 ... that starts at the first "<chapter>.1" of the full text.
    out: list[tuple[str, int, int]] = []
    expected = 1
    for k, s, _e in marks:
        if k == expected:
            out.append((f"{chapter}.{k}", s, -1))
            expected += 1
    result = []
    for i, (num, s, _) in enumerate(out):
        end = out[i + 1][1] if i + 1 < len(out) else len(text)
        result.append((num, s, end))
    return result


def full_text_start(section: SectionText) -> int:
    """Return where the full prescribing information of a section starts: its first numbered
    subsection (the Highlights summary before it is skipped), or 0."""
    chapter = CHAPTERS.get(section.code or "")
    if chapter is None:
        return 0
    subs = numbered_subsections(section.text, chapter)
    return subs[0][1] if subs else 0


_FUNCTION_WORDS = {"of", "for", "and", "or", "with", "in", "to", "the", "a", "an", "on", "by", "&", "-"}


def strip_heading(text: str) -> str:
    """Return the first sentence of a subsection without its heading ("2.3 Recommended Dosage for
    Neuroendocrine Tumors (NET) The recommended dosage ..." -> "The recommended dosage ...").

    The heading is the leading run of capitalised words (function words and bracketed words
    allowed), minus the last capitalised word, which starts the sentence itself."""
    body = re.sub(r"^\s*\d+\s?\.\s?\d+\s+", "", text)
    words = body.split(" ")
    last_cap = None
    for i, w in enumerate(words):
        core = w.strip("()[],:;")
        if not core:
            continue
        if core[0].isupper() or core[0].isdigit() or w.startswith("(") or core.lower() in _FUNCTION_WORDS:
            if core[0].isupper():
                last_cap = i
            continue
        break
    else:
        return body
    if last_cap is None or last_cap == 0 or len(words) - last_cap < 3:
        return body
    return " ".join(words[last_cap:])


def heading_title(text: str) -> str:
    """Return the heading `strip_heading` takes off a subsection's first words, without its number
    ("2.2 Colorectal Single Agent Regimens 1 and 2 Administer ..." -> "Colorectal Single Agent
    Regimens 1 and 2"); empty when it finds none."""
    body = re.sub(r"^\s*\d+\s?\.\s?\d+\s+", "", text)
    rest = strip_heading(text)
    return " ".join(body[: len(body) - len(rest)].split()) if rest != body and body.endswith(rest) else ""


def _heading(text: str, names: list[str]) -> str:
    """Return the heading of a subsection body: its words up to the drug's name or "indicated"."""
    body = re.sub(r"^\s*\d+\s?\.\s?\d+\s+", "", text)
    stops = [re.escape(n) for n in names if len(n) > 2] + [r"is\s+indicated", r"are\s+indicated", r"indicated"]
    m = re.search(r"\b(?:" + "|".join(stops) + r")\b", body, re.IGNORECASE)
    head = body[: m.start()] if m else body
    words = head.split()
    return " ".join(words[:16]).strip(" :.-")


def _span(section: SectionText, s: int, e: int) -> Span:
    return Span(section.text[s:e], s, e, section.passages_for(s, e), section.code)


def indication_units(label: LabelText) -> list[IndicationUnit]:
    """Return the indications of the label's Indications & Usage, each with the Limitations of
    Use stated inside it; a "Limitations of Use" subsection of its own comes back as a unit with
    is_limitation=True. An unnumbered section is one unit."""
    units: list[IndicationUnit] = []
    names = label.names()
    for section in label.by_code(INDICATIONS):
        subs = numbered_subsections(section.text, 1)
        m = re.match(r"\s*(?:\d+\s+)?INDICATIONS?\s+(?:AND|&)\s+USAGE\s*", section.text, re.IGNORECASE)
        body_start = m.end() if m else 0
        if not subs:
            subs = [(None, body_start, len(section.text))]
        elif all(_LIMITATION_MARK.match(_heading(section.text[a:b], names)) for _, a, b in subs) and \
                re.search(r"\bindicated\b", section.text[body_start : subs[0][1]], re.IGNORECASE):
            # "ZURAMPIC is indicated ... 1.1 Limitations of Use ...": the indication before the first subsection
            subs = [(None, body_start, subs[0][1])] + subs
        for number, s, e in subs:
            span = _span(section, s, e)
            heading = _heading(span.text, names) if number else ""
            unit = IndicationUnit(number=number, heading=heading, span=span, section=section)
            unit.is_limitation = bool(_LIMITATION_MARK.match(heading))
            unit.limitations = limitation_sentences(section, s, e, whole=unit.is_limitation)
            units.append(unit)
    return units


def limitation_sentences(section: SectionText, start: int, end: int, whole: bool = False) -> list[Span]:
    """Return the sentences of section.text[start:end] that exclude a use: those after a
    "Limitations of Use" mark, or any sentence saying "not indicated" / "not recommended" /
    "not established" ..., and the list items of an excluding sentence that ends in ":" ("are
    not approved for: • Prevention of malaria. • ..."); with whole=True, every sentence."""
    out: list[Span] = []
    after_mark = whole
    in_list = False
    for s, e in sentence_spans(section.text, start, end):
        sentence = section.text[s:e]
        if _LIMITATION_MARK.search(sentence):
            after_mark = True
        mark = _LIMITATION_MARK.search(sentence)
        if mark and mark.start() > 0:
            s = s + mark.start()  # "... indicated for: X, Y Limitations of Use: ...": only the limitation
            sentence = section.text[s:e]
        item = bool(re.match(r"\s*[•\-*]", sentence))
        if EXCLUDING.search(sentence) or (after_mark and whole) or (in_list and item):
            out.append(_span(section, s, e))
            in_list = in_list and item or bool(EXCLUDING.search(sentence) and sentence.rstrip().endswith(":"))
            if EXCLUDING.search(sentence) and re.search(r":\s*[•\-*]", sentence):
                in_list = True
        else:
            in_list = False
    return out


def sentences_of(section: SectionText, start: int = 0, end: int | None = None) -> list[Span]:
    """Return the sentences of a section (or of a range of it) as Spans."""
    return [_span(section, s, e) for s, e in sentence_spans(section.text, start, end)]


# ---------------------------------------------------------------- the patient labeling's own words

USE_VERBS = r"(?:used|treats?|prevents?|helps?|lowers?|reduces?|relieves?)"  # "X is a prescription medicine used to ..."
_USE_VERB = re.compile(rf"\b{USE_VERBS}\b", re.IGNORECASE)
_NOT_A_USE = re.compile(r"^(?:do\s+not|don[’']t|stop|it\s+is\s+not\s+known|who\b|see\b|call\b|tell\b)", re.IGNORECASE)
_NEGATED_USE = re.compile(rf"\b(?:not|never|doesn[’']t|don[’']t)\s+(?:\w+\s+){{0,2}}{USE_VERBS}", re.IGNORECASE)  # "is not used to treat melanoma with a normal BRAF gene"
_PIECE = re.compile(r"\s*(?:•|\n|(?<=[.:;])\s+(?=[A-Z]))\s*")
USE_HEADING_WORDS = 4  # "Invasive Breast Cancer:" heads the use after it


def patient_uses(label: LabelText) -> list[Span]:
    """Return the uses the FDA-approved patient labeling (Medication Guide or Patient Package
    Insert) gives in its answer to "What is NAME?", in the patients' words ("to relieve heartburn
    symptoms with gastroesophageal reflux"): the run of list items and sentences that say what the
    drug is used for, ending at the first that does not ("Do not take ...", "It is not known ...")."""
    names = "|".join(re.escape(n) for n in sorted(label.names(), key=len, reverse=True))
    if not names:
        return []
    what = re.compile(rf"\bWhat\s+(?:is|are)\s+(?:{names})\b[^?]{{0,40}}\?", re.IGNORECASE)
    for section in label.by_code(MEDGUIDE, PATIENT_INSERT):
        m = what.search(section.text)
        if m is not None:
            return _use_run(section, m.end())
    return []


def _use_run(section: SectionText, start: int) -> list[Span]:
    """Return the use sentences and list items from `start` on, skipping short headings ("Osteoporosis:")
    and what comes before the first use, up to the first piece that is not one."""
    out: list[Span] = []
    pos = start
    for piece in _PIECE.split(section.text[start:]):
        s = section.text.find(piece, pos) if piece else -1
        if s < 0:
            continue
        pos = s + len(piece)
        heading = piece.endswith(":") and len(piece.split()) <= USE_HEADING_WORDS
        if _USE_VERB.search(piece) and not _NOT_A_USE.match(piece) and not _NEGATED_USE.search(piece):
            out.append(_span(section, s, pos))
        elif heading:
            continue  # "Osteoporosis:" heads the use that follows
        elif out or "?" in piece or _NOT_A_USE.match(piece):
            break
    return out


# ---------------------------------------------------------------- phrases the alerts read

_ALONE_CASE = re.compile(r"\bon\s+its\s+own\b|\balone\b|\bas\s+(?:a\s+)?(?:monotherapy|single\s+agent)\b|\bmonotherapy\b",
                         re.IGNORECASE)
ALONE_LABEL = re.compile(r"\bshould\s+(?:only\s+)?be\s+(?:used|given|administered)\s+(?:only\s+)?in\s+combination\b|"
                          r"\bmust\s+be\s+(?:used|given|administered)\s+(?:in\s+combination\s+)?with\b|"
                          r"\bnot\s+(?:be\s+)?(?:used|recommended|indicated)\s+(?:for\s+use\s+)?as\s+(?:a\s+)?"
                          r"(?:monotherapy|single\s+agent)|"
                          r"\bonly\s+in\s+combination\s+with\b", re.IGNORECASE)


def given_alone(text: str, drug) -> re.Match[str] | None:
    """Return where the case gives `drug` (a DrugMention) alone: "on its own", "as monotherapy"
    in the sentence of its order."""
    end = text.find(".", drug.end)
    return _ALONE_CASE.search(text, text.rfind(".", 0, drug.start) + 1, len(text) if end < 0 else end)



# Subsections of Use in Specific Populations that openFDA keeps under their own codes.
PEDIATRIC_USE = "34081-0"
GERIATRIC_USE = "34082-8"
NURSING_MOTHERS = "34080-2"
LACTATION = "77290-5"

_ENZYME = r"(?:CYP|cytochrome\s+P[-\s]?450|P[-\s]?450)\s?(?P<e>\d{1,2}[A-Z]\d{0,2})(?:\s*(?:and|or|/|,)\s*(?:CYP\s?)?(?P<e2>\d{1,2}[A-Z]\d{0,2}))?"
_STRENGTH = r"(?:strong|potent|moderate|weak|sensitive|mild)"
_STRENGTHS = rf"(?P<st>{_STRENGTH}(?:\s*(?:,|or|and|and/or|to|-)\s*{_STRENGTH})*)"
_ROLE = r"(?P<role>inhibit(?:ors?|ion|ing)|induc(?:ers?|tion|ing)|substrates?)"
_CYP_FORMS = (
    re.compile(rf"(?:\b{_STRENGTHS}\s+)?\b{_ENZYME}[\s-]+{_ROLE}\b", re.IGNORECASE),  # strong CYP3A4 inhibitors
    re.compile(rf"(?:\b{_STRENGTHS}\s+)?\b{_ROLE}\s+of\s+{_ENZYME}\b", re.IGNORECASE),  # strong inhibitors of CYP3A4
)


@dataclass(frozen=True)
class CypPhrase:
    """A cytochrome P450 class written in label text ("strong CYP3A4 inhibitors"): the enzyme
    families (CYP3A4 and CYP3A5 are read as CYP3A), the role and the strengths named."""

    enzymes: frozenset[str]
    role: str  # inhibitor | inducer | substrate
    strengths: frozenset[str]
    text: str
    start: int
    end: int

    def covers(self, other: "CypPhrase") -> bool:
        """Return True when this phrase names the class of `other` (strengths must meet when both say one)."""
        if self.role != other.role or not self.enzymes & other.enzymes:
            return False
        return not (self.strengths and other.strengths) or bool(self.strengths & other.strengths)


def _enzyme_family(e: str) -> str:
    e = e.upper()
    return "3A" if e.startswith("3A") else e


def cyp_phrases(text: str) -> list[CypPhrase]:
    """Return the CYP classes written in `text`, in order."""
    out: list[CypPhrase] = []
    for pattern in _CYP_FORMS:
        for m in pattern.finditer(text):
            if any(p.start <= m.start() < p.end for p in out):
                continue
            role = m["role"].lower()
            role = "inhibitor" if role.startswith("inhib") else "inducer" if role.startswith("induc") else "substrate"
            words = set(re.findall(_STRENGTH, (m["st"] or "").lower()))
            strengths = frozenset("strong" if w == "potent" else w for w in words)
            enzymes = frozenset(_enzyme_family(e) for e in (m["e"], m["e2"]) if e)
            out.append(CypPhrase(enzymes, role, strengths, m.group(0), m.start(), m.end()))
    return sorted(out, key=lambda p: p.start)


_YEARS = r"\s*(?P<u>years?|yrs?|months?)(?:\s+(?:of\s+age|old))?"
_AGE_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b(?:younger|less)\s+than\s+(?:the\s+age\s+of\s+)?(?P<n>\d{{1,2}}){_YEARS}", re.IGNORECASE), "below"),
    (re.compile(rf"\b(?:under|below)\s+(?:the\s+age\s+of\s+)?(?P<n>\d{{1,2}}){_YEARS}", re.IGNORECASE), "below"),
    (re.compile(rf"(?:<|≤)\s*(?P<n>\d{{1,2}}){_YEARS}", re.IGNORECASE), "below"),
    (re.compile(rf"\b(?P<n>\d{{1,2}}){_YEARS}\s+(?:and|or)\s+(?:younger|under|below)\b", re.IGNORECASE), "below"),
    (re.compile(rf"\b(?P<n>\d{{1,3}}){_YEARS}\s+(?:and|or)\s+(?:older|over|above)\b", re.IGNORECASE), "from"),
    (re.compile(rf"\b(?:older|greater)\s+than\s+(?P<n>\d{{1,3}}){_YEARS}", re.IGNORECASE), "above"),
    (re.compile(rf"\bover\s+(?:the\s+)?(?:age\s+(?:of\s+)?)?(?P<n>\d{{1,3}}){_YEARS}", re.IGNORECASE), "above"),
    (re.compile(rf"(?:>|≥)\s*(?P<n>\d{{1,3}}){_YEARS}", re.IGNORECASE), "from"),
    (re.compile(r"\b(?:over|above|older\s+than)\s+age\s+(?P<n>\d{1,3})(?P<u>)", re.IGNORECASE), "above"),
    (re.compile(rf"\b(?P<n>\d{{1,2}})\s*(?:to|-|–|through)\s*(?P<m>\d{{1,2}}){_YEARS}", re.IGNORECASE), "range"),
]
# Population words of labels and the ages they stand for (children and pediatric patients: under 18).
_AGE_WORDS: list[tuple[re.Pattern[str], float, float]] = [
    (re.compile(r"\bneonat\w*|\bnewborns?\b", re.IGNORECASE), 0, 0.09),
    (re.compile(r"\binfants?\b", re.IGNORECASE), 0, 1.99),
    (re.compile(r"\bchild(?:ren)?\b|\bpediatric\b|\bpaediatric\b", re.IGNORECASE), 0, 17.99),
    (re.compile(r"\badolescents?\b", re.IGNORECASE), 12, 17.99),
    (re.compile(r"\byoung\s+adults?\b", re.IGNORECASE), 18, 24.99),
    (re.compile(r"\belderly\b|\bgeriatric\b|\bolder\s+(?:adults?|patients?|people)\b", re.IGNORECASE), 65, 200),
]


_AGE_HINT = re.compile(r"years?|yrs?|months?|\bage\b", re.IGNORECASE)
_AGE_WORD_HINT = re.compile(r"neonat|newborn|infant|child|pediatric|paediatric|adolescent|young\s+adult|elderly|geriatric|older",
                            re.IGNORECASE)


@lru_cache(maxsize=8192)
def age_ranges(text: str) -> tuple[tuple[float, float, int, int], ...]:
    """Return the age ranges in years (low, high, start, end) a sentence states: in numbers
    ("younger than 12 years", "over 75 years", "7 to 17 years of age", "below 1 month") and in
    population words ("pediatric patients", "the elderly") unless the numbers already bound the
    young side or the sentence also speaks of adults."""
    out: list[tuple[float, float, int, int]] = []
    for pattern, how in _AGE_FORMS if _AGE_HINT.search(text) else []:
        for m in pattern.finditer(text):
            unit = 1 / 12 if m["u"] and m["u"].lower().startswith("m") else 1.0
            n = float(m["n"]) * unit
            lo, hi = {"below": (0.0, n - 1e-6), "from": (n, 200.0), "above": (n + 1e-6, 200.0)}.get(how, (n, 0.0))
            if how == "range":
                lo, hi = n, (float(m["m"]) + 1) * unit - 1e-6  # "7 to 17 years" includes 17-year-olds
            out.append((lo, hi, m.start(), m.end()))
    # "pediatric patients 1 year or older": the words bound what the numbers leave open
    bounded = any(hi < 25 or lo >= 50 for lo, hi, _, _ in out) or (out and re.search(r"\badults?\b", text, re.IGNORECASE))
    if _AGE_WORD_HINT.search(text) and not bounded:
        for pattern, lo, hi in _AGE_WORDS:
            out += [(lo, hi, m.start(), m.end()) for m in pattern.finditer(text)]
    return tuple(out)
