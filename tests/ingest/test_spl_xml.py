"""DailyMed SPL XML reader, on the real SPL files from FDA/openfda and the Veklury label."""

import shutil
import zipfile

import pytest

from medcite.ingest import spl_xml
from medcite.records import Document, DrugName, RecordError

HUMIRA_SET_ID = "608d4f0d-b19f-46d3-749a-7159aa5f933d"


@pytest.fixture(scope="module")
def xml_dir(shared_data):
    return shared_data / "fda_spl_xml_samples" / "xml"


def read_one(path):
    out = list(spl_xml.read(path))
    docs = [x for x in out if isinstance(x, Document)]
    assert len(docs) == 1 and not [x for x in out if isinstance(x, RecordError)]
    return docs[0], [x for x in out if isinstance(x, DrugName)]


def section(doc, code):
    found = [s for s in doc.sections if s.code == code]
    assert len(found) == 1, [s.name for s in found]
    return found[0]


def test_humira(xml_dir):
    doc, names = read_one(xml_dir / "humira.xml")
    assert doc.doc_id == f"spl:{HUMIRA_SET_ID}"
    assert (doc.tier, doc.source_kind, doc.source_id) == ("label", "spl_xml", HUMIRA_SET_ID)
    assert doc.version == "1560"
    assert doc.date == "2013-09-30"
    assert doc.title == "HUMIRA (adalimumab) injection, for subcutaneous use"
    assert doc.meta["spl_id"] == "2c9fb32d-4b1b-b5da-4bdf-6b06908ba8b3"
    assert doc.meta["application_numbers"][0] == "BLA125057"
    assert doc.meta["product_type"] == "HUMAN PRESCRIPTION DRUG"
    assert DrugName("Humira", "adalimumab", "brand", "labels") in names
    indications = section(doc, "34067-9")
    assert indications.name == "Indications & Usage"
    assert indications.text.startswith("1 INDICATIONS AND USAGE\n\n")
    assert "\n\n1.1 Rheumatoid Arthritis\n\n" in indications.text
    dosing = section(doc, "34068-7")
    assert "\n\n2.2 Juvenile Idiopathic Arthritis\n\n" in dosing.text
    assert "\nPediatric Patients (4 to 17 years) | Dose\n" in dosing.text  # a flattened table


def test_coded_subsections_are_own_sections_and_text_is_not_repeated(xml_dir):
    doc, _ = read_one(xml_dir / "humira.xml")
    pregnancy = section(doc, "42228-7")
    assert pregnancy.name == "Use in Specific Populations > 8.1 Pregnancy"
    assert pregnancy.text.startswith("8.1 Pregnancy\n\n")
    assert sum("8.1 Pregnancy" in s.text for s in doc.sections) == 1
    codes = [s.code for s in doc.sections]
    assert "48780-1" not in codes and "51945-4" not in codes  # product data, carton panel


def test_boxed_formatting_inside_dosage_stays_dosage(xml_dir):
    # no-title.xml marks dose tables inside Dosage & Administration with the Boxed Warning code
    doc, _ = read_one(xml_dir / "no-title.xml")
    assert [s.name for s in doc.sections if s.code == "34066-1"] == ["Boxed Warning"]
    assert "Moderate Symptomatology - 0.5 mg to 2 mg b.i.d. or t.i.d." in section(doc, "34068-7").text
    assert doc.sections[0].code == "34066-1"


def test_no_title_falls_back_to_product_name(xml_dir):
    doc, names = read_one(xml_dir / "no-title.xml")
    assert doc.doc_id == "spl:0027b8a3-73bf-4005-a7e3-b035f451a861"
    assert doc.meta["document_title"] == ""
    assert doc.title == "Haloperidol (haloperidol)"
    assert names == [DrugName("haloperidol", "haloperidol", "generic", "labels")]


def test_original_and_repackager_labels_are_distinct(xml_dir):
    orig, _ = read_one(xml_dir / "lipitor-orig.xml")
    repack, _ = read_one(xml_dir / "lipitor-repack.xml")
    assert orig.source_id == "c6e131fe-e7df-4876-83f7-9156fc4e8228"
    assert repack.source_id == "17a163ef-b349-4e32-bc8c-b02bac7f65d6"
    assert orig.doc_id != repack.doc_id
    assert (orig.version, repack.version) == ("11", "8")
    assert repack.meta["manufacturer"] == "PD-Rx Pharmaceuticals, Inc."


def test_otc_drug_facts_label(xml_dir):
    doc, _ = read_one(xml_dir / "cough.xml")
    assert doc.doc_id == "spl:00f66f25-3469-4c16-9baf-fba21e9628bd"
    assert doc.meta["product_type"] == "HUMAN OTC DRUG"
    assert doc.title.startswith("TRIAMINIC Childrens Night Time Cold and Cough (")
    uses = section(doc, "34067-9")
    assert (uses.name, uses.text.split("\n")[0]) == ("Indications & Usage", "Uses")
    assert section(doc, "50570-1").name == "Warnings > Do not use"
    assert doc.meta["substance_names"] == ["DIPHENHYDRAMINE HYDROCHLORIDE", "PHENYLEPHRINE HYDROCHLORIDE"]


def test_veklury_label_keeps_numbered_dosage_subsections(shared_data):
    doc, _ = read_one(shared_data / "fda_spl_xml_samples" / "remdesivir_label_qa" / "remdesivir_veklury_oct2020_spl.xml")
    assert doc.source_id == "98b7e6bf-2668-4a61-a874-194eb674b15c"
    assert "\n\n2.2 Recommended Dosage in Pediatric Patients\n\n" in section(doc, "34068-7").text
    assert doc.meta["brand_names"] == ["Veklury"]


def test_indexing_document_is_not_a_label(xml_dir):
    out = list(spl_xml.read(xml_dir / "METHOXSALEN.xml"))
    assert len(out) == 1 and isinstance(out[0], RecordError)
    assert out[0].record == "ea1a6225-0eb9-4743-9601-23d5795936a3"
    assert out[0].message.startswith("not a drug label (indexing document")


def test_sniff(shared_data, xml_dir):
    for path in xml_dir.glob("*.xml"):
        assert spl_xml.sniff(path), path
    for path in (shared_data / "pubmed_xml_samples").glob("*.xml"):
        assert not spl_xml.sniff(path), path
    assert not spl_xml.sniff(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz")


def test_bad_files(tmp_path, xml_dir, shared_data):
    not_xml = tmp_path / "label.xml"
    shutil.copy(shared_data / "fda_spl_xml_samples" / "PROVENANCE.md", not_xml)
    out = list(spl_xml.read(not_xml))
    assert len(out) == 1 and out[0].message.startswith("not well-formed XML")
    assert not spl_xml.sniff(not_xml)

    cut = tmp_path / "humira-cut.xml"
    data = (xml_dir / "humira.xml").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out = list(spl_xml.read(cut))
    assert len(out) == 1 and out[0].message.startswith("not well-formed XML")

    pubmed = shared_data / "pubmed_xml_samples" / "biopython_pubmed4.xml"
    out = list(spl_xml.read(pubmed))
    assert [e.message for e in out] == ["not an SPL document (root element <PubmedArticleSet>)"]


def test_zip_of_labels(tmp_path, xml_dir):
    archive = tmp_path / "labels.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("humira.xml", "METHOXSALEN.xml", "cough.xml"):
            zf.write(xml_dir / name, name)
        zf.writestr("broken.xml", (xml_dir / "viagra-64f8040f-938d-4236-8e22-c838c9b5f8da.xml").read_bytes()[:5000])
    assert spl_xml.sniff(archive)
    out = list(spl_xml.read(archive))
    docs = [x.source_id for x in out if isinstance(x, Document)]
    errors = [x.source.rsplit("!", 1)[1] for x in out if isinstance(x, RecordError)]
    assert docs == [HUMIRA_SET_ID, "00f66f25-3469-4c16-9baf-fba21e9628bd"]
    assert errors == ["METHOXSALEN.xml", "broken.xml"]
