"""Label text as the concordance check reads it: sections rebuilt from passages, numbered
subsections, indications and Limitations of Use (real labels of the shared corpus)."""

from medcite.analyze.label_text import (
    DOSAGE,
    indication_units,
    load_label,
    numbered_subsections,
    quote,
    sentence_spans,
)

AFINITOR = "spl:2150f73a-179b-4afc-b8ce-67c85cc72f04"
ZORTRESS = "spl:e082a024-7850-400b-a5c2-2a140612562a"
TEGRETOL = "spl:572954c3-4948-4e0a-8acd-ead8d0831649"
XELODA = "spl:a1de8bba-3b1d-4c9d-ab8a-32d2c05e67c8"


def test_sections_map_back_to_passages(corpus_store):
    label = load_label(corpus_store, AFINITOR)
    passages = {p.passage_id: p.text for p in corpus_store.passages_of(AFINITOR)}
    for section in label.sections:
        for start, end, pid in section.spans:
            assert section.text[start:end] == passages[pid]


def test_afinitor_indications_and_limitation(corpus_store):
    units = indication_units(load_label(corpus_store, AFINITOR))
    assert [u.number for u in units] == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6"]
    assert units[1].heading == "Neuroendocrine Tumors (NET)"
    assert units[2].heading == "Renal Cell Carcinoma (RCC)"
    assert [quote(s.text) for u in units for s in u.limitations] == [
        "Limitations of Use: AFINITOR is not indicated for the treatment of patients with functional carcinoid tumors."
    ]
    assert units[1].limitations[0].passage_ids == [f"{AFINITOR}#2"]
    assert not any(u.is_limitation for u in units)


def test_zortress_limitations_subsection(corpus_store):
    units = indication_units(load_label(corpus_store, ZORTRESS))
    assert [(u.number, u.is_limitation) for u in units] == [("1.1", False), ("1.2", False), ("1.3", True)]
    assert units[0].heading == "Prophylaxis of Organ Rejection in Kidney Transplantation"
    (limitation,) = units[2].limitations
    assert quote(limitation.text).endswith("Pediatric patients (less than 18 years).")


def test_unnumbered_label_is_one_indication(corpus_store):
    units = indication_units(load_label(corpus_store, TEGRETOL))
    assert len(units) == 1 and units[0].number is None
    assert units[0].span.text.startswith("Epilepsy Tegretol is indicated for use as an anticonvulsant drug.")


def test_dosage_subsections_skip_highlights_and_cross_references(corpus_store):
    label = load_label(corpus_store, XELODA)
    (section,) = label.by_code(DOSAGE)
    subs = numbered_subsections(section.text, 2)
    assert [n for n, _, _ in subs] == ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"]
    assert section.text[subs[0][1]:].startswith("2.1 Recommended Dosage for Colorectal Cancer")


def test_quote_drops_number_heading_and_cross_references():
    text = ("2.3 Recommended Dosage for Neuroendocrine Tumors (NET) The recommended dosage of AFINITOR is 10 mg "
            "orally once daily until disease progression or unacceptable toxicity.")
    assert quote(text) == "The recommended dosage of AFINITOR is 10 mg orally once daily until disease progression or unacceptable toxicity."
    text = ("Limitations of Use: AFINITOR is not indicated for the treatment of patients with functional carcinoid "
            "tumors [see Clinical Studies (14.2)] .")
    assert quote(text) == ("Limitations of Use: AFINITOR is not indicated for the treatment of patients with functional "
                           "carcinoid tumors.")


def test_sentences_split_after_reference_markers_and_lines():
    text = "Lutetium Lu 177.[21-23] The relative efficacy is unknown.\n- Item one"
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["Lutetium Lu 177.[21-23]", "The relative efficacy is unknown.", "- Item one"]
