"""The structured model of one FDA label, as the label check reads it: numbered indications with
the condition phrases they are for and their Limitations of Use, the uses the patient labeling
gives in its own words, the exclusions (boxed-warning and
"not indicated / not approved / contraindicated" sentences), and the dosing rows of
`label_dosing` (one per indication subsection x population, with amount, unit, frequency, route,
kind and the span of the sentence or table row it came from). `medcite label DRUG|SET_ID` prints it.

The model is derived from the stored label passages, so every field keeps the passage ids and
character offsets of its source and every verdict built on it can cite the exact sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medcite.analyze.indication_fit import condition_targets, exclusion_sentences, lay_targets
from medcite.analyze.label_dosing import DosingRow, label_rows, stored_rows
from medcite.analyze.label_select import labels_for
from medcite.analyze.label_text import LabelText, Span, indication_units, load_label, patient_uses, quote
from medcite.errors import MedciteError


@dataclass
class LabelModel:
    """One label's indications, exclusions and dosing rows."""

    label: LabelText
    indications: list[dict[str, Any]] = field(default_factory=list)
    exclusions: list[Span] = field(default_factory=list)
    rows: list[DosingRow] = field(default_factory=list)
    patient_uses: list[dict[str, Any]] = field(default_factory=list)  # the Medication Guide's "What is X?" uses

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `medcite label --json`."""
        meta = self.label.meta
        return {
            "doc_id": self.label.doc_id, "title": self.label.title, "set_id": meta.get("set_id"),
            "version": meta.get("version"), "effective_date": meta.get("effective_time"),
            "generic_names": meta.get("generic_names") or [], "brand_names": meta.get("brand_names") or [],
            "routes": meta.get("routes") or [],
            "indications": self.indications,
            "exclusions": [_span_dict(s) for s in self.exclusions],
            "patient_uses": self.patient_uses,
            "dosing_rows": [r.to_dict() for r in self.rows],
        }


def _span_dict(span: Span) -> dict[str, Any]:
    return {"text": quote(span.text), "start": span.start, "end": span.end, "passages": span.passage_ids}


def build_model(label: LabelText, store=None) -> LabelModel:
    """Return the model of a loaded label (dosing rows as extracted at ingest when `store` is given)."""
    model = LabelModel(label)
    for unit in indication_units(label):
        if unit.is_limitation:
            continue
        model.indications.append({
            "number": unit.number, "heading": unit.heading, "conditions": condition_targets(unit),
            "text": _span_dict(unit.span), "limitations": [_span_dict(s) for s in unit.limitations],
        })
    model.patient_uses = [{"conditions": lay_targets(u), "text": _span_dict(u)} for u in patient_uses(label)]
    seen: set[str] = set()
    for span in exclusion_sentences(label):  # the Highlights repeat the full text's sentences
        key = " ".join(quote(span.text).lower().split()).removeprefix("limitations of use:").strip(" .")
        if key not in seen:
            seen.add(key)
            model.exclusions.append(span)
    model.rows = stored_rows(store, label) if store is not None else label_rows(label)
    return model


def find_label(store, name: str) -> list[str]:
    """Return the doc ids of the labels `name` designates: a set id, a doc id, a generic or a brand
    name resolved through the drug dictionary; raises MedciteError naming what was not found."""
    key = name.strip()
    candidates = [key if key.startswith("spl:") else f"spl:{key}"]
    held = [c for c in candidates if store.document_meta([c])]
    if held:
        return held
    ids = labels_for(store, key)
    if not ids:
        from medcite.analyze.facts import case_resources

        lexicon, _ = case_resources(store)
        generic = lexicon.lookup(key)
        ids = labels_for(store, generic) if generic else []
    if not ids:
        raise MedciteError(f"{name}: no FDA label of that set id, drug or brand name is held in the index")
    return ids


def label_model(store, name: str) -> list[LabelModel]:
    """Return the models of the labels `name` designates (see `find_label`)."""
    return [build_model(load_label(store, doc_id), store) for doc_id in find_label(store, name)]
