"""Boxed warnings, contraindications, warnings, interactions, dose adjustments and population
statements of a label that a fact of the case triggers.

Triggers (each in its own module): a genotype or metabolizer status (HLA-B*15:02 and
carbamazepine), ancestry, a co-medication named in the label by name or by class, a drug stopped
within the label's washout, a partner drug the label requires, the route ordered
(`label_alert_drugs`); renal and hepatic function, age, pregnancy, breastfeeding, QTc and
potassium (`label_alert_patient`); a condition of the case that a contraindication or boxed
warning names (`label_alert_conditions`). How a sentence is found is `label_alert_search`.

Each alert is the label's own sentence (cross-references removed) with the span it came from, so
the caller cites the exact passage, and names the trigger in the case's words. A trigger gives one
alert, from the most severe section that speaks of it (and the dose adjustment that goes with a
warning or an interaction); two triggers that quote the same sentence share one alert.
"""

from __future__ import annotations

from medcite.analyze.label_alert_conditions import condition_alerts
from medcite.analyze.label_alert_drugs import (
    ancestry_alerts,
    comedication_alerts,
    genotype_alerts,
    monotherapy_alerts,
    route_alerts,
)
from medcite.analyze.label_alert_patient import age_alerts, lab_alerts, lactation_alerts, organ_alerts, pregnancy_alerts
from medcite.analyze.label_alert_search import RANK, Context, RawAlert
from medcite.analyze.label_text import LabelText
from medcite.records import AlertKind, CaseFacts, DrugMention

__all__ = ["RawAlert", "case_alerts"]


def _merge(alerts: list[RawAlert]) -> list[RawAlert]:
    """Return the alerts with one alert per quoted sentence and kind (their triggers joined)."""
    out: dict[tuple[AlertKind, int, int, tuple[str, ...]], RawAlert] = {}
    for a in alerts:
        span = a.spans[0]
        key = (a.kind, span.start, span.end, tuple(span.passage_ids))
        if key not in out:
            out[key] = a
        elif a.trigger.lower() not in out[key].trigger.lower():
            out[key].trigger += f"; {a.trigger}"
    return list(out.values())


def case_alerts(label: LabelText, facts: CaseFacts, drug: DrugMention, synonyms, classes=None, *,
                examples=None) -> list[RawAlert]:
    """Return every alert the case's facts trigger in `label`, most severe first.
    `synonyms(generic)`: the dictionary names of a drug; `classes(generic)`: the pharmacologic
    classes its own held label gives it; `examples(generic)`: the classes the corpus's labels give
    it as an example of (`label_alert_drugs.class_lookup(store)`)."""
    ctx = Context(label, facts)
    alerts = genotype_alerts(ctx) + ancestry_alerts(ctx) + comedication_alerts(ctx, drug, synonyms, classes, examples)
    alerts += organ_alerts(ctx) + age_alerts(ctx) + pregnancy_alerts(ctx) + lactation_alerts(ctx) + lab_alerts(ctx)
    alerts += route_alerts(ctx, drug) + monotherapy_alerts(ctx, drug) + condition_alerts(ctx)
    alerts = _merge(alerts)
    alerts.sort(key=lambda a: RANK[a.kind])
    return alerts
