"""CDS Hooks 2.0 services on the medcite app: `order-select` and `order-sign`.

`GET /cds-services` is the discovery document; `POST /cds-services/{id}` takes a hook request whose
draft MedicationRequests, Patient, Conditions and Observations (prefetched by the client, or fetched
here from `fhirServer` when a key is missing) become a case (api/fhir_case.py). The case is answered
by the same `ask` call as the REST API, and each drug's label check becomes a card:

- critical: a contraindication or boxed warning the patient's facts trigger
- warning: the label does not support the indication, a dose / frequency / route differs from
  the label, or another warning applies
- info: the order matches its label, or the label check could not decide

A malformed hook request is answered with 400 in the API's error shape.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from medcite.api.cds_models import Card, CDSDiscovery, CDSRequest, CDSResponse, CDSService, Link, Source
from medcite.api.fhir_case import HookCase, HookRequestError, draft_orders, read_prefetch, resolve_orders
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
FHIR_TIMEOUT_S = 10.0
SUMMARY_MAX = 140
MAX_LINKS = 12
ERRORS = {code: {"model": ErrorResponse, "description": text} for code, text in (
    (400, "Malformed hook request"), (401, "Missing or unknown API key"), (404, "No such service"),
    (429, "Rate limit exceeded"), (500, "Internal error"), (503, "Index or answer pipeline not available"),
    (504, "Query time limit exceeded"))}


def render_template(template: str, context: dict[str, Any]) -> str:
    """Return a prefetch template with its {{context.x}} tokens replaced by the hook context values."""
    return re.sub(r"\{\{\s*context\.(\w+)\s*\}\}", lambda m: str(context.get(m.group(1), "")), template)


def fhir_server_allowed(url: str) -> bool:
    """Return True when `url` may be fetched from: MEDCITE_FHIR_SERVERS (comma-separated base URLs)
    lists the EHR FHIR servers this deployment trusts; unset, any server the hook names is used."""
    allowed = [a.strip().rstrip("/") for a in os.environ.get("MEDCITE_FHIR_SERVERS", "").split(",") if a.strip()]
    if not allowed:
        return True
    url = url.rstrip("/")
    return any(url == a or url.startswith(a + "/") for a in allowed)


async def complete_prefetch(req: CDSRequest, transport: httpx.AsyncBaseTransport | None = None) -> tuple[dict[str, Any], list[str]]:
    """Return the prefetch data with missing keys fetched from `fhirServer`, and notes of what failed."""
    have = dict(req.prefetch or {})
    missing = [key for key in PREFETCH if have.get(key) is None]
    notes: list[str] = []
    if not missing or req.fhirServer is None:
        return have, notes
    if not fhir_server_allowed(str(req.fhirServer)):
        # Never send the EHR's bearer token to a server the operator has not listed.
        notes.append(f"{', '.join(missing)} not fetched: {req.fhirServer} is not in MEDCITE_FHIR_SERVERS")
        return have, notes
    headers = {"Accept": "application/fhir+json"}
    if req.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {req.fhirAuthorization.access_token}"
    context = req.context.model_dump()
    base = str(req.fhirServer).rstrip("/") + "/"
    async with httpx.AsyncClient(base_url=base, headers=headers, transport=transport, timeout=FHIR_TIMEOUT_S) as client:
        for key in missing:
            try:
                response = await client.get(render_template(PREFETCH[key], context))
                response.raise_for_status()
                have[key] = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                # Decision support goes on without this data; the card says what was missing.
                status = getattr(getattr(exc, "response", None), "status_code", None)
                notes.append(f"{key} could not be fetched from the FHIR server ({status or type(exc).__name__})")
    return have, notes


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
        prefetch, notes = await complete_prefetch(req, app.state.fhir_transport)
        case = HookCase(orders=draft_orders(req.context.draftOrders, req.context.selections if req.hook == "order-select" else None))
        read_prefetch(case, prefetch)
        case.notes = notes
        if not case.orders:
            return CDSResponse(cards=[])
        settings = app.state.settings

        def answer_case(store):
            from medcite.api.app import load_ask

            resolve_orders(store, case.orders)
            ask_fn = app.state.ask_fn or load_ask()
            return ask_fn(store, case.text(), settings=settings)

        answer = await app.state.run_query(answer_case)
        return CDSResponse(cards=cards_for(answer, notes))
