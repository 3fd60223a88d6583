"""Numbered citations: every passage an answer cites gets one number; the reference list is built
from the passages actually retrieved (search hits, or label passages read by the label check).

Numbers are handed out as passages are cited and renumbered at the end in order of first
appearance in the answer (bottom line, tiers, label checks), so the reference list reads 1, 2, 3
from the top. A number is never given to a passage that was not retrieved.
"""

from __future__ import annotations

from collections.abc import Iterable

from medcite.records import Answer, Citation, Hit, LabelCheck


class CitationRegistry:
    """Passage id -> citation number, plus the returned passages' text for verification.

    A passage may be cited only once retrieval returned it (`add_hits`) or the label check read it
    (`cite_read`, the `cite` the label check is given): `cite` never pulls a passage from the store,
    so "cites a retrieved passage" is a test a sentence can fail."""

    def __init__(self, store):
        self.store = store
        self._numbers: dict[str, int] = {}
        self._hits: dict[str, Hit] = {}

    def add_hits(self, hits: Iterable[Hit]) -> None:
        """Record passages as returned by retrieval (they may be cited)."""
        for h in hits:
            self._hits.setdefault(h.passage_id, h)

    def cite_read(self, passage_ids: Iterable[str]) -> list[int]:
        """Return the citation numbers of passages the label check read (recorded as returned by it)."""
        ids = list(dict.fromkeys(passage_ids))
        missing = [p for p in ids if p not in self._hits]
        if missing:
            self.add_hits(self.store.get_hits(missing))
        return self.cite(ids)

    def cite(self, passage_ids: Iterable[str]) -> list[int]:
        """Return the citation numbers of `passage_ids`; a passage that was not returned by
        retrieval or the label check gets no number."""
        out: list[int] = []
        for pid in dict.fromkeys(passage_ids):
            if pid not in self._hits:
                continue
            if pid not in self._numbers:
                self._numbers[pid] = len(self._numbers) + 1
            out.append(self._numbers[pid])
        return out

    def retrieved_texts(self) -> dict[str, str]:
        """Return {passage id: text} of every retrieved passage."""
        return {pid: h.text for pid, h in self._hits.items()}

    def hit(self, passage_id: str) -> Hit | None:
        """Return the retrieved passage `passage_id`, or None."""
        return self._hits.get(passage_id)

    def references(self) -> list[Citation]:
        """Return the reference list in citation-number order."""
        out: list[Citation] = []
        for pid, n in sorted(self._numbers.items(), key=lambda kv: kv[1]):
            h = self._hits[pid]
            out.append(Citation(n=n, passage_id=pid, doc_id=h.doc_id, tier=h.tier, source_id=h.source_id, title=h.title,
                                section=h.section, url=h.url, date=h.date, source_kind=h.source_kind))
        return out


def _check_lists(check: LabelCheck) -> list[list[int]]:
    return [check.indication.citations, check.dose.citations, check.frequency.citations, check.route.citations] + [
        a.citations for a in check.alerts
    ]


def renumber(answer: Answer) -> None:
    """Renumber the citations of `answer` in place by first appearance (bottom line, sections,
    label checks, effect sizes) and drop references nothing cites any more."""
    order: dict[int, int] = {}

    def visit(numbers: list[int]) -> None:
        for n in numbers:
            order.setdefault(n, len(order) + 1)

    lists: list[list[int]] = [s.citations for s in answer.bottom_line]
    for sec in answer.sections:
        lists += [s.citations for s in sec.sentences]
    for check in answer.label_checks:
        lists += _check_lists(check)
    lists += [e.setdefault("citations", []) for e in answer.effect_sizes]
    for numbers in lists:
        visit(numbers)
    for numbers in lists:
        numbers[:] = list(dict.fromkeys(order[n] for n in numbers if n in order))
    refs = []
    for c in answer.references:
        if c.n in order:
            c.n = order[c.n]
            refs.append(c)
    refs.sort(key=lambda c: c.n)
    answer.references = refs
