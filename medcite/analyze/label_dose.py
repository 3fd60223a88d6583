"""The Dosage & Administration subsection of a label for one indication (the comparison itself
is `dose_check`, on the rows of `label_dosing`).

The D&A subsection of an indication is the numbered subsection whose heading shares the most
words with the indication's heading and the case's condition ("2.3 Recommended Dosage for
Neuroendocrine Tumors (NET)" for "1.2 Neuroendocrine Tumors (NET)"); an unnumbered D&A section is
read from the first sentence that names the condition on.
"""

from __future__ import annotations

from dataclasses import dataclass

from medcite.analyze.indication import ConditionTerms
from medcite.analyze.label_text import (
    DOSAGE,
    IndicationUnit,
    LabelText,
    SectionText,
    numbered_subsections,
    sentences_of,
    terms,
)
from medcite.analyze.regimen import find_doses
_HEADING_WORDS = {"recommend", "dosag", "dose", "administr"}


@dataclass
class DoseRegion:
    """The D&A text the label gives for the matched indication."""

    section: SectionText
    start: int
    end: int
    number: str | None


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
        best, best_score = None, (0, 0)
        for number, s, e in subs:
            head = " ".join(section.text[s:e].split()[:14])
            words = set(terms(head))
            # the condition's words decide; "recommended dosage" words only break a tie
            score = (len(words & target), len(words & _HEADING_WORDS))
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
