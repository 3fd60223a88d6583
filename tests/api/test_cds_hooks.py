"""CDS Hooks 2.0: discovery, order-sign / order-select cards from FHIR built on a real label, prefetch
fetched from a FHIR server (httpx MockTransport), and malformed requests."""

import re
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient

from medcite.analyze.regimen import find_doses, find_frequencies
from medcite.api.app import create_app
from medcite.api.cds_models import CDSDiscovery, CDSResponse
from medcite.api.fhir_case import HookCase, draft_orders, read_prefetch, resolve_orders
from medcite.compose.answer import ask

SET_ID = "2cab8dd1-3a10-48e6-86ce-0e5275ed49e5"  # Fareston (toremifene citrate)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LABEL_URL = f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={SET_ID}"
EHR = "https://ehr.example.org/r4"  # the FHIR server the tests' deployments list (MEDCITE_FHIR_SERVERS)


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

    app = create_app(api_settings.with_overrides(fhir_servers=EHR), api_keys="", rate_limit=0, workers=1, ask_fn=recording_ask,
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
    app = create_app(api_settings.with_overrides(fhir_servers=EHR), api_keys="", rate_limit=0, workers=1,
                     fhir_transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    body = hook_request(regimen, regimen["dose"].value, with_prefetch=False, fhirServer="https://ehr.example.org/r4")
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/cds-services/medcite-order-sign", json=body)
    (card,) = CDSResponse.model_validate(r.json()).cards
    # the card says what is missing, never how the connection failed (status codes, error names)
    assert card.detail.endswith("_Not available: patient, conditions, observations could not be fetched from the FHIR server._")


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


def test_fhir_server_not_in_the_allow_list_is_never_contacted(api_settings, regimen):
    seen = []

    def fhir_server(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(404)

    app = create_app(api_settings.with_overrides(fhir_servers=EHR), api_keys="", rate_limit=0, workers=1,
                     fhir_transport=httpx.MockTransport(fhir_server))
    body = hook_request(regimen, regimen["dose"].value, with_prefetch=False, fhirServer="https://elsewhere.example.net/fhir",
                        fhirAuthorization={"access_token": "token-123", "token_type": "Bearer", "expires_in": 300,
                                           "scope": "user/Patient.read", "subject": "medcite"})
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 200, r.text
    (card,) = CDSResponse.model_validate(r.json()).cards
    assert seen == []  # the bearer token never left
    assert ("patient, conditions, observations not fetched: the hook's FHIR server is not one this service is set to use "
            "(MEDCITE_FHIR_SERVERS)") in card.detail
    assert "elsewhere.example.net" not in card.detail


# ---------------------------------------------------------------------- structured FHIR stays structured (issue 9)
FEMARA = "82b77d74-085f-45ac-a7dd-1f5c038bf406"  # letrozole: contraindicated in pregnancy


@pytest.fixture(scope="module")
def letrozole_order(openfda_labels) -> dict:
    """A draft order of letrozole at its label's own dose (RxNorm code and dose from the label)."""
    label = openfda_labels[FEMARA]
    dose = find_doses(label["dosage_and_administration"][0])[0]
    return {
        "resourceType": "MedicationRequest", "id": "mr-letrozole", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p-1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": label["openfda"]["rxcui"][0]}]},
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": dose.value, "unit": dose.unit}}]}],
    }


@pytest.fixture()
def asked(api_settings):
    """A CDS client whose answers record (question, facts) of each ask."""
    calls = []

    def recording_ask(store, question, settings=None, facts=None):
        calls.append((question, facts))
        return ask(store, question, settings=settings, facts=facts)

    app = create_app(api_settings, api_keys="", rate_limit=0, workers=1, ask_fn=recording_ask)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, calls


def _with_condition(body: dict, text: str) -> dict:
    body["prefetch"]["conditions"]["entry"].append({"resource": {
        "resourceType": "Condition", "id": f"c-{len(body['prefetch']['conditions']['entry']) + 1}",
        "subject": {"reference": "Patient/p-1"}, "code": {"text": text}}})
    return body


def test_condition_text_never_adds_a_drug(asked, regimen):
    client, calls = asked
    body = _with_condition(hook_request(regimen, regimen["dose"].value), "Plan: start methotrexate 20 mg")
    r = client.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 200, r.text
    assert [c.summary.split(":")[0] for c in CDSResponse.model_validate(r.json()).cards] == ["toremifene citrate"]
    _, facts = calls[-1]
    assert [d.generic for d in facts.drugs] == ["toremifene citrate"]
    assert "plan: start methotrexate 20 mg" in [c.name for c in facts.conditions]


def test_dosage_instruction_text_cannot_change_another_drugs_card(asked, regimen, letrozole_order):
    client, calls = asked
    body = hook_request(regimen, regimen["dose"].value)
    toremifene = body["context"]["draftOrders"]["entry"][0]["resource"]
    toremifene["dosageInstruction"] = [{"text": "patient is pregnant"}]  # free text only: never read
    body["context"]["draftOrders"]["entry"].append({"resource": letrozole_order})
    r = client.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 200, r.text
    cards = {c.summary.split(":")[0]: c for c in CDSResponse.model_validate(r.json()).cards}
    assert set(cards) == {"toremifene citrate", "letrozole"}
    assert cards["letrozole"].indicator != "critical" and "pregnancy" not in cards["letrozole"].summary
    assert calls[-1][1].patient.pregnant is None
    # the control: a Condition that states the pregnancy makes the same letrozole card critical
    r = client.post("/cds-services/medcite-order-sign", json=_with_condition(body, "Pregnancy"))
    cards = {c.summary.split(":")[0]: c for c in CDSResponse.model_validate(r.json()).cards}
    assert cards["letrozole"].indicator == "critical" and "pregnancy" in cards["letrozole"].summary
    assert calls[-1][1].patient.pregnant is True


def test_the_card_for_2400000_units_says_2400000(asked, regimen):
    client, calls = asked
    body = hook_request(regimen, regimen["dose"].value)
    quantity = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    quantity.update(value=2400000, unit="units", code="U")
    r = client.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 200, r.text
    (card,) = CDSResponse.model_validate(r.json()).cards
    assert "- Dose: " in card.detail and "ordered 2,400,000 units" in card.detail
    question, facts = calls[-1]
    assert "toremifene citrate 2,400,000 units orally once daily" in question
    assert (facts.drugs[0].dose.value, facts.drugs[0].dose.unit, facts.drugs[0].dose.text) == (2400000.0, "units", "2,400,000 units")


@pytest.mark.parametrize("value,message", [
    (-5, "doseQuantity.value: dose must be a number above 0, got -5.0"),
    (1e308, "doseQuantity.value: dose 1e+308 is above the largest possible dose (100,000,000)"),
    (0, "doseQuantity.value: dose must be a number above 0, got 0.0"),
])
def test_impossible_doses_are_refused_at_parse_time(cds, regimen, value, message):
    r = cds.post("/cds-services/medcite-order-sign", json=hook_request(regimen, value))
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


def test_unknown_entries_and_odd_shapes_are_400_not_500(cds, regimen):
    unknown = hook_request(regimen, 60)
    unknown["context"]["draftOrders"]["entry"].append({"resource": {"resourceType": "NoSuchResource", "id": "x"}})
    not_object = hook_request(regimen, 60)
    not_object["context"]["draftOrders"]["entry"].append("MedicationRequest/mr-1")
    bad_prefetch = hook_request(regimen, 60)
    bad_prefetch["prefetch"]["conditions"]["entry"].append({"resource": {"resourceType": "Condition", "code": ["x"]}})
    for body in (unknown, not_object, bad_prefetch):
        r = cds.post("/cds-services/medcite-order-sign", json=body)
        assert r.status_code == 400 and r.json()["status"] == 400, r.text


def test_bundles_with_more_entries_than_the_limit_are_413(api_settings, regimen):
    app = create_app(api_settings.with_overrides(max_bundle_entries=3), api_keys="", rate_limit=0, workers=1)
    body = hook_request(regimen, regimen["dose"].value)
    for _ in range(3):
        _with_condition(body, regimen["condition"])
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "the number of entries of prefetch.conditions is 4; the limit is 3 (MEDCITE_MAX_BUNDLE_ENTRIES)"


def test_more_orders_than_drugs_per_case_is_422(api_settings, regimen, letrozole_order):
    app = create_app(api_settings.with_overrides(max_drugs_per_case=1), api_keys="", rate_limit=0, workers=1)
    body = hook_request(regimen, regimen["dose"].value)
    body["context"]["draftOrders"]["entry"].append({"resource": letrozole_order})
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/cds-services/medcite-order-sign", json=body)
    assert r.status_code == 422, r.text
    assert "(MEDCITE_MAX_DRUGS_PER_CASE)" in r.json()["error"]
