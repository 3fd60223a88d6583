"""Evidence level of a retrieved passage: meta-analysis / systematic review > randomised controlled
trial > cohort or other controlled study > case series / case report > narrative review / other.

The level is read, in this order, from what the source states rather than guessed from wording:
1. PubMed publication types (pubmed_xml records: "Meta-Analysis", "Randomized Controlled Trial" ...);
2. MeSH study-design descriptors (PubMedQA records carry MeSH but no publication types:
   "Retrospective Studies", "Random Allocation", "Double-Blind Method" ...);
3. PDQ "Level of evidence" tags in the passage ("A1", "B1", "C2"; older "1iiA", "I"–"IV"): the
   letter (or leading digit) is the study design — A / 1 randomised, B / 2 non-randomised
   controlled, C / 3 case series or observational;
4. NGC evidence grades stated next to the recommendation (kept as written: their scales differ
   per guideline, so they label the passage but do not rank it);
5. the study-design words of the title, then of the abstract text (last resort, basis "title" /
   "text": "we performed a meta-analysis", "randomized ... trial", "retrospective").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LEVELS = {
    1: "meta-analysis / systematic review",
    2: "randomized controlled trial",
    3: "cohort / controlled study",
    4: "case series / case report",
    5: "review / other",
}
UNKNOWN_RANK = 6

_PUBTYPE_RANK = {
    "meta-analysis": 1, "systematic review": 1,
    "randomized controlled trial": 2, "equivalence trial": 2, "pragmatic clinical trial": 2,
    "controlled clinical trial": 3, "clinical trial": 3, "clinical trial, phase i": 3,
    "clinical trial, phase ii": 3, "clinical trial, phase iii": 3, "clinical trial, phase iv": 3,
    "observational study": 3, "comparative study": 3, "multicenter study": 3, "validation study": 3,
    "evaluation study": 3, "twin study": 3,
    "case reports": 4,
    "review": 5, "editorial": 5, "comment": 5, "letter": 5, "practice guideline": 5, "guideline": 5,
    "consensus development conference": 5,
}
_MESH_RANK = {
    "meta-analysis as topic": None,  # "as topic": the article is about such studies, not one
    "random allocation": 2, "double-blind method": 2, "single-blind method": 2,
    "cohort studies": 3, "prospective studies": 3, "retrospective studies": 3, "follow-up studies": 3,
    "case-control studies": 3, "longitudinal studies": 3, "cross-sectional studies": 3,
    "controlled before-after studies": 3, "historically controlled study": 3,
}
_PDQ_TAG = re.compile(r"level\s+of\s+evidence\s*[:\[]?\s*\[?\s*([A-D][1-4]|[1-3]i{0,3}[A-D]?(?:i{1,3})?|I{1,3}V?|IV)\b",
                      re.IGNORECASE)
_TITLE_CUES = (
    (re.compile(r"\bmeta-?analys[ie]s\b|\bsystematic\s+review\b", re.I), 1),
    (re.compile(r"\brandomi[sz]ed\b.{0,40}\btrial\b|\bRCT\b", re.I), 2),
    (re.compile(r"\bcohort\b|\bprospective\b|\bretrospective\b|\bcase-control\b|\bobservational\b", re.I), 3),
    (re.compile(r"\bcase\s+(?:series|report)\b", re.I), 4),
)


@dataclass
class EvidenceLevel:
    """rank (1 best ... 5; 6 unknown), label (LEVELS wording), basis (publication_type | mesh |
    pdq_tag | ngc_grade | title | none) and the tag as the source writes it."""

    rank: int
    label: str
    basis: str
    tag: str | None = None


def _pdq_rank(tag: str) -> int | None:
    t = tag.strip().upper()
    if re.fullmatch(r"[A-D][1-4]", t):
        return {"A": 2, "B": 3, "C": 4, "D": 5}[t[0]]
    if re.fullmatch(r"IV|I{1,3}", t):
        return {"I": 2, "II": 3, "III": 4, "IV": 4}[t]
    if t[:1].isdigit():
        return {"1": 2, "2": 3, "3": 4}.get(t[0])
    return None


def pdq_level(text: str) -> EvidenceLevel | None:
    """Return the best PDQ "Level of evidence" tag stated in `text`, or None."""
    best: EvidenceLevel | None = None
    for m in _PDQ_TAG.finditer(text):
        rank = _pdq_rank(m.group(1))
        if rank is not None and (best is None or rank < best.rank):
            best = EvidenceLevel(rank, LEVELS[rank], "pdq_tag", f"Level of evidence {m.group(1)}")
    return best


def ngc_grade(text: str, grades: list[str] | None) -> str | None:
    """Return the first of the guideline's own grade labels (meta["grades"]) stated in `text`."""
    for grade in grades or []:
        if grade and re.search(r"(?<!\w)" + re.escape(grade) + r"(?!\w)", text):
            return grade
    return None


def evidence_level(meta: dict[str, Any] | None, title: str = "", text: str = "", tier: str = "research") -> EvidenceLevel:
    """Return the evidence level of a passage from its document meta, title and text."""
    meta = meta or {}
    ranks = [_PUBTYPE_RANK[p.lower()] for p in meta.get("publication_types") or [] if p and p.lower() in _PUBTYPE_RANK]
    if ranks:
        rank = min(ranks)
        tag = next(p for p in meta["publication_types"] if _PUBTYPE_RANK.get(p.lower()) == rank)
        return EvidenceLevel(rank, LEVELS[rank], "publication_type", tag)
    mesh_names = [(m.get("name") if isinstance(m, dict) else str(m)) or "" for m in meta.get("mesh") or []]
    mesh_ranks = [(r, n) for n in mesh_names if (r := _MESH_RANK.get(n.lower())) is not None]
    if mesh_ranks:
        rank, name = min(mesh_ranks)
        return EvidenceLevel(rank, LEVELS[rank], "mesh", name)
    pdq = pdq_level(text)
    if pdq is not None:
        return pdq
    if tier == "guideline":
        grade = ngc_grade(text, meta.get("grades"))
        if grade:
            return EvidenceLevel(UNKNOWN_RANK, "guideline grade", "ngc_grade", grade)
    for basis, source in (("title", title), ("text", text if tier == "research" else "")):
        for pattern, rank in _TITLE_CUES:
            m = pattern.search(source) if source else None
            if m:
                return EvidenceLevel(rank, LEVELS[rank], basis, m.group(0))
    return EvidenceLevel(UNKNOWN_RANK, "not stated", "none")
