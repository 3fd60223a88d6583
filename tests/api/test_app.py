"""REST API in-process: endpoints on the real corpus index, and the one error shape on every endpoint."""

import json
import logging
import threading

import pytest
from fastapi.testclient import TestClient

from medcite.api.app import create_app
from medcite.cli import hit_json
from medcite.index.store import open_store
from medcite.retrieve.search import search_passages
from medcite.settings import Settings

TOREMIFENE_SET_ID = "2cab8dd1-3a10-48e6-86ce-0e5275ed49e5"  # Fareston in openfda_labels.jsonl.gz
DOC = f"spl:{TOREMIFENE_SET_ID}"


def hook_request(openfda_labels) -> dict:
    """A valid order-sign request for the Fareston label's first RxNorm code (body for error tests)."""
    rxcui = openfda_labels[TOREMIFENE_SET_ID]["openfda"]["rxcui"][0]
    order = {
        "resourceType": "MedicationRequest", "id": "mr-1", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p-1"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxcui}]},
    }
    return {
        "hook": "order-sign", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "p-1",
                    "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]}},
        "prefetch": {"patient": None, "conditions": None, "observations": None},
    }


def endpoints(question: str, hook: dict) -> list[tuple[str, str, dict | None]]:
    """Every endpoint that touches the index, with a valid request."""
    return [
        ("GET", "/healthz", None),
        ("GET", "/api/v1/stats", None),
        ("GET", "/api/v1/search?q=toremifene", None),
        ("GET", f"/api/v1/documents/{DOC}", None),
        ("POST", "/api/v1/ask", {"question": question}),
        ("POST", "/cds-services/medcite-order-sign", hook),
    ]


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"ok", "error", "status"}
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    return body


# ---------------------------------------------------------------------- endpoints
def test_healthz_reports_the_corpus_version(client, corpus_store):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "corpus_version": corpus_store.corpus_version(), "index": "medcite.db",
                        "queries": {"in_pool": 0, "limit": 10, "workers": 2}}


def test_stats_is_the_cli_stats(client, corpus_store):
    r = client.get("/api/v1/stats")
    assert r.status_code == 200
    assert r.json() == json.loads(json.dumps(corpus_store.stats()))
    assert r.json()["tiers"]["label"]["documents"] == 363


def test_search_returns_cli_hits(client, corpus_store, api_settings):
    r = client.get("/api/v1/search", params={"q": "toremifene QT prolongation", "tier": "label", "k": 3})
    assert r.status_code == 200
    body = r.json()
    expected = [hit_json(h) for h in search_passages(corpus_store, "toremifene QT prolongation", k=3, tier="label", settings=api_settings)]
    assert body == {"query": "toremifene QT prolongation", "tier": "label", "k": 3, "hits": expected}
    assert body["hits"][0]["passage_id"] == f"{DOC}#4"
    assert [h["doc_id"] for h in body["hits"]] == [DOC] * 3


def test_document_marks_the_cited_passage(client, corpus_store):
    r = client.get(f"/api/v1/documents/{DOC}", params={"passage": f"{DOC}#2"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["title"] == "Fareston (toremifene citrate)" and doc["highlight"] == f"{DOC}#2"
    assert [s["name"] for s in doc["sections"]] == [s.name for s in corpus_store.get_document(DOC).sections]
    passages = [p for s in doc["sections"] for p in s["passages"]]
    held = len(corpus_store.passages_of(DOC))  # every stored passage, in order (60 with table rows kept as lines)
    assert held > 50 and len(passages) == held and [p["ordinal"] for p in passages] == list(range(held))
    marked = [(s["name"], s["code"], p["passage_id"]) for s in doc["sections"] for p in s["passages"] if p["highlighted"]]
    assert marked == [("Dosage & Administration", "34068-7", f"{DOC}#2")]
    # Without ?passage= nothing is highlighted.
    plain = client.get(f"/api/v1/documents/{DOC}").json()
    assert plain["highlight"] is None and not any(p["highlighted"] for s in plain["sections"] for p in s["passages"])


def test_ask_returns_the_cli_answer_json(client, corpus_store, api_settings, medicationqa_question):
    from medcite.compose.answer import ask

    r = client.post("/api/v1/ask", json={"question": medicationqa_question})
    assert r.status_code == 200, r.text
    expected = json.loads(json.dumps(ask(corpus_store, medicationqa_question, settings=api_settings).to_dict(), default=str))
    assert r.json() == expected
    assert [d["generic"] for d in r.json()["facts"]["drugs"]] == ["anastrozole"]
    assert r.json()["settings_hash"] == api_settings.hash()


def test_ask_takes_structured_facts(client, corpus_store, api_settings, medicationqa_question):
    from medcite.compose.answer import ask

    facts = {"patient": {"sex": "female"}}
    r = client.post("/api/v1/ask", json={"question": medicationqa_question, "facts": facts})
    assert r.status_code == 200, r.text
    assert r.json()["facts"]["patient"]["sex"] == "female"
    expected = ask(corpus_store, medicationqa_question, settings=api_settings, facts=facts).to_dict()
    assert r.json() == json.loads(json.dumps(expected, default=str))


def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="case"' in page.text and "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


# ---------------------------------------------------------------------- the error shape, everywhere
@pytest.mark.parametrize(
    "method,path,body,status",
    [
        ("GET", "/api/v1/search", None, 422),  # q missing
        ("GET", "/api/v1/search?q=toremifene&k=0", None, 422),
        ("GET", "/api/v1/search?q=toremifene&tier=textbook", None, 422),
        ("GET", "/api/v1/documents/spl:00000000-no-such-label", None, 404),
        ("GET", f"/api/v1/documents/{DOC}?passage={DOC}%23999", None, 404),
        ("POST", "/api/v1/ask", {}, 422),
        ("POST", "/api/v1/ask", {"question": ""}, 422),
        ("POST", "/api/v1/ask", {"question": "x", "unknown": 1}, 422),
        ("POST", "/cds-services/medcite-order-sign", {"hook": "order-sign"}, 400),
        ("POST", "/cds-services/no-such-service", None, 404),
        ("GET", "/api/v1/nothing-here", None, 404),
        ("DELETE", "/healthz", None, 405),
        ("GET", "/static/missing.js", None, 404),
    ],
)
def test_client_errors_have_the_error_shape(client, openfda_labels, method, path, body, status):
    if path == "/cds-services/no-such-service":
        body = hook_request(openfda_labels)
    r = client.request(method, path, json=body)
    assert_error(r, status)


def test_invalid_json_bodies(client):
    headers = {"content-type": "application/json"}
    assert "JSON decode error" in assert_error(client.post("/api/v1/ask", content=b"{not json", headers=headers), 422)["error"]
    assert "JSON decode error" in assert_error(
        client.post("/cds-services/medcite-order-sign", content=b"{not json", headers=headers), 400)["error"]


def test_missing_index_is_503_everywhere(tmp_path, medicationqa_question, openfda_labels):
    app = create_app(Settings(index_path=str(tmp_path / "absent.db")), api_keys="", rate_limit=0, workers=1)
    with TestClient(app, raise_server_exceptions=False) as c:
        for method, path, body in endpoints(medicationqa_question, hook_request(openfda_labels)):
            body_json = assert_error(c.request(method, path, json=body), 503)
            assert "absent.db: no index here" in body_json["error"], path


def test_keys_are_required_on_every_protected_endpoint(api_settings, medicationqa_question, openfda_labels):
    app = create_app(api_settings, api_keys="k-one, k-two", rate_limit=0, workers=1)
    calls = endpoints(medicationqa_question, hook_request(openfda_labels))[1:4] + [("GET", "/cds-services", None)]
    with TestClient(app, raise_server_exceptions=False) as c:
        for method, path, body in calls + [("POST", "/api/v1/ask", {"question": medicationqa_question}),
                                           ("POST", "/cds-services/medcite-order-sign", hook_request(openfda_labels))]:
            assert "API key is required" in assert_error(c.request(method, path, json=body), 401)["error"]
            assert assert_error(c.request(method, path, json=body, headers={"X-API-Key": "wrong"}), 401)["error"] == "unknown API key"
        for method, path, body in calls:
            assert c.request(method, path, headers={"X-API-Key": "k-one"}).status_code == 200, path
            assert c.request(method, path, headers={"Authorization": "Bearer k-two"}).status_code == 200, path
        # The page, health check and schema stay open.
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200
        assert c.get("/openapi.json").status_code == 200


def test_rate_limit_is_per_key(api_settings, medicationqa_question, openfda_labels):
    app = create_app(api_settings, api_keys="k-one,k-two", rate_limit=2, workers=1)
    with TestClient(app, raise_server_exceptions=False) as c:
        one = {"X-API-Key": "k-one"}
        assert c.get("/api/v1/stats", headers=one).status_code == 200
        assert c.get("/api/v1/search?q=toremifene", headers=one).status_code == 200
        for method, path, body in endpoints(medicationqa_question, hook_request(openfda_labels))[1:] + [("GET", "/cds-services", None)]:
            r = c.request(method, path, json=body, headers=one)
            assert "rate limit of 2 requests per minute exceeded" in assert_error(r, 429)["error"]
            assert int(r.headers["Retry-After"]) >= 1
        assert c.get("/api/v1/stats", headers={"X-API-Key": "k-two"}).status_code == 200


def test_internal_errors_are_500_without_patient_text_in_the_log(api_settings, medicationqa_question, openfda_labels, caplog):
    def failing_opener(path):
        raise RuntimeError(f"cannot open {path}")

    def failing_ask(store, question, settings=None, facts=None):
        raise ValueError(f"could not parse {question}")

    app = create_app(api_settings, api_keys="", rate_limit=0, workers=1, ask_fn=failing_ask)
    with caplog.at_level(logging.ERROR, logger="medcite.api"), TestClient(app, raise_server_exceptions=False) as c:
        body = assert_error(c.post("/api/v1/ask", json={"question": medicationqa_question}), 500)
        assert body["error"] == "internal error (ValueError); see the server log"
    broken = create_app(api_settings, api_keys="", rate_limit=0, workers=1)
    broken.state.pool._opener = failing_opener
    with TestClient(broken, raise_server_exceptions=False) as c:
        for method, path, req in endpoints(medicationqa_question, hook_request(openfda_labels))[1:]:
            assert_error(c.request(method, path, json=req), 500)
        assert c.get("/healthz").status_code == 200  # the health check does not go through the query workers
    assert "internal error on /api/v1/ask: ValueError" in caplog.text
    assert medicationqa_question not in caplog.text


def test_query_time_limit_is_504_on_every_endpoint(api_settings, medicationqa_question, openfda_labels):
    release = threading.Event()

    def stuck_opener(path):
        release.wait(30)  # stands for a query that runs past the limit
        return open_store(path, readonly=True)

    settings = api_settings.with_overrides(query_timeout_s=0.05)
    app = create_app(settings, api_keys="", rate_limit=0, workers=8)
    app.state.pool._opener = stuck_opener
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            for method, path, body in endpoints(medicationqa_question, hook_request(openfda_labels))[1:]:
                assert "query took longer than 0.05 s" in assert_error(c.request(method, path, json=body), 504)["error"]
            assert c.get("/healthz").status_code == 200  # answered beside the stuck workers
            release.set()
    finally:
        release.set()


# ---------------------------------------------------------------------- schema and logs
def test_committed_openapi_schema_is_current():
    from medcite.api.openapi import OPENAPI_FILE, openapi_json

    assert OPENAPI_FILE.read_text(encoding="utf-8") == openapi_json(), "run python scripts/gen_openapi.py"


def test_openapi_is_served(client):
    from medcite.api.openapi import openapi_json

    assert client.get("/openapi.json").json() == json.loads(openapi_json())


def test_access_log_drops_query_strings(medicationqa_question):
    import io
    import logging.config

    from medcite.api.security import uvicorn_log_config

    config = uvicorn_log_config(log_patient_text=False)
    logging.config.dictConfig(config)
    stream = io.StringIO()
    handler = logging.getLogger("uvicorn.access").handlers[0]
    handler.setStream(stream)
    from urllib.parse import quote

    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/search?q=" + quote(medicationqa_question), "1.1", 200
    )
    line = stream.getvalue()
    assert '"GET /api/v1/search HTTP/1.1" 200' in line
    assert "q=" not in line and quote(medicationqa_question) not in line
