"""Label concordance on real FDA labels of the shared corpus.

Every case below is worded by us from the label text it is checked against (doses, frequencies,
indications and warnings are the labels' own); the expectations are the labels' set ids and the
verdicts the labels support.
"""

import pytest

from medcite.analyze.concordance import check_case
from medcite.analyze.facts import extract_facts
from medcite.analyze.label_select import base_name, labels_for
from medcite.analyze.facts import case_resources
from medcite.compose.citations import CitationRegistry

AFINITOR = "2150f73a-179b-4afc-b8ce-67c85cc72f04"
ZORTRESS = "e082a024-7850-400b-a5c2-2a140612562a"
TEGRETOL = "572954c3-4948-4e0a-8acd-ead8d0831649"
XELODA = "a1de8bba-3b1d-4c9d-ab8a-32d2c05e67c8"


def run(store, case):
    """Return ({generic: LabelCheck}, {citation n: Citation}) for a case."""
    lexicon, abbreviations = case_resources(store)
    facts = extract_facts(case, lexicon, abbreviations)
    registry = CitationRegistry(store)
    checks = check_case(store, facts, registry.cite_read, lexicon)
    refs = {c.n: c for c in registry.references()}
    return {dc.check.drug: dc.check for dc in checks}, refs


def cited_sets(refs, numbers):
    """Return the SPL set ids of the passages cited by `numbers`."""
    return {refs[n].source_id for n in numbers}


def cited_text(refs, numbers):
    return " ".join(refs[n].passage_id for n in numbers)


# (case, drug, set id, indication, dose, frequency, route)
CASES = [
    pytest.param(
        "A 58-year-old woman with progressive, metastatic pancreatic neuroendocrine tumor (PNET) is started on "
        "everolimus 10 mg orally once daily.",
        "everolimus", AFINITOR, "on_label", "matches", "matches", "matches", id="on-label-matching-dose"),
    pytest.param(
        "A 58-year-old woman with progressive, metastatic pancreatic neuroendocrine tumor (PNET) is started on "
        "everolimus 5 mg orally once daily.",
        "everolimus", AFINITOR, "on_label", "mismatch", "matches", "matches", id="same-drug-wrong-dose"),
    pytest.param(
        "A 55-year-old woman with a functional carcinoid tumor and carcinoid syndrome is prescribed everolimus "
        "10 mg orally once daily.",
        # the label gives no dose for a use it excludes: dose and frequency cannot match anything
        "everolimus", AFINITOR, "not_indicated", "not_stated", "not_stated", "matches", id="limitation-of-use"),
    pytest.param(
        "A 45-year-old kidney transplant recipient at low-moderate immunologic risk is started on everolimus "
        "0.75 mg orally twice daily, with basiliximab induction, reduced-dose cyclosporine and corticosteroids.",
        "everolimus", ZORTRESS, "on_label", "matches", "matches", "matches", id="two-labels-transplant-picks-zortress"),
    pytest.param(
        "A 62-year-old man with advanced renal cell carcinoma (RCC) after failure of treatment with sunitinib is "
        "started on everolimus 10 mg orally once daily.",
        "everolimus", AFINITOR, "on_label", "matches", "matches", "matches", id="two-labels-rcc-picks-afinitor"),
    pytest.param(
        "A patient with metastatic colorectal cancer is prescribed Xeloda 1250 mg/m2 orally twice daily for the "
        "first 14 days of each 21-day cycle.",
        "capecitabine", XELODA, "on_label", "matches", "matches", "matches", id="brand-name"),
]


@pytest.mark.parametrize("case,drug,set_id,indication,dose,frequency,route", CASES)
def test_case_table(corpus_store, case, drug, set_id, indication, dose, frequency, route):
    checks, refs = run(corpus_store, case)
    check = checks[drug]
    assert check.label["set_id"] == set_id
    assert check.indication.status == indication
    assert (check.dose.status, check.frequency.status, check.route.status) == (dose, frequency, route)
    # every verdict cites the chosen label and nothing else
    for verdict in (check.indication, check.dose, check.frequency, check.route):
        if verdict.status == "not_stated":
            assert verdict.detail and not verdict.citations
            continue
        assert verdict.citations, verdict
        assert cited_sets(refs, verdict.citations) == {set_id}


def test_wrong_dose_says_what_the_label_says(corpus_store):
    checks, refs = run(corpus_store, CASES[1].values[0])
    dose = checks["everolimus"].dose
    assert dose.prescribed == "5 mg"
    assert dose.labeled == "The recommended dosage of AFINITOR is 10 mg orally once daily until disease progression or unacceptable toxicity."
    assert refs[dose.citations[0]].passage_id == f"spl:{AFINITOR}#5"


def test_limitation_of_use_is_quoted(corpus_store):
    checks, refs = run(corpus_store, CASES[2].values[0])
    ind = checks["everolimus"].indication
    assert ind.text == "Limitations of Use: AFINITOR is not indicated for the treatment of patients with functional carcinoid tumors."
    assert [refs[n].passage_id for n in ind.citations] == [f"spl:{AFINITOR}#2"]


def test_non_functional_tumor_is_not_caught_by_the_functional_limitation(corpus_store):
    checks, _ = run(corpus_store, "A man with a non-functional pancreatic neuroendocrine tumor, unresectable and metastatic, "
                                  "is started on everolimus 10 mg orally once daily.")
    assert checks["everolimus"].indication.status == "on_label"
    assert checks["everolimus"].label["set_id"] == AFINITOR


def test_transplant_dose_of_the_other_organ_is_a_mismatch(corpus_store):
    # Zortress gives 0.75 mg twice daily for kidney and 1 mg twice daily for liver transplants.
    checks, refs = run(corpus_store, "A 45-year-old kidney transplant recipient is started on everolimus 1 mg orally twice daily "
                                     "with reduced-dose cyclosporine.")
    check = checks["everolimus"]
    assert check.label["set_id"] == ZORTRESS
    assert check.dose.status == "mismatch"
    assert "0.75 mg orally twice daily" in check.dose.labeled
    assert check.label["other_labels"] == [f"spl:{AFINITOR}"]


def test_genotype_triggers_boxed_warning(corpus_store):
    checks, refs = run(corpus_store, "A 34-year-old Han Chinese man with epilepsy (partial seizures) tests positive for "
                                     "HLA-B*1502. Carbamazepine 200 mg twice daily is planned.")
    check = checks["carbamazepine"]
    assert check.label["set_id"] == TEGRETOL
    assert check.indication.status == "on_label"
    assert check.dose.status == "matches"
    boxed = [a for a in check.alerts if a.kind == "boxed_warning"]
    assert len(boxed) == 1
    assert boxed[0].trigger == "HLA-B*1502 positive"
    assert "SHOULD BE SCREENED FOR THE PRESENCE OF HLA-B*1502" in boxed[0].text
    assert [refs[n].passage_id for n in boxed[0].citations] == [f"spl:{TEGRETOL}#0"]


def test_comedication_triggers_boxed_warning_and_renal_threshold(corpus_store):
    checks, refs = run(corpus_store, "A 70-year-old woman with Stage III colon cancer after resection, who takes warfarin for "
                                     "atrial fibrillation, is to start adjuvant capecitabine 1,250 mg/m2 orally twice daily for "
                                     "the first 14 days of each 21-day cycle. Her CrCl is 40 mL/min.")
    check = checks["capecitabine"]
    assert check.label["set_id"] == XELODA
    # CrCl 30 to 50 mL/min: the label reduces the dose by 25%, so the usual 1,250 mg/m2 is a mismatch
    assert (check.indication.status, check.dose.status) == ("on_label", "mismatch")
    assert check.dose.labeled.startswith("Reduce the dose of XELODA by 25% for patients with creatinine clearance (CLcr) of 30 to 50")
    assert check.category() == "dose mismatch"
    kinds = {(a.kind, a.trigger) for a in check.alerts}
    assert ("boxed_warning", "warfarin") in kinds
    assert ("dosage", "CrCl 40 mL/min") in kinds
    boxed = next(a for a in check.alerts if a.trigger == "warfarin")
    assert "oral vitamin K antagonists, such as warfarin" in boxed.text
    assert cited_sets(refs, boxed.citations) == {XELODA}
    renal = next(a for a in check.alerts if a.kind == "dosage")
    assert renal.text.startswith("Reduce the dose of XELODA by 25% for patients with creatinine clearance (CLcr) of 30 to 50 mL/min")
    # the warfarin mention is a co-medication, not a drug to check
    assert set(checks) == {"capecitabine"}


def test_drug_without_label_gets_none(corpus_store):
    assert labels_for(corpus_store, "lanreotide") == []
    checks, refs = run(corpus_store, open_seed())
    check = checks["lanreotide"]
    assert check.label is None
    assert check.indication.status == "no_label"
    assert check.note == "No FDA label for lanreotide is held in the index."
    assert refs == {}  # nothing borrowed from another drug's label


def test_salt_names_find_the_label(corpus_store):
    assert base_name("IMATINIB MESYLATE") == "imatinib"
    assert base_name("lutetium dotatate lu-177") == base_name("LUTETIUM LU 177 DOTATATE")
    assert [d for d in labels_for(corpus_store, "imatinib")] == ["spl:211ef2da-2868-4a77-8055-1cb2cd78e24b"]
    assert sorted(labels_for(corpus_store, "everolimus")) == sorted([f"spl:{AFINITOR}", f"spl:{ZORTRESS}"])


def open_seed():
    from pathlib import Path

    return (Path(__file__).resolve().parents[2] / "examples" / "seed-case.txt").read_text().strip()


def test_pregnancy_triggers_boxed_warning(corpus_store):
    checks, refs = run(corpus_store, "A pregnant woman with HER2-overexpressing metastatic breast cancer is prescribed trastuzumab.")
    check = checks["trastuzumab"]
    assert check.label["title"] == "Herceptin (trastuzumab)"
    assert check.indication.status == "on_label"
    (alert,) = [a for a in check.alerts if a.trigger == "pregnancy"]
    assert alert.kind == "boxed_warning"
    assert "Exposure to Herceptin during pregnancy can result in oligohydramnios" in alert.text
    assert cited_sets(refs, alert.citations) == {check.label["set_id"]}


ULTRAM = "45f59e6f-1794-40a4-8f8b-3a9415924468"


def test_comedication_class_triggers_boxed_warning(corpus_store):
    """Diazepam's own label gives its class (Benzodiazepine [EPC]); the Ultram boxed warning names
    "benzodiazepines": the co-medication is caught by class, not only by name."""
    case = ("A 70-year-old woman with chronic pain severe enough to require an opioid analgesic, who takes diazepam "
            "for anxiety, is started on tramadol 50 mg orally every 6 hours as needed.")
    checks, refs = run(corpus_store, case)
    check = checks["tramadol"]
    assert check.label["set_id"] == ULTRAM
    boxed = [a for a in check.alerts if a.kind == "boxed_warning"]
    assert [a.trigger for a in boxed] == ["diazepam (benzodiazepines)"]
    assert cited_sets(refs, boxed[0].citations) == {ULTRAM}
    assert "benzodiazepines" in boxed[0].text.lower()

    alone, _ = run(corpus_store, case.replace(", who takes diazepam for anxiety,", ""))
    assert not [a for a in alone["tramadol"].alerts if "benzodiazepine" in a.trigger]


def test_alert_quote_of_a_long_headline_is_the_window_around_the_trigger(corpus_store):
    """Ultram's boxed-warning headline runs to ~1,000 characters: the alert quotes the words around
    "BENZODIAZEPINES" (a verbatim span with ellipses), not the whole headline."""
    checks, refs = run(corpus_store, "A man with chronic pain who takes diazepam is started on tramadol 50 mg orally every 6 hours.")
    (alert,) = [a for a in checks["tramadol"].alerts if a.kind == "boxed_warning"]
    assert alert.text.startswith("…") and len(alert.text) < 400
    assert "RISKS FROM CONCOMITANT USE WITH BENZODIAZEPINES" in alert.text
    passage = corpus_store.get_hits([refs[alert.citations[0]].passage_id])[0].text
    assert " ".join(alert.text.strip("…").split()) in " ".join(passage.split())
