"""The Dosage & Administration subsection of a label for one indication (the comparison itself
is `dose_check`, on the rows of `label_dosing`).

The D&A subsection of an indication is the numbered subsection whose heading shares the most
words with the indication's heading and the case's condition ("2.3 Recommended Dosage for
Neuroendocrine Tumors (NET)" for "1.2 Neuroendocrine Tumors (NET)"); an unnumbered D&A section is
read from the first sentence that names the condition on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medcite.analyze.indication import ConditionTerms
from medcite.analyze.label_text import (
    DOSAGE,
    IndicationUnit,
    LabelText,
    SectionText,
    heading_title,
    numbered_subsections,
    sentences_of,
    terms,
)
from medcite.analyze.regimen import find_doses
_HEADING_WORDS = {"recommend", "dosag", "dose", "administr"}
# how the drug is given: alone or with others ("2.2 Colorectal Cancer Single Agent Regimens")
_SINGLE = re.compile(r"\bsingle[-\s]agent\b|\bmonotherapy\b|\bas\s+a\s+single\s+agent\b", re.I)
_COMBINED = re.compile(r"\bcombination\b|\bcombined\s+with\b", re.I)


def _mode(text: str) -> str | None:
    single, combined = bool(_SINGLE.search(text)), bool(_COMBINED.search(text))
    return None if single == combined else ("single" if single else "combination")


def _mode_fit(heading: str, case_mode: str | None) -> int:
    """+1 when a subsection heading gives the drug the way the case does (single agent or in
    combination), -1 when it gives it the other way, 0 when either does not say."""
    head_mode = _mode(heading)
    if case_mode is None or head_mode is None:
        return 0
    return 1 if head_mode == case_mode else -1


@dataclass
class DoseRegion:
    """The D&A text the label gives for the matched indication."""

    section: SectionText
    start: int
    end: int
    number: str | None


_GENERIC_TITLE = "recommended dosage dose administration regimens therapy treatment patients adults single agent combination monotherapy"


def _title(section: SectionText, start: int, end: int) -> str:
    return heading_title(" ".join(section.text[start:end].split()[:20]))


def _same_use_as_case(section: SectionText, subs, best: tuple, case_mode: str) -> tuple:
    """Return the sibling of the chosen subsection that gives the drug the way the case does
    ("2.1 Colorectal Cancer Combination Regimens" -> "2.2 Colorectal Single Agent Regimens" for a
    single-agent order): same disease word in the title, the case's mode; else the chosen one."""
    title = _title(section, best[1], best[2])
    if _mode(title) in (None, case_mode):
        return best
    own = set(terms(title)) - set(terms(_GENERIC_TITLE))
    for number, s, e in subs:
        other = _title(section, s, e)
        if _mode(other) == case_mode and own & set(terms(other)) and find_doses(section.text[s:e]):
            return number, s, e
    return best


def dose_region(label: LabelText, unit: IndicationUnit | None, cond: ConditionTerms | None, case_text: str = "") -> DoseRegion | None:
    """Return the D&A region for the matched indication (the whole D&A section when the label
    has one indication or nothing better is found), or None when the label has no D&A text. Of
    subsections that fit the condition equally, the one giving the drug the way the case does
    (single agent or in combination) is taken."""
    sections = label.by_code(DOSAGE)
    if not sections:
        return None
    section = sections[0]
    target = set(terms(unit.heading)) if unit and unit.heading else set()
    if cond is not None:
        target |= cond.words
    subs = numbered_subsections(section.text, 2)
    case_mode = _mode(case_text)
    if subs:
        best, best_score = None, (0, 0, 0)
        for number, s, e in subs:
            head = " ".join(section.text[s:e].split()[:14])
            words = set(terms(head))
            # the condition's words decide; "recommended dosage" words only break a tie
            score = (len(words & target), _mode_fit(head, case_mode), len(words & _HEADING_WORDS))
            # Only a subsection that gives doses is a candidate.
            if find_doses(section.text[s:e]) and (score[0] or score[2]) and (best is None or score > best_score):
                best, best_score = (number, s, e), score
        if best is not None and case_mode is not None and (sibling := _same_use_as_case(section, subs, best, case_mode)) != best:
            return DoseRegion(section, sibling[1], sibling[2], sibling[0])
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
