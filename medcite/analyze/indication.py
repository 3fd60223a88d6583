"""Does a label indicate its drug for the case's condition? Match conditions to the numbered
indications and to the Limitations of Use / boxed-warning exclusions of one label.

Matching is on stemmed content words (the BM25 analyzer): the share of the condition's words
found in an indication's own text (its Limitations of Use taken out). "non-functional" stays one
word, so a case of a non-functional tumour never matches a limitation about functional ones.

Verdict:
- on_label: every word of a condition is in one indication, and no exclusion matches better;
- not_indicated: a Limitation of Use (or a boxed-warning "not recommended" sentence) holds every
  word of the condition and says something the matched indication does not (e.g. "functional
  carcinoid tumors" against "non-functional NET"), or no indication matches at all while it does;
- unclear: otherwise (partial match, no condition in the case, no Indications & Usage text).
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field

from medcite.analyze.label_text import (
    BOXED,
    COMBINATION_USE,
    EXCLUDING,
    IndicationUnit,
    LabelText,
    Span,
    indication_units,
    sentences_of,
    terms,
)
from medcite.records import ConditionMention, IndicationStatus

FULL = 0.999  # every word of the condition
PARTIAL = 0.5


@dataclass
class ConditionTerms:
    """A case condition as matched: its display name, its stemmed words, and an abbreviation that
    stands for `abbrev_words` of them (the long form it abbreviates)."""

    name: str
    words: set[str]
    abbreviation: str | None = None
    abbrev_words: set[str] = field(default_factory=set)
    mention: ConditionMention | None = None
    qualifier_words: set[str] = field(default_factory=set)  # extent, resection, differentiation, stage


@dataclass
class IndicationMatch:
    """The outcome of matching a case against one label's Indications & Usage."""

    status: IndicationStatus
    condition: ConditionTerms | None
    unit: IndicationUnit | None
    coverage: float
    exclusion: Span | None = None
    exclusion_kind: str | None = None  # limitation | boxed_warning
    reason: str = ""
    units: list[IndicationUnit] = field(default_factory=list)


def condition_terms(mentions: list[ConditionMention], abbreviations: dict[str, str] | None = None) -> list[ConditionTerms]:
    """Return the matchable form of the case's (non-negated) conditions; `abbreviations` maps a
    short form to the long form the case defines."""
    out: list[ConditionTerms] = []
    for c in maximal_conditions(mentions):
        words = set(numbered_terms(c.name))
        # The functional status decides Limitations of Use such as "functional carcinoid tumors".
        if c.functional:
            words |= set(terms(c.functional))
        abbrev, abbrev_words = None, set()
        if c.abbreviation:
            abbrev = " ".join(terms(c.abbreviation)) or None
            long = (abbreviations or {}).get(c.abbreviation) or (c.name if c.source == "abbreviation" else "")
            abbrev_words = set(terms(long)) & words
        quals = " ".join(v for v in (c.extent, c.resection, c.differentiation, c.stage) if v)
        if words:
            out.append(ConditionTerms(c.name, words, abbrev, abbrev_words, c, set(terms(quals))))
    return out


# The words that grade a disease by severity, course or phase: two grades of one disease are two
# indications ("severe" is not "mild to moderate"; "episodic" is not "chronic").
GRADES = {"mild", "moderate", "severe", "acute", "chronic", "episodic", "early", "advanced", "onset", "maintenance"}


def maximal_conditions(mentions: list[ConditionMention]) -> list[ConditionMention]:
    """Return the case's non-negated conditions but those named again without their grade: in
    "chronic migraine (... 10 of them migraine)" the graded name is the one to match."""
    live = [(c, set(terms(c.name))) for c in mentions if not c.negated]
    grades = set(terms(" ".join(GRADES)))
    return [c for c, words in live if not any(words < other and other - words <= grades for _, other in live)]


def coverage(cond: ConditionTerms, words: set[str]) -> float:
    """Return the share of the condition's words found in `words`; the condition's abbreviation,
    when present ("PNET" in "tumors of pancreatic origin (PNET)"), stands for the words of its
    long form."""
    if not cond.words:
        return 0.0
    found = cond.words & words
    found |= {w for w in cond.words - found if any(same_stem(w, x) for x in words)}
    if cond.abbreviation and cond.abbreviation in words:
        found |= cond.abbrev_words
    return len(found) / len(cond.words)


_NUMBER = re.compile(r"\d+[a-z]?|[ivx]{1,4}|[a-e]")


def numbered_terms(text: str, drop_other_than: bool = False) -> list[str]:
    """Return the stemmed words of `text` with each number or letter joined to the word before it:
    "type 1", "stage iv", "hepat b" are words of their own, so "type 1 diabetes" never matches
    "type 2 diabetes" through a section number "(1)" elsewhere in the indication."""
    out: list[str] = []
    for t in terms(text, drop_other_than=drop_other_than):
        if _NUMBER.fullmatch(t) and out:
            out[-1] = f"{out[-1]} {t}"
        else:
            out.append(t)
    return out


def same_stem(a: str, b: str) -> bool:
    """Return True for two stems of one word that the stemmer cut differently ("cardiomyopathi"
    from cardiomyopathy, "cardiomyopath" from cardiomyopathic): one starts the other, at least
    six letters long, and they differ by at most two letters."""
    short, long = sorted((a, b), key=len)
    return len(short) >= 6 and len(long) - len(short) <= 2 and long.startswith(short)


def unit_words(unit: IndicationUnit) -> set[str]:
    text = unit.span.text
    # Limitation sentences are taken out: they name what the indication is NOT for.
    for lim in sorted(unit.limitations, key=lambda s: -s.start):
        a, b = lim.start - unit.span.start, lim.end - unit.span.start
        if 0 <= a <= b <= len(text):
            text = text[:a] + " " + text[b:]
    return set(numbered_terms(text))


def _boxed_exclusions(label: LabelText) -> list[Span]:
    out: list[Span] = []
    for section in label.by_code(BOXED):
        out.extend(s for s in sentences_of(section) if EXCLUDING.search(s.text))
    return out


def match_indication(label: LabelText, conditions: list[ConditionTerms], case_words: set[str] | None = None) -> IndicationMatch:
    """Return the indication verdict of `label` for the case's conditions (see module docstring).

    With no condition in the case the verdict is unclear; the indication sharing most words (two
    at least) with the case text (`case_words`) is still returned as the closest one, so that its
    dosage can be read ("kidney transplant recipient" -> "Prophylaxis of Organ Rejection in Kidney
    Transplantation")."""
    units = indication_units(label)
    if not units:
        return IndicationMatch(IndicationStatus.UNCLEAR, None, None, 0.0, reason="the label has no Indications & Usage text", units=units)
    if not conditions:
        closest, overlap = None, 1
        for u in units:
            if u.is_limitation or not case_words:
                continue
            n = len(case_words & unit_words(u))
            if n > overlap:
                closest, overlap = u, n
        reason = "the case names no condition to check against the indications"
        if closest is not None:
            reason += "; the closest indication to the case's words is cited"
        return IndicationMatch(IndicationStatus.UNCLEAR, None, closest, 0.0, reason=reason, units=units)
    indications = [u for u in units if not u.is_limitation]
    # "not recommended in combination with other JAK inhibitors": about co-medication, not the condition
    exclusions: list[tuple[Span, str]] = [(s, "limitation") for u in units for s in u.limitations
                                          if not COMBINATION_USE.search(s.text)]
    exclusions += [(s, "boxed_warning") for s in _boxed_exclusions(label)]
    words_of_units = [(u, unit_words(u)) for u in indications]
    excl_words = [(s, kind, set(numbered_terms(s.text, drop_other_than=True))) for s, kind in exclusions]

    best: IndicationMatch | None = None
    for cond in conditions:
        # equal coverage: the indication that also names the case's extent ("metastatic") wins
        scored = sorted(((coverage(cond, w), len(cond.qualifier_words & w), -i, u, w) for i, (u, w) in enumerate(words_of_units)),
                        key=lambda t: t[:3], reverse=True)
        cov, _, _, unit, uwords = scored[0] if scored else (0.0, 0, 0, None, set())
        excluded = None
        for span, kind, words in excl_words:
            if coverage(cond, words) < FULL:
                continue
            # The exclusion must say something about the case the indication does not.
            distinguishing = (cond.words & words) - uwords
            if cov < FULL or distinguishing:
                excluded = (span, kind)
                break
        if excluded:
            match = IndicationMatch(IndicationStatus.NOT_INDICATED, cond, unit, cov, excluded[0], excluded[1],
                                    reason=f"the label excludes {cond.name}", units=units)
        elif cov >= FULL:
            match = IndicationMatch(IndicationStatus.ON_LABEL, cond, unit, cov, reason=f"indicated for {cond.name}", units=units)
        elif cov >= PARTIAL:
            match = IndicationMatch(IndicationStatus.UNCLEAR, cond, unit, cov, reason=f"{cond.name} only partly matches the closest indication", units=units)
        else:
            match = IndicationMatch(IndicationStatus.UNCLEAR, cond, None, cov, reason=f"no indication of the label matches {cond.name}", units=units)
        if best is None or verdict_rank(match) > verdict_rank(best):
            best = match
    assert best is not None
    return best


def verdict_rank(m: IndicationMatch) -> tuple[int, float]:
    """Return the sort key of a match: a decided verdict (on label or excluded) beats an unclear
    one, then the closer match."""
    decided = 0 if m.status == IndicationStatus.UNCLEAR else 2
    return decided, m.coverage
