"""Template and note sentences: fixed wording with values set in it.

Every sentence an answer states in its own words is made here, from a template key and its values;
the sentence keeps both (`Sentence.template`, `Sentence.values`), so the verifier can render it
again and check each value where it must come from:
- `quote`: a span of the cited passages (the label's own sentence);
- `name`: written in the cited passages, their titles or section names, or the case (a drug, a
  label title, a trigger, an interval as the source writes it);
- `fact`: a fact of the case as the label check writes it ("HLA-B*1502 positive"): each of its words
  and numbers is in the cited passages or the case;
- `regimen`: a dose / frequency / route as the label check reads it: its numbers are in the cited
  passages or the case and its words are there or regimen words ("once daily", "every 4 weeks");
- `status`, `field`, `kind`, `tier`, `intent`: one word of a fixed vocabulary.
"""

from __future__ import annotations

from medcite.records import AlertKind, IndicationStatus, Intent, RegimenStatus, ReviewCategory, Sentence, SentenceKind

STATUS_WORDS = {
    IndicationStatus.ON_LABEL: "on label", IndicationStatus.OFF_LABEL: "off label (not among the label's indications)",
    IndicationStatus.NOT_INDICATED: "not indicated (the label excludes this use)", IndicationStatus.UNCLEAR: "unclear",
    IndicationStatus.NO_LABEL: "no label held",
    RegimenStatus.MATCHES: "matches the label", RegimenStatus.MISMATCH: "differs from the label",
    RegimenStatus.NOT_STATED: "could not be checked", RegimenStatus.NOT_PRESCRIBED: "not prescribed",
}
ALERT_WORDS = {
    AlertKind.BOXED_WARNING: "Boxed warning", AlertKind.CONTRAINDICATION: "Contraindication", AlertKind.WARNING: "Warning",
    AlertKind.INTERACTION: "Drug interaction", AlertKind.DOSAGE: "Dose adjustment", AlertKind.POPULATION: "Special population",
}
CATEGORY_WORDS = {
    ReviewCategory.CONTRAINDICATED: "CONTRAINDICATED for this patient", ReviewCategory.NOT_INDICATED: "not indicated",
    ReviewCategory.OFF_LABEL: "off-label", ReviewCategory.DOSE_MISMATCH: "the order differs from the label",
    ReviewCategory.UNCLEAR: "not fully checked", ReviewCategory.ON_LABEL: "the order matches the label",
}
# The words of the label check's own reasons (`DoseVerdict.detail`); a reason's other words (units)
# must stand in the cited passages or the case.
REASON_WORDS = frozenset(
    "units not comparable the label states order no dosing row for this indication and patient doses its indications "
    "differently case's was recognised calls a lower dose in patient's population without stating it does give use "
    "none to compare above maximum different is usual advises against held".split()
)
INTENT_WORDS = {
    Intent.INFORMATION: "what it is", Intent.MECHANISM: "how it works", Intent.INDICATION: "its uses",
    Intent.DOSING: "dosing", Intent.ADMINISTRATION: "administration", Intent.PRODUCT: "forms and storage",
    Intent.ADVERSE_EFFECTS: "adverse effects", Intent.INTERACTIONS: "interactions",
    Intent.CONTRAINDICATIONS: "contraindications and special populations", Intent.MONITORING: "monitoring",
    Intent.COMPARISON: "the comparison asked", Intent.DIAGNOSIS: "diagnosis", Intent.MANAGEMENT: "management",
    Intent.PROGNOSIS: "prognosis", Intent.CASE_REGIMEN: "this regimen",
}
TIER_WORDS = {"label": "FDA label", "guideline": "guideline", "research": "research abstract"}
REGIMEN_WORDS = frozenset(
    "once twice three four times daily day days every week weeks weekly month months monthly hour hours hourly "
    "a an per at bedtime morning evening as needed cycle cycles of each for the first to mg mcg g kg m2 ml units "
    "oral orally intravenous intravenously subcutaneous subcutaneously intramuscular intramuscularly topical "
    "route deep injection infusion".split()
)
FIELD_WORDS = {"dose", "frequency", "route"}

# key -> (kind, wording, {value: type})
TEMPLATES: dict[str, tuple[str, str, dict[str, str]]] = {
    "indication": (SentenceKind.TEMPLATE, "{title}: {drug} is {status} for this case; the label states: “{label_text}”",
                   {"title": "name", "drug": "name", "status": "status", "label_text": "quote"}),
    "label_dose": (SentenceKind.TEMPLATE, "No dose is given in the case; the label's dose for this indication: “{labeled}”",
                   {"labeled": "quote"}),
    "dose": (SentenceKind.TEMPLATE, "Prescribed dose {prescribed} {status}, which states: “{labeled}”",
             {"prescribed": "regimen", "status": "status", "labeled": "quote"}),
    "regimen": (SentenceKind.TEMPLATE, "Prescribed {field} ({prescribed}) {status} ({labeled}).",
                {"field": "field", "prescribed": "regimen", "status": "status", "labeled": "regimen"}),
    "alert": (SentenceKind.TEMPLATE, "{kind} ({trigger}): “{alert_text}”", {"kind": "kind", "trigger": "fact", "alert_text": "quote"}),
    "verdict": (SentenceKind.TEMPLATE, "{drug}: {category} per {title}; indication {status}; dose {dose}; frequency {frequency}; route {route}.",
                {"drug": "name", "category": "category", "status": "status", "title": "name", "dose": "status",
                 "frequency": "status", "route": "status"}),
    "undecided": (SentenceKind.TEMPLATE, "{drug}: could not check the {field}: {reason}.",
                  {"drug": "name", "field": "field", "reason": "reason"}),
    "contraindicated": (SentenceKind.TEMPLATE, "{drug}: contraindicated for this patient ({trigger}): “{alert_text}”",
                        {"drug": "name", "trigger": "fact", "alert_text": "quote"}),
    "alerts": (SentenceKind.TEMPLATE, "{drug}: the label's alerts that this case triggers: {kinds}.", {"drug": "name", "kinds": "kinds"}),
    "interval_differs": (SentenceKind.TEMPLATE, "This source gives {drug} {interval}, which differs from the case's {prescribed}.",
                         {"drug": "name", "interval": "name", "prescribed": "regimen"}),
    "interval_agrees": (SentenceKind.TEMPLATE, "This source gives {drug} {interval}, as the case does ({prescribed}).",
                        {"drug": "name", "interval": "name", "prescribed": "regimen"}),
    "no_label": (SentenceKind.NOTE, "No FDA label for {drug} is held in the index, so its regimen was not checked against a label.",
                 {"drug": "name"}),
    "no_label_held": (SentenceKind.NOTE, "No FDA label for {drug} is held in the index.", {"drug": "name"}),
    "tier_absent": (SentenceKind.NOTE, "No {tier} passage in the index addresses {intent} for this question.",
                    {"tier": "tier", "intent": "intent"}),
    "abstain": (SentenceKind.NOTE, "The index holds no passage about {subject} that addresses {intent}.",
                {"intent": "intent", "subject": "name"}),
    "abstain_topic": (SentenceKind.NOTE, "The index holds no passage that answers this question.", {}),
    "no_drug": (SentenceKind.NOTE, "The question names no drug to check against an FDA label.", {}),
}


def render(key: str, citations: list[int] | None = None, **values: str) -> Sentence:
    """Return the sentence of template `key` with `values` set in it."""
    kind, wording, _ = TEMPLATES[key]
    values = {k: str(v) for k, v in values.items()}
    return Sentence(text=wording.format(**values), citations=list(citations or []), kind=kind, template=key, values=values)


def rendered(sentence: Sentence) -> str | None:
    """Return the text its template and values give, or None when the template or a value is unknown."""
    spec = TEMPLATES.get(sentence.template or "")
    if spec is None or set(spec[2]) != set(sentence.values):
        return None
    return spec[1].format(**sentence.values)


def vocabulary(kind: str) -> set[str]:
    """Return the words a value of a fixed-vocabulary type may be."""
    return {
        "status": set(STATUS_WORDS.values()), "field": FIELD_WORDS | {"indication"}, "kind": set(ALERT_WORDS.values()),
        "category": set(CATEGORY_WORDS.values()),
        "tier": set(TIER_WORDS.values()), "intent": set(INTENT_WORDS.values()),
    }.get(kind, set())
