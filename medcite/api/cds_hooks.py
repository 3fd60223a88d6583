"""CDS Hooks 2.0 services on the medcite app: `order-select` and `order-sign`.

`GET /cds-services` is the discovery document; `POST /cds-services/{id}` takes a hook request whose
draft MedicationRequests, Patient, Conditions and Observations (prefetched by the client, or fetched
from `fhirServer` when a key is missing and the server is on the allow-list: api/fhir_fetch.py)
become structured case facts (api/fhir_case.py). The case is answered by the same bounded `ask`
call as the REST API (medcite/limits.py), on a query worker, and each drug's label check becomes a card:

- critical: a contraindication or boxed warning the patient's facts trigger
- warning: the label does not support the indication, a dose / frequency / route differs from
  the label, or another warning applies
- info: the order matches its label, or the label check could not decide

A malformed hook request is answered with 400 in the API's error shape; a Bundle of more than
`settings.max_bundle_entries` entries with 413, more drugs than `settings.max_drugs_per_case` with 422.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

from medcite.api.cds_models import Card, CDSDiscovery, CDSRequest, CDSResponse, CDSService, Link, Source
from medcite.api.fhir_case import HookCase, HookRequestError, bundle_entries, draft_orders, read_prefetch, resolve_orders
from medcite.api.fhir_fetch import fetch_prefetch
from medcite.api.schemas import ErrorResponse
from medcite.records import AlertKind, RegimenStatus, ReviewCategory

LOINC_LABS = "http://loinc.org|2160-0,http://loinc.org|33914-3,http://loinc.org|62238-1"
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&code={LOINC_LABS}&_sort=-date",
}
SERVICES: list[CDSService] = [
    CDSService(
        hook=hook,
        id=f"medcite-{hook}",
        title=f"medcite label check ({hook})",
        description="Checks each drug order against its FDA label (indication, dose, frequency, route, "
        "contraindications) and cites the label, guidelines and PubMed evidence.",
        prefetch=PREFETCH,
    )
    for hook in ("order-select", "order-sign")
]
CRITICAL_ALERTS = {AlertKind.CONTRAINDICATION, AlertKind.BOXED_WARNING}
SUMMARY_MAX = 140
MAX_LINKS = 12
ERRORS = {code: {"model": ErrorResponse, "description": text} for code, text in (
    (400, "Malformed hook request"), (401, "Missing or unknown API key"), (404, "No such service"),
    (408, "Request body too slow"), (413, "Request too large (body, or a Bundle's entries)"),
    (422, "More drugs than the label check takes"), (429, "Rate limit exceeded"), (500, "Internal error"),
    (503, "Index or answer pipeline not available, or the server is busy (Retry-After)"),
    (504, "Query time limit exceeded"))}


def missing_prefetch(req: CDSRequest) -> dict[str, str]:
    """Return {key: template} of the prefetch keys the client did not fill."""
    have = req.prefetch or {}
    return {key: template for key, template in PREFETCH.items() if have.get(key) is None}


def check_bundle_sizes(draft_orders_bundle: dict[str, Any], prefetch: dict[str, Any], settings) -> None:
    """Raise LimitExceeded (413) when a Bundle of the hook call has more entries than settings allow."""
    from medcite.limits import refuse

    bundles = [("context.draftOrders", draft_orders_bundle)] + [(f"prefetch.{k}", v) for k, v in prefetch.items()]
    for where, bundle in bundles:
        n = len(bundle_entries(bundle))
        if n > settings.max_bundle_entries:
            raise refuse(f"the number of entries of {where}", n, "max_bundle_entries", settings)


# ---------------------------------------------------------------------- cards
def _clip(text: str, limit: int = SUMMARY_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def indicator_for(check) -> str:
    """Return the card indicator of one label check: critical, warning or info."""
    if any(a.kind in CRITICAL_ALERTS for a in check.alerts):
        return "critical"
    if check.category() != ReviewCategory.ON_LABEL or check.alerts:
        return "warning" if check.label is not None or check.alerts else "info"
    return "info"


def summary_for(check) -> str:
    """Return the one-line card summary (≤ 140 characters) of one label check."""
    drug = check.drug
    category = check.category()
    if category == ReviewCategory.CONTRAINDICATED:
        a = next(a for a in check.alerts if a.kind == AlertKind.CONTRAINDICATION)
        return _clip(f"{drug}: contraindicated ({a.trigger})")
    boxed = [a for a in check.alerts if a.kind == AlertKind.BOXED_WARNING]
    if boxed:
        return _clip(f"{drug}: boxed warning applies ({boxed[0].trigger})")
    if category == ReviewCategory.DOSE_MISMATCH:
        parts = [f"{name} {v.prescribed}" if v.prescribed else name
                 for name, v in check.regimen().items() if v.status == RegimenStatus.MISMATCH]
        verb = "differs" if len(parts) == 1 else "differ"
        return _clip(f"{drug}: ordered {', '.join(parts)} {verb} from the FDA label")
    if category == ReviewCategory.NOT_INDICATED:
        return _clip(f"{drug}: the FDA label excludes this use")
    if category == ReviewCategory.OFF_LABEL:
        return _clip(f"{drug}: this use is not among the FDA label's indications (off-label)")
    if check.alerts:
        return _clip(f"{drug}: label {check.alerts[0].kind.replace('_', ' ')} applies ({check.alerts[0].trigger})")
    if category == ReviewCategory.ON_LABEL:
        return _clip(f"{drug}: order matches the FDA label")
    if check.label is None:
        return _clip(f"{drug}: no FDA label held; see the cited evidence")
    undecided = check.undecided()
    return _clip(f"{drug}: could not check {undecided[0]}" if undecided else f"{drug}: label check could not decide; see the cited evidence")


def _cite(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def detail_markdown(check, answer, notes: list[str]) -> str:
    """Return the card detail: the label check, then the tiered answer with its references."""
    lines = [f"**Label check: {check.drug}**"]
    if check.label:
        lines.append(f"FDA label: {check.label.get('title', '')} (version {check.label.get('version', '?')}, "
                     f"{check.label.get('effective_date', '?')})")
    lines.append("")
    lines.append(f"- Indication: {check.indication.status} {_cite(check.indication.citations)}".rstrip())
    for name, v in (("Dose", check.dose), ("Frequency", check.frequency), ("Route", check.route)):
        facts = "; ".join(x for x in (f"ordered {v.prescribed}" if v.prescribed else "", f"label: {v.labeled}" if v.labeled else "") if x)
        lines.append(f"- {name}: {v.status}" + (f" ({facts})" if facts else "") + f" {_cite(v.citations)}".rstrip())
        if v.detail:
            lines.append(f"  {v.detail}")
    for a in check.alerts:
        lines.append(f"- **{a.kind.replace('_', ' ')}** ({a.trigger}): {a.text} {_cite(a.citations)}".rstrip())
    if check.note:
        lines.append(f"- {check.note}")
    for section in answer.sections:
        body = [f"{s.text} {_cite(s.citations)}".rstrip() for s in section.sentences]
        if not body and not section.note:
            continue
        lines += ["", f"### {section.heading}"] + body + ([f"_{section.note}_"] if section.note else [])
    if answer.references:
        lines += ["", "### References"]
        lines += [f"{c.n}. {c.title} — {c.section} ({c.source_id})" + (f" <{c.url}>" if c.url else "") for c in answer.references]
    if notes:
        lines += ["", "_Not available: " + "; ".join(notes) + "._"]
    return "\n".join(lines)


def _check_citations(check) -> list[int]:
    numbers = list(check.indication.citations)
    for v in (check.dose, check.frequency, check.route):
        numbers += v.citations
    for a in check.alerts:
        numbers += a.citations
    return list(dict.fromkeys(numbers))


def links_for(check, answer) -> list[Link]:
    """Return links to the label, guideline and PubMed records cited (label check citations first)."""
    by_n = {c.n: c for c in answer.references}
    order = _check_citations(check) + [c.n for c in answer.references]
    links, seen = [], set()
    for n in order:
        c = by_n.get(n)
        if c is None or not c.url or c.doc_id in seen:
            continue
        seen.add(c.doc_id)
        links.append(Link(label=_clip(f"[{c.n}] {c.title} ({c.tier})", 100), url=c.url))
        if len(links) == MAX_LINKS:
            break
    return links


def source_for(check, answer) -> Source:
    """Return the card source: the FDA label checked, else medcite itself."""
    if check.label:
        label_ref = next((c for c in answer.references if c.tier == "label" and c.doc_id.endswith(str(check.label.get("set_id", "\0")))), None)
        return Source(label=_clip(f"FDA label: {check.label.get('title', check.drug)}", 100), url=label_ref.url if label_ref else None)
    return Source(label="medcite evidence engine")


def cards_for(answer, notes: list[str]) -> list[Card]:
    """Return one card per drug checked against its label."""
    cards = []
    for check in answer.label_checks:
        cards.append(Card(
            uuid=str(uuid.uuid4()),
            summary=summary_for(check),
            detail=detail_markdown(check, answer, notes),
            indicator=indicator_for(check),
            source=source_for(check, answer),
            links=links_for(check, answer) or None,
        ))
    return cards


# ---------------------------------------------------------------------- routes
def register(app: FastAPI) -> None:
    """Mount the CDS Hooks discovery endpoint and services on `app`."""
    services = {s.id: s for s in SERVICES}

    @app.get("/cds-services", response_model=CDSDiscovery, response_model_exclude_none=True, tags=["cds-hooks"],
             responses={k: ERRORS[k] for k in (401, 429, 500)})
    async def discovery():
        """Return the CDS Hooks discovery document (services for order-select and order-sign)."""
        return CDSDiscovery(services=SERVICES)

    @app.post(
        "/cds-services/{service_id}", response_model=CDSResponse, response_model_exclude_none=True, responses=ERRORS,
        tags=["cds-hooks"],
    )
    async def call_service(service_id: str, req: CDSRequest):
        """Return one card per drug order: the label-check verdict with the tiered, cited answer."""
        service = services.get(service_id)
        if service is None:
            from medcite.errors import NotFoundError

            raise NotFoundError(f"{service_id}: no such CDS service (see GET /cds-services)")
        if req.hook != service.hook:
            raise HookRequestError(f"hook {req.hook!r} sent to the {service.hook} service {service.id}")
        settings = app.state.settings
        fetched, notes = await fetch_prefetch(
            str(req.fhirServer) if req.fhirServer is not None else None,
            req.fhirAuthorization.access_token if req.fhirAuthorization is not None else None,
            req.context.model_dump(), missing_prefetch(req), settings, app.state.fhir_transport)
        prefetch = {**{k: v for k, v in (req.prefetch or {}).items() if v is not None}, **fetched}
        check_bundle_sizes(req.context.draftOrders, prefetch, settings)
        selections = req.context.selections if req.hook == "order-select" else None

        def answer_case(store):
            # FHIR parsing is work too: on a worker under the time limit, never on the event loop
            from medcite.analyze.facts import case_resources
            from medcite.api.app import load_ask
            from medcite.limits import bounded_ask
            from medcite.settings import Composer

            case = HookCase(orders=draft_orders(req.context.draftOrders, selections))
            read_prefetch(case, prefetch)
            if not case.orders:
                return None
            resolve_orders(store, case.orders)
            question, facts = case.build(*case_resources(store))
            # cards are the label check's: a hook never waits on (or sends the EHR's data to) a language model
            extractive = settings.with_overrides(composer=Composer.EXTRACTIVE)
            return bounded_ask(store, question, extractive, facts, app.state.ask_fn or load_ask())

        answer = await app.state.run_query(answer_case)
        return CDSResponse(cards=cards_for(answer, notes) if answer is not None else [])
