"""FHIR R4 data of a CDS Hooks call -> the structured case facts medcite answers, and their text.

Structured data stays structured: each draft MedicationRequest gives exactly one drug, named by
its coded medication (RxNorm code or the medication's text) with the dose, frequency and route of
its own `dosageInstruction` fields (doseAndRate, timing, route). The Patient gives age and sex,
the latest eGFR Observation the eGFR, and each active Condition gives conditions (read from its
code's text with the condition reader) and the patient states a condition can be — pregnancy,
lactation, kidney failure, dialysis, hepatic impairment — nothing else. Free text never adds a
drug: a Condition whose text says "Plan: start methotrexate 20 mg" is a condition with that name,
and a `dosageInstruction.text` is not read at all, so "patient is pregnant" written there cannot
change any card.

The facts go to `ask` as `CaseFacts` together with a short case text written from them ("A
64-year-old woman with ... Plan: start toremifene citrate 60 mg orally once daily."), which is what
retrieval searches with and what the facts' offsets point into. Numbers are written by the one
formatter (medcite/numbers.py): an order of 2,400,000 units reads "2,400,000 units".

Resources are parsed with `fhir.resources` (R4B models, which match R4 for the resources used); a
resource that does not parse, or an impossible dose, makes the hook request malformed
(`HookRequestError`, HTTP 400).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from medcite.analyze.regimen import canonical_frequency, find_doses, find_frequencies, find_routes
from medcite.errors import MedciteError
from medcite.numbers import check_dose_value, format_dose, format_number
from medcite.records import CaseFacts, ConditionMention, Dose, DrugMention, Finding, Frequency, Route

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
# UCUM codes of dose units that the regimen parser does not read as they are.
UCUM_UNITS = {"[iU]": "IU", "[IU]": "IU", "U": "units", "[U]": "units", "ug": "mcg", "meq": "mEq", "[mEq]": "mEq"}
INACTIVE_CONDITION = {"inactive", "resolved", "remission"}
REFUTED_CONDITION = {"refuted", "entered-in-error"}
# Patient states that a Condition resource may state (the condition reader finds them in its text).
CONDITION_STATES = {"pregnancy", "lactation", "esrd", "dialysis", "hepatic_impairment", "child_pugh"}
MAX_TIMES_PER_PERIOD = 48
MAX_PERIOD_DAYS = 3650.0
_RXCUI = re.compile(r"\d{1,10}")


class HookRequestError(MedciteError):
    """A hook request whose FHIR content is malformed (answered with 400)."""


@dataclass
class DraftOrder:
    """One draft medication order, read from the coded fields of a FHIR MedicationRequest."""

    resource_id: str | None
    drug: str
    rxnorm: list[str] = field(default_factory=list)
    dose: Dose | None = None  # text "60 mg", written by the number formatter
    route: Route | None = None
    frequency: Frequency | None = None
    label_doc_id: str | None = None  # the FDA label whose openFDA rxcui list holds one of the codes

    def regimen(self) -> str:
        """Return the order as words: 'toremifene 60 mg orally once daily'."""
        out = _Writer()
        _mention(self, out, None)
        return out.text()


@dataclass
class HookCase:
    """The case a hook call describes: patient, conditions, labs, orders."""

    orders: list[DraftOrder]
    age: int | None = None
    sex: str | None = None
    conditions: list[str] = field(default_factory=list)
    labs: list[tuple[str, float, str]] = field(default_factory=list)  # (name, value, unit)
    notes: list[str] = field(default_factory=list)  # prefetch that could not be read

    def text(self) -> str:
        """Return the case as plain sentences (the question `ask` retrieves with)."""
        return self.build()[0]

    def build(self, lexicon=None, abbreviations=None) -> tuple[str, CaseFacts]:
        """Return the case text and the facts of the case, with offsets into that text. Drug names
        are resolved with `lexicon` and conditions read with the condition reader when given."""
        from medcite.analyze.facts import extract_facts
        from medcite.analyze.patient import summarise

        out = _Writer()
        facts = CaseFacts(text="")
        findings = facts.patient.findings
        if self.age is not None:
            start = out.add(f"A {self.age}-year-old")
            findings.append(Finding("age", float(self.age), out.span_text(start), start, out.pos, "years"))
        else:
            out.add("A")
        noun = {"female": "woman", "male": "man"}.get(self.sex or "", "patient")
        start = out.add(" " + noun) + 1
        if self.sex in ("female", "male"):
            findings.append(Finding("sex", self.sex, noun, start, out.pos))
        for i, condition in enumerate(self.conditions):
            out.add(" with " if i == 0 else (" and " if i == len(self.conditions) - 1 else ", "))
            start = out.add(condition)
            if lexicon is not None:
                read = extract_facts(condition, lexicon, abbreviations)  # the Condition's own text only
                facts.conditions += _conditions_of(condition, start, read)
                findings += _states_of(start, read)
        out.add(".")
        for name, value, unit in self.labs:
            start = out.add(f" {name} {format_number(value)} {unit}".rstrip()) + 1
            if name == "eGFR":
                findings.append(Finding("egfr", value, out.span_text(start), start, out.pos, unit))
            out.add(".")
        if self.orders:
            out.add(" Plan: start ")
            for i, order in enumerate(self.orders):
                if i:
                    out.add(" and " if i == len(self.orders) - 1 else ", ")
                facts.drugs.append(_mention(order, out, lexicon))
            out.add(".")
        findings.sort(key=lambda f: f.start)
        summarise(facts.patient)
        facts.text = out.text()
        return facts.text, facts


class _Writer:
    """Builds the case text piece by piece, keeping the offset of each piece."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.pos = 0

    def add(self, piece: str) -> int:
        start = self.pos
        self.pieces.append(piece)
        self.pos += len(piece)
        return start

    def text(self) -> str:
        return "".join(self.pieces)

    def span_text(self, start: int) -> str:
        return self.text()[start : self.pos]


def _mention(order: DraftOrder, out: _Writer, lexicon) -> DrugMention:
    """Write one order into the plan sentence; return its drug with the order's own regimen."""
    start = out.add(order.drug)
    generic, kind = order.drug.lower(), "generic"
    if lexicon is not None and not order.label_doc_id:
        # the medication's name as the drug dictionary reads it (a brand -> its generic)
        found = max(lexicon.find(order.drug), key=lambda m: m.end - m.start, default=None)
        if found is not None:
            generic, kind = found.generic, found.kind
    mention = DrugMention(order.drug, start, out.pos, generic, kind, role="proposed", role_text="draft order")
    if order.dose:
        s = out.add(" " + order.dose.text) + 1
        mention.dose = Dose(order.dose.value, order.dose.unit, order.dose.text, s, out.pos, order.dose.value_max)
    if order.route:
        s = out.add(" " + ROUTE_ADVERBS.get(order.route.name, f"by the {order.route.name} route")) + 1
        mention.route = Route(order.route.name, out.span_text(s), s, out.pos)
    if order.frequency:
        f = order.frequency
        s = out.add(" " + f.text) + 1
        mention.frequency = Frequency(f.times, f.per_days, f.interval_days, f.text, f.text, s, out.pos, f.as_needed)
    return mention


def _conditions_of(text: str, at: int, read: CaseFacts) -> list[ConditionMention]:
    """Return the conditions a Condition's text names (offsets moved to `at`); the text itself when
    the reader finds none in it (the EHR coded it as a condition)."""
    found = [c for c in read.conditions if not c.negated]
    if not found and not read.conditions:
        return [ConditionMention(text, at, at + len(text), " ".join(text.lower().split()))]
    for c in found:
        c.start, c.end = c.start + at, c.end + at
        for q in c.qualifiers:
            q.start, q.end = q.start + at, q.end + at
    return found


def _states_of(at: int, read: CaseFacts) -> list[Finding]:
    """Return the patient states (pregnancy, dialysis ...) a Condition's text states."""
    out = []
    for f in read.patient.findings:
        if f.kind in CONDITION_STATES:
            f.start, f.end = f.start + at, f.end + at
            out.append(f)
    return out


def _parse(model, data: Any, what: str):
    """Return `data` parsed as the fhir.resources `model`; HookRequestError when it does not parse
    (a resource type fhir.resources does not know, nesting it cannot follow...): never a 500."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise HookRequestError(f"{what}: expected a FHIR resource object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise HookRequestError(f"{what}: invalid FHIR ({where}: {first.get('msg')})") from None
    except (KeyError, LookupError, TypeError, ValueError, AttributeError) as exc:
        raise HookRequestError(f"{what}: invalid FHIR ({type(exc).__name__}: {str(exc)[:200]})") from None
    except RecursionError:
        raise HookRequestError(f"{what}: invalid FHIR (nested too deeply)") from None


def _concept_text(concept) -> str | None:
    if concept is None:
        return None
    if concept.text:
        return concept.text
    for coding in concept.coding or []:
        if coding.display:
            return coding.display
    return None


# ---------------------------------------------------------------------- orders
def bundle_entries(bundle: Any) -> list[Any]:
    """Return the `entry` list of a Bundle as sent (empty when absent or not a list)."""
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    return entries if isinstance(entries, list) else []


def draft_orders(bundle: dict[str, Any], selections: list[str] | None = None) -> list[DraftOrder]:
    """Return the draft MedicationRequests of a draftOrders Bundle (only `selections` when given)."""
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.medicationrequest import MedicationRequest

    parsed = _parse(Bundle, bundle, "context.draftOrders")
    wanted = set(selections or [])
    orders = []
    for i, raw_entry in enumerate(bundle_entries(bundle)[: len(parsed.entry or [])]):
        raw = raw_entry.get("resource") if isinstance(raw_entry, dict) else None
        if not isinstance(raw, dict) or raw.get("resourceType") != "MedicationRequest":
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
    where = f"context.draftOrders.entry[{i}]"
    concept = _medication(mr)
    if concept is None:
        raise HookRequestError(f"{where}: the drug must be a medicationCodeableConcept "
                               "or a medicationReference to a contained Medication with a code")
    codes = [c.code for c in concept.coding or []
             if c.code and (c.system or "").rstrip("/") == RXNORM and _RXCUI.fullmatch(c.code)][:5]
    name = " ".join((_concept_text(concept) or "").split())[:200]
    if not name and not codes:
        raise HookRequestError(f"{where}: the medication has neither text nor an RxNorm code")
    order = DraftOrder(resource_id=mr.id, drug=name, rxnorm=codes)
    dosage = (mr.dosageInstruction or [None])[0]
    if dosage is None:
        return order
    # dosage.text is free text: never read (it could name another drug or a patient state)
    order.dose = _dose(dosage, where)
    route = _concept_text(dosage.route)
    if route:
        found = find_routes(route)
        name_ = found[0].name if found else route.lower().removesuffix(" route").removesuffix(" use").strip()
        order.route = Route(name_, route, 0, 0)
    order.frequency = _frequency(dosage, where)
    return order


def _unit(q) -> str:
    """Return the dose unit of a Quantity in the regimen parser's canonical form ("ug" -> "mcg")."""
    raw = " ".join(str(q.unit or q.code or "").split())[:32]
    if raw in UCUM_UNITS:
        return UCUM_UNITS[raw]
    parsed = find_doses(f"1 {raw}") if raw else []
    return parsed[0].unit if len(parsed) == 1 and parsed[0].text == f"1 {raw}" else raw


def _dose(dosage, where: str) -> Dose | None:
    for dr in dosage.doseAndRate or []:
        q = dr.doseQuantity
        if q is not None and q.value is not None:
            value = _dose_value(q.value, f"{where}.doseQuantity.value")
            unit = _unit(q)
            return Dose(value, unit, format_dose(value, unit), 0, 0)
        r = dr.doseRange
        if r is not None and r.low is not None and r.high is not None and r.low.value is not None and r.high.value is not None:
            low = _dose_value(r.low.value, f"{where}.doseRange.low.value")
            high = _dose_value(r.high.value, f"{where}.doseRange.high.value")
            if high < low:
                raise HookRequestError(f"{where}.doseRange: high {format_number(high)} is below low {format_number(low)}")
            unit = _unit(r.high)
            return Dose(low, unit, format_dose(low, unit, high), 0, 0, value_max=high)
    return None


def _dose_value(value, where: str) -> float:
    try:
        return check_dose_value(float(value))
    except (ValueError, OverflowError) as exc:
        raise HookRequestError(f"{where}: {exc}") from None


def _frequency(dosage, where: str) -> Frequency | None:
    if dosage.asNeededBoolean:
        return Frequency(None, None, None, "as needed", "as needed", 0, 0, as_needed=True)
    timing = dosage.timing
    repeat = timing.repeat if timing is not None else None
    if repeat is not None and repeat.period is not None and repeat.periodUnit in PERIOD_DAYS:
        times = repeat.frequency if repeat.frequency is not None else 1
        period = float(repeat.period)
        if not (1 <= times <= MAX_TIMES_PER_PERIOD) or not math.isfinite(period) or period <= 0:
            raise HookRequestError(f"{where}.timing.repeat: {times} times every {repeat.period} {repeat.periodUnit} "
                                   "is not a possible frequency")
        per_days = period * PERIOD_DAYS[repeat.periodUnit]
        if per_days > MAX_PERIOD_DAYS:
            raise HookRequestError(f"{where}.timing.repeat: a period of {format_number(per_days)} days is not a possible frequency")
        text = canonical_frequency(int(times), per_days)
        return Frequency(int(times), per_days, round(per_days / times, 6), text, text, 0, 0)
    # a coded timing ("BID", "Q8H"): its code or display, read as a frequency and nothing else
    if timing is not None and timing.code is not None:
        for word in [timing.code.text] + [c.display or c.code for c in timing.code.coding or []]:
            found = find_frequencies(" ".join(str(word or "").split())[:64])
            if found:
                return found[0]
    return None


def resolve_orders(store, orders: list[DraftOrder]) -> None:
    """Name each order by the FDA label its RxNorm code belongs to (openFDA `rxcui`), when held.

    A coded order without text gets the label's generic name; the label id is kept for the card.
    """
    for order in orders:
        if not order.rxnorm:
            continue
        for code in order.rxnorm:
            for doc_id, info in store.labels_with_rxcui(code)[:1]:
                order.label_doc_id = doc_id
                generics = info.get("generic_names") or []
                # The generic name is what the drug dictionary resolves; a coded order's display
                # text is often a product string ("... 60 MG Oral Tablet").
                if generics:
                    order.drug = generics[0].lower()
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
            if not 0 <= case.age <= 130:
                raise HookRequestError(f"prefetch.patient.birthDate: {p.birthDate} gives an age of {case.age}")
    for key, value in prefetch.items():
        if key == "patient" or not value:
            continue
        resources = _bundle_resources(value, f"prefetch.{key}")
        case.conditions += [c for c in (_condition(r, key) for r in resources if r.get("resourceType") == "Condition") if c]
        observations = [o for o in (_observation(r, key) for r in resources if r.get("resourceType") == "Observation") if o]
        latest: dict[str, tuple[str, float, str]] = {}
        for name, when, number, unit in sorted(observations, key=lambda o: o[1]):
            latest[name] = (when, number, unit)
        case.labs += [(name, number, unit) for name, (_, number, unit) in sorted(latest.items())]
    case.conditions = list(dict.fromkeys(case.conditions))


def _bundle_resources(value: dict[str, Any], what: str) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        raise HookRequestError(f"{what}: expected a FHIR resource object")
    if value.get("resourceType") != "Bundle":
        return [value]
    from fhir.resources.R4B.bundle import Bundle

    _parse(Bundle, value, what)
    return [e["resource"] for e in bundle_entries(value) if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def _condition(raw: dict[str, Any], key: str) -> str | None:
    from fhir.resources.R4B.condition import Condition

    c = _parse(Condition, raw, f"prefetch.{key} Condition")
    clinical = {cd.code for cd in (c.clinicalStatus.coding or [])} if c.clinicalStatus else set()
    verified = {cd.code for cd in (c.verificationStatus.coding or [])} if c.verificationStatus else set()
    if clinical & INACTIVE_CONDITION or verified & REFUTED_CONDITION:
        return None
    text = _concept_text(c.code)
    return " ".join(text.split())[:300] if text else None


def _observation(raw: dict[str, Any], key: str) -> tuple[str, str, float, str] | None:
    from fhir.resources.R4B.observation import Observation

    o = _parse(Observation, raw, f"prefetch.{key} Observation")
    if o.status in {"entered-in-error", "cancelled"} or o.valueQuantity is None or o.valueQuantity.value is None:
        return None
    codes = [cd.code for cd in (o.code.coding or []) if (cd.system or "").rstrip("/") == LOINC and cd.code in LAB_CODES]
    if not codes:
        return None
    q = o.valueQuantity
    value = float(q.value)
    if not math.isfinite(value) or not 0 <= value <= 10_000:
        raise HookRequestError(f"prefetch.{key} Observation {o.id or ''}: value {q.value} is not a possible {LAB_CODES[codes[0]]}")
    when = str(o.effectiveDateTime or o.issued or "")
    return LAB_CODES[codes[0]], when, value, " ".join(str(q.unit or q.code or "").split())[:32]
