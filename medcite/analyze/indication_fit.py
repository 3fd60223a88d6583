"""Indication verdicts the word match (`indication.match_indication`) cannot decide, from the
label's own structure:

- **Meaning**: clinicians write "focal seizures" where the label says "partial-onset seizures",
  "atopic eczema" for "atopic dermatitis", "GAD" for "generalized anxiety disorder (GAD)". The
  case's condition phrases (its recognised conditions, the label's own abbreviations the case
  uses, and the case's first sentence) are compared with each indication and each exclusion
  (Limitation of Use, boxed-warning or "not indicated for" sentence) by MiniLM similarity (the
  ONNX model the index already uses). Close to an indication -> on_label; closer to an exclusion
  -> not_indicated; far from every indication while the case names a condition -> off_label;
  otherwise unclear. The thresholds are set so that a near miss says unclear rather than
  on_label: saying "on label" for a use the label does not cover is the unsafe direction.
- **Biomarkers**: an indication for tumours "whose tumors have EGFR exon 19 deletions" does not
  cover a case that says "EGFR wild-type" or "EGFR-negative": off_label, citing that sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from medcite.analyze.abbreviations import find_pairs
from medcite.analyze.label_text import IndicationUnit, LabelText, Span, sentences_of
from medcite.index.store import corpus_cached
from medcite.records import CaseFacts, IndicationStatus

ON_LABEL_SIM = 0.62  # cosine of MiniLM vectors: "focal seizures" ~ "partial-onset seizures" is 0.69
OFF_LABEL_SIM = 0.42  # "major depression" ~ "obsessive compulsive disorder" is 0.35
EXCLUSION_MARGIN = 0.05  # an exclusion must be this much closer than the best indication

_INDICATED = re.compile(r"\bindicated\b\s*(?:only\s+)?(?:for|in|as)?\s*(?:the\s+)?(?:treatment|management|relief|prevention|prophylaxis)?\s*(?:of)?\s*", re.I)
_POSITIVE = re.compile(r"\b([A-Z][A-Z0-9]{2,9})(?:\s*|-)(?:exon\s+\d+\s+)?(?:mutat\w*|positive|\+|deletions?|amplif\w*|overexpress\w*|rearrange\w*|fusions?|-?mutated)", re.I)
_NEGATIVE = r"\b{gene}\b\s*(?:-|\s)?(?:wild[-\s]?type|negative|WT\b|non-?mutated|unmutated|-\s)"


@dataclass
class Fit:
    """A verdict from meaning or biomarkers, with the sentence it rests on."""

    status: IndicationStatus
    span: Span | None
    reason: str
    unit: IndicationUnit | None = None
    similarity: float = 0.0


def _condition_text(unit: IndicationUnit) -> str:
    """Return what an indication is for: its heading and the words after "indicated for"."""
    text = unit.span.text
    m = _INDICATED.search(text)
    body = text[m.end() : m.end() + 240] if m else text[:240]
    body = body.split(". ")[0]
    return f"{unit.heading} {body}".strip() if unit.heading and unit.heading.lower() not in body.lower() else body


def case_phrases(facts: CaseFacts, label: LabelText) -> list[str]:
    """Return the phrases of the case that may name its condition."""
    phrases = [c.name for c in facts.conditions if not c.negated]
    label_text = " ".join(s.text for s in label.sections if s.code in ("34067-9", "34066-1"))
    negated = {c.abbreviation for c in facts.conditions if c.negated and c.abbreviation}
    for p in find_pairs(label_text):
        if p.short in negated:
            continue
        if re.search(r"(?<![\w-])" + re.escape(p.short) + r"(?![\w-])", facts.text):
            phrases.append(p.long)
    first = re.split(r"(?<=[.;])\s+", facts.text.strip())[0]
    for d in facts.drugs:
        first = first.replace(d.text, " ")
    phrases.append(re.sub(r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|g|kg|mL)\b\S*", " ", first))
    return [p for p in dict.fromkeys(" ".join(x.split()) for x in phrases) if len(p) > 2]


def _vectors(store, texts: list[str]) -> np.ndarray:
    from medcite.index.embed import get_embedder

    cache: dict[str, np.ndarray] = corpus_cached(store, "indication_vectors", dict)
    missing = [t for t in dict.fromkeys(texts) if t not in cache]
    if missing:
        for t, v in zip(missing, get_embedder().embed(missing)):
            cache[t] = v / (np.linalg.norm(v) or 1.0)
    return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, 384))


def _exclusions(label: LabelText, units: list[IndicationUnit]) -> list[Span]:
    from medcite.analyze.label_text import BOXED, EXCLUDING

    out = [s for u in units for s in u.limitations if not re.search(r"\bin\s+combination\b|\bconcomitant", s.text, re.I)]
    for section in label.by_code(BOXED):
        out += [s for s in sentences_of(section) if EXCLUDING.search(s.text)]
    return out


def fit_by_meaning(store, label: LabelText, units: list[IndicationUnit], facts: CaseFacts) -> Fit | None:
    """Return the verdict from meaning, or None when nothing is close or far enough to decide."""
    indications = [u for u in units if not u.is_limitation]
    phrases = case_phrases(facts, label)
    if not indications or not phrases:
        return None
    targets = [_condition_text(u) for u in indications]
    excl = _exclusions(label, units)
    vec = _vectors(store, phrases + targets + [s.text for s in excl])
    pv, tv, ev = vec[: len(phrases)], vec[len(phrases) : len(phrases) + len(targets)], vec[len(phrases) + len(targets) :]
    sims = pv @ tv.T
    i_phrase, i_unit = np.unravel_index(int(np.argmax(sims)), sims.shape)
    best = float(sims[i_phrase, i_unit])
    if len(excl):
        esims = pv @ ev.T
        j_phrase, j = np.unravel_index(int(np.argmax(esims)), esims.shape)
        if float(esims[j_phrase, j]) >= ON_LABEL_SIM and float(esims[j_phrase, j]) > best + EXCLUSION_MARGIN:
            return Fit(IndicationStatus.NOT_INDICATED, excl[j], f"the label excludes {phrases[j_phrase]}", similarity=float(esims[j_phrase, j]))
    unit = indications[i_unit]
    if best >= ON_LABEL_SIM:
        return Fit(IndicationStatus.ON_LABEL, None, f"{phrases[i_phrase]} is the label's indication ({targets[i_unit][:80]})", unit, best)
    named = [c for c in facts.conditions if not c.negated]
    if best < OFF_LABEL_SIM and named:
        return Fit(IndicationStatus.OFF_LABEL, None, f"{named[0].name} is not among the label's indications", None, best)
    return None


def biomarker_conflict(unit: IndicationUnit | None, case_text: str) -> Fit | None:
    """Return off_label when the indication requires a biomarker the case says is absent."""
    if unit is None:
        return None
    for sent in (sentences_of(unit.section, unit.span.start, unit.span.end) if unit.section else [unit.span]):
        for m in _POSITIVE.finditer(sent.text):
            gene = m.group(1)
            if gene.lower() in ("the", "and", "for", "with"):
                continue
            if re.search(_NEGATIVE.format(gene=re.escape(gene)), case_text, re.I):
                return Fit(IndicationStatus.OFF_LABEL, sent, f"the indication requires {m.group(0)}; the case says {gene} is not", unit)
    return None


_CHILD_EXCLUSION = re.compile(r"\bnot\s+(?:recommended|indicated|approved)\b[^.]{0,60}\b(?:pediatric|children|neonates|infants)\b|"
                              r"\b(?:pediatric|children)\b[^.]{0,40}\bnot\s+(?:recommended|indicated|approved)\b", re.I)
ADULT_AGE = 17.0


def child_exclusion(label: LabelText, facts: CaseFacts) -> Fit | None:
    """Return not_indicated when the patient is a child and the label says its drug is not
    recommended / not indicated in pediatric patients (Indications, boxed warning or Pediatric Use)."""
    from medcite.analyze.label_text import BOXED, INDICATIONS, SPECIFIC_POPULATIONS

    age = facts.patient.age_years
    if age is None or age >= ADULT_AGE:
        return None
    for section in label.by_code(INDICATIONS, BOXED, SPECIFIC_POPULATIONS, "34081-0"):
        for sent in sentences_of(section):
            if _CHILD_EXCLUSION.search(sent.text):
                return Fit(IndicationStatus.NOT_INDICATED, sent, f"the label does not recommend its use in a {age:g}-year-old")
    return None
