"""FHIR R4 data of a CDS Hooks call -> the case text medcite answers.

The draft MedicationRequests (drug by RxNorm code or text, doseAndRate, timing, route), the Patient
(age, sex), active Conditions and the latest creatinine / eGFR Observations are written out as a
short case in plain words ("A 64-year-old woman with ... Plan: start toremifene 60 mg orally once
daily."), which the answer pipeline reads with the same fact extractor as a typed case. One code
path for typed and structured cases means a CDS card and `medcite ask` agree.

Resources are parsed with `fhir.resources` (R4B models, which match R4 for the resources used);
a resource that does not parse makes the hook request malformed (`HookRequestError`, HTTP 400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from medcite.analyze.regimen import canonical_frequency
from medcite.errors import MedciteError

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
# LOINC codes asked for in the prefetch templates, and how the case text names them.
LAB_CODES: dict[str, str] = {"2160-0": "Serum creatinine", "33914-3": "eGFR", "62238-1": "eGFR"}
# FHIR Timing.repeat.periodUnit -> days.
PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}
ROUTE_ADVERBS = {
    "oral": "orally", "intravenous": "intravenously", "subcutaneous": "subcutaneously",
    "intramuscular": "intramuscularly", "topical": "topically", "sublingual": "sublingually",
    "transdermal": "transdermally", "intravitreal": "intravitreally", "intrathecal": "intrathecally",
    "rectal": "rectally", "intradermal": "intradermally", "intranasal": "intranasally",
}
INACTIVE_CONDITION = {"inactive", "resolved", "remission"}
REFUTED_CONDITION = {"refuted", "entered-in-error"}


class HookRequestError(MedciteError):
    """A hook request whose FHIR content is malformed (answered with 400)."""


@dataclass
class DraftOrder:
    """One draft medication order, read from a FHIR MedicationRequest."""

    resource_id: str | None
    drug: str
    rxnorm: list[str] = field(default_factory=list)
    dose: str | None = None  # "60 mg"
    route: str | None = None  # "oral"
    frequency: str | None = None  # canonical wording ("once daily")
    instructions: str | None = None  # dosageInstruction.text, when no structured timing is given
    label_doc_id: str | None = None  # the FDA label whose openFDA rxcui list holds one of the codes

    def regimen(self) -> str:
        """Return the order as words: 'toremifene 60 mg orally once daily'."""
        parts = [self.drug]
        if self.dose:
            parts.append(self.dose)
        if self.route:
            parts.append(ROUTE_ADVERBS.get(self.route, f"by the {self.route} route"))
        if self.frequency:
            parts.append(self.frequency)
        elif self.instructions:
            parts.append(f"({self.instructions})")
        return " ".join(parts)


@dataclass
class HookCase:
    """The case a hook call describes: patient, conditions, labs, orders, and its text."""

    orders: list[DraftOrder]
    age: int | None = None
    sex: str | None = None
    conditions: list[str] = field(default_factory=list)
    labs: list[tuple[str, str]] = field(default_factory=list)  # (name, "0.9 mg/dL")
    notes: list[str] = field(default_factory=list)  # prefetch that could not be read

    def text(self) -> str:
        """Return the case as plain sentences for the fact extractor."""
        who = {"female": "woman", "male": "man"}.get(self.sex or "", "patient")
        subject = f"A {self.age}-year-old {who}" if self.age is not None else f"A {who}"
        sentences = [subject + (" with " + _join(self.conditions) if self.conditions else "") + "."]
        sentences += [f"{name} {value}." for name, value in self.labs]
        if self.orders:
            sentences.append("Plan: start " + _join([o.regimen() for o in self.orders]) + ".")
        return " ".join(sentences)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _parse(model, data: Any, what: str):
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise HookRequestError(f"{what}: expected a FHIR resource object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise HookRequestError(f"{what}: invalid FHIR ({where}: {first.get('msg')})") from None


def _concept_text(concept) -> str | None:
    if concept is None:
        return None
    if concept.text:
        return concept.text
    for coding in concept.coding or []:
        if coding.display:
            return coding.display
    return None


def _num(value) -> str:
    return f"{float(value):g}"


# ---------------------------------------------------------------------- orders
def draft_orders(bundle: dict[str, Any], selections: list[str] | None = None) -> list[DraftOrder]:
    """Return the draft MedicationRequests of a draftOrders Bundle (only `selections` when given)."""
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.medicationrequest import MedicationRequest

    parsed = _parse(Bundle, bundle, "context.draftOrders")
    wanted = set(selections or [])
    orders = []
    for i, entry in enumerate(parsed.entry or []):
        raw = (bundle.get("entry") or [])[i].get("resource") or {}
        if raw.get("resourceType") != "MedicationRequest":
            continue  # ServiceRequests and other orders are not drug orders
        mr = _parse(MedicationRequest, raw, f"context.draftOrders.entry[{i}]")
        if wanted and f"MedicationRequest/{mr.id}" not in wanted:
            continue
        orders.append(_order(mr, i))
    return orders


def _medication(mr):
    """Return the CodeableConcept of the drug: inline, or of a contained Medication ("#id")."""
    if mr.medicationCodeableConcept is not None:
        return mr.medicationCodeableConcept
    ref = mr.medicationReference.reference if mr.medicationReference is not None else None
    if ref and ref.startswith("#"):
        for res in mr.contained or []:
            if res.get_resource_type() == "Medication" and res.id == ref[1:]:
                return res.code
    return None


def _order(mr, i: int) -> DraftOrder:
    concept = _medication(mr)
    if concept is None:
        raise HookRequestError(f"context.draftOrders.entry[{i}]: the drug must be a medicationCodeableConcept "
                               "or a medicationReference to a contained Medication with a code")
    codes = [c.code for c in concept.coding or [] if c.code and (c.system or "").rstrip("/") == RXNORM]
    name = _concept_text(concept)
    if not name and not codes:
        raise HookRequestError(f"context.draftOrders.entry[{i}]: the medication has neither text nor an RxNorm code")
    order = DraftOrder(resource_id=mr.id, drug=name or "", rxnorm=codes)
    dosage = (mr.dosageInstruction or [None])[0]
    if dosage is None:
        return order
    order.instructions = dosage.text
    for dr in dosage.doseAndRate or []:
        q = dr.doseQuantity
        if q is not None and q.value is not None:
            order.dose = f"{_num(q.value)} {q.unit or q.code or ''}".strip()
            break
        r = dr.doseRange
        if r is not None and r.low is not None and r.high is not None and r.low.value is not None and r.high.value is not None:
            order.dose = f"{_num(r.low.value)} to {_num(r.high.value)} {r.high.unit or r.high.code or ''}".strip()
            break
    route = _concept_text(dosage.route)
    if route:
        order.route = route.lower().removesuffix(" route").removesuffix(" use").strip()
    repeat = dosage.timing.repeat if dosage.timing is not None else None
    if repeat is not None and repeat.period is not None and repeat.periodUnit in PERIOD_DAYS:
        times = int(repeat.frequency or 1)
        per_days = float(repeat.period) * PERIOD_DAYS[repeat.periodUnit]
        order.frequency = canonical_frequency(times, per_days)
    elif dosage.timing is not None and _concept_text(dosage.timing.code):
        order.frequency = _concept_text(dosage.timing.code)
    return order


def resolve_orders(store, orders: list[DraftOrder]) -> None:
    """Name each order by the FDA label its RxNorm code belongs to (openFDA `rxcui`), when held.

    A coded order without text gets the label's generic name; the label id is kept for the card.
    """
    for order in orders:
        if not order.rxnorm:
            continue
        for code in order.rxnorm:
            rows = store.conn.execute(
                "SELECT doc_id, meta FROM documents WHERE tier='label' AND meta LIKE ? ORDER BY doc_id", (f'%"{code}"%',)
            ).fetchall()
            for doc_id, meta in rows:
                info = json.loads(meta).get("meta", {})
                if code in (info.get("rxcui") or []):
                    order.label_doc_id = doc_id
                    generics = info.get("generic_names") or []
                    # The generic name is what the drug dictionary resolves; a coded order's display
                    # text is often a product string ("... 60 MG Oral Tablet").
                    if generics:
                        order.drug = generics[0].lower()
                    break
            if order.label_doc_id:
                break
        if not order.drug:
            order.drug = f"RxNorm {order.rxnorm[0]}"


# ---------------------------------------------------------------------- prefetch
def read_prefetch(case: HookCase, prefetch: dict[str, Any], today: date | None = None) -> None:
    """Fill the patient, conditions and labs of `case` from prefetch resources (Patient, Bundles)."""
    from fhir.resources.R4B.patient import Patient

    today = today or date.today()
    patient = prefetch.get("patient")
    if patient:
        p = _parse(Patient, patient, "prefetch.patient")
        case.sex = p.gender if p.gender in {"female", "male"} else None
        if p.birthDate:
            born = p.birthDate
            case.age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    for key, value in prefetch.items():
        if key == "patient" or not value:
            continue
        resources = _bundle_resources(value, f"prefetch.{key}")
        case.conditions += [c for c in (_condition(r, key) for r in resources if r.get("resourceType") == "Condition") if c]
        observations = [o for o in (_observation(r, key) for r in resources if r.get("resourceType") == "Observation") if o]
        latest: dict[str, tuple[str, str]] = {}
        for name, when, value_text in sorted(observations, key=lambda o: o[1]):
            latest[name] = (when, value_text)
        case.labs += [(name, v) for name, (_, v) in sorted(latest.items())]
    case.conditions = list(dict.fromkeys(case.conditions))


def _bundle_resources(value: dict[str, Any], what: str) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        raise HookRequestError(f"{what}: expected a FHIR resource object")
    if value.get("resourceType") != "Bundle":
        return [value]
    from fhir.resources.R4B.bundle import Bundle

    _parse(Bundle, value, what)
    return [e["resource"] for e in value.get("entry") or [] if isinstance(e.get("resource"), dict)]


def _condition(raw: dict[str, Any], key: str) -> str | None:
    from fhir.resources.R4B.condition import Condition

    c = _parse(Condition, raw, f"prefetch.{key} Condition")
    clinical = {cd.code for cd in (c.clinicalStatus.coding or [])} if c.clinicalStatus else set()
    verified = {cd.code for cd in (c.verificationStatus.coding or [])} if c.verificationStatus else set()
    if clinical & INACTIVE_CONDITION or verified & REFUTED_CONDITION:
        return None
    return _concept_text(c.code)


def _observation(raw: dict[str, Any], key: str) -> tuple[str, str, str] | None:
    from fhir.resources.R4B.observation import Observation

    o = _parse(Observation, raw, f"prefetch.{key} Observation")
    if o.status in {"entered-in-error", "cancelled"} or o.valueQuantity is None or o.valueQuantity.value is None:
        return None
    codes = [cd.code for cd in (o.code.coding or []) if (cd.system or "").rstrip("/") == LOINC and cd.code in LAB_CODES]
    if not codes:
        return None
    when = str(o.effectiveDateTime or o.issued or "")
    q = o.valueQuantity
    return LAB_CODES[codes[0]], when, f"{_num(q.value)} {q.unit or q.code or ''}".strip()
