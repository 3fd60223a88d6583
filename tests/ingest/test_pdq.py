"""PDQ HP summary reader, on the real 123 markdown summaries (and a damaged copy of one)."""

import json
from pathlib import Path

import pytest

from medcite.ingest import pdq
from medcite.records import Document, RecordError

PNET = "types-pancreatic-hp-pnet-treatment-pdq"
OVERVIEW = "Treatment Option Overview for Pancreatic Neuroendocrine Tumors (Islet Cell Tumors)"
SYSTEMIC = f"{OVERVIEW} > Systemic Therapy for Advanced and Metastatic Disease"


@pytest.fixture(scope="module")
def folder(shared_data):
    return shared_data / "nci_pdq_cancer_summaries"


@pytest.fixture(scope="module")
def docs(folder):
    out = {}
    for path in sorted((folder / "pdq_hp_treatment").glob("*.md")):
        (doc,) = list(pdq.read(path))
        assert isinstance(doc, Document), doc
        out[doc.source_id] = doc
    return out


def test_sniff_claims_the_summaries_only(folder):
    summaries = sorted((folder / "pdq_hp_treatment").glob("*.md"))
    assert len(summaries) == 123 and all(pdq.sniff(p) for p in summaries)
    assert not pdq.sniff(folder / "index.json")
    assert not pdq.sniff(folder / "PROVENANCE.md")
    assert not any(pdq.sniff(p) for p in (folder / "nci_drug_pages").glob("*.md"))


def test_reads_all_summaries(docs, folder):
    assert len(docs) == 123
    assert {(d.tier, d.source_kind) for d in docs.values()} == {("guideline", "pdq_md")}
    assert all(d.doc_id == f"pdq:{slug}" for slug, d in docs.items())
    # unique PMIDs per summary agree with the listing built independently (index.json)
    listing = {Path(r["file"]).stem: r["n_pubmed_refs"] for r in json.loads((folder / "index.json").read_text())}
    assert {slug: len(d.meta["pmids"]) for slug, d in docs.items()} == {slug: listing[slug] for slug in docs}


def test_pancreatic_net_summary(docs):
    doc = docs[PNET]
    assert doc.title == "Pancreatic Neuroendocrine Tumors (Islet Cell Tumors) Treatment (PDQ®)"
    assert doc.url == "https://www.cancer.gov/types/pancreatic/hp/pnet-treatment-pdq"
    assert doc.date == "2025-05-09"  # "Latest Updates to This Summary (05/09/2025)"
    assert doc.meta["summary_pmid"] == "26389309"
    names = [s.name for s in doc.sections]
    assert len(names) == 26
    assert names[0] == ("General Information About Pancreatic Neuroendocrine Tumors (Islet Cell Tumors)"
                        " > Incidence and Mortality")
    assert "Treatment of Gastrinoma > Current Clinical Trials" in names
    assert SYSTEMIC in names
    assert not any("References" in n or "About This PDQ" in n or "Latest Updates" in n for n in names)
    assert [s.code for s in doc.sections if s.name.startswith(OVERVIEW)] == ["section_4"] * 4


def test_evidence_levels_stay_in_text_and_in_meta(docs):
    doc = docs[PNET]
    systemic = next(s for s in doc.sections if s.name == SYSTEMIC)
    assert "derived from case series.[Level of evidence C3]" in systemic.text
    assert "Somatostatin analogues may be effective in reducing the symptoms of functional tumors.[14]" in systemic.text
    assert "](" not in systemic.text and "[[" not in systemic.text
    assert doc.meta["evidence_levels"][SYSTEMIC] == ["C3", "B1"]
    assert doc.meta["evidence_levels"][f"{OVERVIEW} > Localized Disease"] == ["C2"]


def test_references_parsed_not_indexed(docs):
    doc = docs[PNET]
    refs = doc.meta["references"]
    assert len(refs) == 121
    assert sum(1 for r in refs if r["pmid"]) == 110
    third = refs[2]
    assert (third["n"], third["key"], third["pmid"]) == (3, "1.3", "21263089")
    assert third["text"].startswith("Kulke MH, Siu LL, Tepper JE, et al.: Future directions in the treatment")
    assert "PUBMED" not in third["text"]
    assert not any("Kulke MH, Siu LL" in s.text for s in doc.sections)
    # "[15-17]" is a range: 15, 16 and 17 are all cited
    assert doc.meta["section_refs"][SYSTEMIC] == [
        "4.5", "4.14", "4.15", "4.16", "4.17", "4.18", "4.19", "4.20", "4.21", "4.22", "4.23"]


def test_every_cited_number_resolves_to_a_reference(docs):
    for doc in docs.values():
        keys = {r["key"] for r in doc.meta["references"]}
        cited = {k for ks in doc.meta["section_refs"].values() for k in ks}
        assert cited <= keys, doc.doc_id
        assert set(doc.meta["section_refs"]) <= {s.name for s in doc.sections}


def test_summary_without_body_is_an_error(folder, tmp_path):
    text = (folder / "pdq_hp_treatment" / f"{PNET}.md").read_text(encoding="utf-8")
    path = tmp_path / f"{PNET}.md"
    path.write_text(text[: text.index("## General Information")], encoding="utf-8")
    assert pdq.sniff(path)
    (err,) = list(pdq.read(path))
    assert isinstance(err, RecordError)
    assert err.line() == f"{path}: no text sections found under the headings"


def test_claims_nothing_else_in_shared_data(shared_data):
    claimed = {str(p.relative_to(shared_data)) for p in shared_data.rglob("*") if p.is_file() and pdq.sniff(p)}
    assert claimed == {f"nci_pdq_cancer_summaries/pdq_hp_treatment/{p.name}"
                       for p in (shared_data / "nci_pdq_cancer_summaries" / "pdq_hp_treatment").glob("*.md")}
