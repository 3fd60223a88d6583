"""Retrieval queries and the topic test built from a question's subjects and intent.

One query per tier: the subjects (drug generics and the names as written, class names, conditions
with the long forms of their abbreviations, tests, procedures), the intent's words ("adverse
reactions side effects") and the question as written. A question with no subject found is
searched as written, and its rarest content words become its topic.

The topic test decides which sentences of the retrieved passages are about the question:
- `relevant(words)`: the sentence names a subject: a drug by its generic, its name as written or a
  class the corpus gives it; most of a condition's words including its rarest one in the corpus
  ("neuroendocrine" of "pancreatic neuroendocrine tumor"); a test's or procedure's rarest word;
- `answers(words)`: relevant, and it holds a word of the intent ("adverse", "contraindicated") or
  one of the question's own focus words (its content words besides the subject: "contagious").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from medcite.analyze.label_text import terms
from medcite.compose.intents import answer_words, query_words
from medcite.records import CaseFacts, Intent, SubjectKind, Understanding

# Conversational words of patient questions: they say nothing of the topic.
_CHATTER = frozenset(terms(
    "i me my you your can could would should will take taking took use using get getting got tell know think want "
    "need make feel thing things something anything good bad normal okay ok doctor medicine medication drug pill "
    "also just really like way much many long day days time times help people someone still even well sure"
))
TOPIC_WORDS = 2  # a question with no subject: its rarest content words are its topic
TOPIC_MAX_SHARE = 0.05  # ... if no more than this share of passages hold them


@dataclass
class CaseQuery:
    """Tier queries and the topic test of one question or case."""

    queries: dict[str, str]
    weights: dict[str, float] = field(default_factory=dict)  # stemmed term -> weight
    core: set[str] = field(default_factory=set)  # subject terms
    groups: list[set[str]] = field(default_factory=list)  # each subject's words (or a name of it)
    # per group, the word it cannot do without: a condition's rarest word in the corpus; None for drugs
    required: list[str | None] = field(default_factory=list)
    focus: set[str] = field(default_factory=set)  # the question's words besides its subjects
    intent_words: frozenset[str] = frozenset()
    intent: Intent | None = None
    n_conditions: int = 0  # groups[:n_conditions] are conditions, tests, procedures; the rest name drugs
    unknown: list[str] = field(default_factory=list)  # names the question asks about that no passage holds
    avoid: set[str] = field(default_factory=set)  # the drugs the question rules out ("pain relief that isn't ibuprofen")

    def _any(self, groups: list[set[str]], required: list[str | None], words: set[str]) -> bool:
        return any(
            len(g & words) >= max(min(2, len(g)), math.ceil(0.6 * len(g))) and (need is None or need in words)
            for g, need in zip(groups, required)
        )

    def condition_words(self) -> set[str]:
        """Return the words of the question's conditions, tests and procedures."""
        return set().union(*self.groups[: self.n_conditions]) if self.n_conditions else set()

    def about_condition(self, words: set[str]) -> bool:
        """Return True when `words` name a condition, test or procedure of the question."""
        n = self.n_conditions
        return self._any(self.groups[:n], (self.required or [None] * len(self.groups))[:n], words)

    def about_drug(self, words: set[str]) -> bool:
        """Return True when `words` name a drug of the question (or a name the corpus gives it)."""
        n = self.n_conditions
        return self._any(self.groups[n:], (self.required or [None] * len(self.groups))[n:], words)

    def relevant(self, words: set[str]) -> bool:
        """Return True when `words` name a subject: a drug name, or most of a condition (60% of its
        words, at least two, or its only word) including its rarest word: "tumor" alone is not
        about a pancreatic neuroendocrine tumor, nor is "pancreatic tumors" (a pancreatic
        adenocarcinoma abstract), and "breast cancer" alone is not about HER2-positive breast cancer."""
        if not self.groups:
            return True
        return self._any(self.groups, self.required or [None] * len(self.groups), words)

    def answers(self, words: set[str]) -> bool:
        """Return True when `words` are about a subject and say something the question asks."""
        return self.relevant(words) and bool(words & (self.focus | self.intent_words)) and not words & self.avoid

    def score(self, words: set[str]) -> float:
        """Return how much a sentence with `words` is worth quoting (0 when off topic)."""
        if not self.relevant(words):
            return 0.0
        base = sum(self.weights.get(w, 0.0) for w in words)
        return base + 2.0 * bool(words & self.intent_words) + 1.5 * len(words & self.focus)


def _subject_texts(u: Understanding | None, facts: CaseFacts) -> tuple[list[str], list[str], list[str]]:
    """Return (conditions, drug names, other subjects: classes, tests, procedures) of the question."""
    conditions: list[str] = []
    for c in facts.conditions:
        if c.negated:
            continue
        conditions.append(c.name)
        if c.abbreviation and c.abbreviation in facts.abbreviations and facts.abbreviations[c.abbreviation] not in c.name:
            conditions.append(facts.abbreviations[c.abbreviation])
    if u is None:
        drugs = [d.generic for d in facts.drugs if not d.negated and d.role != "diagnostic"]
        return conditions, list(dict.fromkeys(drugs)), []
    # conditions found as everyday words the labels gloss ("low thyroid" -> hypothyroidism)
    conditions += [s.name for s in u.of_kind(SubjectKind.CONDITION) if s.name not in conditions and s.start >= 0
                   and not any(c.start == s.start for c in facts.conditions)]
    drugs = [s.name for s in u.of_kind(SubjectKind.DRUG)]
    others = [s.name for s in u.of_kind(SubjectKind.DRUG_CLASS, SubjectKind.TEST, SubjectKind.PROCEDURE)]
    return conditions, list(dict.fromkeys(drugs)), list(dict.fromkeys(others))


def _qualifiers(facts: CaseFacts) -> list[str]:
    out: list[str] = []
    for c in facts.conditions:
        if not c.negated:
            out += [v for v in (c.functional, c.resection, c.extent, c.differentiation) if v] + list(c.sites)
    return out


_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][a-z]{3,}\b")


def unknown_names(question: str, doc_freq: Callable[[str], int] | None) -> list[str]:
    """Return the capitalised words of the question (not opening a sentence) that no passage of the
    index holds and that are not everyday English ("Dramamine"): names the index knows nothing of."""
    if doc_freq is None:
        return []
    from medcite.analyze.drug_lexicon import common_english_words

    common = common_english_words()
    out = []
    for m in _NAME.finditer(question):
        word = m.group(0)
        stems = terms(word)
        if word.lower() not in common and stems and all(doc_freq(t) == 0 for t in stems):
            out.append(word)
    return list(dict.fromkeys(out))


def _topic_words(question: str, doc_freq: Callable[[str], int] | None, passages: int) -> list[str]:
    """Return the question's rarest content words (at most TOPIC_WORDS, each rare in the corpus)."""
    words = [w for w in dict.fromkeys(terms(question)) if w not in _CHATTER and not w.isdigit()]
    if doc_freq is None or not words:
        return []
    ranked = sorted(words, key=lambda w: (doc_freq(w), w))
    limit = max(1, int(TOPIC_MAX_SHARE * passages)) if passages else None
    return [w for w in ranked[:TOPIC_WORDS] if doc_freq(w) > 0 and (limit is None or doc_freq(w) <= limit)]


def build_queries(question: str, facts: CaseFacts, doc_freq: Callable[[str], int] | None = None,
                  understanding: Understanding | None = None, aliases: Iterable[str] = (),
                  passages: int = 0) -> CaseQuery:
    """Return the per-tier queries and the topic test for `question`.

    doc_freq(term) -> number of passages holding the term (the BM25 index's); with it, each
    condition's rarest word becomes required for a passage to count as about that condition, and a
    question with no subject gets its rarest words as topic. `aliases`: other names of the subject
    drugs (their names as written, the classes the corpus gives them)."""
    conditions, drugs, others = _subject_texts(understanding, facts)
    qualifiers = _qualifiers(facts)
    written = [d.text for d in facts.drugs if not d.negated and d.role != "diagnostic"]
    names = list(dict.fromkeys(drugs + written + list(aliases)))
    weights: dict[str, float] = {}
    for text, w in [(" ".join(conditions + others), 2.0), (" ".join(names), 2.0), (" ".join(qualifiers), 1.0)]:
        for t in terms(text):
            weights[t] = max(weights.get(t, 0.0), w)
    for t in terms(question):
        weights.setdefault(t, 0.5)
    qualifier_words = set(terms(" ".join(qualifiers)))
    # a condition is recognised by its own words, not by qualifiers many conditions share
    cond_groups = [g for g in (set(terms(c)) - qualifier_words or set(terms(c)) for c in conditions + others) if g]
    name_groups = [g for g in (set(terms(n)) for n in names) if g]
    required: list[str | None] = [None] * (len(cond_groups) + len(name_groups))
    if doc_freq is not None:
        for i, g in enumerate(cond_groups):
            if len(g) > 1:
                required[i] = min(sorted(g), key=doc_freq)
    groups = cond_groups + name_groups
    n_conditions = len(cond_groups)
    unknown = unknown_names(question, doc_freq) if understanding is not None and not groups else []
    if unknown:
        # the question is about a name the index never mentions: nothing in it can be about that
        groups, required, n_conditions = [set(terms(" ".join(unknown)))], [None], 1
    elif not groups and understanding is not None:
        topic = _topic_words(question, doc_freq, passages)
        groups, required, n_conditions = ([set(topic)], [None], 1) if topic else ([], [], 0)
    core = set().union(*groups) if groups else set()
    intent = understanding.intent if understanding is not None else None
    focus = {w for w in terms(question) if w not in core and w not in _CHATTER} if intent is not None else set()
    subject_text = " ".join(dict.fromkeys(conditions + drugs + others + qualifiers))
    extra = query_words(intent) if intent is not None else ""
    base = f"{subject_text} {question}".strip() if subject_text else question
    tier_words = {"guideline": extra or "treatment recommendation", "label": extra or "indication dosage warnings adverse reactions",
                  "research": ""}
    queries = {tier: f"{base} {w}".strip() for tier, w in tier_words.items()}
    avoid = set(terms(" ".join(f"{d.generic} {d.text}" for d in facts.drugs if d.negated))) - core
    return CaseQuery(queries, weights, core, groups, required, focus - avoid,
                     answer_words(intent) if intent is not None else frozenset(), intent, n_conditions, unknown, avoid)
