"""Retrieval queries and key terms built from the facts of a case.

One query per tier: the case's conditions (long forms of their abbreviations), their qualifiers and
sites, and the generic names of its drugs, then the tier's own angle (treatment for guidelines,
dosage and safety for labels, outcomes for research). A question with no drug or condition found
is searched as written. The key terms (stemmed) decide which sentences of the retrieved passages
are worth quoting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from medcite.analyze.label_text import terms
from medcite.records import CaseFacts

_TIER_WORDS = {
    "guideline": "treatment recommendation",
    "label": "indication dosage warnings adverse reactions",
    "research": "",
}


@dataclass
class CaseQuery:
    """Tier queries and weighted key terms of one case."""

    queries: dict[str, str]
    weights: dict[str, float] = field(default_factory=dict)  # stemmed term -> weight
    core: set[str] = field(default_factory=set)  # condition and drug terms
    groups: list[set[str]] = field(default_factory=list)  # each condition's / drug's words
    # per group, the word it cannot do without: a condition's rarest word in the corpus
    # ("neuroendocrine" of "pancreatic neuroendocrine tumor"); None for drugs
    required: list[str | None] = field(default_factory=list)

    def relevant(self, words: set[str]) -> bool:
        """Return True when `words` name a drug of the case or most of a condition (60% of its
        words, at least two, or its only word) including its rarest word: "tumor" alone is not
        about a pancreatic neuroendocrine tumor, nor is "pancreatic tumors" (a pancreatic
        adenocarcinoma abstract), and "breast cancer" alone is not about HER2-positive breast cancer."""
        if not self.groups:
            return True
        required = self.required or [None] * len(self.groups)
        return any(
            len(g & words) >= max(min(2, len(g)), math.ceil(0.6 * len(g))) and (need is None or need in words)
            for g, need in zip(self.groups, required)
        )


def build_queries(question: str, facts: CaseFacts, doc_freq: Callable[[str], int] | None = None) -> CaseQuery:
    """Return the per-tier queries and key terms for `question` and its facts.

    doc_freq(term) -> number of passages holding the term (the BM25 index's); with it, each
    condition's rarest word becomes required for a passage to count as about that condition."""
    conditions: list[str] = []
    qualifiers: list[str] = []
    for c in facts.conditions:
        if c.negated:
            continue
        conditions.append(c.name)
        if c.abbreviation and c.abbreviation in facts.abbreviations and facts.abbreviations[c.abbreviation] not in c.name:
            conditions.append(facts.abbreviations[c.abbreviation])
        for value in (c.functional, c.resection, c.extent, c.differentiation):
            if value:
                qualifiers.append(value)
        qualifiers += list(c.sites)
    drugs = list(dict.fromkeys(d.generic for d in facts.drugs if not d.negated and d.role != "diagnostic"))

    weights: dict[str, float] = {}
    for text, w in [(" ".join(conditions), 2.0), (" ".join(drugs), 2.0), (" ".join(qualifiers), 1.0)]:
        for t in terms(text):
            weights[t] = max(weights.get(t, 0.0), w)
    for t in terms(question):
        weights.setdefault(t, 0.5)
    core = {t for t in terms(" ".join(conditions + drugs))}
    # a condition is recognised by its own words, not by qualifiers many conditions share
    qualifier_words = set(terms(" ".join(qualifiers)))
    condition_groups = [g for g in (set(terms(c)) - qualifier_words or set(terms(c)) for c in conditions) if g]
    drug_groups = [g for g in (set(terms(d)) for d in drugs) if g]
    groups = condition_groups + drug_groups
    required: list[str | None] = [None] * len(groups)
    if doc_freq is not None:
        for i, g in enumerate(condition_groups):
            if len(g) > 1:
                required[i] = min(sorted(g), key=doc_freq)

    if conditions or drugs:
        base = " ".join(dict.fromkeys(conditions + drugs + qualifiers))
        # the case's own words keep what the facts did not capture (a question's topic)
        base = f"{base} {question}"
    else:
        base = question
    queries = {tier: (f"{base} {extra}".strip() if extra else base) for tier, extra in _TIER_WORDS.items()}
    return CaseQuery(queries, weights, core, groups, required)
