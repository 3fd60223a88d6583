"""The Dosage & Administration text of a label for one indication, and the prescribed dose,
frequency and route compared with it.

The D&A subsection of an indication is the numbered subsection whose heading shares the most
words with the indication's heading and the case's condition ("2.3 Recommended Dosage for
Neuroendocrine Tumors (NET)" for "1.2 Neuroendocrine Tumors (NET)"); an unnumbered D&A section is
read from the first sentence that names the condition on. Doses, frequencies and routes are parsed
by `medcite.analyze.regimen`, the same parser that reads the case, so both sides compare on the
same normal forms. A dose written right after another drug's name ("in combination with
oxaliplatin 130 mg/m2") is that drug's dose and is not compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medcite.analyze.indication import ConditionTerms
from medcite.analyze.label_text import (
    DOSAGE,
    IndicationUnit,
    LabelText,
    SectionText,
    Span,
    quote,
    numbered_subsections,
    sentences_of,
    terms,
)
from medcite.analyze.regimen import find_doses, find_frequencies, find_routes
from medcite.records import Dose, DrugMention, Frequency

_MASS = {"mg": 1.0, "g": 1000.0, "mcg": 0.001}
_RADIO = {"GBq": 1.0, "MBq": 0.001, "mCi": 0.037}  # 1 mCi = 37 MBq
_HEADING_WORDS = {"recommend", "dosag", "dose", "administr"}


@dataclass
class LabeledDose:
    """One dose statement of the label: the sentence, its doses / frequencies / routes."""

    span: Span
    doses: list[Dose]
    frequencies: list[Frequency]
    routes: list[str]


@dataclass
class DoseRegion:
    """The D&A text the label gives for the matched indication."""

    section: SectionText
    start: int
    end: int
    number: str | None
    statements: list[LabeledDose] = field(default_factory=list)


def _comparable(a: str, b: str) -> tuple[float, float] | None:
    """Return factors that bring units a and b to one scale, or None when they do not compare."""
    if a == b:
        return 1.0, 1.0
    for table in (_MASS, _RADIO):
        if a in table and b in table:
            return table[a], table[b]
    return None


def _foreign_dose(text: str, dose: Dose, own_names: list[str], other_drug) -> bool:
    """Return True when the words right before `dose` name another drug (its dose, not ours)."""
    before = text[max(0, dose.start - 40) : dose.start]
    low = before.lower()
    if any(n.lower() in low for n in own_names):
        return False
    if other_drug is not None:
        for m in other_drug(before):
            if not any(n.lower() == m.lower() for n in own_names):
                return True
    return False


def dose_region(label: LabelText, unit: IndicationUnit | None, cond: ConditionTerms | None) -> DoseRegion | None:
    """Return the D&A region for the matched indication (the whole D&A section when the label
    has one indication or nothing better is found), or None when the label has no D&A text."""
    sections = label.by_code(DOSAGE)
    if not sections:
        return None
    section = sections[0]
    target = set(terms(unit.heading)) if unit and unit.heading else set()
    if cond is not None:
        target |= cond.words
    subs = numbered_subsections(section.text, 2)
    if subs:
        best, best_score = None, 0.0
        for number, s, e in subs:
            head = " ".join(section.text[s:e].split()[:14])
            words = set(terms(head))
            score = len(words & target) + 0.5 * len(words & _HEADING_WORDS)
            # Only a subsection that gives doses is a candidate.
            if find_doses(section.text[s:e]) and score > best_score:
                best, best_score = (number, s, e), score
        if best is not None and (len(set(terms(" ".join(section.text[best[1]:best[2]].split()[:14]))) & target) or unit is None):
            return DoseRegion(section, best[1], best[2], best[0])
        if best is not None and len([u for u in subs if find_doses(section.text[u[1]:u[2]])]) == 1:
            return DoseRegion(section, best[1], best[2], best[0])
        return DoseRegion(section, subs[0][1], len(section.text), None)
    # Unnumbered: from the first sentence naming the condition (or the indication heading) on.
    if target:
        for sent in sentences_of(section):
            if set(terms(sent.text)) & target:
                return DoseRegion(section, sent.start, len(section.text), None)
    return DoseRegion(section, 0, len(section.text), None)


def statements(region: DoseRegion, own_names: list[str], other_drug=None) -> list[LabeledDose]:
    """Return the dose statements (sentences with a dose of this drug) of a region."""
    out: list[LabeledDose] = []
    for sent in sentences_of(region.section, region.start, region.end):
        doses = [d for d in find_doses(sent.text) if not _foreign_dose(sent.text, d, own_names, other_drug)]
        if not doses:
            continue
        out.append(LabeledDose(sent, doses, find_frequencies(sent.text), [r.name for r in find_routes(sent.text)]))
    return out


def _dose_matches(prescribed: Dose, labeled: Dose) -> bool | None:
    factors = _comparable(prescribed.unit, labeled.unit)
    if factors is None:
        return None
    p = prescribed.value * factors[0]
    lo = labeled.value * factors[1]
    hi = (labeled.value_max if labeled.value_max is not None else labeled.value) * factors[1]
    return lo - 1e-9 <= p <= hi + 1e-9


@dataclass
class RegimenComparison:
    """The dose / frequency / route verdicts before citation numbers are attached."""

    dose: tuple[str, str | None, str | None, list[Span], str | None]
    frequency: tuple[str, str | None, str | None, list[Span], str | None]
    route: tuple[str, str | None, str | None, list[Span], str | None]


def _recommended(stmts: list[LabeledDose]) -> LabeledDose | None:
    for st in stmts:
        if re.search(r"\brecommended\b|\binitial\b|\bstarting\b", st.span.text, re.IGNORECASE):
            return st
    return stmts[0] if stmts else None


def compare_regimen(mention: DrugMention, region: DoseRegion | None, stmts: list[LabeledDose], label_routes: list[str]) -> RegimenComparison:
    """Return (status, labeled, prescribed, spans, detail) for dose, frequency and route.

    status: matches | mismatch | not_stated (the label states none to compare) | not_prescribed."""
    rec = _recommended(stmts)
    rec_text = quote(rec.span.text) if rec else None

    # ---- dose
    if mention.dose is None:
        dose = ("not_prescribed", rec_text, None, [rec.span] if rec else [], None)
        matched = None
    else:
        pres = mention.dose
        matched = None
        comparable = []
        for st in stmts:
            for d in st.doses:
                ok = _dose_matches(pres, d)
                if ok is None:
                    continue
                comparable.append(st)
                if ok and matched is None:
                    matched = st
        if matched is not None:
            dose = ("matches", quote(matched.span.text), pres.text, [matched.span], None)
        elif comparable:
            target = rec if rec in comparable else comparable[0]
            dose = ("mismatch", quote(target.span.text), pres.text, [target.span],
                    "the label's dose for this indication is stated in the cited sentence")
        elif stmts:
            units = sorted({d.unit for st in stmts for d in st.doses})
            dose = ("not_stated", rec_text, pres.text, [rec.span] if rec else [],
                    f"the label states doses in {', '.join(units)}, not comparable with {pres.unit}")
        else:
            dose = ("not_stated", None, pres.text, [], "the label states no dose for this indication")

    # ---- frequency: judged on the statement that matched the dose, else the recommended one
    basis = matched or rec
    if mention.frequency is None:
        freq = ("not_prescribed", None, None, [], None)
    else:
        pres_f = mention.frequency
        cands = [st for st in ([basis] if basis else []) + [s for s in stmts if s is not basis] if st.frequencies]
        hit = next((st for st in cands if any(_same_frequency(pres_f, f) for f in st.frequencies)), None)
        if basis is not None and basis.frequencies:
            if any(_same_frequency(pres_f, f) for f in basis.frequencies):
                freq = ("matches", basis.frequencies[0].text, pres_f.text, [basis.span], None)
            else:
                label_f = basis.frequencies[0]
                freq = ("mismatch", label_f.text, pres_f.text, [basis.span], f"the label says {label_f.as_written}")
        elif hit is not None:
            f0 = next(f for f in hit.frequencies if _same_frequency(pres_f, f))
            freq = ("matches", f0.text, pres_f.text, [hit.span], None)
        elif cands:
            label_f = cands[0].frequencies[0]
            freq = ("mismatch", label_f.text, pres_f.text, [cands[0].span], f"the label says {label_f.as_written}")
        else:
            freq = ("not_stated", None, pres_f.text, [], "the label states no dosing frequency for this indication")

    # ---- route
    if mention.route is None:
        route = ("not_prescribed", None, None, [], None)
    else:
        pres_r = mention.route.name
        stated = [(st, r) for st in ([basis] if basis else []) + stmts for r in st.routes]
        if any(r == pres_r for _, r in stated):
            st = next(st for st, r in stated if r == pres_r)
            route = ("matches", pres_r, pres_r, [st.span], None)
        elif stated:
            st, r = stated[0]
            route = ("mismatch", r, pres_r, [st.span], f"the label gives the {r} route")
        elif region is not None and (anywhere := [(sp, r.name) for sp in sentences_of(region.section) for r in find_routes(sp.text)]):
            sp, r = next(((sp, r) for sp, r in anywhere if r == pres_r), anywhere[0])
            status = "matches" if r == pres_r else "mismatch"
            route = (status, r, pres_r, [sp], None if status == "matches" else f"the label gives the {r} route")
        elif label_routes:
            lowered = [r.lower() for r in label_routes]
            status = "matches" if pres_r in lowered else "mismatch"
            route = (status, ", ".join(lowered), pres_r, [], "route from the label's product data")
        else:
            route = ("not_stated", None, pres_r, [], None)
    return RegimenComparison(dose, freq, route)


def _same_frequency(a: Frequency, b: Frequency) -> bool:
    if a.as_needed or b.as_needed:
        return a.as_needed and b.as_needed
    if a.interval_days is None or b.interval_days is None:
        return False
    return abs(a.interval_days - b.interval_days) < 1e-6
