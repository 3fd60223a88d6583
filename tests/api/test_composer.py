"""The API's `composer` field: validated, and without a configured model the answer is extractive
and says why (nothing is sent anywhere)."""


def test_llm_without_a_server_is_the_extractive_answer(client, medicationqa_question):
    plain = client.post("/api/v1/ask", json={"question": medicationqa_question}).json()
    r = client.post("/api/v1/ask", json={"question": medicationqa_question, "composer": "llm"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["composer"]["used"] == "extractive"
    assert body["composer"]["fallback"] == "no LLM server is configured (MEDCITE_LLM_URL)"
    assert body["sections"] == plain["sections"] and plain["composer"]["requested"] == "extractive"


def test_unknown_composer_is_refused(client):
    r = client.post("/api/v1/ask", json={"question": "What is anastrozole?", "composer": "gpt"})
    assert r.status_code == 422 and r.json()["ok"] is False and "composer" in r.json()["error"]
