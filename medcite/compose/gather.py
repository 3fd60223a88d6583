"""Evidence for one question: the passages each tier returns for its subjects and intent.

- label: a drug question is answered from the sections of its own labels that answer the intent
  (`compose.intents.label_sections`: Adverse Reactions for side effects, Drug Interactions,
  Use in Specific Populations, Mechanism of Action, Dosage and Administration, How Supplied ...),
  section by section in that order; a drug class is answered from the labels of the class;
- guidelines and research: hybrid search with the tier queries (`compose.queries`);
- a case with a regimen also gets the guideline passages on monitoring and follow-up.

Every passage returned here is recorded in the citation registry as retrieved; nothing else may be
cited (the label check records the label passages it reads itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medcite.analyze.concordance import DrugCheck
from medcite.analyze.label_select import labels_for
from medcite.compose.citations import CitationRegistry
from medcite.compose.intents import label_sections
from medcite.compose.queries import CaseQuery
from medcite.records import CaseFacts, Hit, Intent, SubjectKind, Understanding
from medcite.retrieve.search import search_passages
from medcite.settings import Settings

MAX_LABELS = 4  # labels read for one question (a class can have many members)
MAX_LABEL_PASSAGES = 40
_MONITOR_QUERY = "monitoring follow-up surveillance"
REGIMEN_HITS = 5


@dataclass
class Evidence:
    """The passages retrieved for one question, per tier, and the labels they come from."""

    guideline: list[Hit] = field(default_factory=list)
    research: list[Hit] = field(default_factory=list)
    label: list[Hit] = field(default_factory=list)
    monitoring: list[Hit] = field(default_factory=list)
    label_docs: list[str] = field(default_factory=list)
    label_generics: list[str] = field(default_factory=list)  # subject drugs with a label held


def subject_labels(store, u: Understanding, checks: list[DrugCheck]) -> tuple[list[str], list[str]]:
    """Return (label doc ids, generics that have one) for the question's drugs and classes: the
    label the check chose for a checked drug, else every held label of the drug, then class members."""
    docs: list[str] = []
    generics: list[str] = []
    checked = {dc.check.drug: dc.label.doc_id for dc in checks if dc.label is not None}
    for s in u.of_kind(SubjectKind.DRUG):
        ids = [checked[s.name]] if s.name in checked else labels_for(store, s.name)
        if ids:
            generics.append(s.name)
        docs += ids
    for s in u.of_kind(SubjectKind.DRUG_CLASS):
        for g in s.generics:
            docs += labels_for(store, g)[:1]
    return list(dict.fromkeys(docs))[:MAX_LABELS], generics


def section_hits(store, doc_ids: list[str], codes: tuple[str, ...]) -> list[Hit]:
    """Return the passages of the labels `doc_ids` in the sections `codes`, section by section in
    the order of `codes`, then label by label, then in reading order."""
    if not doc_ids or not codes:
        return []
    order = {c: i for i, c in enumerate(codes)}
    picked: list[tuple[int, int, int, str]] = []
    for d_rank, doc in enumerate(doc_ids):
        for p in store.passages_of(doc):
            if p.section_code in order:
                picked.append((order[p.section_code], d_rank, p.ordinal, p.passage_id))
    picked.sort()
    return store.get_hits([pid for *_, pid in picked[:MAX_LABEL_PASSAGES]])


def _regimen_hits(store, facts: CaseFacts, settings: Settings, seen: set[str]) -> list[Hit]:
    """Return guideline passages on the dosing of each proposed drug at the case's interval."""
    out: list[Hit] = []
    for d in facts.proposed():
        if d.frequency is None:
            continue
        query = f"{d.generic} {d.text} dosing {d.frequency.text}"
        for h in search_passages(store, query, k=REGIMEN_HITS, tier="guideline", settings=settings):
            if h.passage_id not in seen:
                seen.add(h.passage_id)
                out.append(h)
    return out


def support_hits(store, aliases: list[str], facts: CaseFacts, settings: Settings, registry: CitationRegistry,
                 ev: Evidence) -> None:
    """Add to the guideline evidence the passages on the classes the corpus gives the case's drugs
    and its condition ("somatostatin analogue" + "metastatic pancreatic neuroendocrine tumor"):
    guidelines often recommend the class, not the drug by name."""
    conditions = " ".join(f"{c.extent or ''} {c.name}" for c in facts.conditions if not c.negated).strip()
    if not aliases or not conditions:
        return
    seen = {h.passage_id for h in ev.guideline}
    for alias in aliases[:2]:
        for h in search_passages(store, f"{alias} {conditions}", k=REGIMEN_HITS, tier="guideline", settings=settings):
            if h.passage_id not in seen:
                seen.add(h.passage_id)
                ev.guideline.append(h)
                registry.add_hits([h])


def gather(store, cq: CaseQuery, u: Understanding, facts: CaseFacts, checks: list[DrugCheck], settings: Settings,
           registry: CitationRegistry) -> Evidence:
    """Return the evidence of every tier for the question (each passage recorded as retrieved)."""
    ev = Evidence()
    ev.label_docs, ev.label_generics = subject_labels(store, u, checks)
    ev.label = section_hits(store, ev.label_docs, label_sections(u.intent))
    ev.guideline = search_passages(store, cq.queries["guideline"], k=settings.k_guideline, tier="guideline", settings=settings)
    ev.research = search_passages(store, cq.queries["research"], k=settings.k_research * 2, tier="research", settings=settings)
    if u.intent == Intent.CASE_REGIMEN:
        ev.guideline += _regimen_hits(store, facts, settings, {h.passage_id for h in ev.guideline})
        subject = " ".join(s.name for s in u.subjects)
        seen = {h.passage_id for h in ev.guideline}
        more = search_passages(store, f"{subject} {_MONITOR_QUERY}", k=settings.k_guideline, tier="guideline", settings=settings)
        ev.monitoring = [h for h in more if h.passage_id not in seen]
    registry.add_hits(ev.guideline + ev.research + ev.label + ev.monitoring)
    return ev
