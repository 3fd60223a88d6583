"""The bottom line: one to three sentences that answer the question's intent, or say what the
index lacks.

- case + regimen: each drug's label verdict (or that no label is held); the regimen a guideline
  (else a label or an abstract) states for the drug at the case's interval; when a source gives the
  drug at another interval, a sentence that says so and cites it (it is never quoted as support);
  and a guideline sentence on the drug and the case's condition.
- a question about a drug: the best sentence of its label's sections for the intent (for side
  effects, the "most common adverse reactions" sentence with its rates), then a guideline sentence
  and a research finding that answer it.
- any other question: the guideline sentences, then a research finding, that answer it.
A sentence answers when it is about a subject and holds an intent or focus word
(`CaseQuery.answers`). When none does, the bottom line is a note on what the index lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medcite.analyze.concordance import DrugCheck
from medcite.analyze.effects import effects_in_sentence
from medcite.analyze.label_text import terms
from medcite.analyze.regimen import find_frequencies
from medcite.analyze.statements import VerbLexicon, is_statement
from medcite.compose.citations import CitationRegistry
from medcite.compose.extract import Candidate
from medcite.compose.intents import MOST_COMMON, label_sections
from medcite.compose.label_tier import bottom_line_sentences
from medcite.compose.queries import CaseQuery
from medcite.compose.templates import INTENT_WORDS, render
from medcite.records import CaseFacts, Frequency, Intent, Sentence, SubjectKind, Understanding

MAX_QUOTES = 3
LABEL_ANSWERS = 2  # label sentences in the bottom line of a drug question
OPENING_WORDS = 4  # a sentence whose first words name the drug is about it
INTERVAL_TOLERANCE_DAYS = 1.0
_DRUG_INTENTS = {Intent.INFORMATION, Intent.MECHANISM, Intent.INDICATION, Intent.DOSING, Intent.ADMINISTRATION,
                 Intent.PRODUCT, Intent.ADVERSE_EFFECTS, Intent.INTERACTIONS, Intent.CONTRAINDICATIONS,
                 Intent.MONITORING, Intent.COMPARISON}


@dataclass
class Pools:
    """The candidates of each tier, best first, and what decides which answer the question."""

    cq: CaseQuery
    u: Understanding
    facts: CaseFacts
    guideline: list[Candidate] = field(default_factory=list)
    label: list[Candidate] = field(default_factory=list)
    research: list[Candidate] = field(default_factory=list)
    checks: list[DrugCheck] = field(default_factory=list)
    label_generics: list[str] = field(default_factory=list)
    verbs: VerbLexicon | None = None

    def stands_alone(self, c: Candidate) -> bool:
        """Return True when a unit is a statement without its lead-in (a bottom line quotes it alone)."""
        return not c.context or is_statement(c.text, self.verbs)


def quote(c: Candidate, registry: CitationRegistry) -> Sentence:
    """Return the extract sentence of a candidate, citing its passage."""
    return Sentence(c.text, registry.cite([c.hit.passage_id]), context=c.context)


def interval(c: Candidate, freq: Frequency) -> tuple[bool | None, str | None]:
    """Return whether the frequency a unit states agrees with `freq` (None when it states none),
    and the frequency as the unit writes it."""
    found = [f for f in find_frequencies(c.text) if f.interval_days]
    if not found or not freq.interval_days:
        return None, None
    for f in found:
        if abs(f.interval_days - freq.interval_days) <= INTERVAL_TOLERANCE_DAYS:
            return True, f.as_written
    return False, found[0].as_written


def differs_from_case(c: Candidate, facts: CaseFacts, cq: CaseQuery) -> bool:
    """Return True when a unit gives a proposed drug of the case at an interval other than the case's."""
    if not cq.about_drug(set(c.words)):
        return False
    return any(d.frequency is not None and interval(c, d.frequency)[0] is False for d in facts.proposed())


def _regimen_lines(p: Pools, registry: CitationRegistry, used: set[str]) -> list[Sentence]:
    """Return, per proposed drug with a frequency, the source regimen at the case's interval and a
    sentence on a source that gives another interval."""
    out: list[Sentence] = []
    for d in p.facts.proposed():
        if d.frequency is None:
            continue
        agree = differ = None
        for c in p.guideline + p.label + p.research:
            if c.text in used or not p.cq.about_drug(set(c.words)):
                continue
            ok, written = interval(c, d.frequency)
            if ok and agree is None:
                agree = c
            elif ok is False and differ is None:
                differ = (c, written)
        if agree is not None:
            out.append(quote(agree, registry))
            used.add(agree.text)
        if differ is not None:
            c, written = differ
            out.append(render("interval_differs", registry.cite([c.hit.passage_id]), drug=_drug_name(c, d),
                              interval=written, prescribed=d.frequency.as_written))
            used.add(c.text)
    return out


def _drug_name(c: Candidate, mention) -> str:
    """Return the drug as the unit names it (generic or the name the case wrote)."""
    for name in (mention.generic, mention.text):
        if name.lower() in (c.context or "").lower() + " " + c.text.lower():
            return name
    return mention.generic


def case_bottom(p: Pools, registry: CitationRegistry) -> list[Sentence]:
    """Return the bottom line of a case with a regimen (see the module docstring)."""
    out: list[Sentence] = []
    for dc in p.checks:
        out += bottom_line_sentences(dc.check)
    used: set[str] = set()
    out += _regimen_lines(p, registry, used)
    out += [quote(c, registry) for c in _support(p, used)]
    return out


def _support(p: Pools, used: set[str], limit: int = 2) -> list[Candidate]:
    """Return guideline sentences (one per document) about the case's drug and condition, those that
    open with the drug (or the class the corpus gives it) first, then by how much of the case the
    sentence and its section name ("... Pancreatic Neuroendocrine Tumors > ... Metastatic Disease") cover."""
    freq = _case_frequency(p)
    pool = [c for c in p.guideline if c.text not in used and p.stands_alone(c) and p.cq.about_drug(set(c.words))
            and p.cq.about_condition(set(c.words | c.where)) and interval(c, freq)[0] is not False]

    drug_words = set().union(*p.cq.groups[p.cq.n_conditions:])

    def key(c: Candidate) -> tuple:
        opens = p.cq.about_drug(set(terms(" ".join(c.text.split()[:OPENING_WORDS]))))
        # how much of the case (its condition and qualifiers such as "metastatic") the sentence and its section name
        covered = {w for w in c.words | c.where if p.cq.weights.get(w, 0.0) >= 1.0} - drug_words
        return (not opens, -len(covered), -c.score)

    out: list[Candidate] = []
    for c in sorted(pool, key=key):
        if all(o.hit.doc_id != c.hit.doc_id for o in out):
            out.append(c)
        if len(out) >= limit:
            break
    return out


def _case_frequency(p: Pools) -> Frequency:
    freqs = [d.frequency for d in p.facts.proposed() if d.frequency is not None]
    return freqs[0] if freqs else Frequency(None, None, None, "", "", 0, 0)


def _best(cands: list[Candidate], p: Pools, used: set[str], need_drug: bool = False) -> Candidate | None:
    for c in cands:
        words = set(c.words)
        if c.text in used or not p.cq.answers(words) or (need_drug and not p.cq.about_drug(words)) or not p.stands_alone(c):
            continue
        return c
    return None


def _label_answers(p: Pools, used: set[str], limit: int = LABEL_ANSWERS) -> list[Candidate]:
    """Return the label sentences that answer a drug question: the best of each section the intent
    reads, in its order (side effects: the "most common adverse reactions" sentence first)."""
    answering = [c for c in p.label if c.text not in used and set(c.words) & (p.cq.intent_words | p.cq.focus)
                 and p.stands_alone(c)]
    if p.u.intent == Intent.ADVERSE_EFFECTS:
        common = [c for c in answering if MOST_COMMON.search(c.text)]
        answering = common + [c for c in answering if c not in common]
    out: list[Candidate] = []
    for code in label_sections(p.u.intent):
        c = next((c for c in answering if c.hit.section_code == code), None)
        if c is not None:
            out.append(c)
        if len(out) >= limit:
            break
    return out


def question_bottom(p: Pools, registry: CitationRegistry) -> list[Sentence]:
    """Return the bottom line of a question (see the module docstring); [] when nothing answers it."""
    used: set[str] = set()
    chosen: list[Candidate] = []
    drug_question = p.u.intent in _DRUG_INTENTS and bool(p.u.of_kind(SubjectKind.DRUG, SubjectKind.DRUG_CLASS))
    if drug_question:
        chosen += _label_answers(p, used)
        used |= {c.text for c in chosen}
    for pool in (p.guideline, p.guideline if not drug_question else []):
        c = _best(pool, p, used, need_drug=drug_question)
        if c is not None and len(chosen) < MAX_QUOTES:
            chosen.append(c)
            used.add(c.text)
    finding = _best([c for c in p.research if _is_finding(c)], p, used, need_drug=drug_question)
    if finding is not None and len(chosen) < MAX_QUOTES:
        chosen.append(finding)
    return [quote(c, registry) for c in chosen]


def _is_finding(c: Candidate) -> bool:
    """Return True when a research sentence states a finding: from results / conclusions, or with an effect size."""
    return (c.hit.section or "").upper().startswith(("RESULT", "CONCLUSION", "FINDING")) or bool(effects_in_sentence(c.text))


def abstention(p: Pools) -> Sentence:
    """Return the note that says what the index lacks for this question."""
    intent = INTENT_WORDS[p.u.intent]
    subjects = [s.name for s in p.u.subjects if s.kind != SubjectKind.TEST or len(p.u.subjects) == 1] or p.cq.unknown
    if subjects:
        return render("abstain", intent=intent, subject=" and ".join(dict.fromkeys(subjects[:2])))
    return render("abstain_topic")


def no_label_notes(p: Pools) -> list[Sentence]:
    """Return a note per drug of a drug question that has no label in the index."""
    if p.u.intent not in _DRUG_INTENTS or p.checks:
        return []
    return [render("no_label_held", drug=s.name) for s in p.u.of_kind(SubjectKind.DRUG) if s.name not in p.label_generics]
