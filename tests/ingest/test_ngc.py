"""NGC guideline reader, on the real JSONL export (1,416 guidelines), the 5 raw XML summaries and
damaged copies of them."""

import gzip

import pytest

from medcite.ingest import ngc
from medcite.records import Document, RecordError

XML_IDS = ["10721", "10737", "10833", "10883", "11161"]


@pytest.fixture(scope="module")
def folder(shared_data):
    return shared_data / "guidelines_ngc_ahrq"


@pytest.fixture(scope="module")
def json_items(folder):
    return list(ngc.read(folder / "ngc_guideline_summaries.jsonl.gz"))


@pytest.fixture(scope="module")
def json_docs(json_items):
    return {d.doc_id: d for d in json_items if isinstance(d, Document)}


@pytest.fixture(scope="module")
def xml_docs(folder):
    out = {}
    for path in sorted((folder / "raw_xml_net_pancreas").glob("*.xml")):
        (doc,) = list(ngc.read(path))
        assert isinstance(doc, Document), doc
        out[doc.doc_id] = doc
    return out


def test_sniff(folder):
    assert ngc.sniff(folder / "ngc_guideline_summaries.jsonl.gz") == "ngc_json"
    assert [ngc.sniff(folder / "raw_xml_net_pancreas" / f"ngc-{i}.xml") for i in XML_IDS] == ["ngc_xml"] * 5
    assert not ngc.sniff(folder / "PROVENANCE.md")


def test_reads_every_guideline(json_items, json_docs):
    assert [x for x in json_items if isinstance(x, RecordError)] == []
    assert len(json_docs) == 1416
    assert {(d.tier, d.source_kind) for d in json_docs.values()} == {("guideline", "ngc_json")}
    assert all(d.date for d in json_docs.values())
    assert sum(1 for d in json_docs.values() if d.meta["pmids"]) == 675
    # the copyright statement is provenance, not evidence
    assert not any(s.name == "Copyright Statement" for d in json_docs.values() for s in d.sections)


def test_same_guideline_from_json_and_xml(json_docs, xml_docs):
    assert set(xml_docs) == {f"ngc:{i}" for i in XML_IDS}
    for doc_id, x in xml_docs.items():
        j = json_docs[doc_id]
        assert (x.title, x.date, x.url) == (j.title, j.date, j.url)
        assert x.source_kind == "ngc_xml" and j.source_kind == "ngc_json"
        for key in ("developer", "bibliographic_source", "status", "date_released_raw", "pmids", "grades"):
            assert x.meta[key] == j.meta[key], (doc_id, key)
    x = xml_docs["ngc:10883"]
    assert x.title == "Somatostatin analogues for the management of neuroendocrine tumours."
    assert x.source_id == "10883"
    assert x.url == "https://www.guideline.gov/summaries/summary/10883"
    assert x.date == "2015-03"
    assert x.meta["developer"] == "CancerControl Alberta - State/Local Government Agency [Non-U.S.]"
    assert x.meta["disease_condition"] == "Neuroendocrine tumours (NETs)"
    assert x.meta["copyright"].startswith("This NGC summary is based on the original guideline")


def test_major_recommendations_split_at_subheadings(xml_docs, json_docs):
    x = xml_docs["ngc:10883"]
    assert [s.name for s in x.sections] == [
        "Major Recommendations",
        "Major Recommendations > Management of Symptomatic Secretory Syndromes",
        "Major Recommendations > Tumour Control",
        "Major Recommendations > Management of Carcinoid Heart Disease",
        "Major Recommendations > Management of Symptoms Secondary to Elevated Calcitonin in Medullary Thyroid"
        " Carcinoma",
        "Disease/Condition(s)", "Target Population", "Interventions and Practices Considered",
        "Potential Benefits", "Potential Harms", "Qualifying Statements",
    ]
    assert {s.code for s in x.sections[:5]} == {"Major Recommendations"}
    assert x.sections[2].text.startswith("- Octreotide LAR has been shown in the PROMID study")
    # the JSON export lost this guideline's list-item headings: one section, same words
    j = json_docs["ngc:10883"]
    assert [s.name for s in j.sections][:2] == ["Major Recommendations", "Disease/Condition(s)"]
    for doc in (xml_docs["ngc:11161"], json_docs["ngc:11161"]):
        assert [s.name for s in doc.sections][:2] == [
            "Major Recommendations > Recommendation 1", "Major Recommendations > Recommendation 2"]
    assert [s.name for s in json_docs["ngc:10424"].sections][:3] == [
        "Major Recommendations", "Major Recommendations > Diagnosis", "Major Recommendations > Treatment"]


def test_evidence_grades(xml_docs, json_docs):
    grades = ["Conditional recommendation, Very low quality evidence",
              "Strong recommendation, Very low quality evidence"]
    assert xml_docs["ngc:10721"].meta["grades"] == grades
    assert json_docs["ngc:10721"].meta["grades"] == grades
    surveillance = xml_docs["ngc:10721"].sections[1]
    assert surveillance.name == "Major Recommendations > Issues Related to the Conduct of Surveillance"
    assert "(Conditional recommendation, Very low quality evidence)" in surveillance.text  # kept in the text
    assert json_docs["ngc:10424"].meta["grades"] == [
        "Standard; Evidence Strength Grade B", "Standard; Evidence Strength Grade A",
        "Recommendation; Evidence Strength Grade C", "Option; Evidence Strength Grade C", "Clinical Principle"]
    assert json_docs["ngc:10891"].meta["grades"] == ["2|++OO", "1|++OO", "1|+++O", "2|+++O", "2|+OOO", "1|+OOO"]
    assert json_docs["ngc:10883"].meta["grades"] == []  # its rating schemes are "Not applicable"
    assert sum(1 for d in json_docs.values() if d.meta["grades"]) == 541


def test_release_dates():
    assert ngc.normalise_date("2015 Mar") == "2015-03"
    assert ngc.normalise_date("2016 Dec 9") == "2016-12-09"
    assert ngc.normalise_date("2012 Nov (revised 2015 Feb)") == "2015-02"  # the version summarised
    assert ngc.normalise_date("2008 May (reaffirmed 2013)") == "2008-05"
    assert ngc.normalise_date("1995 (revised 2014)") == "2014"


def test_truncated_gzip(folder, tmp_path, json_docs):
    data = (folder / "ngc_guideline_summaries.jsonl.gz").read_bytes()
    path = tmp_path / "ngc.jsonl.gz"
    path.write_bytes(data[: len(data) // 3])
    items = list(ngc.read(path))
    read = [x for x in items if isinstance(x, Document)]
    assert items[:-1] == read and isinstance(items[-1], RecordError)
    assert 100 < len(read) < 1416
    assert [d.doc_id for d in read] == list(json_docs)[: len(read)]
    assert items[-1].line().startswith(f"{path} [line {len(read) + 1}]: cannot read the rest of the file: ")


def test_corrupt_line_and_record_without_id(folder, tmp_path):
    lines = gzip.open(folder / "ngc_guideline_summaries.jsonl.gz", "rt", encoding="utf-8").read().splitlines()[:4]
    lines[1] = lines[1][:500]
    lines[2] = lines[2].replace('"ngc_id": "', '"ngc_id": "x', 1)
    path = tmp_path / "ngc.jsonl"
    path.write_text("\n".join(lines) + "\n")
    items = list(ngc.read(path))
    assert [type(x) for x in items] == [Document, RecordError, RecordError, Document]
    assert items[1].line().startswith(f"{path} [line 2]: not a valid JSON record: ")
    assert items[2].record.startswith("line 3 xngc-")
    assert "is not ngc-<number>" in items[2].message


def test_xml_cut_in_the_middle(folder, tmp_path):
    raw = (folder / "raw_xml_net_pancreas" / "ngc-10883.xml").read_bytes()
    path = tmp_path / "ngc-10883.xml"
    path.write_bytes(raw[: len(raw) // 2])
    (err,) = list(ngc.read(path))
    assert isinstance(err, RecordError) and err.source == str(path)
    assert err.message.startswith("not well-formed XML: ")


def test_claims_nothing_else_in_shared_data(shared_data):
    claimed = {str(p.relative_to(shared_data)) for p in shared_data.rglob("*") if p.is_file() and ngc.sniff(p)}
    assert claimed == {"guidelines_ngc_ahrq/ngc_guideline_summaries.jsonl.gz"} | {
        f"guidelines_ngc_ahrq/raw_xml_net_pancreas/ngc-{i}.xml" for i in XML_IDS}
