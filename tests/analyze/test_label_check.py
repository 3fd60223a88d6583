"""The label check on the shared benchmark's cases (../shared/benchmarks/label-check/dev.jsonl,
written from the labels by pharmacists; never copied here): pinned verdicts for every category,
the unsafe direction, the structured dosing rows and the one category every front end shows."""

import json
from pathlib import Path

import pytest

from medcite.analyze.concordance import check_text
from medcite.analyze.label_dosing import Population, RowKind
from medcite.analyze.label_model import label_model
from medcite.api.cds_hooks import summary_for
from medcite.eval.labelcheck import FIELDS, score_case
from medcite.records import RegimenStatus, ReviewCategory

BENCH = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "label-check" / "dev.jsonl"

# Cases whose indication / dose / frequency / route verdicts are pinned, one or more per category.
PINNED = {
    "on_label_correct": ["G0-04", "G0-10", "G0-24", "G0-27", "G1-35", "G2-01", "G0-45", "G1-07", "G2-45", "G3-25", "G3-44",
                         "G0-14", "G0-39", "G1-47", "G1-50", "G2-17", "G2-20", "G3-21", "G1-24", "G0-49",
                         "G2-14", "G2-15"],
    "overdose": ["G0-05", "G0-29", "G3-22", "G1-52"],
    "underdose": ["G1-27", "G2-16"],
    "wrong_frequency": ["G2-22"],
    "renal_or_hepatic": ["G0-15", "G0-43", "G2-31", "G2-49", "G3-14"],
    "pediatric_or_age": ["G0-47", "G1-42"],
    "genotype": ["G1-08", "G2-21", "G2-30", "G3-13", "G3-45", "G1-49", "G0-11"],
    "interaction": ["G0-25", "G3-48", "G3-43"],
    "pregnancy_or_lactation": ["G0-22"],
    "limitation_of_use": ["G0-13", "G0-51", "G2-06", "G2-28", "G3-49", "G3-26"],
    "off_label": ["G0-26", "G0-41", "G0-44", "G1-14", "G2-50"],
    "wrong_route": ["G1-48"],
    "no_label": ["G0-53"],
}


def bench_cases() -> dict[str, dict]:
    if not BENCH.is_file():
        pytest.fail(f"{BENCH} not found: the label-check benchmark lives in ../shared/benchmarks")
    return {c["id"]: c for c in map(json.loads, BENCH.read_text(encoding="utf-8").splitlines()) if c}


def _result(store, case):
    checks = [dc.check for dc in check_text(store, case["text"])]
    return score_case(case, checks, 0.0), checks


@pytest.mark.parametrize("case_id", [i for ids in PINNED.values() for i in ids])
def test_pinned_benchmark_verdicts(corpus_store, case_id):
    case = bench_cases()[case_id]
    result, checks = _result(corpus_store, case)
    wrong = [f for f in result.failures if f in FIELDS]
    assert not wrong, (case["text"], result.expected, result.got)
    assert result.label_ok, [c.label for c in checks]


@pytest.mark.parametrize("case_id", [i for ids in PINNED.values() for i in ids])
def test_every_verdict_cites_the_chosen_label(corpus_store, case_id):
    case = bench_cases()[case_id]
    checks = check_text(corpus_store, case["text"])
    for dc in checks:
        check = dc.check
        if check.label is None:
            assert check.indication.citations == []
            continue
        for name, verdict in (("indication", check.indication), *check.regimen().items()):
            spans = dc.spans.get(name, [])
            for span in spans:
                assert all(pid.startswith(check.label["doc_id"] + "#") for pid in span.passage_ids), (name, span)
            if verdict.status in (RegimenStatus.MATCHES, RegimenStatus.MISMATCH) and name != "route":
                assert verdict.citations and verdict.labeled, (name, verdict)


def test_no_pinned_unsafe_verdict(corpus_store):
    """Expected mismatch / not_indicated / off_label is never answered matches / on_label."""
    cases = bench_cases()
    unsafe = []
    for ids in PINNED.values():
        for case_id in ids:
            result, _ = _result(corpus_store, cases[case_id])
            unsafe += [(case_id, f) for f in result.unsafe]
    assert unsafe == []


def test_pediatric_weight_band_is_not_the_adult_dose(corpus_store):
    # G0-47: an 8-year-old of 25 kg is dosed from the label's weight-band row, in mg/kg.
    check = check_text(corpus_store, bench_cases()["G0-47"]["text"])[0].check
    assert check.dose.status == RegimenStatus.MISMATCH
    assert "kg" in check.dose.labeled
    assert check.category() == ReviewCategory.DOSE_MISMATCH


def test_titration_ceiling_is_a_maximum_not_a_dose(corpus_store):
    # G0-05: escitalopram 40 mg; the label's titration sentence gives a maximum of 20 mg.
    check = check_text(corpus_store, bench_cases()["G0-05"]["text"])[0].check
    assert check.dose.status == RegimenStatus.MISMATCH
    assert check.dose.detail == "above the label's maximum"
    assert "maximum" in check.dose.labeled


def test_units_not_comparable_never_says_matches(corpus_store):
    # The label doses capecitabine in mg/m2; an order in mg cannot be compared without a body surface area.
    case = "A 60-year-old man with metastatic colorectal cancer. Plan: Xeloda 5000 mg orally twice daily for 14 days of each 21-day cycle."
    check = check_text(corpus_store, case)[0].check
    assert check.dose.status == RegimenStatus.NOT_STATED
    assert check.dose.detail.startswith("units not comparable")
    assert check.category() == ReviewCategory.UNCLEAR
    assert "matches" not in summary_for(check)
    assert any(u.startswith("dose: units not comparable") for u in check.undecided())


def test_label_model_rows_carry_their_population(corpus_store):
    (model,) = label_model(corpus_store, "de55c133-eb08-4a35-91a2-5dc093027397")  # Reglan
    rows = model.rows
    table_rows = [r for r in rows if r.table]
    assert table_rows, "the dosing table is read as rows"
    hepatic = [r for r in table_rows if Population.HEPATIC in r.populations and "C" in r.child_pugh]
    assert hepatic and all(r.doses for r in hepatic)
    renal = [r for r in table_rows if Population.RENAL in r.populations and r.dialysis]
    assert renal, "the ESRD / dialysis row"
    maxima = [r for r in table_rows if r.kind == RowKind.MAXIMUM]
    assert maxima and all(r.daily for r in maxima)
    for r in rows:
        assert r.span.passage_ids and all(p.startswith(model.label.doc_id) for p in r.span.passage_ids)
    data = model.to_dict()
    assert data["set_id"] == "de55c133-eb08-4a35-91a2-5dc093027397"
    assert any("gastroparesis" in c for i in data["indications"] for c in i["conditions"])
    assert any("pediatric" in x["text"] for x in data["exclusions"])


def _regimen_of(store, case_id):
    return check_text(store, bench_cases()[case_id]["text"])[0].check


def test_single_agent_order_reads_the_single_agent_subsection(corpus_store):
    # G0-39: single-agent irinotecan every 3 weeks; the label's combination regimens are in 2.1,
    # the single-agent ones in 2.2, and its toxicity table's "up to a maximum of 150 mg/m2" is a
    # weekly modification, not a ceiling for the 3-weekly dose.
    check = _regimen_of(corpus_store, "G0-39")
    assert check.dose.status == RegimenStatus.MATCHES and "350 mg/m" in check.dose.labeled
    assert check.frequency.status == RegimenStatus.MATCHES


def test_volume_of_a_stated_concentration_is_its_mass(corpus_store):
    # G1-47: the label doses the suspension as "5 mL (125 mg/5 mL)": 125 mg.
    check = _regimen_of(corpus_store, "G1-47")
    assert check.dose.status == RegimenStatus.MATCHES and "125 mg/5 mL" in check.dose.labeled


def test_capsule_counts_are_doses(corpus_store):
    # G1-50 / G1-52: the label doses in capsules; one capsule every 12 hours is its maintenance,
    # two capsules twice daily is not a dose it gives.
    check = _regimen_of(corpus_store, "G1-50")
    assert check.dose.status == RegimenStatus.MATCHES and "capsule every 12 hours" in check.dose.labeled
    assert check.frequency.status == RegimenStatus.MATCHES
    check = _regimen_of(corpus_store, "G1-52")
    assert check.dose.status == RegimenStatus.MISMATCH and check.dose.prescribed == "2 capsules"


def test_completed_phase_and_other_substances_are_not_the_order(corpus_store):
    # G3-31: the loading doses are done, the order is the weekly maintenance dose; G3-50: the
    # calcium and vitamin D amounts of the supplementation subsection are not the drug's dose.
    check = _regimen_of(corpus_store, "G3-31")
    assert check.frequency.status == RegimenStatus.MATCHES and "once weekly" in check.frequency.labeled
    check = _regimen_of(corpus_store, "G3-50")
    assert check.dose.status == RegimenStatus.MATCHES and "60 mg" in check.dose.labeled
    assert check.frequency.status == RegimenStatus.MATCHES


def test_unstated_reduction_and_a_kept_dose_is_a_mismatch(corpus_store):
    # G2-02: the label calls for a reduction with the new co-medication without a number; the
    # order keeps the dose the case gave before it, which the reduction rules out.
    (check,) = [dc.check for dc in check_text(corpus_store, bench_cases()["G2-02"]["text"]) if dc.check.drug == "azathioprine"]
    assert check.dose.status == RegimenStatus.MISMATCH and "dose reduction" in check.dose.labeled
    assert check.dose.citations


def _dose_of(store, text: str, generic: str):
    checks = [dc.check for dc in check_text(store, text)]
    found = [c for c in checks if c.drug.startswith(generic)]  # "cabozantinib" or "cabozantinib", by index
    assert found, [c.drug for c in checks]
    return found[0]


def test_weight_band_rows_bind_a_patient_in_the_band(corpus_store):
    # Vignettes are ours. The voxelotor label's pediatric table gives "20 kg to less than 40 kg |
    # 900 mg": a 30-kg child's 1,500 mg (the dose for 40 kg or greater) is a mismatch resting on
    # that row, 900 mg matches it.
    case = "A 9-year-old boy, 30 kg, with sickle cell disease. Start Oxbryta {} mg by mouth once daily."
    check = _dose_of(corpus_store, case.format(1500), "voxelotor")
    assert check.dose.status == RegimenStatus.MISMATCH
    assert "20 kg to less than 40 kg" in check.dose.labeled and check.dose.citations
    check = _dose_of(corpus_store, case.format(900), "voxelotor")
    assert check.dose.status == RegimenStatus.MATCHES and "20 kg to less than 40 kg" in check.dose.labeled


def test_a_weight_band_the_table_mixes_up_is_not_stated(corpus_store):
    # The voriconazole label: "For adult patients weighing less than 40 kg, the oral maintenance
    # dose may be increased from 100 mg every 12 hours to 150 mg every 12 hours" -- its table's
    # under-40-kg column is read into rows that also give 200 mg, so a 34-kg patient's 200 mg is
    # not a match; a 68-kg patient's is.
    case = "A 77-year-old woman weighing {} kg with esophageal candidiasis that failed fluconazole. Plan voriconazole 200 mg orally every 12 hours."
    check = _dose_of(corpus_store, case.format(34), "voriconazole")
    assert check.dose.status == RegimenStatus.NOT_STATED and "weight" in check.dose.detail
    assert "less than 40 kg" in check.dose.labeled and check.dose.citations
    assert _dose_of(corpus_store, case.format(68), "voriconazole").dose.status == RegimenStatus.MATCHES


def test_radiation_given_with_the_drug_takes_the_radiation_dose(corpus_store):
    # Vignettes are ours. The capecitabine label: "825 mg/m 2 orally twice daily when administered
    # with concomitant radiation therapy and 1,250 mg/m 2 orally twice daily when administered
    # without radiation therapy": with chemoradiation, 1,250 mg/m2 is not the label's dose.
    case = "A 58-year-old woman with locally advanced rectal cancer gets preoperative chemoradiation. Capecitabine {} mg/m2 orally twice daily on radiation days."
    check = _dose_of(corpus_store, case.format("1,250"), "capecitabine")
    assert check.dose.status == RegimenStatus.MISMATCH and "concomitant radiation therapy" in check.dose.labeled
    assert _dose_of(corpus_store, case.format("825"), "capecitabine").dose.status == RegimenStatus.MATCHES
    # radiation behind the patient is no partner of the order
    past = "A 58-year-old man with Dukes C colon cancer, after resection and radiation. Capecitabine 1,250 mg/m2 orally twice daily for 14 days of 21-day cycles."
    check = _dose_of(corpus_store, past, "capecitabine")
    assert check.dose.status == RegimenStatus.MATCHES and "radiation" not in check.dose.labeled


def test_a_partner_named_as_the_case_writes_it_takes_the_combination_dose(corpus_store):
    # The cabozantinib label's table: "CABOMETYX 40 mg daily in combination with nivolumab"; the
    # single-agent dose is 60 mg. The case names the partner by the name the label uses.
    case = "A 61-year-old man with untreated advanced renal cell carcinoma. Nivolumab 240 mg IV every 2 weeks plus Cabometyx {} mg orally once daily."
    check = _dose_of(corpus_store, case.format(60), "cabozantinib")
    assert check.dose.status == RegimenStatus.MISMATCH and "in combination with nivolumab" in check.dose.labeled
    assert _dose_of(corpus_store, case.format(40), "cabozantinib").dose.status == RegimenStatus.MATCHES
    alone = "A 61-year-old man with advanced renal cell carcinoma after prior VEGF therapy. Cabometyx 60 mg orally once daily."
    check = _dose_of(corpus_store, alone, "cabozantinib")
    assert check.dose.status == RegimenStatus.MATCHES and "single agent" in check.dose.labeled


def test_a_maximum_given_at_two_intervals_is_one_amount_a_day(corpus_store):
    # Vignettes are ours. The desvenlafaxine label's maximum in end-stage renal disease is "25 mg
    # every day or 50 mg every other day": 50 mg daily is twice it; either alternative is within it.
    case = "A 69-year-old man with major depressive disorder and end-stage renal disease on hemodialysis. Start Pristiq {}."
    check = _dose_of(corpus_store, case.format("50 mg orally once daily"), "desvenlafaxine")
    assert check.dose.status == RegimenStatus.MISMATCH and "every other day" in check.dose.labeled
    for order in ("25 mg orally once daily", "50 mg orally every other day"):
        assert _dose_of(corpus_store, case.format(order), "desvenlafaxine").dose.status == RegimenStatus.MATCHES


def test_an_inducer_other_labels_class_takes_the_class_dose(corpus_store):
    # Vignettes are ours. The dolutegravir label doses adults "when coadministered with certain
    # UGT1A or CYP3A inducers" at 50 mg twice daily and never calls rifampin one; other labels of
    # the corpus list rifampin among "strong CYP3A inducers" — the order once daily is a mismatch.
    case = "A 40-year-old man with HIV-1, treatment-naive, on rifampin for pulmonary tuberculosis. Dolutegravir 50 mg PO {}."
    check = _dose_of(corpus_store, case.format("once daily"), "dolutegravir")
    assert check.frequency.status == RegimenStatus.MISMATCH
    assert _dose_of(corpus_store, case.format("twice daily"), "dolutegravir").frequency.status == RegimenStatus.MATCHES


def test_a_class_of_unstated_strength_does_not_take_the_strong_class_dose(corpus_store):
    # Vignette is ours. The aripiprazole label halves the dose with strong CYP2D6 or CYP3A4
    # inhibitors; other labels list sertraline only among "CYP3A4 inhibitors" of no stated
    # strength, so the adjunctive starting dose ("2 to 5 mg/day") stands.
    case = "45-year-old woman with major depressive disorder, partial response to sertraline 150 mg daily. Add Abilify 5 mg PO daily."
    assert _dose_of(corpus_store, case, "aripiprazole").dose.status == RegimenStatus.MATCHES


def test_what_a_row_says_after_stopping_the_inducer_is_not_for_a_patient_on_it(corpus_store):
    # Vignettes are ours. Gefitinib: "Increase IRESSA to 500 mg daily ... and resume IRESSA at 250 mg
    # seven days after discontinuation of the strong CYP3A4 inducer"; osimertinib: "Resume TAGRISSO
    # at 80 mg 3 weeks after discontinuation of the strong CYP3A4 inducer" (its dose on the inducer is 160 mg).
    on_it = "A 60-year-old woman with metastatic EGFR exon 19 deletion NSCLC, on rifampin for tuberculosis. {}"
    assert _dose_of(corpus_store, on_it.format("Iressa 500 mg PO daily."), "gefitinib").dose.status == RegimenStatus.MATCHES
    assert _dose_of(corpus_store, on_it.format("Tagrisso 80 mg PO daily."), "osimertinib").dose.status == RegimenStatus.MISMATCH


def test_a_strong_inhibitor_never_takes_the_moderate_inhibitor_dose(corpus_store):
    # Vignette is ours. Everolimus: 2.5 mg daily is the dose "with a P-gp and moderate CYP3A4
    # inhibitor"; other labels list ketoconazole among strong CYP3A4 inhibitors ("Strong-moderate
    # CYP3A4 inhibitors" in one heading is not read as moderate).
    case = "A 62-year-old man with advanced renal cell carcinoma after sunitinib, also on ketoconazole for a fungal infection. Afinitor 2.5 mg PO daily."
    assert _dose_of(corpus_store, case, "everolimus").dose.status != RegimenStatus.MATCHES


def test_a_co_medication_last_named_as_stopped_is_not_taken_now_nor_checked(corpus_store):
    # Vignettes are ours. Cabozantinib: "Reduce the dosage of CABOMETYX if coadministration with
    # strong CYP3A4 inhibitors cannot be avoided"; "Resume the dose that was used prior to
    # initiating the strong CYP3A4 inhibitor 2 to 3 days after discontinuation of the strong inhibitor".
    # The time since stopping is not read: the order is not called a match, and the sentence is cited.
    case = "A 60-year-old man with advanced renal cell carcinoma, on Cabometyx 40 mg during an itraconazole course; itraconazole {}. Cabometyx 60 mg PO daily."
    check = _dose_of(corpus_store, case.format("stopped 5 days ago"), "cabozantinib")
    assert check.dose.status == RegimenStatus.NOT_STATED and "after discontinuation" in check.dose.labeled
    for current in ("will continue 2 more months", "was stopped but restarted today"):
        assert _dose_of(corpus_store, case.format(current), "cabozantinib").dose.status == RegimenStatus.MISMATCH, current
