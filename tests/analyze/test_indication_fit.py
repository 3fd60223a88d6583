"""Indication verdicts on real FDA labels of the shared corpus, for the ways clinicians name a use
the label grades, excludes or abbreviates differently. The vignettes are ours; every expectation
rests on a sentence of the label checked (quoted in the verdict's citation), and each rule has its
negative next to it."""

import pytest

from medcite.analyze.concordance import check_text
from medcite.analyze.facts import read_case
from medcite.analyze.indication import same_stem
from medcite.analyze.indication_fit import condition_targets, coordinated_names
from medcite.analyze.label_text import patient_uses
from medcite.records import IndicationStatus


def indication(store, text: str, generic: str):
    """Return the indication verdict and its reason sentence for `generic` in a case."""
    checks = [dc.check for dc in check_text(store, text) if generic in dc.check.drug.lower()]
    assert checks, f"{generic} not checked in {text!r}"
    return checks[0].indication.status, checks[0].indication.text or ""


@pytest.mark.parametrize("grade, expected", [("severe", IndicationStatus.OFF_LABEL), ("moderate", IndicationStatus.ON_LABEL)])
def test_another_grade_of_the_indicated_disease_is_off_label(corpus_store, grade, expected):
    # "indicated for the treatment of mild to moderate dementia of the Alzheimer's type"
    status, _ = indication(corpus_store, f"80-year-old woman with {grade} Alzheimer's dementia. Start galantamine.", "galantamine")
    assert status == expected


@pytest.mark.parametrize("kind, expected", [("nephrogenic", IndicationStatus.NOT_INDICATED), ("central", IndicationStatus.ON_LABEL)])
def test_a_qualifier_the_case_states_brings_in_the_limitation(corpus_store, kind, expected):
    # "Desmopressin acetate is ineffective and not indicated for the treatment of nephrogenic diabetes insipidus."
    status, reason = indication(corpus_store, f"57-year-old man with {kind} DI. Order DDAVP injection.", "desmopressin")
    assert status == expected
    if expected == IndicationStatus.NOT_INDICATED:
        assert "nephrogenic" in reason


def test_to_prevent_is_the_prophylaxis_a_limitation_excludes(corpus_store):
    # "BACTRIM is not indicated for prophylactic or prolonged administration in otitis media at any age."
    base = "3-year-old boy with recurrent acute otitis media. Start Bactrim PO q12h"
    status, reason = indication(corpus_store, base + ", continued for 3 months to prevent further episodes.", "sulfamethoxazole")
    assert status == IndicationStatus.NOT_INDICATED and "prophylactic" in reason
    status, _ = indication(corpus_store, base + " for 10 days.", "sulfamethoxazole")
    assert status == IndicationStatus.ON_LABEL


def test_a_negated_chunk_never_names_the_condition(corpus_store):
    facts, _ = read_case(corpus_store, "50-year-old man with high uric acid on routine labs; has never had a gout attack. Krystexxa IV.")
    assert [c.negated for c in facts.conditions if c.name == "gout"] == [True]
    status, _ = indication(corpus_store, "50-year-old man with high uric acid on routine labs; has never had a gout attack. Krystexxa IV.",
                           "pegloticase")
    assert status != IndicationStatus.ON_LABEL


def test_a_negation_in_brackets_ends_where_they_close(corpus_store):
    facts, _ = read_case(corpus_store, "41-year-old woman (regular menses, no ovarian suppression) with breast cancer.")
    assert {c.name: c.negated for c in facts.conditions}.get("breast cancer") is False


def test_stems_the_stemmer_cut_differently():
    assert same_stem("cardiomyopathi", "cardiomyopath")
    assert not same_stem("gouti", "gout")  # too short to tell a word from its neighbour
    assert not same_stem("hypertens", "hypert")


def test_condition_classes_come_from_definition_sentences(corpus_store):
    from medcite.analyze.condition_kinds import mine_kinds

    kinds = mine_kinds(corpus_store)
    # NGC: "Acute coronary syndromes (ACS) include ST-segment elevation myocardial infarction (STEMI), non-STEMI (NSTEMI), ..."
    assert "acute coronary syndromes" in kinds.of("NSTEMI")
    # "Myelodysplastic syndromes (MDS) comprise a heterogeneous group of disorders ...": not a list of members
    assert kinds.of("aml") == []


def test_a_class_counts_only_where_the_indication_names_exactly_it():
    from medcite.analyze.condition_kinds import _covers

    assert _covers("acute coronary syndromes", "Acute Coronary Syndrome or a History of Myocardial Infarction")
    assert not _covers("cardiovascular disease", "atherosclerotic cardiovascular disease")


@pytest.mark.parametrize("kind, allowed", [("type 1", {IndicationStatus.OFF_LABEL, IndicationStatus.NOT_INDICATED}),
                                           ("type 2", {IndicationStatus.ON_LABEL})])
def test_a_numbered_type_is_part_of_the_disease(corpus_store, kind, allowed):
    # Amaryl: "indicated as an adjunct to diet and exercise to improve glycemic control in adults with
    # type 2 diabetes mellitus"; "Not for treating type 1 diabetes mellitus or diabetic ketoacidosis."
    facts, _ = read_case(corpus_store, f"27-year-old woman with {kind} diabetes mellitus. Add Amaryl.")
    assert [c.name for c in facts.conditions] == [f"{kind} diabetes mellitus"]
    status, reason = indication(corpus_store, f"27-year-old woman with {kind} diabetes mellitus. Add Amaryl.", "glimepiride")
    assert status in allowed, reason


@pytest.mark.parametrize("letter, expected", [("B", IndicationStatus.OFF_LABEL), ("C", IndicationStatus.ON_LABEL)])
def test_the_letter_of_a_hepatitis_is_part_of_its_name(corpus_store, letter, expected):
    # Epclusa: "indicated for the treatment of adults ... with chronic hepatitis C virus (HCV) infection"
    text = f"45-year-old man with chronic hepatitis {letter}. Start Epclusa."
    facts, _ = read_case(corpus_store, text)
    assert [c.name for c in facts.conditions] == [f"chronic hepatitis {letter.lower()}"]
    status, reason = indication(corpus_store, text, "sofosbuvir")
    assert status == expected, reason


@pytest.mark.parametrize("kind, expected", [("small cell", IndicationStatus.OFF_LABEL), ("non-small cell", IndicationStatus.ON_LABEL)])
def test_a_disease_is_not_its_negation(corpus_store, kind, expected):
    # Tagrisso: "... adult patients with non-small cell lung cancer (NSCLC) whose tumors have EGFR exon 19 deletions ..."
    status, reason = indication(corpus_store, f"62-year-old man with metastatic EGFR exon 19 deletion {kind} lung cancer. Start Tagrisso.",
                                "osimertinib")
    assert status == expected, reason


def _units(store, generic: str):
    from medcite.analyze.label_select import labels_for
    from medcite.analyze.label_text import indication_units, load_label

    ids = labels_for(store, generic)
    assert ids, f"no label of {generic} in the corpus"
    return load_label(store, ids[0]), indication_units(load_label(store, ids[0]))


def test_a_plain_list_of_kinds_names_each_kind_and_only_those(corpus_store):
    # "DILANTIN is indicated for the treatment of tonic-clonic (grand mal) and psychomotor
    # (temporal lobe) seizures": each kind counts under either of its names; a kind the list does
    # not hold is never on label for sharing the disease word.
    _, units = _units(corpus_store, "phenytoin")
    names = {t for u in units for t in condition_targets(u)}
    assert {"psychomotor seizures", "temporal lobe seizures", "grand mal seizures"} <= names
    status, _ = indication(corpus_store, "45-year-old woman with temporal lobe epilepsy. Dilantin 100 mg PO TID.", "phenytoin")
    assert status == IndicationStatus.ON_LABEL
    for kind in ("myoclonic", "absence"):
        status, _ = indication(corpus_store, f"45-year-old woman with {kind} epilepsy. Dilantin 100 mg PO TID.", "phenytoin")
        assert status != IndicationStatus.ON_LABEL, kind


def test_clauses_that_are_not_a_list_of_kinds_stay_whole(corpus_store):
    # "Coronary Artery Disease but No Prior Stroke or Myocardial Infarction" (ticagrelor) and
    # "locally advanced or metastatic ..." name no kinds of one disease to cut out.
    for generic in ("ticagrelor", "capecitabine", "enfortumab vedotin"):
        _, units = _units(corpus_store, generic)
        assert [coordinated_names(t) for u in units for t in condition_targets(u) if coordinated_names(t)] == [], generic


def test_the_patient_labelings_words_for_a_use_count(corpus_store):
    # The metoclopramide Medication Guide: "REGLAN is a prescription medicine used in adults: •for
    # 4 to 12 weeks to relieve heartburn symptoms with gastroesophageal reflux when certain other
    # treatments do not work." Its "Do not take REGLAN if you ..." list is not a use.
    label, _ = _units(corpus_store, "metoclopramide")
    uses = patient_uses(label)
    assert any("heartburn" in u.text for u in uses)
    from medcite.analyze.label_model import build_model

    shown = build_model(label).to_dict()["patient_uses"]  # what `medcite label` prints
    assert any(c.startswith("heartburn") for u in shown for c in u["conditions"])
    for u in uses:
        section = next(s for s in label.sections if s.code == u.code and u.text in s.text)
        stop = section.text.find("Do not take", section.text.find("What is"))
        assert stop < 0 or section.text.find(u.text) < stop, u.text
    status, _ = indication(corpus_store, "50-year-old man with persistent heartburn despite omeprazole. Reglan 10 mg PO QID.", "metoclopramide")
    assert status == IndicationStatus.ON_LABEL
    status, _ = indication(corpus_store, "50-year-old man with nausea from chemotherapy. Reglan 10 mg PO QID.", "metoclopramide")
    assert status != IndicationStatus.ON_LABEL


def test_bleeding_is_a_condition_and_stage_numerals_are_not_abbreviations(corpus_store):
    # "ORILISSA is indicated for the management of moderate to severe pain associated with endometriosis."
    status, _ = indication(corpus_store, "42-year-old woman with heavy menstrual bleeding. Start Orilissa 150 mg PO daily.", "elagolix")
    assert status == IndicationStatus.OFF_LABEL
    facts, _ = read_case(corpus_store, "58-year-old woman with stage III colon cancer after resection. Capecitabine 1000 mg/m2 PO BID.")
    assert [c.abbreviation for c in facts.conditions if c.abbreviation] == []
    assert any(c.name.endswith("colon cancer") and c.stage == "III" for c in facts.conditions)


def test_the_patient_labeling_gives_no_use_it_denies_or_a_risk_it_lowers(corpus_store):
    # "ZELBORAF is not used to treat melanoma with a normal BRAF gene"; rivaroxaban's Medication
    # Guide: "used to: reduce the risk of stroke and blood clots in adults who have ... atrial
    # fibrillation" — what is prevented, not the patient's condition.
    from medcite.analyze.indication_fit import lay_targets

    label, _ = _units(corpus_store, "vemurafenib")
    assert not any("normal BRAF" in t for u in patient_uses(label) for t in lay_targets(u))
    status, _ = indication(corpus_store, "60-year-old man with blood clots in the leg veins. Xarelto 15 mg PO BID.", "rivaroxaban")
    assert status != IndicationStatus.ON_LABEL


@pytest.mark.parametrize("history, expected", [("never had a relapse", IndicationStatus.OFF_LABEL), ("two relapses last year", IndicationStatus.ON_LABEL)])
def test_a_requirement_the_case_denies_is_off_label(corpus_store, history, expected):
    # Siponimod: "indicated for the treatment of relapsing forms of multiple sclerosis (MS)".
    status, _ = indication(corpus_store, f"52-year-old man with MS, {history}. Start Mayzent 2 mg PO daily.", "siponimod")
    assert status == expected
