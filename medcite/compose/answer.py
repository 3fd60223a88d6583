"""`ask`: answer a clinical question or case in three cited tiers; check a proposed regimen against
its FDA label.

Pipeline (no LLM): case facts (`analyze.facts`) -> question understanding: subjects and intent
(`analyze.question`) -> the label check, only when the text proposes a regimen or asks whether a
drug is indicated (`analyze.concordance`) -> evidence per tier for the intent: the drug's label
sections first, then guidelines and research (`compose.gather`) -> extractive composition (the
bottom line that answers the intent or says what the index lacks, the guideline / label /
research tiers, monitoring and adverse reactions) -> verification, word by word
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
from medcite.analyze.facts import extract_facts
from medcite.analyze.label_text import quote as label_quote
from medcite.analyze.label_text import terms as label_terms
from medcite.analyze.question import corpus_aliases, label_classes, understand
from medcite.analyze.resources import CaseResources
from medcite.analyze.resources import case_resources as resources_of
from medcite.compose.bottom import Pools, abstention, case_bottom, differs_from_case, no_label_notes, question_bottom
from medcite.compose.citations import CitationRegistry, renumber
from medcite.compose.extract import Candidate, candidates, choose
from medcite.compose.gather import Evidence, gather, support_hits
from medcite.compose.intents import ADVERSE, MOST_COMMON, label_sections
from medcite.compose.label_tier import check_sentences, monitoring_sentences
from medcite.compose.llm.compose import composer_info
from medcite.compose.queries import CaseQuery, build_queries
from medcite.compose.templates import INTENT_WORDS, TIER_WORDS, render
from medcite.records import (
    Answer,
    AnswerSection,
    AnswerStatus,
    CaseFacts,
    ConditionMention,
    Dose,
    DrugMention,
    Duration,
    Finding,
    Frequency,
    Genotype,
    Hit,
    Intent,
    PatientFacts,
    Qualifier,
    Route,
    Sentence,
    SentenceKind,
    SubjectKind,
    Understanding,
)
from medcite.settings import Composer, Settings
from medcite.verify.verify import verify_sections

HEADINGS = {
    "guideline": "From the Guidelines",
    "label": "From the FDA Drug Label",
    "research": "From the Research",
    "monitoring": "Monitoring and Adverse Reactions",
}
MAX_EFFECTS = 6
LABEL_QUOTES = 4
_SECTION_HEAD = re.compile(r"^\d{1,2}\s+(?:[A-Z]{2,}[\s&/,]+)+(?=[A-Z])")



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




# ---------------------------------------------------------------- evidence ranking


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


def _research_candidates(store, ev: Evidence, cq: CaseQuery, res: CaseResources, k: int) -> tuple[list[Candidate], dict[str, str]]:
    """Return the research candidates, best evidence first, and doc id -> evidence level."""
    hits = [h for h in ev.research if cq.relevant(set(label_terms(h.title + " " + h.text)))]
    ranked, levels = _rank_research(store, hits)
    cands = candidates(ranked[:k], cq, res.verbs, boilerplate=res.boilerplate)
    for c in cands:
        # results and conclusions state findings; background sentences restate the problem
        if (c.hit.section or "").upper().startswith(("RESULT", "CONCLUSION", "FINDING")):
            c.score += 1.5
        if effects_in_sentence(c.text):
            c.score += 1.0
    rank_of: dict[str, int] = {}
    for i, h in enumerate(ranked):
        rank_of.setdefault(h.doc_id, i)
    # a better-evidenced abstract comes first; within it, its best sentence
    cands.sort(key=lambda c: (rank_of.get(c.hit.doc_id, 99), -c.score))
    return cands, levels


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


# ---------------------------------------------------------------- tiers


def _sentences(chosen: list[Candidate], registry: CitationRegistry) -> list[Sentence]:
    return [Sentence(c.text, registry.cite([c.hit.passage_id]), context=c.context) for c in chosen]


def _first_answering(cands: list[Candidate], cq: CaseQuery, topic_only: bool) -> list[Candidate]:
    """Return the candidates that answer first, then (unless the question's topic is only a rare
    word of it) those that are only about a subject."""
    answering = [c for c in cands if cq.answers(set(c.words))]
    if topic_only:
        return answering
    return answering + [c for c in cands if c not in answering]


def _by_section(cands: list[Candidate], codes: tuple[str, ...]) -> list[Candidate]:
    """Return the candidates with the best of each section first, sections in the intent's order
    (so a "what is it" answer reads the Description, then the Indications, then the Boxed Warning)."""
    firsts: list[Candidate] = []
    for code in codes:
        in_section = [c for c in cands if c.hit.section_code == code]
        # the adverse reactions a label calls most common, with their rates, say most
        best = next((c for c in in_section if code == ADVERSE and MOST_COMMON.search(c.text)), None)
        best = best or next(iter(in_section), None)
        if best is not None:
            firsts.append(best)
    return firsts + [c for c in cands if c not in firsts]


def _label_section(u: Understanding, checks: list[DrugCheck], ev: Evidence, cq: CaseQuery, res: CaseResources,
                   registry: CitationRegistry) -> tuple[AnswerSection, list[Candidate]]:
    label = AnswerSection("label", HEADINGS["label"])
    notes: list[str] = []
    for dc in checks:
        label.sentences += check_sentences(dc.check)
        if dc.check.label is None:
            notes.append(dc.check.note or "")
    drugs = u.of_kind(SubjectKind.DRUG)
    if not checks:
        notes += [render("no_label_held", drug=s.name).text for s in drugs if s.name not in ev.label_generics]
    # these passages are the question's own labels: no drug-name test needed
    cands = candidates(ev.label, cq, res.verbs, require_core=False, boilerplate=res.boilerplate)
    for c in cands:
        # a section number and heading run into the sentence ("11 DESCRIPTION Lexapro contains ...")
        c.text = _SECTION_HEAD.sub("", label_quote(c.text))
    cands = [c for c in cands if len(c.text) >= 30]
    cands = _first_answering(cands, cq, topic_only=False)
    quoted = {s.text for s in label.sentences}
    label.sentences += _sentences(choose(_by_section(cands, label_sections(u.intent)), LABEL_QUOTES, per_doc=LABEL_QUOTES,
                                         exclude=quoted), registry)
    if not drugs and not u.of_kind(SubjectKind.DRUG_CLASS) and not checks:
        notes.append(render("no_drug").text)
    label.note = " ".join(n for n in notes if n) or (
        None if label.sentences else render("tier_absent", tier=TIER_WORDS["label"], intent=INTENT_WORDS[u.intent]).text)
    return label, cands


def _monitoring(checks: list[DrugCheck], ev: Evidence, g_cands: list[Candidate], cq: CaseQuery, res: CaseResources,
                registry: CitationRegistry, exclude: set[str]) -> AnswerSection:
    """Return the label's most common adverse reactions and monitoring instructions, then
    guideline sentences on monitoring and follow-up about the case."""
    monitoring = AnswerSection("monitoring", HEADINGS["monitoring"])
    for dc in checks:
        monitoring.sentences += monitoring_sentences(dc, registry.cite_read)
    more = candidates(ev.monitoring, cq, res.verbs, boilerplate=res.boilerplate) + g_cands
    follow = [c for c in more if any(w in c.text.lower() for w in ("monitor", "follow-up", "surveillance"))]
    monitoring.sentences += _sentences(choose(follow, 2, exclude=exclude), registry)
    return monitoring


# ---------------------------------------------------------------- the answer


def _aliases(u: Understanding, facts: CaseFacts, ev: Evidence, res: CaseResources) -> list[str]:
    """Return the other names of the question's drugs: the classes their labels and the retrieved
    passages give them ("lanreotide, a long-acting somatostatin analogue")."""
    texts = [h.text for h in ev.guideline + ev.monitoring]
    out: list[str] = []
    for s in u.of_kind(SubjectKind.DRUG):
        out += label_classes(res.classes, s.name) + corpus_aliases(s.name, texts)
    for s in u.of_kind(SubjectKind.DRUG_CLASS):
        out += s.generics[:8]
    return list(dict.fromkeys(out))


def _tiers(store, u: Understanding, facts: CaseFacts, checks: list[DrugCheck], ev: Evidence, cq: CaseQuery,
           res: CaseResources, registry: CitationRegistry, settings: Settings) -> tuple[list[AnswerSection], Pools, dict]:
    """Return the answer's sections, the candidate pools the bottom line is chosen from, and the
    research evidence levels."""
    topic_only = not u.subjects
    limit = settings.max_sentences_per_tier
    # a source that gives the case's drug at another interval is never quoted as support
    g_all = candidates(ev.guideline, cq, res.verbs, boilerplate=res.boilerplate)
    g_cands = [c for c in g_all if not differs_from_case(c, facts, cq)]
    guideline = AnswerSection("guideline", HEADINGS["guideline"],
                              _sentences(choose(_first_answering(g_cands, cq, topic_only), limit), registry))
    label, l_cands = _label_section(u, checks, ev, cq, res, registry)
    r_cands, levels = _research_candidates(store, ev, cq, res, settings.k_research)
    r_pool = _first_answering(r_cands, cq, topic_only)
    research = AnswerSection("research", HEADINGS["research"], _sentences(choose(r_pool, limit, per_doc=1), registry))
    for sec in (guideline, research):
        if not sec.sentences:
            sec.note = render("tier_absent", tier=TIER_WORDS[sec.tier], intent=INTENT_WORDS[u.intent]).text
    sections = [guideline, label, research]
    if u.intent == Intent.CASE_REGIMEN:
        sections.append(_monitoring(checks, ev, g_cands, cq, res, registry, {s.text for s in guideline.sentences}))
    pools = Pools(cq, u, facts, g_all, l_cands, r_cands, checks, ev.label_generics, res.verbs)
    return [s for s in sections if s.sentences or s.note], pools, levels


def _bottom_line(pools: Pools, registry: CitationRegistry) -> tuple[list[Sentence], AnswerStatus, str | None]:
    """Return the bottom line, whether it answers, and what the index lacks when it does not."""
    if pools.u.intent == Intent.CASE_REGIMEN:
        bottom = case_bottom(pools, registry)
    else:
        bottom = question_bottom(pools, registry)
    if any(s.kind != SentenceKind.NOTE for s in bottom):
        return bottom, AnswerStatus.ANSWERED, None
    # nothing answers: say what the index lacks (the drug's label too)
    note = abstention(pools)
    return no_label_notes(pools) + bottom + [note], AnswerStatus.ABSTAINED, note.text


def _case_text(question: str, facts: CaseFacts, u: Understanding) -> str:
    """Return what template and note sentences may state besides their sources: the case text and
    the names its facts resolved (generics, classes, conditions)."""
    return " ".join([question] + [d.generic for d in facts.drugs] + [s.name for s in u.subjects])


def ask(store, question: str, settings: Settings | None = None, facts: CaseFacts | dict | None = None) -> Answer:
    """Return the cited, verified Answer to a clinical question or case (see module docstring);
    with `settings.composer` llm, the prose is the configured model's, verified (`compose.llm`)."""
    settings = settings or Settings()
    if settings.composer == Composer.LLM:
        from medcite.compose.llm.compose import ask_with_llm

        return ask_with_llm(store, question, settings, facts)
    res = resources_of(store)
    case = extract_facts(question, res.lexicon, res.abbreviations)
    if facts is not None:
        case = facts_from_data(facts, question, read=case)
    u = understand(case, res.classes, res.abbreviations, res.glosses)
    registry = CitationRegistry(store)
    checks: list[DrugCheck] = check_case(store, case, registry.cite_read, res.lexicon) if u.check_label else []
    store.ensure_search_ready()
    passages = store.lexical.num_docs()
    cq = build_queries(question, case, store.lexical.doc_freq, u, passages=passages)
    ev = gather(store, cq, u, case, checks, settings, registry)
    aliases = _aliases(u, case, ev, res)
    cq = build_queries(question, case, store.lexical.doc_freq, u, aliases, passages)
    if u.intent == Intent.CASE_REGIMEN:
        support_hits(store, aliases, case, settings, registry, ev)
    sections, pools, levels = _tiers(store, u, case, checks, ev, cq, res, registry, settings)
    bottom, status, lacking = _bottom_line(pools, registry)
    effects = _effects(pools.guideline[:8] + pools.research, registry, MAX_EFFECTS)
    answer = Answer(
        question=question, facts=case.to_dict(), label_checks=[dc.check for dc in checks], sections=sections,
        references=[], verification={}, corpus_version=store.corpus_version(), settings_hash=settings.hash(),
        bottom_line=bottom, effect_sizes=effects, understanding=u, status=status, abstention=lacking,
        composer=composer_info(settings, Composer.EXTRACTIVE),
    )
    answer.references = registry.references()
    answer.verification = verify_sections(answer.sections, answer.references, registry.retrieved_texts(),
                                          _case_text(question, case, u), extra=[answer.bottom_line], verbs=res.verbs)
    _settle_status(answer, pools)
    _verify_effects(answer, registry)
    renumber(answer)
    g_evidence = _guideline_evidence(store, ev.guideline + ev.monitoring)
    for ref in answer.references:
        ref.evidence = g_evidence.get(ref.passage_id) or levels.get(ref.doc_id)
    return answer


def _settle_status(answer: Answer, pools: Pools) -> None:
    """Abstain when verification left the bottom line without a claim."""
    if answer.status == AnswerStatus.ANSWERED and not any(s.kind != SentenceKind.NOTE for s in answer.bottom_line):
        note = abstention(pools)
        answer.bottom_line[:] = no_label_notes(pools) + answer.bottom_line + [note]
        answer.status, answer.abstention = AnswerStatus.ABSTAINED, note.text


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
