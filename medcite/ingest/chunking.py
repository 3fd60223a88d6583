"""Split a document's sections into passages: at most `max_words` words, never across sections.

Paragraphs are kept whole when they fit; a long paragraph is cut at sentence boundaries; a
single over-long sentence is cut at the word limit. Small consecutive paragraphs of the same
section are packed together so that passages are not trivially short. A table (lines of cells
joined by " | ", as the readers write them) keeps one row a line, so that a dosing table stays
rows x cells after chunking and a row is never read as part of its neighbour.
"""

from __future__ import annotations

import re

from medcite.records import Document, Passage

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9(\[•-])")
_PARAGRAPHS = re.compile(r"\n\s*\n|\n(?=\s*(?:[-•*]|\d+(?:\.\d+)*\s))")


def split_sentences(text: str) -> list[str]:
    """Return the sentences of `text` (a light rule-based splitter; never returns empty strings)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _pieces(paragraph: str, max_words: int) -> list[str]:
    lines = [ln for ln in paragraph.split("\n") if ln.strip()]
    if len(lines) > 1 and 2 * sum(" | " in ln for ln in lines) >= len(lines):
        # a table: caption and rows, each its own piece (an over-long row is cut at the word limit)
        return [piece for ln in lines for piece in _pieces(ln, max_words)]
    words = paragraph.split()
    if len(words) <= max_words:
        return [" ".join(words)]
    out: list[str] = []
    current: list[str] = []
    for sentence in split_sentences(paragraph):
        swords = sentence.split()
        while len(swords) > max_words:  # one very long sentence (e.g. a flattened table)
            if current:
                out.append(" ".join(current))
                current = []
            out.append(" ".join(swords[:max_words]))
            swords = swords[max_words:]
        if len(current) + len(swords) > max_words and current:
            out.append(" ".join(current))
            current = []
        current.extend(swords)
    if current:
        out.append(" ".join(current))
    return out


def chunk_text(text: str, max_words: int) -> list[str]:
    """Return chunks of `text` of at most `max_words` words, packed paragraph by paragraph."""
    chunks: list[str] = []
    current: list[str] = []
    count = 0
    for paragraph in _PARAGRAPHS.split(text):
        for piece in _pieces(paragraph.strip(), max_words):
            n = len(piece.split())
            if not n:
                continue
            if count + n > max_words and current:
                chunks.append("\n".join(current))
                current, count = [], 0
            current.append(piece)
            count += n
    if current:
        chunks.append("\n".join(current))
    return chunks


def chunk_document(doc: Document, max_words: int = 180) -> list[Passage]:
    """Return the passages of `doc`; a document with no section text gets one passage of its title."""
    passages: list[Passage] = []
    for section in doc.sections:
        for chunk in chunk_text(section.text or "", max_words):
            passages.append(
                Passage(
                    passage_id=f"{doc.doc_id}#{len(passages)}",
                    doc_id=doc.doc_id,
                    ordinal=len(passages),
                    tier=doc.tier,
                    section=section.name,
                    section_code=section.code,
                    text=chunk,
                )
            )
    if not passages and doc.title:
        passages.append(Passage(f"{doc.doc_id}#0", doc.doc_id, 0, doc.tier, "Title", doc.title, None))
    return passages
