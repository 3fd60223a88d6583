"""Fixtures of the API tests: the app on the session corpus index, tested in-process."""

import pytest
from fastapi.testclient import TestClient

from medcite.api.app import create_app
from medcite.settings import Settings


@pytest.fixture(scope="session")
def api_settings(corpus_index) -> Settings:
    """Settings serving the session corpus index (BM25 only, as ingested)."""
    return Settings(index_path=str(corpus_index), embed_at_ingest=False)


@pytest.fixture(scope="session")
def client(api_settings):
    """A TestClient of an open app (no keys, no rate limit) on the corpus index."""
    app = create_app(api_settings, api_keys="", rate_limit=0, workers=2)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def openfda_labels(shared_data) -> dict[str, dict]:
    """{set_id: openFDA label record} of the shared openFDA file."""
    import gzip
    import json

    with gzip.open(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz", "rt", encoding="utf-8") as f:
        return {r["set_id"]: r for r in map(json.loads, f)}


@pytest.fixture(scope="session")
def regimen(openfda_labels) -> dict:
    """The Fareston (toremifene) label's own regimen and indication, read from the openFDA record."""
    import re

    from medcite.analyze.regimen import find_doses, find_frequencies

    label = openfda_labels["2cab8dd1-3a10-48e6-86ce-0e5275ed49e5"]
    dosage = label["dosage_and_administration"][0]
    dose, freq = find_doses(dosage)[0], find_frequencies(dosage)[0]
    condition = re.search(r"metastatic breast cancer", label["indications_and_usage"][0]).group(0)
    return {"rxcui": label["openfda"]["rxcui"], "dose": dose, "frequency": freq,
            "route": label["openfda"]["route"][0].lower(), "condition": condition}


@pytest.fixture(scope="session")
def medicationqa_question(shared_data) -> str:
    """A real consumer question about anastrozole (MedicationQA), whose label is in the corpus."""
    import json

    rows = json.loads((shared_data / "eval_medicationqa" / "medicationqa.json").read_text(encoding="utf-8"))
    return next(r["Question"] for r in rows if r["Focus (Drug)"].lower() == "anastrozole")
