"""The REST API: a thin HTTP shell over the library calls the CLI makes.

`create_app(settings)` builds the FastAPI app: `/api/v1/ask|search|documents|stats`, `/healthz`,
the web page at `/`, and the CDS Hooks services (`medcite/api/cds_hooks.py`). Every error, from a
missing document to a validation failure, a refused key, a rate limit, a timeout or a bug, has one
JSON shape: `{"ok": false, "error": "...", "status": N}`.

Bounded work (README "Security"): request bodies are read whole, within a size and a time limit,
before an endpoint runs (api/guards.py: 413, 408); a case is checked against the limits of
medcite/limits.py before `ask` (413, 422); queries run on worker threads with read-only stores
behind a bounded queue (api/pool.py: 503 with Retry-After when it is full) and are stopped at
`settings.query_timeout_s` (504). `/healthz` never waits for a worker. Request bodies and query
strings are never logged unless `settings.log_patient_text` is on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from medcite import __version__
from medcite.api.guards import BodyLimit, error_response
from medcite.api.pool import Overloaded, QueryTimeout, StorePool
from medcite.api.schemas import (
    AskRequest,
    DocumentResponse,
    ErrorResponse,
    HealthResponse,
    PassageView,
    SearchResponse,
    SectionView,
    TierName,
)
from medcite.api.security import AccessPolicy, strip_query
from medcite.errors import IndexMissingError, MedciteError, NotFoundError
from medcite.index.store import CorpusCache, is_server_uri, open_store
from medcite.limits import LimitExceeded, bounded_ask, check_question, refuse
from medcite.records import Answer
from medcite.settings import Composer, Settings, load_settings

log = logging.getLogger("medcite.api")

STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"
API = "/api/v1"
ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing or unknown API key",
    404: "No such document, passage or service",
    408: "The request body did not arrive in time",
    413: "Request too large (body, case text or facts)",
    422: "Invalid parameters, or more drugs than the label check takes",
    429: "Rate limit exceeded",
    500: "Internal error",
    503: "Index or answer pipeline not available, or the server is busy (Retry-After)",
    504: "Query time limit exceeded",
}
HEALTH_TIMEOUT_S = 2.0


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI `responses` entries of these error statuses (all in the error shape)."""
    return {code: {"model": ErrorResponse, "description": ERROR_TEXT[code]} for code in codes}


ERROR_RESPONSES = errors(401, 408, 413, 422, 429, 500, 503, 504)


class DataJSONResponse(JSONResponse):
    """JSON of library records: dates and other non-JSON values as strings, UTF-8 kept."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")


def validation_message(exc: RequestValidationError) -> str:
    """Return the validation errors of a request as one line ('query.k: ... ; body.question: ...')."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


class PipelineUnavailable(MedciteError):
    """The answer pipeline is not installed (answered with 503)."""


def load_ask():
    """Return the answer pipeline's `ask` function (raises MedciteError when it is not installed)."""
    try:
        from medcite.compose.answer import ask
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("medcite"):
            raise
        raise PipelineUnavailable("the answer pipeline (medcite.compose.answer) is not available in this installation") from None
    return ask


def document_view(store, doc_id: str, passage: str | None) -> DocumentResponse:
    """Return a document with its passages grouped by section, `passage` marked as highlighted."""
    doc = store.get_document(doc_id)
    passages = store.passages_of(doc_id)
    if passage is not None and passage not in {p.passage_id for p in passages}:
        raise NotFoundError(f"{passage}: no such passage in {doc_id}")
    sections: list[SectionView] = []
    for p in passages:
        view = PassageView(passage_id=p.passage_id, ordinal=p.ordinal, text=p.text, highlighted=p.passage_id == passage)
        if sections and sections[-1].name == p.section and sections[-1].code == p.section_code:
            sections[-1].passages.append(view)
        else:
            sections.append(SectionView(name=p.section, code=p.section_code, passages=[view]))
    return DocumentResponse(
        doc_id=doc.doc_id, tier=doc.tier, source_kind=doc.source_kind, source_id=doc.source_id, title=doc.title,
        date=doc.date, url=doc.url, version=doc.version, meta=doc.meta, highlight=passage, sections=sections,
    )


def _search(store, query: str, tier: str | None, k: int, settings: Settings) -> list[dict]:
    from medcite.cli import hit_json
    from medcite.retrieve.search import search_passages

    return [hit_json(h) for h in search_passages(store, query, k=k, tier=tier, settings=settings)]


def _status_handler(status: int):
    """Return an exception handler that answers `status` in the one error shape."""

    async def handler(request: Request, exc: Exception):
        return error_response(status, str(exc))

    return handler


def create_app(
    settings: Settings | None = None,
    *,
    api_keys: str | None = None,
    rate_limit: int | None = None,
    workers: int | None = None,
    fhir_transport=None,
    ask_fn=None,
) -> FastAPI:
    """Return the medcite web app serving `settings.index_path` read-only.

    api_keys / rate_limit override MEDCITE_API_KEYS / MEDCITE_RATE_LIMIT; fhir_transport is the
    httpx transport used to fetch missing CDS Hooks prefetch data (tests pass a MockTransport);
    ask_fn replaces the answer pipeline (tests).
    """
    settings = settings or load_settings()
    policy = AccessPolicy.from_env(api_keys, rate_limit)
    pool = StorePool(settings.index_path, workers=workers or settings.workers, max_queue=settings.max_queue)
    health = HealthProbe(settings.index_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(warm_up, settings.index_path, pool.cache)
        yield
        pool.close()
        health.close()

    app = FastAPI(
        title="medcite",
        version=__version__,
        description="Cited answers from guidelines, FDA labels and PubMed. Every error has the shape "
        '`{"ok": false, "error": "...", "status": N}`.',
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.policy = policy
    app.state.fhir_transport = fhir_transport
    app.state.ask_fn = ask_fn

    async def run_query(fn, *args, **kwargs):
        return await pool.run(fn, *args, timeout=settings.query_timeout_s, **kwargs)

    app.state.run_query = run_query

    # ------------------------------------------------------------------ errors: one shape
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"{strip_query(request.url.path)}: no such endpoint (see /docs)"
        return error_response(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        # CDS Hooks clients expect 400 for a malformed hook request; the REST API uses 422.
        status = 400 if request.url.path.startswith("/cds-services") else 422
        return error_response(status, validation_message(exc))

    # library errors -> status; the message is the library's one line (no patient text in it)
    for error_class, status in ((NotFoundError, 404), (IndexMissingError, 503), (PipelineUnavailable, 503),
                                (MedciteError, 400), (QueryTimeout, 504)):
        app.add_exception_handler(error_class, _status_handler(status))

    @app.exception_handler(LimitExceeded)
    async def too_much(request: Request, exc: LimitExceeded):
        return error_response(exc.status, str(exc))

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded):
        return error_response(503, str(exc), {"Retry-After": str(exc.retry_after)})

    # ------------------------------------------------------------------ keys, rate limit, last resort
    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path
        if policy.protects(path):
            key, refused = policy.check_key(request.headers)
            address = request.client.host if request.client else "anonymous"
            # a refused key spends the budget of the address it came from: guessing keys is rate limited
            wait = policy.take(key or f"address:{address}")
            if wait > 0:
                retry = max(1, int(wait + 0.999))
                return error_response(429, f"rate limit of {policy.rate_per_minute} requests per minute exceeded; retry in {retry} s",
                                      {"Retry-After": str(retry)})
            if refused:
                return error_response(401, refused, {"WWW-Authenticate": "Bearer"})
        try:
            return await call_next(request)
        except Exception as exc:  # the last resort: a bug becomes a 500 in the error shape
            # The message of an exception may quote the case text: log only its type unless allowed.
            if settings.log_patient_text:
                log.exception("internal error on %s", path)
            else:
                log.error("internal error on %s: %s", path, type(exc).__name__)
            return error_response(500, f"internal error ({type(exc).__name__}); see the server log")

    # ------------------------------------------------------------------ endpoints
    @app.get("/healthz", response_model=HealthResponse, responses=errors(500, 503), tags=["service"])
    async def healthz():
        """Return ok with the corpus version when the index can be read (503 when it cannot), and
        the load of the query pool. Answered beside the query workers, never behind them."""
        version = await health.corpus_version()
        return HealthResponse(corpus_version=version, index=Path(settings.index_path).name, queries=pool.load())

    @app.get(f"{API}/stats", responses=errors(401, 429, 500, 503, 504), tags=["index"])
    async def stats() -> dict[str, Any]:
        """Return counts per tier and source, the drug dictionary size and the corpus version (`medcite stats --json`)."""
        return await run_query(lambda store: store.stats())

    @app.get(f"{API}/search", response_model=SearchResponse, responses=ERROR_RESPONSES, tags=["index"])
    async def search(
        q: str = Query(min_length=1, max_length=2000, description="Search text."),
        tier: TierName | None = Query(None, description="Only this evidence tier."),
        k: int = Query(10, ge=1, le=100, description="Number of hits."),
    ):
        """Return the k best passages for `q` (the hits of `medcite search --json`)."""
        hits = await run_query(_search, q, tier, k, settings)
        return SearchResponse(query=q, tier=tier, k=k, hits=hits)

    @app.get(f"{API}/documents/{{doc_id:path}}", response_model=DocumentResponse,
             responses={**ERROR_RESPONSES, **errors(404)},
             tags=["index"])
    async def document(doc_id: str, passage: str | None = Query(None, description="Passage id to highlight (a citation's passage_id).")):
        """Return a document with its sections and passages; `passage` marks the cited passage."""
        return await run_query(document_view, doc_id, passage)

    @app.post(f"{API}/ask", response_class=DataJSONResponse,
              responses={200: {"model": Answer, "description": "The answer (`medcite ask --json`)"}, **ERROR_RESPONSES},
              tags=["answer"])
    async def ask(body: AskRequest):
        """Return the tiered, cited answer to a case or question (the JSON of `medcite ask --json`)."""
        check_question(body.question, settings)  # refused before it takes a worker
        facts = None
        if body.facts is not None:
            size = len(body.facts.model_dump_json(exclude_unset=True).encode())
            if size > settings.max_facts_bytes:
                raise refuse("the facts object (bytes of JSON)", size, "max_facts_bytes", settings)
            facts = body.facts.to_data()
        ask_fn = app.state.ask_fn or load_ask()
        chosen = settings.with_overrides(composer=body.composer)
        # a model writing the prose gets its own time limit on top of the query's
        timeout = settings.query_timeout_s + (chosen.llm_timeout_s + chosen.llm_connect_timeout_s
                                              if chosen.composer == Composer.LLM and chosen.llm_url else 0.0)
        answer = await pool.run(lambda store: bounded_ask(store, body.question, chosen, facts, ask_fn), timeout=timeout)
        return DataJSONResponse(answer.to_dict())

    # ------------------------------------------------------------------ web page and CDS Hooks
    @app.get("/", include_in_schema=False)
    async def index_page():
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    from medcite.api.cds_hooks import register as register_cds_hooks

    register_cds_hooks(app)
    # outermost: no endpoint (or key check) starts before the whole body has arrived within limits
    app.add_middleware(BodyLimit, settings=settings)
    app.openapi = lambda: _openapi(app)
    return app


def warm_up(index_path: str, cache: CorpusCache | None = None) -> None:
    """Load (or build, for an index ingested by an older version) what answering needs from the
    whole corpus, before the first query and outside its time limit: a query that had to build it
    would be stopped at the limit every time, and the server would never answer. `cache` is the
    query pool's, so that its workers find what was loaded here."""
    if not is_server_uri(index_path) and not Path(index_path).exists():
        return  # every query says so (503); nothing to load
    try:
        from medcite.analyze.resources import case_resources
    except ModuleNotFoundError:
        return
    try:
        store = open_store(index_path, readonly=True, create=False, cache=cache)
        try:
            case_resources(store)
        finally:
            store.close()
    except Exception as exc:  # the queries will meet the same problem and say it in the error shape
        log.warning("could not load the answer resources of %s: %s", Path(index_path).name, type(exc).__name__)


class HealthProbe:
    """Reads the corpus version on its own thread and connection, so that /healthz answers while
    every query worker is busy (or stuck)."""

    def __init__(self, index_path: str):
        self.index_path = index_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medcite-health")
        self._store = None

    def _read(self) -> int:
        if self._store is None:
            self._store = open_store(self.index_path, readonly=True, create=False)
        return self._store.corpus_version()

    async def corpus_version(self) -> int:
        """Return the corpus version; IndexMissingError, or PipelineUnavailable after HEALTH_TIMEOUT_S."""
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executor, self._read), HEALTH_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise PipelineUnavailable(f"the index could not be read within {HEALTH_TIMEOUT_S:g} s") from None

    def close(self) -> None:
        """Stop the probe's thread and close its store."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._store is not None:
            self._store.close()


def _openapi(app: FastAPI) -> dict[str, Any]:
    """Return the app's OpenAPI schema with FastAPI's default 422 body replaced by the error shape."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path, operations in schema.get("paths", {}).items():
            for op in operations.values():
                responses = op.get("responses", {})
                generic = responses.get("422", {}).get("description") == "Validation Error"  # FastAPI's own
                if generic and path.startswith("/cds-services"):
                    del responses["422"]  # hook requests that do not validate get 400
                elif generic:
                    responses["422"] = {"description": ERROR_TEXT[422], "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
