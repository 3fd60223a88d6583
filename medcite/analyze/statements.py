"""Which quoted lines are statements: a sentence states something only if it has a verb.

"Targeted therapy with everolimus or sunitinib for patients with incurable ... tumours (NETs)" is a
list item of interventions, not a claim; "Somatostatin analogues." alone is a list item. No tagger
is loaded for this (a POS model would cost more start-up time than the whole answer): a sentence
has a verb when it holds
- an auxiliary, modal or copula ("is", "may", "has", "should": English grammar's closed class), or
- a word of the corpus's verb lexicon in a verb form: a base form ("Consider ...", "patients who
  use ..."), or one with -s / -es / -ed / -d ("exercise promotes", "colitis resolved") that is not
  the first word ("Targeted therapy ..." starts with an adjective), or
- a "heading: value" pair ("Lanreotide dosing for tumour control: 120 mg SC injection every 28
  days"), which states the value of its heading.

The verb lexicon is mined from the corpus (labels and guidelines), not written by hand: a word is
a verb when it follows a modal, "to" or "not" ("should avoid", "to consider", "may cause") in at
least a tenth of its occurrences and at least `MIN_AFTER_MODAL` times. "therapy" and "patients"
follow "to" now and then, but rarely compared with how often they occur.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

MIN_AFTER_MODAL = 3
MIN_SHARE = 0.1
_AFTER_MODAL = re.compile(
    r"\b(?:should|may|must|can|cannot|will|would|could|might|shall|to|not|do|does|did)\s+(?:not\s+)?([a-z]{3,})\b"
)
_WORD = re.compile(r"[a-z]{3,}")
_AUX = re.compile(
    r"\b(?:is|are|was|were|be|been|being|am|has|have|had|having|do|does|did|can|could|may|might|must|shall|should|will|"
    r"would|cannot|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|won't|can't|hasn't|haven't|shouldn't)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# "Octreotide LAR dosing for tumour control: 30 mg IM every 4 weeks": a heading and its value
_KEY_VALUE = re.compile(r"^[^:]{3,120}:\s+\S.*\d")


@dataclass
class VerbLexicon:
    """Base forms of the corpus's verbs (lower case)."""

    bases: frozenset[str] = field(default_factory=frozenset)

    def is_verb_form(self, word: str, first: bool) -> bool:
        """Return True when `word` is a verb of the lexicon: its base form anywhere, an inflected
        form (-s, -es, -ed, -d) anywhere but at the start of the sentence."""
        w = word.lower()
        if w in self.bases:
            return True
        if first:
            return False
        for suffix in ("es", "s", "ed", "d"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                stem = w[: -len(suffix)]
                if stem in self.bases or (suffix == "ed" and stem[-1:] == stem[-2:-1] and stem[:-1] in self.bases):
                    return True
                if suffix in ("es", "ed") and stem.endswith("i") and stem[:-1] + "y" in self.bases:
                    return True  # "applies", "applied"
        return False


def mine_verbs(store, tiers: tuple[str, ...] = ("label", "guideline")) -> VerbLexicon:
    """Return the verb lexicon mined from the passages of `tiers` (see the module docstring)."""
    after: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for _, text in store.passage_texts(tiers):
        low = text.lower()
        after.update(_AFTER_MODAL.findall(low))
        total.update(_WORD.findall(low))
    bases = {w for w, n in after.items() if n >= MIN_AFTER_MODAL and n >= MIN_SHARE * total[w]}
    return VerbLexicon(frozenset(bases))


def is_statement(text: str, verbs: VerbLexicon | None) -> bool:
    """Return True when `text` states something: it has a verb, or it is a "heading: value" line."""
    if _AUX.search(text) or _KEY_VALUE.match(text):
        return True
    if verbs is None:
        return False
    return any(verbs.is_verb_form(m.group(0), i == 0) for i, m in enumerate(_TOKEN.finditer(text)))


# ---------------------------------------------------------------- boilerplate

BOILERPLATE_DOCS = 5  # a sentence written alike in this many documents says nothing about any one of them
BOILERPLATE_MIN_CHARS = 40


def statement_key(text: str) -> str:
    """Return the key two sentences share when they are written alike (letters and digits, lower case)."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def mine_boilerplate(store, tiers: tuple[str, ...] = ("label", "guideline")) -> frozenset[str]:
    """Return the keys of the sentences written alike in at least BOILERPLATE_DOCS documents of
    `tiers` ("Because clinical trials are conducted under widely varying conditions, ...", "The
    original guideline document includes ...")."""
    from medcite.analyze.label_text import sentence_spans

    docs: dict[str, set[str]] = {}
    for doc_id, text in store.passage_texts(tiers):
        for s, e in sentence_spans(text):
            if e - s >= BOILERPLATE_MIN_CHARS:
                docs.setdefault(statement_key(text[s:e]), set()).add(doc_id)
    return frozenset(k for k, d in docs.items() if len(d) >= BOILERPLATE_DOCS)
