"""Bounded work per request (issue 9, items 1, 5 and 7): caps on the case, validated facts, request
bodies bounded in size, time and nesting, admission control, queries stopped at the time limit,
/healthz beside the workers, wrong keys rate limited, no path parameters in the access log.

Every case is real text from ../shared/data (MedicationQA questions, openFDA label sentences).
"""

import asyncio
import gzip
import json
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from medcite.analyze.concordance import drugs_to_check
from medcite.analyze.facts import case_resources, extract_facts
from medcite.api.app import create_app, warm_up
from medcite.api.guards import BodyLimit
from medcite.api.security import access_path
from medcite.compose.answer import ask
from medcite.index.store import open_store

FEMARA = "82b77d74-085f-45ac-a7dd-1f5c038bf406"  # letrozole


@pytest.fixture(scope="module")
def question(shared_data) -> str:
    rows = json.loads((shared_data / "eval_medicationqa" / "medicationqa.json").read_text(encoding="utf-8"))
    return next(r["Question"] for r in rows if r["Focus (Drug)"].lower() == "anastrozole")


@pytest.fixture(scope="module")
def label_openings(shared_data) -> list[str]:
    """The first 25 words of Indications & Usage of each real label that has one (file order): each
    names its drug."""
    out = []
    with gzip.open(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("indications_and_usage"):
                out.append(" ".join(rec["indications_and_usage"][0].split()[:25]))
    return out


def openings_naming_drugs(openings: list[str], lexicon, abbreviations, drugs: int) -> tuple[str, str, int]:
    """Return the longest run of the first openings that names at most `drugs` drugs to check, the
    run of one more opening, and how many drugs that one names."""
    within, checked = "", 0
    for opening in openings:
        beyond = f"{within} {opening}".strip()
        checked = len(drugs_to_check(extract_facts(beyond, lexicon, abbreviations)))
        if checked > drugs:
            return within, beyond, checked
        within = beyond
    raise AssertionError(f"the openings never name more than {drugs} drugs")


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"ok", "error", "status"} and body["ok"] is False and body["status"] == status
    return body


# ---------------------------------------------------------------------- caps on the case
def test_question_longer_than_the_limit_is_413(client, question, api_settings):
    long = " ".join([question] * (api_settings.max_question_chars // len(question) + 1))
    body = assert_error(client.post("/api/v1/ask", json={"question": long}), 413)
    assert body["error"] == (f"the case text (characters) is {len(long):,}; the limit is "
                             f"{api_settings.max_question_chars:,} (MEDCITE_MAX_QUESTION_CHARS)")


def test_too_many_drugs_in_the_text_is_422(client, label_openings, corpus_store, api_settings):
    # the openings of real labels one after another, until the case names more drugs than allowed
    _, text, checked = openings_naming_drugs(label_openings, *case_resources(corpus_store), api_settings.max_drugs_per_case)
    body = assert_error(client.post("/api/v1/ask", json={"question": text}), 422)
    assert body["error"] == (f"the number of drugs to check against their labels is {checked}; the limit is "
                             f"{api_settings.max_drugs_per_case} (MEDCITE_MAX_DRUGS_PER_CASE)")


def test_too_many_drugs_in_facts_is_422(client, question, openfda_labels, api_settings):
    generics = list(dict.fromkeys(g.lower() for r in openfda_labels.values() for g in r["openfda"].get("generic_name", [])[:1]))
    drugs = [{"generic": g} for g in generics[: api_settings.max_drugs_per_case + 1]]
    body = assert_error(client.post("/api/v1/ask", json={"question": question, "facts": {"drugs": drugs}}), 422)
    assert "(MEDCITE_MAX_DRUGS_PER_CASE)" in body["error"]


def test_facts_larger_than_the_limit_is_413(client, question, api_settings):
    text = " ".join([question] * (api_settings.max_facts_bytes // len(question) + 1))
    body = assert_error(client.post("/api/v1/ask", json={"question": question, "facts": {"text": text}}), 413)
    assert body["error"].startswith("the facts object (bytes of JSON) is ") and "(MEDCITE_MAX_FACTS_BYTES)" in body["error"]


# ---------------------------------------------------------------------- facts are validated: 422, never 500
MALFORMED_FACTS = [
    ({"drugs": "abc"}, "body.facts.drugs: Input should be a valid list"),
    ({"drugs": [1]}, "body.facts.drugs.0: Input should be a valid dictionary"),
    ({"drugs": [{}]}, "body.facts.drugs.0.generic: Field required"),
    ({"drugs": [{"generic": "letrozole", "dose": "2.5 mg"}]}, "body.facts.drugs.0.dose: Input should be a valid dictionary"),
    ({"drugs": [{"generic": "letrozole", "dose": {"value": -5, "unit": "mg"}}]}, "dose must be a number above 0, got -5.0"),
    ({"drugs": [{"generic": "letrozole", "dose": {"value": 1e308, "unit": "mg"}}]}, "is above the largest possible dose (100,000,000)"),
    ({"drugs": [{"generic": "letrozole", "frequency": {"times": 0, "per_days": 1}}]}, "body.facts.drugs.0.frequency.times"),
    ({"drugs": [{"generic": "letrozole", "role": "maybe"}]}, "body.facts.drugs.0.role"),
    ({"patient": "female"}, "body.facts.patient: Input should be a valid dictionary"),
    ({"patient": {"age_years": -3}}, "body.facts.patient.age_years: Input should be greater than or equal to 0"),
    ({"conditions": [{"name": ""}]}, "body.facts.conditions.0.name: String should have at least 1 character"),
    ({"negations": 5}, "body.facts.negations: Input should be a valid list"),
    ({"abbreviations": ["NET"]}, "body.facts.abbreviations: Input should be a valid dictionary"),
    ({"unknown": 1}, "body.facts.unknown: Extra inputs are not permitted"),
    ("drugs", "body.facts: Input should be a valid dictionary"),
]


@pytest.mark.parametrize("facts,message", MALFORMED_FACTS)
def test_malformed_facts_are_422(client, question, facts, message):
    body = assert_error(client.post("/api/v1/ask", json={"question": question, "facts": facts}), 422)
    assert message in body["error"]


def test_an_answers_own_facts_can_be_sent_back(client, corpus_store, api_settings, question):
    facts = ask(corpus_store, question, settings=api_settings).to_dict()["facts"]
    r = client.post("/api/v1/ask", json={"question": question, "facts": facts})
    assert r.status_code == 200, r.text
    assert r.json()["facts"] == json.loads(json.dumps(facts))


def test_a_dose_given_as_data_is_printed_by_the_number_formatter(client, question, openfda_labels):
    generic = openfda_labels[FEMARA]["openfda"]["generic_name"][0].lower()
    facts = {"drugs": [{"generic": generic, "dose": {"value": 2400000, "unit": "units"}}]}
    r = client.post("/api/v1/ask", json={"question": question, "facts": facts})
    assert r.status_code == 200, r.text
    (check,) = r.json()["label_checks"]
    assert check["dose"]["prescribed"] == "2,400,000 units"
    assert r.json()["facts"]["drugs"][0]["dose"]["text"] == "2,400,000 units"


def test_markdown_prints_the_formatter_s_dose(corpus_store, api_settings, question, openfda_labels):
    from medcite.api.facts_input import CaseFactsIn
    from medcite.limits import bounded_ask
    from medcite.render.markdown import render_markdown

    generic = openfda_labels[FEMARA]["openfda"]["generic_name"][0].lower()
    facts = CaseFactsIn.model_validate({"drugs": [{"generic": generic, "dose": {"value": 2400000, "unit": "mg"},
                                                   "frequency": {"times": 1, "per_days": 1}}]}).to_data()
    answer = bounded_ask(corpus_store, question, api_settings, facts)
    assert answer.label_checks[0].dose.prescribed == "2,400,000 mg"
    assert "(prescribed 2,400,000 mg)" in render_markdown(answer)


# ---------------------------------------------------------------------- bodies: size, time, nesting
def test_body_over_the_limit_is_413(api_settings, question):
    app = create_app(api_settings.with_overrides(max_body_bytes=1000), api_keys="", rate_limit=0, workers=1)
    with TestClient(app, raise_server_exceptions=False) as c:
        body = assert_error(c.post("/api/v1/ask", json={"question": " ".join([question] * 50)}), 413)
        assert body["error"].endswith("; the limit is 1,000 (MEDCITE_MAX_BODY_BYTES)")


def test_a_body_that_drips_in_is_408(api_settings):
    """The whole body must arrive within body_timeout_s (a slow-drip client holds no worker)."""
    sent = []

    async def endpoint(scope, receive, send):  # never reached
        raise AssertionError("the endpoint must not run")

    async def drip():
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"{", "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/ask", "headers": [(b"content-type", b"application/json")]}
    guard = BodyLimit(endpoint, api_settings.with_overrides(body_timeout_s=0.3))
    asyncio.run(asyncio.wait_for(guard(scope, drip, send), 10))
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"]) == {"ok": False, "status": 408,
                                           "error": "the request body did not arrive within 0.3 s (MEDCITE_BODY_TIMEOUT_S)"}


def test_deeply_nested_json_is_refused_not_500(client, question, api_settings):
    nested: dict = {"url": "http://hl7.org/fhir/StructureDefinition/nested"}
    for _ in range(300):
        nested = {"url": "http://hl7.org/fhir/StructureDefinition/nested", "extension": [nested]}
    deep_facts = {"question": question, "facts": {"abbreviations": nested}}
    assert "nested deeper than 64 levels" in assert_error(client.post("/api/v1/ask", json=deep_facts), 422)["error"]
    hook = {"hook": "order-sign", "hookInstance": "x", "context": {"userId": "u", "patientId": "p", "draftOrders": {
        "resourceType": "Bundle", "type": "collection", "extension": [nested]}}}
    assert "nested deeper than 64 levels" in assert_error(client.post("/cds-services/medcite-order-sign", json=hook), 400)["error"]


# ---------------------------------------------------------------------- admission, time limit, health
def test_full_queue_is_503_with_retry_after_and_healthz_answers(api_settings, question):
    release = threading.Event()

    def blocked_ask(store, text, settings=None, facts=None):
        release.wait(30)  # a query that holds its worker until the test lets it go
        return ask(store, text, settings=settings, facts=facts)

    app = create_app(api_settings.with_overrides(max_queue=1), api_keys="", rate_limit=0, workers=1, ask_fn=blocked_ask)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://medcite.test", timeout=60) as c:
            first = asyncio.create_task(c.post("/api/v1/ask", json={"question": question}))
            second = asyncio.create_task(c.post("/api/v1/ask", json={"question": question}))
            while app.state.pool.load()["in_pool"] < 2:
                await asyncio.sleep(0.01)
            third = await c.post("/api/v1/ask", json={"question": question})
            health = await c.get("/healthz")
            release.set()
            return third, health, await first, await second

    try:
        third, health, first, second = asyncio.run(scenario())
    finally:
        release.set()
        app.state.pool.close()
    body = assert_error(third, 503)
    assert body["error"].startswith("the server is busy: 2 queries are running or waiting (limit 2")
    assert int(third.headers["Retry-After"]) >= 1
    assert health.status_code == 200 and health.json()["queries"] == {"in_pool": 2, "limit": 2, "workers": 1}
    assert first.status_code == 200 and second.status_code == 200


def test_hostile_questions_are_stopped_at_the_time_limit_while_healthz_answers(api_settings, question, label_openings):
    """A question whose work never ends (real fact extraction of a long real text, over and over)
    is stopped at the time limit: its worker is free again, /healthz answers in < 1 s throughout,
    and an ordinary question is then served."""
    # the openings of real labels, as many as the limits on drugs let through
    rounds = {"hostile": 0}
    store = open_store(api_settings.index_path, readonly=True)
    lexicon, abbreviations = case_resources(store)
    store.close()
    hostile, _, _ = openings_naming_drugs(label_openings, lexicon, abbreviations, api_settings.max_drugs_per_case)

    def endless_ask(store, text, settings=None, facts=None):
        if text != hostile:
            return ask(store, text, settings=settings, facts=facts)
        lexicon, abbreviations = case_resources(store)
        for _ in range(10_000):  # bounded: ~hours; the time limit stops it long before
            extract_facts(text, lexicon, abbreviations)
            rounds["hostile"] += 1
        raise AssertionError("the time limit did not stop the query")

    settings = api_settings.with_overrides(query_timeout_s=1.0)
    app = create_app(settings, api_keys="", rate_limit=0, workers=2, ask_fn=endless_ask)
    warm_up(settings.index_path, app.state.pool.cache)  # as the server's start-up does (the transport runs no lifespan)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://medcite.test", timeout=60) as c:
            attacks = [asyncio.create_task(c.post("/api/v1/ask", json={"question": hostile})) for _ in range(8)]
            health_seconds = []
            while not all(a.done() for a in attacks):
                t0 = time.perf_counter()
                assert (await c.get("/healthz")).status_code == 200
                health_seconds.append(time.perf_counter() - t0)
                await asyncio.sleep(0.05)
            statuses = sorted([(await a).status_code for a in attacks])
            ordinary = await c.post("/api/v1/ask", json={"question": question})
            return statuses, health_seconds, ordinary

    try:
        statuses, health_seconds, ordinary = asyncio.run(scenario())
        stopped_at = rounds["hostile"]
        time.sleep(0.3)
        assert rounds["hostile"] == stopped_at  # the stopped queries do no more work
    finally:
        app.state.pool.close()
    assert set(statuses) <= {503, 504} and 504 in statuses, statuses
    assert health_seconds and max(health_seconds) < 1.0, max(health_seconds)
    assert ordinary.status_code == 200, ordinary.text


# ---------------------------------------------------------------------- keys and logs
def test_wrong_keys_count_against_the_rate_limit(api_settings):
    app = create_app(api_settings, api_keys="k-one", rate_limit=2, workers=1)
    with TestClient(app, raise_server_exceptions=False) as c:
        wrong = {"X-API-Key": "guess"}
        assert_error(c.get("/api/v1/stats", headers=wrong), 401)
        assert_error(c.get("/api/v1/stats"), 401)  # no key at all: the same budget
        body = assert_error(c.get("/api/v1/stats", headers=wrong), 429)
        assert body["error"].startswith("rate limit of 2 requests per minute exceeded")
        assert c.get("/api/v1/stats", headers={"X-API-Key": "k-one"}).status_code == 200  # the key's own budget


def test_access_log_shows_routes_not_path_parameters():
    assert access_path("/api/v1/documents/pmid:29768149?passage=pmid:29768149%232") == "/api/v1/documents/{doc_id}"
    assert access_path("/cds-services/medcite-order-sign") == "/cds-services/{service_id}"
    assert access_path("/api/v1/search?q=anastrozole") == "/api/v1/search"
    assert access_path("/api/v1/ask/anything-a-client-puts-here") == "/{unknown}"
    assert access_path("/healthz") == "/healthz"
