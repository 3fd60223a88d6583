"""`ask`: answer a clinical case or question in three cited tiers, with a label check per drug.

Pipeline (no LLM): case facts (`analyze.facts`) -> label concordance per drug
(`analyze.concordance`) -> retrieval per tier with queries built from the facts (label retrieval
restricted to the labels of the case's drugs) -> extractive composition (a short bottom line, the
guideline / label / research tiers, monitoring and adverse reactions, references) -> verification
(`verify.verify`) -> citation numbers in reading order.

Patient text is never logged here.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from typing import Any

from medcite.analyze.concordance import DrugCheck, check_case
from medcite.analyze.effects import effects_in_sentence
from medcite.analyze.evidence import UNKNOWN_RANK, evidence_level, ngc_grade
from medcite.analyze.facts import case_resources, extract_facts
from medcite.analyze.label_text import quote
from medcite.analyze.label_text import terms as _terms
from medcite.compose.citations import CitationRegistry, renumber
from medcite.compose.extract import Candidate, candidates, choose
from medcite.compose.label_tier import bottom_line_sentence, check_sentences, monitoring_sentences
from medcite.compose.queries import CaseQuery, build_queries
from medcite.records import (
    Answer,
    AnswerSection,
    CaseFacts,
    ConditionMention,
    Dose,
    DrugMention,
    Duration,
    Finding,
    Frequency,
    Genotype,
    Hit,
    PatientFacts,
    Qualifier,
    Route,
    Sentence,
)
from medcite.retrieve.search import search_passages
from medcite.settings import Settings
from medcite.verify.verify import verify_sections

HEADINGS = {
    "guideline": "From the Guidelines",
    "label": "From the FDA Drug Label",
    "research": "From the Research",
    "monitoring": "Monitoring and Adverse Reactions",
}
MAX_EFFECTS = 6
# Clinical Studies, Warnings and Precautions, Adverse Reactions, Use in Specific Populations
_INNER_HEADING = re.compile(r".\b\d{1,2}\.\d{1,2}\s+[A-Z][a-z]+")
_LABEL_EXTRACT_CODES = {"34092-7", "43685-7", "34084-4", "43684-0"}



# ---------------------------------------------------------------- facts given as data

_NESTED = {
    "drugs": DrugMention, "conditions": ConditionMention, "patient": PatientFacts, "negations": Finding,
    "dose": Dose, "frequency": Frequency, "route": Route, "duration": Duration, "qualifiers": Qualifier,
    "genotypes": Genotype, "findings": Finding,
}


def _build(cls, data: Any):
    if data is None or is_dataclass(data):
        return data
    kwargs = {}
    names = {f.name for f in fields(cls)}
    for key, value in data.items():
        if key not in names:
            continue
        sub = _NESTED.get(key)
        if sub is not None and isinstance(value, list):
            value = [_build(sub, v) for v in value]
        elif sub is not None and isinstance(value, dict):
            value = _build(sub, value)
        kwargs[key] = value
    return cls(**kwargs)


def facts_from_data(data: CaseFacts | dict, question: str, read: CaseFacts | None = None) -> CaseFacts:
    """Return CaseFacts from CaseFacts or from its JSON shape (`CaseFacts.to_dict()`), e.g. facts a
    CDS Hooks request built from FHIR resources. Top-level keys given in `data` override those
    `read` from the text; missing offsets are 0."""
    if isinstance(data, CaseFacts):
        return data
    merged = read.to_dict() if read is not None else {}
    merged.update({k: v for k, v in dict(data).items() if v is not None})
    merged.setdefault("text", question)
    for d in merged.get("drugs") or []:
        for k in ("start", "end"):
            d.setdefault(k, 0)
        d.setdefault("text", d.get("generic", ""))
        d.setdefault("name_kind", "generic")
        d.setdefault("role", "proposed")
    for c in merged.get("conditions") or []:
        for k in ("start", "end"):
            c.setdefault(k, 0)
        c.setdefault("text", c.get("name", ""))
    return _build(CaseFacts, merged)


# ---------------------------------------------------------------- tiers


def _sentences(chosen: list[Candidate], registry: CitationRegistry) -> list[Sentence]:
    return [Sentence(c.text, registry.cite([c.hit.passage_id])) for c in chosen]


def _in_findings_section(c: Candidate) -> bool:
    return (c.hit.section or "").upper().startswith(("RESULT", "CONCLUSION", "FINDING"))


def _is_finding(c: Candidate) -> bool:
    """Return True when a research sentence states a finding: from results / conclusions, or with an effect size."""
    return _in_findings_section(c) or bool(effects_in_sentence(c.text))


def _rank_research(store, hits: list[Hit]) -> tuple[list[Hit], dict[str, str]]:
    """Return research hits ordered by evidence level, then relevance; and doc id -> level label."""
    metas = store.document_meta([h.doc_id for h in hits])
    levels: dict[str, tuple[int, str]] = {}
    for h in hits:
        info = metas.get(h.doc_id, {})
        lvl = evidence_level(info.get("meta"), info.get("title", ""), h.text, tier="research")
        levels[h.doc_id] = (lvl.rank, lvl.label if lvl.rank < UNKNOWN_RANK else "")
    order = {h.passage_id: i for i, h in enumerate(hits)}
    # evidence level and relevance together: one level up is worth 2.5 places of relevance
    ranked = sorted(hits, key=lambda h: (order[h.passage_id] + 2.5 * (levels[h.doc_id][0] - 1), order[h.passage_id]))
    return ranked, {d: label for d, (_, label) in levels.items() if label}


def _guideline_evidence(store, hits: list[Hit]) -> dict[str, str]:
    """Return passage id -> the evidence tag the passage states (PDQ level, NGC grade)."""
    metas = store.document_meta([h.doc_id for h in hits])
    out: dict[str, str] = {}
    for h in hits:
        meta = metas.get(h.doc_id, {}).get("meta") or {}
        lvl = evidence_level({}, "", h.text, tier="guideline")
        if lvl.tag and lvl.basis == "pdq_tag":
            out[h.passage_id] = lvl.tag
        else:
            grade = ngc_grade(h.text, meta.get("grades"))
            if grade:
                out[h.passage_id] = f"grade {grade}"
    return out


def _effects(cands: list[Candidate], registry: CitationRegistry, limit: int) -> list[dict]:
    out: list[dict] = []
    seen: set[str] = set()
    for c in cands:
        for eff in effects_in_sentence(c.text):
            key = f"{eff.kind}|{eff.value}|{c.hit.doc_id}"
            if key in seen:
                continue
            seen.add(key)
            item = eff.to_dict()
            item["citations"] = registry.cite([c.hit.passage_id])
            item["tier"] = c.hit.tier
            out.append(item)
            if len(out) >= limit:
                return out
    return out


def ask(store, question: str, settings: Settings | None = None, facts: CaseFacts | dict | None = None) -> Answer:
    """Return the cited, verified Answer to a clinical case or question (see module docstring)."""
    settings = settings or Settings()
    lexicon, abbreviations = case_resources(store)
    case = extract_facts(question, lexicon, abbreviations)
    if facts is not None:
        case = facts_from_data(facts, question, read=case)
    registry = CitationRegistry(store)

    checks: list[DrugCheck] = check_case(store, case, registry.cite, lexicon)
    store.ensure_search_ready()
    cq: CaseQuery = build_queries(question, case, store.lexical.doc_freq)

    guideline_hits = search_passages(store, cq.queries["guideline"], k=settings.k_guideline, tier="guideline", settings=settings)
    research_hits = search_passages(store, cq.queries["research"], k=settings.k_research * 2, tier="research", settings=settings)
    label_ids = [dc.label.doc_id for dc in checks if dc.label is not None]
    label_hits = (search_passages(store, cq.queries["label"], k=settings.k_label, tier="label", doc_ids=label_ids, settings=settings)
                  if label_ids else [])
    registry.add_hits(guideline_hits + research_hits + label_hits)
    limit = settings.max_sentences_per_tier

    # ---- guidelines
    g_cands = candidates(guideline_hits, cq)
    g_chosen = choose(g_cands, limit)
    guideline = AnswerSection("guideline", HEADINGS["guideline"], _sentences(g_chosen, registry))
    if not guideline.sentences:
        guideline.note = "No guideline passage in the index addresses this case."

    # ---- label
    label = AnswerSection("label", HEADINGS["label"])
    notes = []
    for dc in checks:
        label.sentences += check_sentences(dc.check)
        if dc.check.label is None:
            notes.append(dc.check.note)
    quoted = {s.text for s in label.sentences}
    # Indications and dosage are in the label check; pharmacology and packaging do not answer a case.
    useful = [h for h in label_hits if h.section_code in _LABEL_EXTRACT_CODES]
    # these passages are already restricted to the case's own labels: no drug-name test needed
    l_cands = candidates(useful, cq, require_core=False)
    for c in l_cands:
        c.text = quote(c.text)
    # a sentence with a subsection heading run into it ("... NETTER-1 14.2 Somatostatin ...") is
    # flattened layout, not prose
    l_cands = [c for c in l_cands if len(c.text) >= 40 and not _INNER_HEADING.search(c.text)]
    l_chosen = choose(l_cands, 2, exclude=quoted)
    label.sentences += _sentences(l_chosen, registry)
    if not checks:
        notes.append("The case names no drug to check against an FDA label.")
    label.note = " ".join(notes) or (None if label.sentences else "No FDA label passage addresses this case.")

    # ---- research, best evidence first
    # only abstracts about the case's drug or condition compete on evidence level
    research_hits = [h for h in research_hits if cq.relevant(set(_terms(h.title + " " + h.text)))]
    ranked, levels = _rank_research(store, research_hits)
    r_cands = candidates(ranked[: settings.k_research], cq)
    for c in r_cands:
        # results and conclusions state findings; background sentences restate the problem
        if _in_findings_section(c):
            c.score += 1.5
        if effects_in_sentence(c.text):
            c.score += 1.0
    # a better-evidenced abstract comes first; within it, its best sentence
    rank_of = {}
    for i, h in enumerate(ranked):
        rank_of.setdefault(h.doc_id, i)
    r_cands.sort(key=lambda c: (rank_of.get(c.hit.doc_id, 99), -c.score))
    r_chosen = choose(r_cands, limit, per_doc=1)
    research = AnswerSection("research", HEADINGS["research"], _sentences(r_chosen, registry))
    if not research.sentences:
        research.note = "No research abstract in the index addresses this case."

    # ---- monitoring / adverse reactions (labels first, then guideline sentences about follow-up)
    monitoring = AnswerSection("monitoring", HEADINGS["monitoring"])
    for dc in checks:
        monitoring.sentences += monitoring_sentences(dc, registry.cite)
    follow = [c for c in g_cands if any(w in c.text.lower() for w in ("monitor", "follow-up", "surveillance"))]
    monitoring.sentences += _sentences(choose(follow, 2, exclude={s.text for s in guideline.sentences}), registry)

    # ---- bottom line: each drug's verdict, the best guideline and research sentence
    bottom = [bottom_line_sentence(dc.check) for dc in checks]
    if guideline.sentences:
        # the guideline sentence that names a drug of the case says most about this regimen
        drug_words = set(_terms(" ".join(dc.check.drug for dc in checks)))
        first = next((s for s in guideline.sentences if drug_words & set(_terms(s.text))), guideline.sentences[0])
        bottom.append(Sentence(first.text, list(first.citations)))
    # the research line of the bottom line states a finding (a results / conclusions sentence or one
    # with an effect size), never an abstract's background
    finding = next((s for s, c in zip(research.sentences, r_chosen) if _is_finding(c)), None)
    if finding is not None:
        bottom.append(Sentence(finding.text, list(finding.citations)))

    effects = _effects(g_chosen + r_chosen + r_cands + g_cands, registry, MAX_EFFECTS)
    sections = [s for s in (guideline, label, research, monitoring) if s.sentences or s.note]
    answer = Answer(
        question=question, facts=case.to_dict(), label_checks=[dc.check for dc in checks], sections=sections,
        references=[], verification={}, corpus_version=store.corpus_version(), settings_hash=settings.hash(),
        bottom_line=bottom, effect_sizes=effects,
    )
    answer.references = registry.references()
    # numbers the case itself states (its text, its drugs' names: "lutetium Lu 177") may appear in
    # template and note sentences
    case_text = " ".join([question] + [d.generic for d in case.drugs])
    answer.verification = verify_sections(answer.sections, answer.references, registry.retrieved_texts(), case_text,
                                          extra=[answer.bottom_line])
    _verify_effects(answer, registry)
    renumber(answer)
    evidence = {**levels}
    g_evidence = _guideline_evidence(store, guideline_hits)
    for ref in answer.references:
        ref.evidence = g_evidence.get(ref.passage_id) or evidence.get(ref.doc_id)
    return answer


def _verify_effects(answer: Answer, registry: CitationRegistry) -> None:
    """Keep only effect sizes whose sentence is in the passage they cite (as the verifier does)."""
    texts = registry.retrieved_texts()
    refs = {c.n: c.passage_id for c in answer.references}
    kept = []
    for e in answer.effect_sizes:
        pids = [refs.get(n) for n in e.get("citations", [])]
        if pids and all(p in texts for p in pids) and e.get("value") and any(e["value"] in texts[p] for p in pids):
            kept.append(e)
    answer.effect_sizes = kept
