"""PubMedQA PQA-L reader, on the real ori_pqal.json (1,000 abstracts) and damaged copies of it."""

import json

import pytest

from medcite.ingest import pubmedqa
from medcite.records import Document, RecordError


@pytest.fixture(scope="module")
def folder(shared_data):
    return shared_data / "pubmedqa"


@pytest.fixture(scope="module")
def items(folder):
    return list(pubmedqa.read(folder / "ori_pqal.json"))


@pytest.fixture(scope="module")
def docs(items):
    return {d.source_id: d for d in items if isinstance(d, Document)}


def test_sniff_claims_the_corpus_not_the_answer_key(folder):
    assert pubmedqa.sniff(folder / "ori_pqal.json")
    assert not pubmedqa.sniff(folder / "test_ground_truth.json")
    assert pubmedqa.skip_reason(folder / "test_ground_truth.json") == (
        "PubMedQA answer labels (PMID -> yes/no/maybe): evaluation only")
    assert pubmedqa.skip_reason(folder / "ori_pqal.json") is None


def test_reads_every_abstract(items, docs):
    assert [x for x in items if isinstance(x, RecordError)] == []
    assert len(docs) == 1000
    assert {d.doc_id for d in docs.values()} == {f"pmid:{p}" for p in docs}
    assert {(d.tier, d.source_kind) for d in docs.values()} == {("research", "pubmedqa")}
    assert all(d.meta["title_is_question"] is True for d in docs.values())
    assert sum(1 for d in docs.values() if d.meta["year"] is None) == 58  # YEAR is null in 58 entries
    decisions = [d.meta["pubmedqa_decision"] for d in docs.values()]
    assert (decisions.count("yes"), decisions.count("no"), decisions.count("maybe")) == (552, 338, 110)


def test_first_entry(docs, folder):
    raw = json.loads((folder / "ori_pqal.json").read_text())["21645374"]
    doc = docs["21645374"]
    assert doc.title == raw["QUESTION"]
    assert [(s.name, s.code) for s in doc.sections] == [
        ("BACKGROUND", "BACKGROUND"), ("RESULTS", "RESULTS"), ("Conclusions", "CONCLUSIONS")]
    assert [s.text for s in doc.sections] == raw["CONTEXTS"] + [raw["LONG_ANSWER"]]
    assert doc.date == "2011"
    assert doc.meta["year"] == 2011
    assert [m["name"] for m in doc.meta["mesh"]] == raw["MESHES"]
    assert {m["major"] for m in doc.meta["mesh"]} == {None}
    assert doc.url == "https://pubmed.ncbi.nlm.nih.gov/21645374/"


def test_bad_entry_is_one_error_and_the_rest_reads(folder, tmp_path):
    data = json.loads((folder / "ori_pqal.json").read_text())
    del data["21645374"]["CONTEXTS"]
    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps(data))
    items = list(pubmedqa.read(path))
    errors = [x for x in items if isinstance(x, RecordError)]
    assert [e.line() for e in errors] == [f"{path} [PMID 21645374]: QUESTION or CONTEXTS missing"]
    assert sum(1 for x in items if isinstance(x, Document)) == 999


def test_corrupt_json_is_one_error_for_the_file(folder, tmp_path):
    raw = (folder / "ori_pqal.json").read_bytes()
    path = tmp_path / "ori_pqal.json"
    path.write_bytes(raw[: len(raw) // 2])
    items = list(pubmedqa.read(path))
    assert len(items) == 1 and isinstance(items[0], RecordError)
    assert items[0].record is None
    assert items[0].message.startswith("cannot read PubMedQA JSON: ")


def test_claims_nothing_else_in_shared_data(shared_data):
    """BioASQ / MedicationQA / K-QA JSON and the PubMedQA answer key are never claimed."""
    claimed = {str(p.relative_to(shared_data)) for p in shared_data.rglob("*") if p.is_file() and pubmedqa.sniff(p)}
    assert claimed == {"pubmedqa/ori_pqal.json"}
