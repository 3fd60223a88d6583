"""Label concordance: the regimen of each case drug checked against its FDA label.

For every drug proposed in the case (or named without a role, as in a question): pick its label
(`label_select`; none held -> said plainly, never another drug's label), decide the indication
(`indication`), compare dose / frequency / route with the Dosage & Administration text of the
matched indication (`label_dose`) and collect the alerts the case triggers (`label_alerts`).
Every verdict carries the citation numbers of the label passages it rests on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medcite.analyze.facts import case_resources
from medcite.analyze.indication import IndicationMatch, condition_terms, coverage
from medcite.analyze.indication_fit import (
    biomarker_conflict,
    child_exclusion,
    combination_exclusion,
    denied_requirement,
    excluded_by_qualifier,
    excluded_by_words,
    monotherapy_exclusion,
    fit_by_meaning,
)
from medcite.analyze.label_alert_drugs import class_lookup
from medcite.analyze.label_alerts import case_alerts
from medcite.analyze.dose_check import (
    after_stopping,
    applies,
    candidate_rows,
    comedication_classes,
    enzyme_classes,
    ranked_class,
    without_unranked,
    judge_dose,
    judge_frequency,
    judge_route,
)
from medcite.analyze.label_dose import DoseRegion, dose_region
from medcite.analyze.label_dosing import ADJUSTED, frequency_only, stored_rows
from medcite.analyze.label_select import LabelChoice, choose_label, drug_classes, labelled_name
from medcite.analyze.label_text import DOSAGE, INTERACTIONS, LabelText, Span, quote, sentences_of, terms
from medcite.records import Alert, CaseFacts, DoseVerdict, DrugMention, IndicationStatus, LabelCheck, RegimenStatus, Verdict


@dataclass
class DrugCheck:
    """A LabelCheck with what the composer needs besides it: the label read, the match."""

    check: LabelCheck
    mention: DrugMention
    label: LabelText | None = None
    match: IndicationMatch | None = None
    region: DoseRegion | None = None
    choice: LabelChoice | None = None
    spans: dict[str, list[Span]] = field(default_factory=dict)


def drugs_to_check(facts: CaseFacts) -> list[DrugMention]:
    """Return one mention per drug to check: the proposed drugs, else every drug named without a
    role (a question about a drug), never co-medications or imaging agents."""
    chosen = [d for d in facts.drugs if d.role == "proposed" and not d.negated]
    # an order line without a verb ("Tolterodine 2 mg twice daily.") proposes its drug too
    chosen += [d for d in facts.drugs if d.role == "unspecified" and not d.negated and (d.dose is not None or not chosen)]
    out: dict[str, DrugMention] = {}
    for d in sorted(chosen, key=lambda m: m.start):
        prev = out.get(d.generic)
        # the mention that carries a regimen is the one to check; of two, the later one (the order
        # a vignette ends with: "... on 20 mg for 6 weeks. Increase citalopram to 40 mg")
        if prev is None or (d.dose is not None and (prev.dose is None or d.role == "proposed" or prev.role != "proposed")):
            out[d.generic] = d
    return list(out.values())


def _best_sentence(match: IndicationMatch) -> Span | None:
    """Return the sentence of the matched indication that holds most of the condition's words."""
    unit, cond = match.unit, match.condition
    if unit is None:
        return None
    section_text = unit.span
    best, best_cov = None, -1.0
    lims = {(s.start, s.end) for s in unit.limitations}
    for sent in _unit_sentences(unit):
        if (sent.start, sent.end) in lims:
            continue
        cov = coverage(cond, set(terms(sent.text))) if cond else 0.0
        if "indicated" in sent.text.lower():
            cov += 0.01  # prefer the "is indicated for" sentence over a heading-only one
        if cov > best_cov:
            best, best_cov = sent, cov
    return best or section_text


def _indicated_sentences(match: IndicationMatch, limit: int = 3) -> list[Span]:
    """Return the first "... indicated ..." sentence of each of the label's first indications."""
    out: list[Span] = []
    for unit in match.units:
        if unit.is_limitation:
            continue
        sent = next((s for s in _unit_sentences(unit) if "indicated" in s.text.lower() and s not in unit.limitations), None)
        if sent is not None:
            out.append(sent)
        if len(out) >= limit:
            break
    return out


def _unit_sentences(unit) -> list[Span]:
    if unit.section is None:
        return [unit.span]
    return sentences_of(unit.section, unit.span.start, unit.span.end)


def check_drug(store, facts: CaseFacts, mention: DrugMention, cite, lexicon=None) -> DrugCheck:
    """Return the label check of one drug; `cite(passage_ids) -> [numbers]` numbers citations."""
    conditions = condition_terms(facts.conditions, facts.abbreviations)
    # The case's own words (drug names aside) break ties between labels of one drug.
    drug_words = {w for d in facts.drugs for w in terms(d.text)}
    case_words = set(terms(facts.text)) - drug_words
    choice, label, match = choose_label(store, labelled_name(store, mention), conditions, case_words)
    if label is None or match is None:
        return _no_label(mention, choice)
    _refine(store, label, match, facts, mention)
    label_info = {
        "set_id": label.meta.get("set_id"), "doc_id": label.doc_id, "title": label.title,
        "version": label.meta.get("version"), "effective_date": label.meta.get("effective_time"),
        "other_labels": [d for d in choice.candidates if d != label.doc_id], "reason": choice.reason,
    }
    spans: dict[str, list[Span]] = {"indication": _indication_spans(match)}
    text = " ".join(quote(s.text) for s in spans["indication"]) or match.reason
    indication = Verdict(match.status, cite(_pids(spans["indication"])), text)

    region = dose_region(label, match.unit if match.status != IndicationStatus.NOT_INDICATED else None, match.condition, facts.text)
    one_indication = len([u for u in match.units if not u.is_limitation]) <= 1
    verdicts, vspans = _regimen(store, label, facts, mention, region, lexicon, one_indication)
    if match.status in (IndicationStatus.OFF_LABEL, IndicationStatus.NOT_INDICATED):
        # the label gives no dose for a use it does not list: nothing to match the order against
        for key in ("dose", "frequency"):
            v = verdicts[key]
            if v.status == RegimenStatus.MATCHES:
                verdicts[key] = DoseVerdict(RegimenStatus.NOT_STATED, None, v.prescribed, [],
                                            "no dosing row: the label does not give this use")
                vspans[key] = []
    spans.update(vspans)
    verdicts = {k: DoseVerdict(v.status, v.labeled, v.prescribed, cite(_pids(spans[k])), v.detail) for k, v in verdicts.items()}

    alerts = []
    synonyms = getattr(store, "synonyms", lambda g: [])
    for raw in case_alerts(label, facts, mention, synonyms, lambda g: drug_classes(store, g), examples=class_lookup(store)):
        alerts.append(Alert(raw.kind, raw.text, raw.trigger, cite(_pids(raw.spans))))
    check = LabelCheck(
        drug=mention.generic, label=label_info, indication=indication,
        dose=verdicts["dose"], frequency=verdicts["frequency"], route=verdicts["route"], alerts=alerts,
        note=match.reason,
    )
    return DrugCheck(check, mention, label, match, region, choice, spans)


def _no_label(mention: DrugMention, choice: LabelChoice) -> DrugCheck:
    """Return the check of a drug whose label is not held: said plainly, nothing borrowed."""
    prescribed = _prescribed(mention)
    note = f"No FDA label for {mention.generic} is held in the index."
    check = LabelCheck(
        drug=mention.generic, label=None,
        indication=Verdict(IndicationStatus.NO_LABEL, [], note),
        dose=DoseVerdict(RegimenStatus.NOT_STATED, None, prescribed["dose"], [], "no label held"),
        frequency=DoseVerdict(RegimenStatus.NOT_STATED, None, prescribed["frequency"], [], "no label held"),
        route=DoseVerdict(RegimenStatus.NOT_STATED, None, prescribed["route"], [], "no label held"),
        note=note,
    )
    return DrugCheck(check, mention, choice=choice)


def _indication_spans(match: IndicationMatch) -> list[Span]:
    """Return the label sentence(s) the indication verdict rests on: the exclusion, the matched
    indication's best sentence, or (nothing matched) what the label is indicated for."""
    if match.status in (IndicationStatus.NOT_INDICATED, IndicationStatus.OFF_LABEL) and match.exclusion is not None:
        return [match.exclusion]
    if match.unit is not None:
        best = _best_sentence(match)
        return [best] if best else []
    return _indicated_sentences(match)


def _refine(store, label: LabelText, match: IndicationMatch, facts: CaseFacts, mention: DrugMention) -> None:
    """Settle what the word match left unclear by meaning, and check an indication's biomarker
    against the case (`indication_fit`)."""
    if match.status == IndicationStatus.UNCLEAR:
        fit = fit_by_meaning(store, label, match.units, facts)
        if fit is not None:
            match.status, match.reason = fit.status, fit.reason
            if fit.status == IndicationStatus.NOT_INDICATED:
                match.exclusion, match.exclusion_kind = fit.span, "limitation"
            elif fit.unit is not None:
                match.unit = fit.unit
    if match.status in (IndicationStatus.ON_LABEL, IndicationStatus.UNCLEAR, IndicationStatus.OFF_LABEL):
        excluded = (child_exclusion(label, facts) or excluded_by_words(label, match.unit, facts)
                    or excluded_by_qualifier(label, facts, case_resources(store)[1]) or monotherapy_exclusion(label, facts, mention)
                    or combination_exclusion(label, facts, mention.generic, lambda g: drug_classes(store, g)))
        if excluded is not None:
            match.status, match.reason, match.exclusion, match.exclusion_kind = excluded.status, excluded.reason, excluded.span, "exclusion"
    if match.status == IndicationStatus.ON_LABEL:
        conflict = biomarker_conflict(match.unit, facts.text) or denied_requirement(match.unit, facts)
        if conflict is not None:
            match.status, match.reason, match.exclusion = conflict.status, conflict.reason, conflict.span


def _foreign(row, own: list[str], lexicon, generic: str) -> bool:
    """Return True when the row's first dose belongs to another drug: the drug named nearest
    before it is not this one ("Continue long-acting octreotide 30 mg ..."), or the dose is "of"
    another drug ("1500 mg/day of elemental calcium")."""
    if lexicon is None or not row.doses:
        return False

    def other(m) -> bool:  # an ingredient of a combination product is its own ("45 mg of dextromethorphan ...")
        return m.generic != generic and m.generic not in generic and not any(m.text.lower() in n for n in own)

    source = row.source or row.span.text
    # "an average of 1500 mg/day of elemental calcium": the substance the dose is of, named after it
    of = re.match(r"\s*of\s+(?:[\w-]+\s+){0,2}[\w-]+", source[row.doses[0].end :])
    if of and any(other(m) for m in lexicon.find(of.group(0))):
        return True
    before = source[: row.doses[0].start]  # the dose's own text: a table's first cell names whom the row is for
    others = [m for m in lexicon.find(before) if other(m)]
    if not others:
        return False
    last_other = max(m.end for m in others)
    low = before.lower()
    last_own = max((low.rfind(n) for n in own if n), default=-1)
    return last_other > last_own


_WITH = re.compile(r"\b(?:with|plus)\s+(?:[\w-]+\s+){0,2}$", re.I)


_CLAUSE_END = re.compile(r"[.;]\s")


def _given_with(text: str, order: DrugMention, other: DrugMention) -> bool:
    """Return True when the order's own sentence gives the other drug with it ("Revlimid 25 mg
    ... with weekly dexamethasone"): a partner of the order, though the case gives it no dose."""
    between = text[order.end : other.start]
    return other.start > order.end and not _CLAUSE_END.search(between) and bool(_WITH.search(between))


_STOP_WORD = re.compile(r"\bstop|\bdiscontinu|\bwithdrawn\b", re.IGNORECASE)
_RESTARTED = re.compile(r"\b(?:restart|re-start|resum|re-?initiat)\w*", re.IGNORECASE)


def _co_medications(facts: CaseFacts, mention: DrugMention) -> tuple[list[DrugMention], list[DrugMention]]:
    """Return the other drugs the patient takes now, and those the case last names as stopped
    ("on Cabometyx during itraconazole course; itraconazole stopped 5 days ago"), whatever an
    earlier mention said; a drug "stopped but restarted today" is taken now."""
    text = facts.text
    restarted = {d.generic for d in facts.drugs if _RESTARTED.search(text, d.end, _clause_end(text, d.end))}
    last = {d.generic: d for d in sorted(facts.drugs, key=lambda d: d.start)}
    stopped = {g for g, d in last.items() if g not in restarted and d.role == "previous" and _STOP_WORD.search(d.role_text or "")}
    current = [d for d in facts.drugs if d.generic != mention.generic and not d.negated and d.generic not in stopped
               and (d.role in ("comedication", "proposed") or d.generic in restarted
                    or (d.role == "unspecified" and (d.dose is not None or _given_with(text, mention, d))))]
    return current, [last[g] for g in stopped if g != mention.generic]


def _clause_end(text: str, pos: int) -> int:
    end = _CLAUSE_END.search(text, pos)
    return end.start() if end else len(text)


def _comed_classes(store, label: LabelText, comeds: list[DrugMention]) -> dict[str, list[str]]:
    """Return {co-medication: its classes}: those this label gives it ("clarithromycin (a strong
    CYP3A inhibitor)"), its own label's ("an aromatase inhibitor"), and where this label ranks it
    in no enzyme class of a stated strength, the ranked ones other labels give it as an example of
    ("strong CYP3A inducers (e.g., rifampin)"); a class of no strength is dropped where the drug
    has a ranked one of the same enzyme and role."""
    synonyms = getattr(store, "synonyms", lambda g: [])
    every = [s.text for sec in label.sections for s in sentences_of(sec)] if comeds else []
    classes = comedication_classes(every, comeds, synonyms)
    examples = class_lookup(store)
    for d in comeds:
        own_classes = [c.lower().removesuffix("s") for c in drug_classes(store, d.generic)]
        labelled = classes.get(d.generic, [])
        corpus = enzyme_classes(examples(d.generic)) if not any(ranked_class(c) for c in labelled) else []
        classes[d.generic] = without_unranked(list(dict.fromkeys(labelled + own_classes + corpus)))
        # and by the name the case writes, which a label naming its partner may use ("in
        # combination with nivolumab" for a case's "Nivolumab" whose labelled name is the brand);
        # a name is matched as a whole word, never inside another
        classes.setdefault(d.text.lower(), [])
    return classes


def _after_stopping(store, label: LabelText, stopped: list[DrugMention], dose: DoseVerdict) -> tuple[DoseVerdict, Span | None]:
    """Return the dose verdict, `not_stated` with the label sentence it rests on where the order
    matches but the label says what to do after stopping a drug the case has stopped (the time
    since is not read)."""
    if not stopped or dose.status != RegimenStatus.MATCHES:
        return dose, None
    sentences = [s for sec in label.by_code(DOSAGE, INTERACTIONS) for s in sentences_of(sec)]
    wait = after_stopping(sentences, _comed_classes(store, label, stopped))
    if wait is None:
        return dose, None
    detail = f"{stopped[0].text} was stopped; the label's dose depends on the time since: not checked"
    return DoseVerdict(RegimenStatus.NOT_STATED, quote(wait.text), dose.prescribed, detail=detail), wait


def _regimen(store, label: LabelText, facts: CaseFacts, mention: DrugMention, region: DoseRegion | None, lexicon=None,
             one_indication: bool = False):
    """Return the dose / frequency / route verdicts (without citation numbers) and their spans."""
    own = [n.lower() for n in label.names() + [mention.generic, mention.text]]
    rows = [r for r in stored_rows(store, label) if not _foreign(r, own, lexicon, mention.generic)]
    others, stopped = _co_medications(facts, mention)
    classes = _comed_classes(store, label, others)
    number = region.number if region is not None else None
    dose, basis, adjust = judge_dose(mention, rows, facts, number, classes, one_indication)
    dose, wait = _after_stopping(store, label, stopped, dose)
    # frequency: on a row that doses this patient's population less often ("reduce the dosing
    # frequency to once daily"), else the rows the dose rests on, else the rows of this patient's
    # population in the indication's subsection (never the whole section: another indication's
    # interval is not this one's)
    applying = [r for r in rows if applies(r, facts.patient, classes, facts.text)]
    less_often = [r for r in applying if frequency_only(r) and r.populations & ADJUSTED]
    pool = [r for r in adjust if r.doses] or candidate_rows(applying, number, facts.text)
    freq, fbasis = judge_frequency(mention, less_often or basis, pool)
    dna = [s for sec in label.by_code(DOSAGE) for s in sentences_of(sec)]
    route, rspans = judge_route(mention, basis, dna, label.meta.get("routes") or [])
    spans = {"dose": [wait] if wait else [r.span for r in basis], "frequency": [r.span for r in fbasis], "route": rspans}
    return {"dose": dose, "frequency": freq, "route": route}, spans


def _pids(spans: list[Span]) -> list[str]:
    return [pid for s in spans for pid in s.passage_ids]


def _prescribed(m: DrugMention) -> dict[str, str | None]:
    return {
        "dose": m.dose.text if m.dose else None,
        "frequency": m.frequency.text if m.frequency else None,
        "route": m.route.name if m.route else None,
    }


def check_case(store, facts: CaseFacts, cite, lexicon=None) -> list[DrugCheck]:
    """Return the label check of every drug to check in the case, in case order."""
    return [check_drug(store, facts, m, cite, lexicon) for m in drugs_to_check(facts)]


def check_text(store, text: str) -> list[DrugCheck]:
    """Return the label checks of a case text, with citation numbers in order of first use."""
    from medcite.analyze.facts import read_case

    facts, lexicon = read_case(store, text)
    numbers: dict[str, int] = {}

    def cite(pids: list[str]) -> list[int]:
        return [numbers.setdefault(p, len(numbers) + 1) for p in dict.fromkeys(pids)]

    return check_case(store, facts, cite, lexicon)
