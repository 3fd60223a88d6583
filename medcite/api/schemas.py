"""Request and response models of the REST API (they are also its OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medcite.api.facts_input import CaseFactsIn

TierName = Literal["guideline", "label", "research"]


class ErrorResponse(BaseModel):
    """The one shape of every error the service returns."""

    ok: Literal[False] = False
    error: str = Field(description="One line saying what went wrong and, where possible, the fix.")
    status: int = Field(description="The HTTP status code, repeated in the body.")


class AskRequest(BaseModel):
    """A case or question to answer, optionally with structured case facts."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="Case or question text (at most settings.max_question_chars: 413 past it).")
    facts: CaseFactsIn | None = Field(
        default=None, description="Structured case facts (the `facts` object of an answer); the keys given override what is "
        "read from the text. Every shape is validated (422); at most settings.max_facts_bytes of JSON (413).",
    )
    composer: Literal["extractive", "llm"] | None = Field(
        default=None, description="Who writes the prose: extractive quotes (the server's default unless MEDCITE_COMPOSER "
        "says otherwise) or the server's LLM (MEDCITE_LLM_URL), every sentence verified; without a reachable model the "
        "answer is extractive and its `composer.fallback` says why.",
    )


class SearchHit(BaseModel):
    """One retrieved passage (the shape of `medcite search --json`)."""

    passage_id: str
    doc_id: str
    source_id: str
    source_kind: str
    tier: str
    title: str
    section: str
    section_code: str | None = None
    score: float
    url: str | None = None
    snippet: str


class SearchResponse(BaseModel):
    """The hits of one search, best first."""

    query: str
    tier: TierName | None = None
    k: int
    hits: list[SearchHit]


class PassageView(BaseModel):
    """One passage of a document; `highlighted` marks the passage a citation points to."""

    passage_id: str
    ordinal: int
    text: str
    highlighted: bool = False


class SectionView(BaseModel):
    """One section of a document with its passages in order."""

    name: str
    code: str | None = None
    passages: list[PassageView]


class DocumentResponse(BaseModel):
    """A document with its sections; `highlight` is the cited passage, when one was asked for."""

    doc_id: str
    tier: str
    source_kind: str
    source_id: str
    title: str
    date: str | None = None
    url: str | None = None
    version: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    highlight: str | None = None
    sections: list[SectionView]


class HealthResponse(BaseModel):
    """The service is up and its index can be read."""

    ok: Literal[True] = True
    corpus_version: int
    index: str
    queries: dict[str, int] = Field(default_factory=dict, description="The query pool: in_pool (running or waiting), limit, workers.")
