"""NCI cancer drug pages (markdown with YAML front-matter)."""

from collections import Counter

import pytest

from medcite.ingest import nci_drugs
from medcite.records import Document, DrugName, RecordError


@pytest.fixture(scope="module")
def pages(shared_data):
    return shared_data / "nci_pdq_cancer_summaries" / "nci_drug_pages"


def page(pages, slug):
    out = list(nci_drugs.read(pages / f"about-cancer-treatment-drugs-{slug}.md"))
    docs = [x for x in out if isinstance(x, Document)]
    assert len(docs) == 1
    return docs[0], [x for x in out if isinstance(x, DrugName)]


def test_all_pages(pages):
    out = [x for path in sorted(pages.glob("*.md")) for x in nci_drugs.read(path)]
    assert [x for x in out if isinstance(x, RecordError)] == []
    docs = [x for x in out if isinstance(x, Document)]
    assert len(docs) == len({d.doc_id for d in docs}) == 436
    assert {d.tier for d in docs} == {"guideline"}
    assert Counter(x.kind for x in out if isinstance(x, DrugName)) == {"brand": 1375, "generic": 1225}


def test_drug_page(pages):
    doc, names = page(pages, "lanreotideacetate")
    assert doc.doc_id == "ncidrug:lanreotideacetate"
    assert (doc.source_kind, doc.source_id) == ("nci_drug_md", "lanreotideacetate")
    assert doc.title == "Lanreotide Acetate - NCI"
    assert doc.url == "https://www.cancer.gov/about-cancer/treatment/drugs/lanreotideacetate"
    assert [s.name for s in doc.sections] == [
        "Lanreotide Acetate", "Use in Cancer", "More About Lanreotide Acetate",
        "Research Results and Related Resources", "Clinical Trials Accepting Patients"]
    use = doc.sections[1]
    assert use.code == "use_in_cancer"
    assert use.text.startswith("Lanreotide acetate is approved to treat:\n\n- Gastroenteropancreatic neuroendocrine tumors.")
    assert "](" not in use.text and "**" not in use.text
    assert "Placeholder slot" not in doc.sections[0].text
    assert doc.meta["brand_names"] == ["Somatuline Depot"]
    assert doc.meta["cancer_types"] == ["pancreatic"]
    assert names == [
        DrugName("Lanreotide Acetate", "lanreotide acetate", "generic", "nci"),
        DrugName("Somatuline Depot", "lanreotide acetate", "brand", "nci"),
    ]


def test_several_brands(pages):
    _, names = page(pages, "everolimus")
    assert [n.name for n in names if n.kind == "brand"] == ["Afinitor", "Zortress"]


def test_approved_list_page_gives_brand_generic_pairs(pages):
    doc, names = page(pages, "pancreatic")
    assert DrugName("Lutathera", "lutetium lu 177-dotatate", "brand", "nci") in names
    assert DrugName("Somatuline Depot", "lanreotide acetate", "brand", "nci") in names
    assert not [n for n in names if n.name == "FOLFIRINOX"]
    assert "Drug Combinations Used in Pancreatic Cancer" in [s.name for s in doc.sections]


def test_combination_page_has_no_drug_names(pages):
    doc, names = page(pages, "abvd")
    assert names == []
    assert "A | = Doxorubicin Hydrochloride (Adriamycin)" in doc.sections[0].text


def test_bad_pages(tmp_path, pages):
    text = (pages / "about-cancer-treatment-drugs-everolimus.md").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    no_front = tmp_path / "about-cancer-treatment-drugs-everolimus.md"
    no_front.write_text(body, encoding="utf-8")
    doc = next(x for x in nci_drugs.read(no_front) if isinstance(x, Document))
    assert (doc.title, doc.url) == ("Everolimus - NCI", None)

    untitled = tmp_path / "about-cancer-treatment-drugs-untitled.md"
    untitled.write_text("\n".join(line for line in body.splitlines() if not line.startswith("# ")), encoding="utf-8")
    out = list(nci_drugs.read(untitled))
    assert [(e.record, e.message.split(" (")[0]) for e in out] == [("untitled", "page has no title")]

    binary = tmp_path / "about-cancer-treatment-drugs-bin.md"
    binary.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    out = list(nci_drugs.read(binary))
    assert len(out) == 1 and out[0].message.startswith("cannot read page")


def test_sniff(shared_data, pages):
    assert all(nci_drugs.sniff(p) for p in pages.glob("*.md"))
    pdq = shared_data / "nci_pdq_cancer_summaries" / "pdq_hp_treatment"
    assert not any(nci_drugs.sniff(p) for p in pdq.glob("*.md"))
