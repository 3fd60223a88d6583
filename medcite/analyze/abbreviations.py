"""Abbreviation definitions mined from the corpus (Schwartz & Hearst 2003) and the table built from them.

`find_pairs` implements the published algorithm ("A simple algorithm for identifying abbreviation
definitions in biomedical text", PSB 2003): for every parenthesis, the short-form candidate is
the text inside it and the long-form candidate the text before it, back to the previous ". " or
", "; the long form is found by matching the short form's letters and digits right to left, the
first one at the start of a word. The "SF (long form)" variant is tried when the text in the
parenthesis has more than two words or is longer than the text before it, as in the paper.

`extract_pairs` returns the pairs normalised the way the store keeps them: the short form keeps its
case ("pNET" and "PNET" stay apart) but loses a plural "s" ("NETs" -> "NET", the long form's last
word made singular with it); the long form is lower case with whitespace collapsed.

The expansions come only from the corpus (the ingest driver stores the pairs of each document;
`AbbreviationTable` is built from the per-document counts), never from a hand-written list.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import NamedTuple

MAX_SHORT = 10  # the paper's limit on letters and digits in a short form


class AbbreviationPair(NamedTuple):
    """One definition as written: short form, long form and their character offsets in the text."""

    short: str
    long: str
    short_start: int
    short_end: int
    long_start: int
    long_end: int


# A sentence or clause boundary limits the long-form candidate (the paper uses ". " and ", ").
_BOUNDARY = re.compile(r"[.,;:!?](?=\s)|\n\s*\n")


def _best_long_form(short: str, long: str) -> int | None:
    """Return the index in `long` where the long form starts, or None (paper's findBestLongForm)."""
    s = len(short) - 1
    i = len(long) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        # The first character of the short form must also start a word of the long form.
        while (i >= 0 and long[i].lower() != c) or (s == 0 and i > 0 and long[i - 1].isalnum()):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    return long.rfind(" ", 0, i + 1) + 1


def _valid_short(short: str) -> bool:
    """The paper's test: a letter somewhere, first character a letter or digit; 2..MAX_SHORT long."""
    core = sum(ch.isalnum() for ch in short)
    return (
        2 <= len(short)
        and core <= MAX_SHORT
        and any(ch.isalpha() for ch in short)
        and short[0].isalnum()
        and len(short.split()) <= 2
    )


def _accept(short: str, long: str) -> bool:
    """The paper's filters on a matched pair (length and word-count limits)."""
    words = len([w for w in re.split(r"[\s\-]+", long) if w])
    core = sum(ch.isalnum() for ch in short)
    return not (
        len(long) < len(short)
        or (short + " ") in long
        or long.endswith(short)
        or words > core * 2
        or words > core + 5
        or core > MAX_SHORT
    )


def _match(text: str, sf_start: int, sf_end: int, lf_start: int, lf_end: int) -> AbbreviationPair | None:
    short = text[sf_start:sf_end]
    long = text[lf_start:lf_end]
    if not _valid_short(short) or not long.strip():
        return None
    rel = _best_long_form(short, long)
    if rel is None:
        return None
    best = long[rel:]
    if not _accept(short, best):
        return None
    return AbbreviationPair(short, best, sf_start, sf_end, lf_start + rel, lf_end)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _after_open_bracket(text: str, start: int, end: int) -> int:
    """Return the position after the last unclosed "(" or "[" in text[start:end], else start.

    Keeps "(odds ratio (OR) 1.2" from giving the long form "(odds ratio"; a closed "(GEP)" inside
    the candidate stays, so "gastroenteropancreatic (GEP) neuroendocrine tumours (NETs)" works."""
    depth = 0
    for j in range(end - 1, start - 1, -1):
        ch = text[j]
        if ch in ")]":
            depth += 1
        elif ch in "([":
            if depth == 0:
                return j + 1
            depth -= 1
    return start


def find_pairs(text: str) -> list[AbbreviationPair]:
    """Return every "long form (SF)" (and "SF (long form)") definition in `text`, with offsets."""
    pairs: list[AbbreviationPair] = []
    pos = 0
    while True:
        open_i = text.find("(", pos)
        if open_i < 0:
            break
        pos = open_i + 1
        # The paper looks at " (": a parenthesis glued to a word ("IL(6)") is not a definition.
        if open_i == 0 or not text[open_i - 1].isspace():
            continue
        # Find the matching close parenthesis, allowing one level of nesting inside the short form.
        depth, close_i = 0, -1
        for j in range(open_i + 1, min(len(text), open_i + 200)):
            ch = text[j]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    close_i = j
                    break
                depth -= 1
            elif ch == "\n" and text[j + 1 : j + 2] == "\n":
                break
        if close_i < 0:
            continue
        sf_start, sf_end = _strip(text, open_i + 1, close_i)
        inner = text[sf_start:sf_end]
        # "(OR 1.2, 95% CI ...)" keeps only the part before ", " or "; " (as in the paper).
        for sep in (", ", "; "):
            k = inner.find(sep)
            if k >= 0:
                sf_end = sf_start + k
                inner = text[sf_start:sf_end]
        # Long-form candidate: back to the previous sentence / clause boundary.
        boundary = 0
        for m in _BOUNDARY.finditer(text, max(0, open_i - 400), open_i):
            boundary = m.end()
        boundary = _after_open_bracket(text, boundary, open_i)
        lf_start, lf_end = _strip(text, boundary, open_i)
        if lf_start >= lf_end:
            continue
        if len(inner.split()) > 2 or len(inner) > lf_end - lf_start:
            # "SF (long form)": the short form is the word just before the parenthesis.
            w_start = text.rfind(" ", lf_start, lf_end) + 1 if " " in text[lf_start:lf_end] else lf_start
            w_start = max(w_start, lf_start)
            short = text[w_start:lf_end]
            if not any(ch.isupper() for ch in short):
                continue
            pair = _match(text, w_start, lf_end, sf_start, sf_end)
        else:
            pair = _match(text, sf_start, sf_end, lf_start, lf_end)
        if pair is not None:
            pairs.append(pair)
            pos = close_i + 1
    return pairs


# Unicode hyphens and minus signs ("end−stage") are written as "-".
_DASHES = re.compile("[\u2010-\u2013\u2212]")
_PLURAL_SF = re.compile(r"^(.*[A-Z0-9])s$")


def singular(word: str) -> str:
    """Return the singular of the last word of a long form, conservatively ("tumours" -> "tumour");
    irregular plurals ("species", "therapies", "indices") are left alone, and so is their pair."""
    if word.endswith(("ss", "us", "is", "ies", "ces")) or not word.endswith("s"):
        return word
    return word[:-1]


def normalize_long(long: str) -> str:
    """Return a long form as stored: lower case, whitespace collapsed."""
    return " ".join(_DASHES.sub("-", long).lower().split())


def normalize_pair(short: str, long: str) -> tuple[str, str]:
    """Return (short, long) as stored: plural short forms ("NETs") folded to the singular together
    with the long form's last word; long form lower-cased and whitespace-collapsed."""
    long = normalize_long(long)
    m = _PLURAL_SF.match(short)
    if m and long.endswith("s"):
        head, _, last = long.rpartition(" ")
        singular_last = singular(last)
        if singular_last != last:
            short = m.group(1)
            long = (head + " " + singular_last) if head else singular_last
    return short, long


def extract_pairs(text: str) -> list[tuple[str, str]]:
    """Return the distinct normalised (short, long) definitions found in `text`, in text order."""
    seen: dict[tuple[str, str], None] = {}
    for p in find_pairs(text):
        seen.setdefault(normalize_pair(p.short, p.long), None)
    # One text writing both "... tumor (NET)" and "... tumors (NET)" defines one pair, not two.
    return [(s, l) for s, l in seen if not (l.endswith("s") and (s, l[:-1]) in seen)]


def mine_abbreviations(texts: Iterable[str], min_count: int = 1) -> list[tuple[str, str, int]]:
    """Return (short, long, count) rows, count = number of texts defining the pair, sorted by
    short form then most frequent first. The ingest driver stores them per document instead."""
    counts: Counter[tuple[str, str]] = Counter()
    for text in texts:
        counts.update(set(extract_pairs(text)))
    rows = [(s, l, n) for (s, l), n in counts.items() if n >= min_count]
    rows.sort(key=lambda r: (r[0], -r[2], r[1]))
    return rows


class AbbreviationTable:
    """Short form -> long forms, most frequent first, from corpus-mined (short, long, count) rows.

    Long forms of one short form that differ only by a final plural "s" ("... tumors" and
    "... tumor") are merged into the singular one, which the corpus also uses.
    """

    def __init__(self, rows: Iterable[tuple[str, str, int]], min_count: int = 1):
        merged: dict[str, Counter[str]] = defaultdict(Counter)
        for short, long, count in rows:
            short, long = normalize_pair(short, long)
            merged[short][long] += int(count)
        self._table: dict[str, list[tuple[str, int]]] = {}
        for short, longs in merged.items():
            for long in list(longs):
                single = long[:-1] if long.endswith("s") else None
                if single and single in longs:
                    longs[single] += longs.pop(long)
            kept = sorted(((l, n) for l, n in longs.items() if n >= min_count), key=lambda x: (-x[1], x[0]))
            if kept:
                self._table[short] = kept

    @classmethod
    def build_from_texts(cls, texts: Iterable[str], min_count: int = 2) -> AbbreviationTable:
        """Return a table mined from `texts`, keeping pairs defined in at least `min_count` texts."""
        return cls(mine_abbreviations(texts), min_count=min_count)

    def expand(self, short: str) -> list[str]:
        """Return the long forms of `short` (case kept; a plural "NETs" is looked up as "NET"),
        most frequent first; [] if the corpus never defines it."""
        hit = self._table.get(short)
        if hit is None:
            m = _PLURAL_SF.match(short)
            hit = self._table.get(m.group(1)) if m else None
        return [l for l, _ in hit] if hit else []

    def counts(self, short: str) -> list[tuple[str, int]]:
        """Return (long form, count) for `short`, most frequent first."""
        return list(self._table.get(short, []))

    def rows(self) -> list[tuple[str, str, int]]:
        """Return the table as (short, long, count) rows, as the store persists it."""
        return [(s, l, n) for s in sorted(self._table) for l, n in self._table[s]]

    def __contains__(self, short: object) -> bool:
        return short in self._table

    def __len__(self) -> int:
        return len(self._table)
