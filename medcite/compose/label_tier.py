"""The label tier written out from the label checks: template sentences whose every fact is a field
of a `LabelCheck` (status, the label's own sentence, the prescribed value from the case), each
citing the label passages of that field; plus the bottom-line sentence of each drug and the
label's adverse-reaction and monitoring sentences.
"""

from __future__ import annotations

import re

from medcite.analyze.concordance import DrugCheck
from medcite.analyze.label_text import ADVERSE, WARNINGS_PRECAUTIONS, full_text_start, quote, sentences_of
from medcite.records import AlertKind, IndicationStatus, LabelCheck, RegimenStatus, ReviewCategory, Sentence

_STATUS_WORDS = {
    IndicationStatus.ON_LABEL: "on label",
    IndicationStatus.OFF_LABEL: "off label (not among the label's indications)",
    IndicationStatus.NOT_INDICATED: "not indicated (the label excludes this use)",
    IndicationStatus.UNCLEAR: "indication not decided",
    IndicationStatus.NO_LABEL: "no label held",
    RegimenStatus.MATCHES: "matches the label",
    RegimenStatus.MISMATCH: "differs from the label",
    RegimenStatus.NOT_STATED: "could not be checked",
}
_ALERT_WORDS = {
    AlertKind.BOXED_WARNING: "Boxed warning",
    AlertKind.CONTRAINDICATION: "Contraindication",
    AlertKind.WARNING: "Warning",
    AlertKind.INTERACTION: "Drug interaction",
    AlertKind.DOSAGE: "Dose adjustment",
    AlertKind.POPULATION: "Special population",
}
_CATEGORY_WORDS = {
    ReviewCategory.CONTRAINDICATED: "CONTRAINDICATED for this patient",
    ReviewCategory.NOT_INDICATED: "not indicated",
    ReviewCategory.OFF_LABEL: "off-label",
    ReviewCategory.DOSE_MISMATCH: "the order differs from the label",
    ReviewCategory.UNCLEAR: "not fully checked",
    ReviewCategory.ON_LABEL: "the order matches the label",
}


def _t(text: str, citations: list[int]) -> Sentence:
    return Sentence(text=text, citations=list(citations), kind="template")


def check_sentences(check: LabelCheck) -> list[Sentence]:
    """Return the template sentences of one drug's label check (none when no label is held:
    that is said by the tier's note)."""
    if check.label is None:
        return []
    out: list[Sentence] = []
    drug = check.drug
    title = check.label.get("title") or ""
    ind = check.indication
    if ind.status == IndicationStatus.ON_LABEL:
        out.append(_t(f"{title}: {drug} is on label for this case; the label states: “{ind.text}”", ind.citations))
    elif ind.status == IndicationStatus.NOT_INDICATED:
        out.append(_t(f"{title}: {drug} is not indicated for this case; the label states: “{ind.text}”", ind.citations))
    elif ind.status == IndicationStatus.OFF_LABEL:
        out.append(_t(f"{title}: this use of {drug} is not among the label's indications ({check.note}); the label states: “{ind.text}”",
                      ind.citations))
    elif ind.citations:
        out.append(_t(f"{title}: whether {drug} is indicated here is unclear ({check.note}); the label states: “{ind.text}”",
                      ind.citations))
    for key in ("dose", "frequency", "route"):
        v = getattr(check, key)
        if v.status == RegimenStatus.NOT_PRESCRIBED and key == "dose" and ind.status == IndicationStatus.ON_LABEL and v.citations and v.labeled:
            out.append(_t(f"No dose is given in the case; the label's dose for this indication: “{v.labeled}”", v.citations))
            continue
        if v.status == RegimenStatus.NOT_PRESCRIBED or not v.citations:
            continue
        if v.status == RegimenStatus.MATCHES:
            if key == "dose":
                out.append(_t(f"Prescribed dose {v.prescribed} {_STATUS_WORDS[v.status]}: “{v.labeled}”", v.citations))
            else:
                out.append(_t(f"Prescribed {key} ({v.prescribed}) {_STATUS_WORDS[v.status]}.", v.citations))
        elif v.status == RegimenStatus.MISMATCH:
            if key == "dose":
                out.append(_t(f"Prescribed dose {v.prescribed} {_STATUS_WORDS[v.status]}, which states: “{v.labeled}”", v.citations))
            else:
                out.append(_t(f"Prescribed {key} ({v.prescribed}) {_STATUS_WORDS[v.status]} ({v.labeled}).", v.citations))
        elif v.status == RegimenStatus.NOT_STATED and key == "dose" and v.labeled:
            out.append(_t(f"The prescribed dose ({v.prescribed}) cannot be compared: {v.detail}; the label states: “{v.labeled}”", v.citations))
    for a in check.alerts:
        out.append(_t(f"{_ALERT_WORDS.get(a.kind, a.kind)} ({a.trigger}): “{a.text}”", a.citations))
    return out


def bottom_line_sentence(check: LabelCheck) -> Sentence:
    """Return the one-line verdict of a drug for the bottom line (a note when no label is held)."""
    if check.label is None:
        return Sentence(text=f"No FDA label for {check.drug} is held in the index, so its regimen was not checked against a label.",
                        kind="note")
    category = check.category()
    parts = [f"{check.drug}: {_CATEGORY_WORDS[category]} ({check.label.get('title')})"]
    cites = list(check.indication.citations)
    if category == ReviewCategory.CONTRAINDICATED:
        a = next(a for a in check.alerts if a.kind == AlertKind.CONTRAINDICATION)
        parts.append(f"contraindication triggered by {a.trigger}")
        cites += a.citations
    parts.append(f"indication {_STATUS_WORDS.get(check.indication.status, check.indication.status)}")
    for key, v in check.regimen().items():
        if v.status in (RegimenStatus.MATCHES, RegimenStatus.MISMATCH):
            parts.append(f"{key} {_STATUS_WORDS[v.status]}")
            cites += v.citations
    parts += [f"could not check {u}" for u in check.undecided() if not u.startswith("indication")]
    if check.alerts:
        kinds = sorted({_ALERT_WORDS.get(a.kind, a.kind).lower() for a in check.alerts})
        parts.append("alerts: " + ", ".join(kinds))
        cites += [n for a in check.alerts for n in a.citations]
    return _t("; ".join(parts) + ".", list(dict.fromkeys(cites)))


_MOST_COMMON = re.compile(r"(?:the\s+)?most\s+common\b", re.IGNORECASE)
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
        hit = next((s for s in sents if _MOST_COMMON.match(quote(s.text)) and len(quote(s.text)) <= 500), None)
        hit = hit or next((s for s in sents if _MOST_COMMON.search(s.text) and len(quote(s.text)) <= 500), None)
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
