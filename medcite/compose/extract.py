"""Extractive composition: choose the quotable units of retrieved passages.

A unit is a whole sentence of a passage (`label_text.sentence_spans`: a line break always ends
one) or a list item, quoted with the source's reference markers such as "[6]" or "[21-23]" removed
("[Level of evidence C2]" kept). A list item carries its context: the lead-in line it completes
("... have shown biological or palliative activity, including:") or the heading it stands under
("Tumour Control"). A unit must read as a statement (a verb, or "heading: value"; a list item with
a lead-in is read together with it), be 20-500 characters, not be a table row or a pointer
elsewhere ("see the ... section"), and be about the question (`CaseQuery.score` > 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medcite.analyze.label_text import sentence_spans, terms
from medcite.analyze.statements import VerbLexicon, is_statement, statement_key
from medcite.compose.queries import CaseQuery
from medcite.records import Hit

_SOURCE_REFS = re.compile(r"\s?\[\d+(?:\s*[-–,]\s*\d+)*\]")
_MD = re.compile(r"[*_`#]+")
_BULLET = re.compile(r"^\s*(?:[-•*]|\d+\.)\s+")
MIN_CHARS, MAX_CHARS = 20, 500
HEADING_MAX = 90
HEADING_WORDS = 8
# a footnote number glued to the last word of a line ("every 10–14 days1")
_FOOTNOTE = re.compile(r"(?<=[a-z]{3})\d{1,2}$")
# pointers to other parts of the source are not statements about the case
_XREF = re.compile(r"^(?:For more information|See\b|Refer to\b)|\bsee the\b.{0,80}\bsection\b", re.IGNORECASE)


@dataclass
class Candidate:
    """A quotable unit: cleaned text, the hit it comes from, its score and position, and the
    heading or lead-in it stands under (list items)."""

    text: str
    hit: Hit
    score: float
    rank: int
    position: int
    context: str | None = None
    words: frozenset[str] = frozenset()
    where: frozenset[str] = frozenset()  # the words of its document's title and section


def clean_sentence(text: str) -> str:
    """Return a source sentence as quoted: one line, source reference markers and markdown removed."""
    out = _BULLET.sub("", text)  # a list bullet
    out = _SOURCE_REFS.sub("", out)
    out = _MD.sub("", out)
    out = re.sub(r"\s+([.,;:])", r"\1", out)
    out = _FOOTNOTE.sub("", out.rstrip())
    return " ".join(out.split())


def _readable(text: str, item: bool) -> bool:
    if not (MIN_CHARS <= len(text) <= MAX_CHARS):
        return False
    if not (text[0].isupper() or text[0].isdigit()):
        return False
    if not item and text[-1] not in ".!?)":
        return False
    if "|" in text or re.search(r"\bet al\b.*\d{4}", text) or _XREF.search(text):
        return False
    letters = [c for c in text if c.isalpha()]
    # a heading or table row in capitals is not a sentence
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) < 0.5


def _is_heading(text: str, in_list: bool) -> bool:
    """Return True for a heading line: short, no sentence or list punctuation, no number; under a
    lead-in ("... including:") only a title-cased line is a heading, others are its items."""
    if len(text) > HEADING_MAX or text[-1] in ".!?;:)" or ":" in text or re.search(r"\d", text):
        return False
    words = text.split()
    if len(words) > HEADING_WORDS:
        return False
    title_case = all(w[0].isupper() for w in words if len(w) > 3)
    return title_case or not in_list


def units(text: str) -> list[tuple[str, str | None, bool, int]]:
    """Return (unit text, context, is a list item, position) for the units of a passage, in order."""
    out: list[tuple[str, str | None, bool, int]] = []
    heading: str | None = None
    lead: str | None = None
    for pos, (s, e) in enumerate(sentence_spans(text)):
        line_start = text.rfind("\n", 0, s) + 1
        item = bool(_BULLET.match(text[line_start : e])) and not text[line_start:s].strip(" \t-•*0123456789.")
        cleaned = clean_sentence(text[s:e])
        if not cleaned:
            continue
        if cleaned.endswith(":"):
            lead = cleaned
            continue
        if _is_heading(cleaned, lead is not None):
            heading, lead = cleaned, None  # a heading line (a bullet in NGC summaries, too)
            continue
        if not item:
            lead = None
        out.append((cleaned, (lead if item and lead else heading if item else None), item, pos))
    return out


def candidates(hits: list[Hit], cq: CaseQuery, verbs: VerbLexicon | None = None, require_core: bool = True,
               boilerplate: frozenset[str] = frozenset()) -> list[Candidate]:
    """Return the quotable units of `hits` that are about the question, best first (a sentence
    written alike in many documents, `boilerplate`, is about none of them)."""
    out: list[Candidate] = []
    for rank, hit in enumerate(hits):
        for text, context, item, pos in units(hit.text):
            if not _readable(text, item) or statement_key(text) in boilerplate:
                continue
            lead = context if item and context and context.endswith(":") else None
            if not is_statement(f"{lead} {text}" if lead else text, verbs):
                continue
            # a list item is about what its heading or lead-in names, too
            words = frozenset(terms(f"{context} {text}" if item and context else text))
            score = cq.score(set(words)) if require_core else sum(cq.weights.get(w, 0.0) for w in words) + 0.1
            if score <= 0:
                continue
            where = frozenset(terms(f"{hit.title} {hit.section}"))
            out.append(Candidate(text, hit, score + 2.0 / (1 + rank), rank, pos, context, words, where))
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
