"""CDS Hooks 2.0: discovery, order-sign / order-select cards from FHIR built on a real label, prefetch
fetched from a FHIR server (httpx MockTransport), and malformed requests."""

import re
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient

from medcite.analyze.regimen import find_doses, find_frequencies
from medcite.api.app import create_app
from medcite.api.cds_hooks import fhir_server_allowed
from medcite.api.cds_models import CDSDiscovery, CDSResponse
from medcite.api.fhir_case import HookCase, draft_orders, read_prefetch, resolve_orders
from medcite.compose.answer import ask

SET_ID = "2cab8dd1-3a10-48e6-86ce-0e5275ed49e5"  # Fareston (toremifene citrate)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LABEL_URL = f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={SET_ID}"


@pytest.fixture(scope="module")
def regimen(openfda_labels) -> dict:
    """The label's own regimen and indication, read from the openFDA record."""
    label = openfda_labels[SET_ID]
    dosage = label["dosage_and_administration"][0]
    dose, freq = find_doses(dosage)[0], find_frequencies(dosage)[0]
    condition = re.search(r"metastatic breast cancer", label["indications_and_usage"][0]).group(0)
    return {"rxcui": label["openfda"]["rxcui"], "dose": dose, "frequency": freq,
            "route": label["openfda"]["route"][0].lower(), "condition": condition}


def medication_request(regimen, dose_value: float, rid: str = "mr-1") -> dict:
    return {
        "resourceType": "MedicationRequest", "id": rid, "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p-1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": regimen["rxcui"][-1]}]},
        "dosageInstruction": [{
            "timing": {"repeat": {"frequency": regimen["frequency"].times, "period": regimen["frequency"].per_days, "periodUnit": "d"}},
            "route": {"text": regimen["route"].capitalize()},
            "doseAndRate": [{"doseQuantity": {"value": dose_value, "unit": regimen["dose"].unit,
                                              "system": "http://unitsofmeasure.org", "code": regimen["dose"].unit}}],
        }],
    }


def prefetch(regimen) -> dict:
    return {
        "patient": {"resourceType": "Patient", "id": "p-1", "gender": "female", "birthDate": "1958-03-02"},
        "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
            "resourceType": "Condition", "id": "c-1", "subject": {"reference": "Patient/p-1"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"text": regimen["condition"]}}}]},
        "observations": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
            "resourceType": "Observation", "id": "o-1", "status": "final", "subject": {"reference": "Patient/p-1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "33914-3"}]},
            "effectiveDateTime": "2024-01-02", "valueQuantity": {"value": 75, "unit": "mL/min/1.73m2"}}},
            {"resource": {
            "resourceType": "Observation", "id": "o-2", "status": "final", "subject": {"reference": "Patient/p-1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
            "effectiveDateTime": "2023-11-20", "valueQuantity": {"value": 1.1, "unit": "mg/dL"}}},
            {"resource": {
            "resourceType": "Observation", "id": "o-3", "status": "final", "subject": {"reference": "Patient/p-1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
            "effectiveDateTime": "2024-01-02", "valueQuantity": {"value": 0.9, "unit": "mg/dL"}}}]},
    }


def hook_request(regimen, dose_value: float, hook: str = "order-sign", with_prefetch: bool = True, **extra) -> dict:
    orders = [medication_request(regimen, dose_value)]
    body = {
        "hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "p-1",
                    "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": o} for o in orders]}},
        **extra,
    }
    if with_prefetch:
        body["prefetch"] = prefetch(regimen)
    return body


@pytest.fixture(scope="module")
def questions():
    return []


@pytest.fixture(scope="module")
def cds(api_settings, questions):
    def recording_ask(store, question, settings=None, facts=None):
        questions.append(question)
        return ask(store, question, settings=settings, facts=facts)

    app = create_app(api_settings, api_keys="", rate_limit=0, workers=1, ask_fn=recording_ask)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_discovery_lists_both_hooks_with_prefetch(cds):
    r = cds.get("/cds-services")
    assert r.status_code == 200
    doc = CDSDiscovery.model_validate(r.json())
    assert [(s.hook, s.id) for s in doc.services] == [("order-select", "medcite-order-select"), ("order-sign", "medcite-order-sign")]
    assert doc.services[1].prefetch == {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": "Observation?patient={{context.patientId}}&code=http://loinc.org|2160-0,"
                        "http://loinc.org|33914-3,http://loinc.org|62238-1&_sort=-date",
    }


def test_fhir_resources_become_the_case_text(corpus_store, regimen):
    case = HookCase(orders=draft_orders(hook_request(regimen, regimen["dose"].value)["context"]["draftOrders"]))
    read_prefetch(case, prefetch(regimen), today=date(2024, 6, 1))
    resolve_orders(corpus_store, case.orders)
    assert case.orders[0].label_doc_id == f"spl:{SET_ID}"
    # The latest creatinine of two is the one written.
    assert case.text() == ("A 66-year-old woman with metastatic breast cancer. Serum creatinine 0.9 mg/dL. eGFR 75 mL/min/1.73m2. "
                           "Plan: start toremifene citrate 60 mg orally once daily.")


def test_a_contained_medication_names_the_drug(corpus_store, regimen):
    order = medication_request(regimen, regimen["dose"].value)
    order["contained"] = [{"resourceType": "Medication", "id": "med-1", "code": order.pop("medicationCodeableConcept")}]
    order["medicationReference"] = {"reference": "#med-1"}
    orders = draft_orders({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]})
    resolve_orders(corpus_store, orders)
    assert orders[0].regimen() == "toremifene citrate 60 mg orally once daily"
    assert orders[0].label_doc_id == f"spl:{SET_ID}"


def test_order_sign_with_the_label_regimen_gives_an_info_card(cds, regimen):
    r = cds.post("/cds-services/medcite-order-sign", json=hook_request(regimen, regimen["dose"].value))
    assert r.status_code == 200, r.text
    cards = CDSResponse.model_validate(r.json()).cards
    assert len(cards) == 1
    card = cards[0]
    assert card.indicator == "info"
    assert card.summary == "toremifene citrate: order matches the FDA label"
    assert card.source.label == "FDA label: Fareston (toremifene citrate)" and card.source.url == LABEL_URL
    assert card.links[0].url == LABEL_URL and card.links[0].type == "absolute"
    assert "- Indication: on_label [1]" in card.detail
    assert "- Dose: matches (ordered 60 mg; label:" in card.detail
    assert "### From the FDA Drug Label" in card.detail and "### References" in card.detail
    assert re.fullmatch(r"[0-9a-f-]{36}", card.uuid)


def test_order_sign_with_a_wrong_dose_gives_a_warning_card(cds, regimen):
    wrong = regimen["dose"].value * 10
    r = cds.post("/cds-services/medcite-order-sign", json=hook_request(regimen, wrong))
    assert r.status_code == 200, r.text
    (card,) = CDSResponse.model_validate(r.json()).cards
    assert card.indicator == "warning"
    assert card.summary == "toremifene citrate: ordered dose 600 mg differs from the FDA label"
    assert len(card.summary) <= 140
    assert "- Dose: mismatch (ordered 600 mg; label:" in card.detail
    assert "- Frequency: matches" in card.detail


def test_order_select_checks_only_the_selected_orders(cds, regimen):
    body = hook_request(regimen, regimen["dose"].value, hook="order-select")
    other = medication_request(regimen, regimen["dose"].value * 10, rid="mr-2")
    body["context"]["draftOrders"]["entry"].append({"resource": other})
    body["context"]["selections"] = ["MedicationRequest/mr-2"]
    r = cds.post("/cds-services/medcite-order-select", json=body)
    assert r.status_code == 200, r.text
    (card,) = CDSResponse.model_validate(r.json()).cards
    assert card.indicator == "warning" and "600 mg" in card.summary


def test_missing_prefetch_is_fetched_from_the_fhir_server(api_settings, regimen, questions):
    data = prefetch(regimen)
    seen = []

    def fhir_server(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, dict(request.url.params), request.headers.get("authorization")))
        resource = {"/r4/Patient/p-1": data["patient"], "/r4/Condition": data["conditions"],
                    "/r4/Observation": data["observations"]}.get(request.url.path)
        return httpx.Response(200, json=resource) if resource else httpx.Response(404, json={"resourceType": "OperationOutcome"})

    def recording_ask(store, question, settings=None, facts=None):
        questions.append(question)
        return ask(store, question, settings=settings, facts=facts)

    app = create_app(api_settings, api_keys="", rate_limit=0, workers=1, ask_fn=recording_ask,
                     fhir_transport=httpx.MockTransport(fhir_server))
    body = hook_request(regimen, regimen["dose"].value, with_prefetch=False, fhirServer="https://ehr.example.org/r4",
                        fhirAuthorization={"access_token": "token-123", "token_type": "Bearer", "expires_in": 300,
                                           "scope": "user/Patient.read", "subject": "medcite"})
    body["prefetch"] = {"patient": None}  # a key the client could not fill is fetched as well
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 200, r.text
    (card,) = CDSResponse.model_validate(r.json()).cards
    assert card.indicator == "info"
    assert seen == [
        ("/r4/Patient/p-1", {}, "Bearer token-123"),
        ("/r4/Condition", {"patient": "p-1"}, "Bearer token-123"),
        ("/r4/Observation", {"patient": "p-1", "code": "http://loinc.org|2160-0,http://loinc.org|33914-3,http://loinc.org|62238-1",
                             "_sort": "-date"}, "Bearer token-123"),
    ]
    assert questions[-1].endswith("with metastatic breast cancer. Serum creatinine 0.9 mg/dL. eGFR 75 mL/min/1.73m2. "
                                  "Plan: start toremifene citrate 60 mg orally once daily.")


def test_fhir_server_failure_is_noted_on_the_card(api_settings, regimen):
    app = create_app(api_settings, api_keys="", rate_limit=0, workers=1,
                     fhir_transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    body = hook_request(regimen, regimen["dose"].value, with_prefetch=False, fhirServer="https://ehr.example.org/r4")
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/cds-services/medcite-order-sign", json=body)
    (card,) = CDSResponse.model_validate(r.json()).cards
    assert card.detail.endswith("_Not available: patient could not be fetched from the FHIR server (503); conditions could not be "
                                "fetched from the FHIR server (503); observations could not be fetched from the FHIR server (503)._")


def _malformed(regimen):
    good = hook_request(regimen, 60)
    no_medication = hook_request(regimen, 60)
    del no_medication["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"]
    external_medication = hook_request(regimen, 60)
    ordered = external_medication["context"]["draftOrders"]["entry"][0]["resource"]
    del ordered["medicationCodeableConcept"]
    ordered["medicationReference"] = {"reference": "Medication/elsewhere"}
    not_bundle = hook_request(regimen, 60)
    not_bundle["context"]["draftOrders"] = {"resourceType": "MedicationRequest"}
    bad_fhir = hook_request(regimen, 60)
    bad_fhir["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = "sixty"
    bad_patient = hook_request(regimen, 60)
    bad_patient["prefetch"]["patient"] = {"resourceType": "Patient", "birthDate": "not a date"}
    auth_without_server = dict(good, fhirAuthorization={"access_token": "t", "token_type": "Bearer", "expires_in": 1, "scope": "s", "subject": "x"})
    return [
        ("medcite-order-sign", {k: v for k, v in good.items() if k != "context"}, "body.context: Field required"),
        ("medcite-order-sign", dict(good, hookInstance=""), "body.hookInstance: String should have at least 1 character"),
        ("medcite-order-sign", not_bundle, "draftOrders must be a FHIR Bundle"),
        ("medcite-order-sign", no_medication, "context.draftOrders: invalid FHIR (entry.0.resource: Value error, Expect any of field "
         "value from this list ['medicationCodeableConcept', 'medicationReference'].)"),
        ("medcite-order-sign", external_medication, "context.draftOrders.entry[0]: the drug must be a medicationCodeableConcept "
         "or a medicationReference to a contained Medication with a code"),
        ("medcite-order-sign", bad_fhir, "context.draftOrders: invalid FHIR (entry.0.resource"),
        ("medcite-order-sign", bad_patient, "prefetch.patient: invalid FHIR (birthDate"),
        ("medcite-order-sign", auth_without_server, "fhirAuthorization requires fhirServer"),
        ("medcite-order-select", good, "hook 'order-sign' sent to the order-select service medcite-order-select"),
    ]


def test_malformed_hook_requests_get_400_in_the_error_shape(cds, regimen):
    for service, body, message in _malformed(regimen):
        r = cds.post(f"/cds-services/{service}", json=body)
        assert r.status_code == 400, (message, r.text)
        got = r.json()
        assert set(got) == {"ok", "error", "status"} and got["ok"] is False and got["status"] == 400
        assert message in got["error"], (message, got["error"])


def test_fhir_server_not_in_the_allow_list_is_never_contacted(api_settings, regimen, monkeypatch):
    monkeypatch.setenv("MEDCITE_FHIR_SERVERS", "https://ehr.example.org/r4")
    seen = []

    def fhir_server(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(404)

    app = create_app(api_settings, api_keys="", rate_limit=0, workers=1, fhir_transport=httpx.MockTransport(fhir_server))
    body = hook_request(regimen, regimen["dose"].value, with_prefetch=False, fhirServer="https://elsewhere.example.net/fhir",
                        fhirAuthorization={"access_token": "token-123", "token_type": "Bearer", "expires_in": 300,
                                           "scope": "user/Patient.read", "subject": "medcite"})
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 200, r.text
    (card,) = CDSResponse.model_validate(r.json()).cards
    assert seen == []  # the bearer token never left
    assert "https://elsewhere.example.net/fhir is not in MEDCITE_FHIR_SERVERS" in card.detail
    # an allowed server (a sub-path of the listed base) is used
    assert fhir_server_allowed("https://ehr.example.org/r4/") and not fhir_server_allowed("https://ehr.example.org/r4x")
