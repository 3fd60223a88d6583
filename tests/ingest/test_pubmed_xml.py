"""PubMed efetch XML reader, on the real samples (9 articles in 7 files) and damaged copies of them."""

import gzip

import pytest

from medcite.ingest import pubmed_xml
from medcite.records import Document, RecordError

PMIDS = {"12091962", "9997", "11748933", "11700088", "27797938", "28775130", "30108519", "29963580", "29768149"}


@pytest.fixture(scope="module")
def folder(shared_data):
    return shared_data / "pubmed_xml_samples"


@pytest.fixture(scope="module")
def docs(folder):
    out = {}
    for path in sorted(folder.glob("*.xml")):
        for item in pubmed_xml.read(path):
            assert isinstance(item, Document), item
            out[item.source_id] = item
    return out


def test_every_sample_is_sniffed_and_read(folder, docs):
    files = sorted(folder.glob("*.xml"))
    assert len(files) == 7
    assert all(pubmed_xml.sniff(p) for p in files)
    assert not pubmed_xml.sniff(folder / "PROVENANCE.md")
    assert set(docs) == PMIDS
    for pmid, doc in docs.items():
        assert doc.doc_id == f"pmid:{pmid}"
        assert doc.tier == "research" and doc.source_kind == "pubmed_xml"
        assert doc.url == f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def test_structured_abstract_labels_and_inline_markup(docs):
    doc = docs["29768149"]
    assert doc.title == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert [s.name for s in doc.sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert [s.code for s in doc.sections] == [None, None, None, None]  # no NlmCategory in this record
    # "&#946;\n<sub>2</sub>-agonist" flattens to one word
    assert "fast-acting β2-agonist may be an alternative" in doc.sections[0].text
    assert doc.date == "2018-05-17"
    meta = doc.meta
    assert meta["year"] == 2018
    assert meta["journal"] == "The New England journal of medicine"
    assert meta["journal_iso"] == "N Engl J Med"
    assert meta["doi"] == "10.1056/NEJMoa1715274"
    assert "Randomized Controlled Trial" in meta["publication_types"]
    assert {"name": "Asthma", "ui": "D001249", "major": True} in meta["mesh"]
    assert meta["authors"][:2] == ["O'Byrne PM", "FitzGerald JM"]


def test_nlm_category_becomes_the_section_code(docs):
    doc = docs["28775130"]
    assert [(s.name, s.code) for s in doc.sections] == [
        ("OBJECTIVES", "OBJECTIVE"), ("METHODS", "METHODS"), ("RESULTS", "RESULTS"), ("CONCLUSIONS", "CONCLUSIONS")]
    assert doc.meta["pmcid"] == "PMC5771820"
    assert doc.date == "2018-02"
    assert doc.meta["epub_date"] == "2017-08-03"


def test_article_without_abstract_is_a_title_only_document(docs):
    doc = docs["12091962"]
    assert doc.title == "The treatment of AIDS behind the walls of correctional facilities."
    assert doc.sections == []
    assert doc.date == "1990"  # PubDate is "1990 Spring"
    assert doc.meta["publication_types"] == ["Journal Article", "Review"]


def test_unstructured_abstract_is_one_section(docs):
    doc = docs["9997"]
    assert [s.name for s in doc.sections] == ["Abstract"]
    assert doc.date == "1976-09-28"


def test_gzip_and_bytes_give_the_same_documents(folder, tmp_path, docs):
    raw = (folder / "biopython_pubmed2.xml").read_bytes()
    gz = tmp_path / "pubmed2.xml.gz"
    gz.write_bytes(gzip.compress(raw))
    assert pubmed_xml.sniff(gz)
    from_gz = list(pubmed_xml.read(gz))
    from_bytes = list(pubmed_xml.parse_pubmed_xml_bytes(raw, "efetch"))
    assert [d.doc_id for d in from_gz] == ["pmid:11748933", "pmid:11700088"]
    assert [d.content_hash() for d in from_gz] == [d.content_hash() for d in from_bytes]
    assert from_bytes[0].source_file == "efetch"
    assert from_gz[0].content_hash() == docs["11748933"].content_hash()


def test_xml_cut_in_the_middle(folder, tmp_path):
    raw = (folder / "biopython_pubmed1.xml").read_bytes()
    cut = raw.index(b"<PubmedArticle>", raw.index(b"</PubmedArticle>")) + 400  # inside the second article
    path = tmp_path / "cut.xml"
    path.write_bytes(raw[:cut])
    items = list(pubmed_xml.read(path))
    assert [type(x) for x in items] == [Document, RecordError]
    assert items[0].doc_id == "pmid:12091962"
    err = items[1]
    assert err.source == str(path)
    assert err.record.startswith("article 2 (line ")
    assert "1 article(s) read before it" in err.message


def test_article_without_pmid(folder, tmp_path):
    raw = (folder / "biopython_pubmed2.xml").read_bytes()
    damaged = raw.replace(b'<PMID Version="1">11748933</PMID>', b"", 1)
    assert damaged != raw
    path = tmp_path / "nopmid.xml"
    path.write_bytes(damaged)
    items = list(pubmed_xml.read(path))
    assert [type(x) for x in items] == [RecordError, Document]
    assert items[0].line().startswith(f"{path} [article 1 (line ")
    assert "without a numeric PMID" in items[0].message
    assert items[1].doc_id == "pmid:11700088"


def test_truncated_gzip_is_one_error_for_the_file(folder, tmp_path):
    raw = (folder / "biopython_pubmed2.xml").read_bytes()
    data = gzip.compress(raw)
    path = tmp_path / "trunc.xml.gz"
    path.write_bytes(data[: len(data) * 3 // 4])
    items = list(pubmed_xml.read(path))
    # lxml reads the stream in large blocks, so the gzip error surfaces before article 1 is complete
    assert len(items) == 1 and isinstance(items[0], RecordError)
    assert items[0].line() == (f"{path} [article 1]: cannot read the rest of the file: Compressed file ended "
                               "before the end-of-stream marker was reached; 0 article(s) read before it")


def test_payload_that_is_not_pubmed(shared_data):
    other = (shared_data / "eval_liveqa_trec2017" / "TREC-2017-LiveQA-Medical-Test.xml").read_bytes()
    items = list(pubmed_xml.parse_pubmed_xml_bytes(other, "payload"))
    assert len(items) == 1 and isinstance(items[0], RecordError)
    assert items[0].message.startswith("not a PubmedArticleSet (root is <")


def test_claims_nothing_else_in_shared_data(shared_data):
    """Eval files (BioASQ, K-QA, LiveQA XML, MedicationQA, qrels...) and other XML are not PubMed."""
    claimed = {str(p.relative_to(shared_data)) for p in shared_data.rglob("*") if p.is_file() and pubmed_xml.sniff(p)}
    assert claimed == {f"pubmed_xml_samples/{p.name}" for p in (shared_data / "pubmed_xml_samples").glob("*.xml")}
