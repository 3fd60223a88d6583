"""openFDA label JSON reader, on the real PharmGKB/openFDA records (363 labels)."""

import gzip
import json
import zipfile
import zlib

import pytest

from medcite.ingest import openfda
from medcite.ingest.spl_sections import FIELD_TO_CODE, SECTION_NAMES
from medcite.records import Document, DrugName, RecordError

AFINITOR_SET_ID = "2150f73a-179b-4afc-b8ce-67c85cc72f04"


@pytest.fixture(scope="module")
def labels_path(shared_data):
    return shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz"


@pytest.fixture(scope="module")
def items(labels_path):
    return list(openfda.read(labels_path))


@pytest.fixture(scope="module")
def docs(items):
    return [x for x in items if isinstance(x, Document)]


@pytest.fixture(scope="module")
def raw_lines(labels_path):
    return gzip.open(labels_path, "rt", encoding="utf-8").read().splitlines()


def by_brand(docs, brand):
    return next(d for d in docs if brand in d.meta["brand_names"])


def test_reads_every_label_once(items, docs, labels_path):
    assert [x for x in items if isinstance(x, RecordError)] == []
    assert len(docs) == 363
    assert len({d.doc_id for d in docs}) == 363
    assert {d.tier for d in docs} == {"label"}
    assert {d.source_kind for d in docs} == {"openfda_json"}
    assert {d.source_file for d in docs} == {str(labels_path)}


def test_afinitor_label(docs):
    afinitor = by_brand(docs, "Afinitor")
    assert afinitor.doc_id == f"spl:{AFINITOR_SET_ID}"
    assert afinitor.source_id == AFINITOR_SET_ID
    assert afinitor.title == "Afinitor (everolimus)"
    assert afinitor.date == "2021-04-16"
    assert afinitor.version == "55"
    assert afinitor.url == f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={AFINITOR_SET_ID}"
    meta = afinitor.meta
    assert meta["application_numbers"] == ["NDA022334"]
    assert meta["generic_names"] == ["EVEROLIMUS"]
    assert meta["routes"] == ["ORAL"]
    assert meta["unii"] == ["9HW64Q8G6G"]
    assert meta["manufacturer"] == "Novartis Pharmaceuticals Corporation"
    assert meta["product_type"] == "HUMAN PRESCRIPTION DRUG"
    assert meta["effective_time"] == "20210416"
    indications = next(s for s in afinitor.sections if s.code == "34067-9")
    assert indications.name == "Indications & Usage"
    assert indications.text.startswith("1 INDICATIONS AND USAGE")


def test_sections_follow_label_order_and_skip_non_text_fields(docs):
    afinitor = by_brand(docs, "Afinitor")
    codes = [s.code for s in afinitor.sections]
    assert codes[:6] == ["43683-2", "34067-9", "34068-7", "43678-2", "34070-3", "43685-7"]
    # product data elements, carton text: not sections
    assert "48780-1" not in codes and "51945-4" not in codes
    assert all(s.code for d in docs for s in d.sections)  # every field of these records is LOINC-coded
    assert all(s.name == SECTION_NAMES[s.code] for d in docs for s in d.sections)


def test_html_tables_are_flattened_and_appended(docs):
    zortress = by_brand(docs, "Zortress")
    forms = next(s for s in zortress.sections if s.code == "43678-2")
    assert "\n\nTable 1. Description of Zortress (everolimus) Tablets\n" in forms.text
    assert "\nDosage Strength | 0.25 mg | 0.5 mg | 0.75 mg | 1 mg\n" in forms.text
    assert "<td" not in forms.text


def test_drug_names_once_per_file(items):
    names = [x for x in items if isinstance(x, DrugName)]
    assert DrugName("Afinitor", "everolimus", "brand", "labels") in names
    assert DrugName("EVEROLIMUS", "everolimus", "generic", "labels") in names
    keys = [(n.name.lower(), n.generic, n.kind) for n in names]
    assert len(keys) == len(set(keys)) == 749


def test_section_table_matches_openfda_sections_csv(shared_data):
    schema_dir = shared_data / "fda_spl_xml_samples" / "openfda_schema"
    rows = [line.split(",", 1) for line in (schema_dir / "sections.csv").read_text().splitlines() if line]
    assert SECTION_NAMES == {code: name for code, name in rows}
    schema = json.loads((schema_dir / "druglabel_schema.json").read_text())["properties"]
    text_fields = {f for f in schema if not f.endswith("_table")} - {"set_id", "id", "version", "effective_time", "openfda"}
    assert text_fields <= set(FIELD_TO_CODE)
    assert FIELD_TO_CODE["indications_and_usage"] == "34067-9"
    assert FIELD_TO_CODE["spl_unclassified_section"] == "42229-5"


# ---------------------------------------------------------------- other containers


def test_bulk_part_api_response_and_zip(tmp_path, raw_lines):
    records = [json.loads(line) for line in raw_lines[:25]]
    expected = [f"spl:{r['set_id']}" for r in records]
    part = tmp_path / "drug-label-0001-of-0001.json"
    part.write_text(json.dumps({"meta": {"results": {"skip": 0, "limit": 25, "total": 25}}, "results": records}, indent=1))
    archive = tmp_path / "drug-label-0001-of-0001.json.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(part, part.name)
    for path in (part, archive):
        assert openfda.sniff(path)
        out = list(openfda.read(path))
        assert [d.doc_id for d in out if isinstance(d, Document)] == expected
        assert not [e for e in out if isinstance(e, RecordError)]


def test_sniff_claims_labels_only(shared_data, labels_path):
    assert openfda.sniff(labels_path)
    others = [
        "beir_scifact/corpus.jsonl.gz",
        "nfcorpus_beir_test_preprocessed/corpus.jsonl.gz",
        "guidelines_ngc_ahrq/ngc_guideline_summaries.jsonl.gz",
        "fda_spl_xml_samples/openfda_schema/druglabel_schema.json",
        "fda_spl_xml_samples/openfda_schema/spl_mapping.json",
        "pubmedqa/ori_pqal.json",
        "fda_spl_xml_samples/xml/humira.xml",
    ]
    for rel in others:
        assert not openfda.sniff(shared_data / rel), rel


# ---------------------------------------------------------------- bad input


def test_truncated_gzip_yields_records_read_then_one_error(tmp_path, labels_path):
    raw = labels_path.read_bytes()
    cut = raw[: len(raw) // 2]
    # how many complete lines the truncated stream still holds
    complete = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut).count(b"\n")
    path = tmp_path / "labels.jsonl.gz"
    path.write_bytes(cut)
    out = list(openfda.read(path))
    errors = [x for x in out if isinstance(x, RecordError)]
    assert len([x for x in out if isinstance(x, Document)]) == complete
    assert len(errors) == 1 and out[-1] is errors[0]
    assert errors[0].record is None
    assert errors[0].message == f"truncated gzip file (ends after {complete} labels); download it again"


def test_gzip_missing_only_its_trailer_keeps_all_labels(tmp_path, labels_path):
    path = tmp_path / "labels.jsonl.gz"
    path.write_bytes(labels_path.read_bytes()[:-8])  # CRC and size trailer cut off
    out = list(openfda.read(path))
    assert len([x for x in out if isinstance(x, Document)]) == 363
    assert [x.message.split(" (")[0] for x in out if isinstance(x, RecordError)] == ["truncated gzip file"]


def test_corrupt_line_and_missing_set_id(tmp_path, raw_lines):
    lines = raw_lines[:20]
    lines[4] = lines[4][:300]  # line 5 cut mid-record
    rec = json.loads(lines[7])
    del rec["set_id"]
    lines[7] = json.dumps(rec)  # line 8 has no set_id
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = list(openfda.read(path))
    errors = [x for x in out if isinstance(x, RecordError)]
    assert [(e.record, e.message.split(" (")[0]) for e in errors] == [
        ("line 5", "not valid JSON"),
        (f"line 8 (id {rec['id']})", "record has no set_id"),
    ]
    assert len([x for x in out if isinstance(x, Document)]) == 18


def test_malformed_bulk_part_stops_with_one_error(tmp_path, raw_lines):
    records = [json.loads(line) for line in raw_lines[:10]]
    text = json.dumps({"meta": {}, "results": records})
    at = text.index('"set_id"', text.index(records[6]["set_id"]) - 200)  # inside record 7
    path = tmp_path / "drug-label-0001-of-0001.json"
    path.write_text(text[:at] + "@@" + text[at:])
    out = list(openfda.read(path))
    docs = [x for x in out if isinstance(x, Document)]
    errors = [x for x in out if isinstance(x, RecordError)]
    assert [d.source_id for d in docs] == [r["set_id"] for r in records[:6]]
    assert len(errors) == 1 and errors[0].record == "after record 6"


def test_single_record_and_top_level_array_files(shared_data, tmp_path):
    """A saved single label (bare object) and a JSON array of labels read like the API response."""
    import gzip as _gzip
    import json as _json

    from medcite.ingest import openfda as _openfda
    from medcite.records import Document as _Document

    with _gzip.open(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz", "rt", encoding="utf-8") as fh:
        first, second = _json.loads(next(fh)), _json.loads(next(fh))
    (tmp_path / "one.json").write_text(_json.dumps(first))
    (tmp_path / "many.json").write_text(_json.dumps([first, second]))
    one = [x for x in _openfda.read(tmp_path / "one.json") if isinstance(x, _Document)]
    many = [x for x in _openfda.read(tmp_path / "many.json") if isinstance(x, _Document)]
    assert [d.doc_id for d in one] == [f"spl:{first['set_id']}"]
    assert [d.doc_id for d in many] == [f"spl:{first['set_id']}", f"spl:{second['set_id']}"]
