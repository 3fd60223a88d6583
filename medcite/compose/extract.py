"""Extractive composition: choose the sentences of retrieved passages worth quoting.

A candidate is a whole sentence of a passage (the source's own reference markers such as "[6]" or
"[21-23]" removed; "[Level of evidence C2]" kept). It is scored by the case's key terms it holds
(conditions and drugs weigh most) plus the passage's rank; a sentence must hold a condition or drug
term when the case has any, must read as a sentence (capital start, end punctuation, 40-500
characters, no table residue) and must not repeat one already chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medcite.analyze.label_text import sentence_spans, terms
from medcite.compose.queries import CaseQuery
from medcite.records import Hit

_SOURCE_REFS = re.compile(r"\s?\[\d+(?:\s*[-–,]\s*\d+)*\]")
_MD = re.compile(r"[*_`#]+")
MIN_CHARS, MAX_CHARS = 40, 500
# pointers to other parts of the source are not statements about the case
_XREF = re.compile(r"^(?:For more information|See\b|Refer to\b)|\bsee the\b.{0,80}\bsection\b", re.IGNORECASE)


@dataclass
class Candidate:
    """A quotable sentence: cleaned text, the hit it comes from, its score and position."""

    text: str
    hit: Hit
    score: float
    rank: int
    position: int


def clean_sentence(text: str) -> str:
    """Return a source sentence as quoted: one line, source reference markers and markdown removed."""
    out = re.sub(r"^\s*(?:[-•*]|\d+\.)\s+", "", text)  # a list bullet
    out = _SOURCE_REFS.sub("", out)
    out = _MD.sub("", out)
    out = re.sub(r"\s+([.,;:])", r"\1", out)
    return " ".join(out.split())


def _readable(text: str) -> bool:
    if not (MIN_CHARS <= len(text) <= MAX_CHARS):
        return False
    if not (text[0].isupper() or text[0].isdigit()) or text[-1] not in ".!?)":
        return False
    if "|" in text or re.search(r"\bet al\b.*\d{4}", text) or _XREF.search(text):
        return False
    letters = [c for c in text if c.isalpha()]
    # a heading or table row in capitals is not a sentence
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) < 0.5


def candidates(hits: list[Hit], cq: CaseQuery, require_core: bool = True) -> list[Candidate]:
    """Return the quotable sentences of `hits`, best first."""
    out: list[Candidate] = []
    for rank, hit in enumerate(hits):
        for pos, (s, e) in enumerate(sentence_spans(hit.text)):
            text = clean_sentence(hit.text[s:e])
            if not _readable(text):
                continue
            words = set(terms(text))
            if require_core and not cq.relevant(words):
                continue
            score = sum(cq.weights.get(w, 0.0) for w in words)
            if score <= 0:
                continue
            out.append(Candidate(text, hit, score + 2.0 / (1 + rank), rank, pos))
    out.sort(key=lambda c: (-c.score, c.rank, c.position))
    return out


def choose(cands: list[Candidate], limit: int, per_doc: int = 2, exclude: set[str] | None = None) -> list[Candidate]:
    """Return up to `limit` candidates, at most `per_doc` per document, no repeats."""
    seen = {_key(t) for t in (exclude or set())}
    per: dict[str, int] = {}
    chosen: list[Candidate] = []
    for c in cands:
        key = _key(c.text)
        if key in seen or per.get(c.hit.doc_id, 0) >= per_doc:
            continue
        seen.add(key)
        per[c.hit.doc_id] = per.get(c.hit.doc_id, 0) + 1
        chosen.append(c)
        if len(chosen) >= limit:
            break
    return chosen


def _key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))
