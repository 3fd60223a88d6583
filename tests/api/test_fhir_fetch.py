"""CDS Hooks prefetch fetching fails closed (issue 9, item 2): real HTTP servers on 127.0.0.1 prove
which requests are made. The FHIR resources served are those of test_cds_hooks (a real label's
regimen and indication)."""

import asyncio
import gzip
import http.server
import json
import threading
import time
import tracemalloc
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from medcite.api import fhir_fetch
from medcite.api.app import create_app
from medcite.api.cds_models import CDSResponse
from medcite.api.fhir_fetch import fetch_prefetch, listed_base, parse_base

from test_cds_hooks import hook_request, prefetch

MB = 1 << 20
TOKEN = {"access_token": "token-123", "token_type": "Bearer", "expires_in": 300, "scope": "user/Patient.read", "subject": "medcite"}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def fhir_server(respond):
    """Serve on 127.0.0.1 (a free port); `respond(handler)` answers each GET. Yields (base URL, requests seen)."""
    seen: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            respond(self)

        def log_message(self, *args):
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/r4", seen
    finally:
        server.shutdown()
        server.server_close()


def serve_resources(data):
    """A respond() serving the test's Patient / Condition / Observation resources as FHIR JSON."""
    def respond(handler):
        path = handler.path.split("?")[0]
        resource = {"/r4/Patient/p-1": data["patient"], "/r4/Condition": data["conditions"],
                    "/r4/Observation": data["observations"]}.get(path)
        body = json.dumps(resource or {"resourceType": "OperationOutcome"}).encode()
        handler.send_response(200 if resource else 404)
        handler.send_header("Content-Type", "application/fhir+json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return respond


def card_for(settings, body):
    app = create_app(settings, api_keys="", rate_limit=0, workers=1)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 200, r.text
    (card,) = CDSResponse.model_validate(r.json()).cards
    return card


def hook_to(server: str, regimen, patient_id: str = "p-1") -> dict:
    body = hook_request(regimen, regimen["dose"].value, with_prefetch=False, fhirServer=server, fhirAuthorization=TOKEN)
    body["context"]["patientId"] = patient_id
    return body


# ---------------------------------------------------------------------- the allow-list
def test_no_fhir_server_is_contacted_when_the_allow_list_is_unset(api_settings, regimen):
    with fhir_server(serve_resources(prefetch(regimen))) as (url, seen):
        card = card_for(api_settings, hook_to(url, regimen))
    assert seen == []
    assert "not fetched: the hook's FHIR server is not one this service is set to use (MEDCITE_FHIR_SERVERS)" in card.detail


def test_an_unlisted_server_or_another_spelling_of_a_listed_one_is_never_contacted(api_settings, regimen):
    with fhir_server(serve_resources(prefetch(regimen))) as (listed, listed_seen), \
            fhir_server(serve_resources(prefetch(regimen))) as (other, other_seen):
        port = listed.split(":")[2].split("/")[0]
        settings = api_settings.with_overrides(fhir_servers=listed)
        # (the URL standard reads http://2130706433/ as http://127.0.0.1/: the same address, so the
        # same server; every other spelling of a loopback address is another server here)
        for server in (other, f"http://[::ffff:127.0.0.1]:{port}/r4", f"http://[::1]:{port}/r4",
                       f"http://localhost:{port}/r4", f"http://127.0.0.1:{port}/r4x", f"http://user:pw@127.0.0.1:{port}/r4"):
            card = card_for(settings, hook_to(server, regimen))
            assert "not one this service is set to use" in card.detail, server
        assert other_seen == [] and listed_seen == []
        # the listed server itself (and a path under it) is used, with the token
        card = card_for(settings, hook_to(listed, regimen))
        assert [s["path"].split("?")[0] for s in listed_seen] == ["/r4/Patient/p-1", "/r4/Condition", "/r4/Observation"]
        assert {s["authorization"] for s in listed_seen} == {"Bearer token-123"}
        assert card.indicator == "info" and "Not available" not in card.detail


def test_a_patient_id_cannot_lead_the_token_outside_the_listed_base(api_settings, regimen):
    with fhir_server(serve_resources(prefetch(regimen))) as (url, seen):
        settings = api_settings.with_overrides(fhir_servers=url)
        card = card_for(settings, hook_to(url, regimen, patient_id="../../../secret?x="))
    assert seen == []
    assert "not fetched: the patientId is not a FHIR id" in card.detail
    base = parse_base(url)
    # even an id that passed would be encoded and kept under the base
    assert fhir_fetch.request_url(base, base, "Patient/{{context.patientId}}", {"patientId": "a/../b"}).endswith("/r4/Patient/a%2F..%2Fb")
    assert listed_base(url + "/../admin", settings) is None


# ---------------------------------------------------------------------- each fetch is bounded
def test_redirects_are_not_followed(api_settings, regimen):
    with fhir_server(serve_resources(prefetch(regimen))) as (elsewhere, elsewhere_seen):
        def redirect(handler):
            handler.send_response(302)
            handler.send_header("Location", elsewhere + handler.path[len("/r4"):])
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with fhir_server(redirect) as (url, seen):
            card = card_for(api_settings.with_overrides(fhir_servers=url), hook_to(url, regimen))
    assert len(seen) == 3 and elsewhere_seen == []
    assert card.detail.endswith("_Not available: patient, conditions, observations could not be fetched from the FHIR server._")


def test_card_notes_do_not_tell_a_refused_port_from_a_404(api_settings, regimen):
    with fhir_server(lambda h: (h.send_response(404), h.send_header("Content-Length", "0"), h.end_headers())) as (url, _):
        not_found = card_for(api_settings.with_overrides(fhir_servers=url), hook_to(url, regimen)).detail
    closed = card_for(api_settings.with_overrides(fhir_servers=url), hook_to(url, regimen)).detail  # the server is gone
    note = "_Not available: patient, conditions, observations could not be fetched from the FHIR server._"
    assert not_found.endswith(note) and closed.endswith(note)


def test_a_slow_drip_server_is_cut_at_the_total_deadline(api_settings, regimen):
    stop = threading.Event()

    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/fhir+json")
        handler.end_headers()
        for _ in range(600):  # one byte every 0.1 s for at most a minute
            if stop.is_set():
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.1)

    with fhir_server(drip) as (url, seen):
        settings = api_settings.with_overrides(fhir_servers=url, fhir_deadline_s=1.0)
        started = time.perf_counter()
        card = card_for(settings, hook_to(url, regimen))
        elapsed = time.perf_counter() - started
        stop.set()
    assert len(seen) == 1  # the deadline is shared: the two other keys were not even asked for
    assert "could not be fetched from the FHIR server" in card.detail
    assert elapsed < 30  # a generous bound: without the deadline the three fetches take three minutes


def test_responses_over_the_size_cap_and_gzip_bombs_are_refused_with_bounded_memory(api_settings, tmp_path):
    bomb = gzip.compress(b"{" + b" " * (100 * MB) + b"}", compresslevel=9)  # ~100 KB that inflate to 100 MB
    big = json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": [], "pad": "x" * (3 * MB)}).encode()

    def respond(handler):
        body, gz = (bomb, True) if "Condition" in handler.path else (big, False)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/fhir+json")
        if gz:
            handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with fhir_server(respond) as (url, seen):
        settings = api_settings.with_overrides(fhir_servers=url)
        templates = {"conditions": "Condition?patient={{context.patientId}}", "observations": "Observation?patient={{context.patientId}}"}
        tracemalloc.start()
        try:
            got, notes = asyncio.run(fetch_prefetch(url, None, {"patientId": "p-1"}, templates, settings))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(seen) == 2 and got == {}
    assert notes == ["conditions, observations could not be fetched from the FHIR server"]
    assert peak < 32 * MB, f"peak Python memory {peak / MB:.0f} MB"


def test_fhir_json_is_parsed_off_the_event_loop(api_settings, regimen, monkeypatch):
    threads = []
    decode = fhir_fetch.decode_json

    def recording(*args):
        threads.append(threading.current_thread().name)
        return decode(*args)

    monkeypatch.setattr(fhir_fetch, "decode_json", recording)
    with fhir_server(serve_resources(prefetch(regimen))) as (url, _):
        got, notes = asyncio.run(fetch_prefetch(url, None, {"patientId": "p-1"}, {"patient": "Patient/{{context.patientId}}"},
                                                api_settings.with_overrides(fhir_servers=url)))
    assert notes == [] and got["patient"]["id"] == "p-1"
    assert threads and threading.main_thread().name not in threads


@pytest.mark.parametrize("server", ["ftp://127.0.0.1/r4", "http://127.0.0.1:99999/r4", "http://127.0.0.1/r4/../x", "http://127.0.0.1/r4?x=1"])
def test_urls_that_are_no_plain_base_are_never_listed(api_settings, server):
    assert listed_base(server, api_settings.with_overrides(fhir_servers="http://127.0.0.1/r4")) is None


def test_unreadable_or_non_resource_responses_are_fetch_failures(api_settings):
    patient = json.dumps({"resourceType": "Patient", "id": "p-1"}).encode()
    for raw, encoding in ((gzip.compress(patient)[:-20], "gzip"), (b"\x1f\x8b not gzip", "gzip"), (b"[1, 2]", "identity"),
                          (patient, "br")):
        with pytest.raises(fhir_fetch.FetchFailed):
            fhir_fetch.decode_json(raw, encoding, 1000, api_settings.max_json_depth)
    assert fhir_fetch.decode_json(gzip.compress(patient), "gzip", 1000, 64) == {"resourceType": "Patient", "id": "p-1"}
