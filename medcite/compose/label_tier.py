"""The label tier written out from the label checks: template sentences whose every fact is a field
of a `LabelCheck` (status, the label's own sentence, the prescribed value from the case), each
citing the label passages of that field; plus the bottom-line sentence of each drug and the
label's adverse-reaction and monitoring sentences.
"""

from __future__ import annotations

import re

from medcite.analyze.concordance import DrugCheck
from medcite.analyze.label_text import ADVERSE, WARNINGS_PRECAUTIONS, full_text_start, quote, sentences_of
from medcite.compose.intents import MOST_COMMON
from medcite.compose.templates import ALERT_WORDS, CATEGORY_WORDS, STATUS_WORDS, render
from medcite.records import AlertKind, IndicationStatus, LabelCheck, RegimenStatus, ReviewCategory, Sentence

def check_sentences(check: LabelCheck) -> list[Sentence]:
    """Return the template sentences of one drug's label check (none when no label is held:
    that is said by the tier's note)."""
    if check.label is None:
        return []
    out: list[Sentence] = []
    drug, title, ind = check.drug, check.label.get("title") or "", check.indication
    if ind.citations and ind.text and ind.status != IndicationStatus.NO_LABEL:
        out.append(render("indication", ind.citations, title=title, drug=drug, status=STATUS_WORDS[ind.status],
                          label_text=ind.text))
    for key in ("dose", "frequency", "route"):
        v = getattr(check, key)
        if not v.citations or not v.labeled:
            continue
        if v.status == RegimenStatus.NOT_PRESCRIBED and key == "dose" and ind.status == IndicationStatus.ON_LABEL:
            out.append(render("label_dose", v.citations, labeled=v.labeled))
        elif v.status in (RegimenStatus.MATCHES, RegimenStatus.MISMATCH) and key == "dose" and v.prescribed:
            out.append(render("dose", v.citations, prescribed=v.prescribed, status=STATUS_WORDS[v.status], labeled=v.labeled))
        elif v.status in (RegimenStatus.MATCHES, RegimenStatus.MISMATCH) and v.prescribed:
            out.append(render("regimen", v.citations, field=key, prescribed=v.prescribed, status=STATUS_WORDS[v.status],
                              labeled=v.labeled))
    for a in check.alerts:
        out.append(render("alert", a.citations, kind=ALERT_WORDS.get(a.kind, a.kind), trigger=a.trigger, alert_text=a.text))
    return out


def bottom_line_sentences(check: LabelCheck) -> list[Sentence]:
    """Return the verdict of a drug for the bottom line (a note when no label is held), and the
    kinds of alerts the case triggers."""
    if check.label is None:
        return [render("no_label", drug=check.drug)]
    category = check.category()
    cites = list(check.indication.citations)
    for v in check.regimen().values():
        if v.status in (RegimenStatus.MATCHES, RegimenStatus.MISMATCH):
            cites += v.citations
    out = []
    if category == ReviewCategory.CONTRAINDICATED:
        a = next(a for a in check.alerts if a.kind == AlertKind.CONTRAINDICATION)
        out.append(render("contraindicated", a.citations, drug=check.drug, trigger=a.trigger, alert_text=a.text))
    out.append(render("verdict", list(dict.fromkeys(cites)), drug=check.drug, category=CATEGORY_WORDS[category],
                      status=STATUS_WORDS[check.indication.status], title=check.label.get("title") or "",
                      dose=STATUS_WORDS[check.dose.status], frequency=STATUS_WORDS[check.frequency.status],
                      route=STATUS_WORDS[check.route.status]))
    for key, v in check.regimen().items():
        if v.status == RegimenStatus.NOT_STATED and v.detail:
            out.append(render("undecided", list(check.indication.citations), drug=check.drug, field=key, reason=v.detail))
    if check.alerts:
        kinds = ", ".join(sorted({ALERT_WORDS.get(a.kind, a.kind).lower() for a in check.alerts}))
        out.append(render("alerts", list(dict.fromkeys(n for a in check.alerts for n in a.citations)), drug=check.drug, kinds=kinds))
    return out


_MONITOR = re.compile(r"^\s*(?:monitor|obtain|assess|evaluate|perform|measure)\b", re.IGNORECASE)


def monitoring_sentences(dc: DrugCheck, cite, limit: int = 3) -> list[Sentence]:
    """Return the label's "most common adverse reactions" sentence and its first monitoring
    instructions (Warnings and Precautions sentences that start with "Monitor ..."), quoted."""
    if dc.label is None:
        return []
    out: list[Sentence] = []
    for sec in dc.label.by_code(ADVERSE):
        sents = sentences_of(sec)
        # "Most common adverse reactions ... are ..." standing as its own sentence reads best
        hit = next((s for s in sents if MOST_COMMON.match(quote(s.text)) and len(quote(s.text)) <= 500), None)
        hit = hit or next((s for s in sents if MOST_COMMON.search(s.text) and len(quote(s.text)) <= 500), None)
        if hit is not None:
            text = quote(hit.text)
            if 40 <= len(text) <= 500:
                out.append(Sentence(text, cite(hit.passage_ids)))
            break
    for sec in dc.label.by_code(WARNINGS_PRECAUTIONS):
        for s in sentences_of(sec, full_text_start(sec)):
            if len(out) >= limit:
                break
            if _MONITOR.match(quote(s.text)) and len(quote(s.text)) <= 400:
                out.append(Sentence(quote(s.text), cite(s.passage_ids)))
    return out[:limit]
