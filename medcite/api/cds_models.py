"""Pydantic models of the CDS Hooks 2.0 JSON shapes medcite reads and writes.

Shapes follow https://cds-hooks.hl7.org/2.0/ : discovery (`services`), the hook request
(`hook`, `hookInstance`, `fhirServer`, `fhirAuthorization`, `context`, `prefetch`) and the response
(`cards` with `summary` ≤ 140 characters, `indicator`, `source`, `links`). Unknown fields are kept
on requests (the spec lets clients add extensions) and forbidden on responses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------- discovery
class CDSService(_Strict):
    """One service of the discovery document."""

    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class CDSDiscovery(_Strict):
    """The discovery document returned by GET /cds-services."""

    services: list[CDSService]


# ---------------------------------------------------------------------- request
class FHIRAuthorization(BaseModel):
    """The OAuth 2.0 token a CDS client grants for calls back to its FHIR server."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class OrderContext(BaseModel):
    """Context of order-select and order-sign: who, which patient, and the draft orders."""

    userId: str
    patientId: str
    encounterId: str | None = None
    selections: list[str] | None = None  # order-select only: ids of the newly selected orders
    draftOrders: dict[str, Any]

    @field_validator("draftOrders")
    @classmethod
    def _bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("resourceType") != "Bundle":
            raise ValueError("draftOrders must be a FHIR Bundle")
        return value


class CDSRequest(BaseModel):
    """A hook call (HTTP POST body to /cds-services/{id})."""

    hook: str
    hookInstance: str = Field(min_length=1)
    fhirServer: AnyHttpUrl | None = None
    fhirAuthorization: FHIRAuthorization | None = None
    context: OrderContext
    prefetch: dict[str, dict[str, Any] | None] | None = None

    @field_validator("fhirAuthorization")
    @classmethod
    def _auth_needs_server(cls, value, info):
        if value is not None and info.data.get("fhirServer") is None:
            raise ValueError("fhirAuthorization requires fhirServer")
        return value


# ---------------------------------------------------------------------- response
class Source(_Strict):
    """The source of a card's guidance."""

    label: str
    url: str | None = None
    icon: str | None = None
    topic: dict[str, str] | None = None


class Link(_Strict):
    """A link to more information (an FDA label, a guideline, a PubMed record)."""

    label: str
    url: str
    type: Literal["absolute", "smart"] = "absolute"
    appContext: str | None = None


class Card(_Strict):
    """One card: a decision-support message shown to the clinician."""

    uuid: str | None = None
    summary: str = Field(max_length=140)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[dict[str, Any]] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[dict[str, Any]] | None = None
    links: list[Link] | None = None


class CDSResponse(_Strict):
    """The response to a hook call."""

    cards: list[Card]
    systemActions: list[dict[str, Any]] | None = None
