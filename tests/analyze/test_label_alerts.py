"""Label alerts on real FDA labels of the shared corpus: each alert quotes the label's own sentence
with the span (and passages) it came from and names the trigger in the case's words.

The vignettes are ours, written the way clinicians write; every expectation is a sentence of the
label it is checked against. One test per kind of trigger, each with the negative next to it.
"""

import re

import pytest

from medcite.analyze.facts import read_case
from medcite.analyze.label_alert_drugs import class_lookup
from medcite.analyze.label_alerts import case_alerts
from medcite.analyze.label_select import drug_classes, labels_for
from medcite.analyze.label_text import clean_span, cyp_phrases, load_label
from medcite.records import AlertKind


def alerts(store, text: str, generic: str, title: str | None = None, examples=None):
    """Return the alerts of `generic`'s label (the one whose title starts with `title`) for a case."""
    facts, _ = read_case(store, text)
    drug = next(d for d in sorted(facts.drugs, key=lambda d: d.role != "proposed") if d.generic == generic)
    labels = [load_label(store, doc_id) for doc_id in labels_for(store, generic)]
    label = next(lb for lb in labels if title is None or lb.title.startswith(title))
    found = case_alerts(label, facts, drug, store.synonyms, lambda g: drug_classes(store, g), examples=examples)
    for a in found:
        assert_quoted(store, a)
    return found


def assert_quoted(store, alert) -> None:
    """The alert's text is the label's own words: each quoted piece is in its spans, and each span
    is in the passages it cites."""
    spans = " ".join(clean_span(s.text) for s in alert.spans)
    for piece in re.split(r"…", alert.text):
        assert " ".join(piece.split()) in spans, (piece, spans)
    for span in alert.spans:
        passages = clean_span(" ".join(h.text for h in store.get_hits(span.passage_ids)))
        assert clean_span(span.text) in passages


def one(found, **where):
    hits = [a for a in found if all((getattr(a, k) == v) if k != "trigger_has" else v in a.trigger for k, v in where.items())]
    assert len(hits) == 1, (where, [(a.kind, a.trigger, a.text[:80]) for a in found])
    return hits[0]


def test_cyp_phrases_read_strength_enzyme_and_role():
    (p,) = cyp_phrases("FLOMAX should not be used in combination with strong inhibitors of CYP3A4 (e.g., ketoconazole).")
    assert (p.enzymes, p.role, p.strengths) == ({"3A"}, "inhibitor", {"strong"})
    weak = cyp_phrases("No dose adjustments are required with moderate and/or weak CYP3A inducers.")[0]
    strong = cyp_phrases("Avoid strong CYP3A4 inducers.")[0]
    assert not weak.covers(strong) and strong.covers(cyp_phrases("a strong CYP3A inducer")[0])


def test_genotype_written_as_p450_2d6_triggers_the_contraindication(corpus_store):
    found = alerts(corpus_store, "47F with schizophrenia not responding to two antipsychotics. CYP2D6 genotype *4/*4, poor "
                                 "metabolizer. Plan thioridazine 50 mg PO TID.", "thioridazine")
    alert = one(found, kind=AlertKind.CONTRAINDICATION)
    assert alert.trigger == "CYP2D6 genotype *4/*4, poor metabolizer"
    assert "reduced levels of activity of P450 2D6" in alert.text


def test_star_alleles_meet_the_label_diplotype_and_only_it(corpus_store):
    found = alerts(corpus_store, "58M with metastatic colon cancer, UGT1A1 genotype *28/*28. Irinotecan 180 mg/m2 IV every "
                                 "2 weeks with 5-FU and leucovorin.", "irinotecan", "Camptosar")
    dose = one(found, kind=AlertKind.DOSAGE)
    assert "homozygous for the UGT1A1*28" in dose.text and dose.trigger == "UGT1A1 genotype *28/*28"
    # *1/*3 is not the *3/*3 of the contraindication; *1/*1 is the reference genotype
    mixed = alerts(corpus_store, "44M with SPMS, CYP2C9 genotype *1/*3. Siponimod 1 mg PO daily.", "siponimod")
    assert not [a for a in mixed if a.kind == AlertKind.CONTRAINDICATION]
    assert "*1/*3" in one(mixed, kind=AlertKind.DOSAGE).text
    assert alerts(corpus_store, "38F with RRMS, CYP2C9 *1/*1. Siponimod 2 mg PO daily.", "siponimod") == []


def test_comedication_by_the_cyp_class_the_label_gives_it(corpus_store):
    """Tagrisso names rifampin only in its clinical pharmacology ("Strong CYP3A Inducers: ... rifampin"):
    the boxed / interaction / dosage sentences about strong CYP3A inducers are the alert."""
    found = alerts(corpus_store, "66M with EGFR-mutant NSCLC on rifampin for TB. Osimertinib 80 mg PO daily.", "osimertinib")
    interaction = one(found, kind=AlertKind.INTERACTION)
    assert interaction.trigger == "rifampin (strong CYP3A inducer)"
    assert "strong CYP3A inducers" in interaction.text
    assert "160 mg daily" in one(found, kind=AlertKind.DOSAGE).text
    assert alerts(corpus_store, "66M with EGFR-mutant NSCLC, no other medicines. Osimertinib 80 mg PO daily.",
                  "osimertinib") == []


def test_comedication_named_as_an_example_of_a_cyp_class(corpus_store):
    found = alerts(corpus_store, "57M with OAB who was just started on clarithromycin 500 mg BID. Tolterodine 2 mg PO BID.",
                   "tolterodine")
    alert = found[0]
    assert alert.trigger.startswith("clarithromycin (") and "CYP3A" in alert.trigger
    assert "clarithromycin" in alert.text


def test_comedication_by_the_class_the_case_writes_beside_it(corpus_store):
    found = alerts(corpus_store, "34M with ADHD who takes the MAOI phenelzine. Start Qelbree 200 mg PO daily.",
                   "viloxazine hydrochloride")
    alert = one(found, kind=AlertKind.CONTRAINDICATION)
    assert "phenelzine" in alert.trigger and "monoamine oxidase inhibitors" in alert.text.lower()


def test_a_drug_stopped_within_the_washout(corpus_store):
    case = "45F with GAD; stopped the MAOI phenelzine {} because of side effects. Start venlafaxine XR 75 mg PO daily."
    alert = one(alerts(corpus_store, case.format("5 days ago"), "venlafaxine"), kind=AlertKind.CONTRAINDICATION)
    assert alert.trigger.startswith("phenelzine, stopped 5 days ago")
    assert "within 14 days" in alert.text
    # stopped long before the washout the label names: history, not a trigger
    assert alerts(corpus_store, case.format("3 months ago"), "venlafaxine") == []


def test_a_class_other_labels_give_the_drug(corpus_store):
    """Venlafaxine's label names MAOIs, never phenelzine; the interaction tables of other labels list
    phenelzine among their "Examples" of Monoamine Oxidase Inhibitors (MAOIs)."""
    lookup = class_lookup(corpus_store)
    assert "Monoamine Oxidase Inhibitors (MAOIs)" in lookup("phenelzine")
    case = "45F with GAD; stopped phenelzine 5 days ago because of side effects. Start venlafaxine XR 75 mg PO daily."
    alert = one(alerts(corpus_store, case, "venlafaxine", examples=lookup), kind=AlertKind.CONTRAINDICATION)
    assert alert.trigger == "phenelzine, stopped 5 days ago (MAOI)" and "within 14 days of discontinuing" in alert.text
    assert alerts(corpus_store, case, "venlafaxine") == []  # without the other labels nothing says what phenelzine is


def test_the_dose_a_label_names_for_a_comedication(corpus_store):
    case = "STEMI treated with PCI. Discharge meds: ticagrelor 90 mg PO twice daily and aspirin {} mg PO daily."
    boxed = one(alerts(corpus_store, case.format(325), "ticagrelor"), kind=AlertKind.BOXED_WARNING)
    assert boxed.trigger == "aspirin"
    assert alerts(corpus_store, case.format(81), "ticagrelor") == []


def test_a_partner_of_the_regimen_is_not_an_interaction(corpus_store):
    found = alerts(corpus_store, "61F with HR+ HER2- metastatic breast cancer. Start letrozole 2.5 mg daily plus abemaciclib "
                                 "150 mg PO BID.", "abemaciclib")
    assert not [a for a in found if "letrozole" in a.trigger]


def test_a_biologic_by_its_stem(corpus_store):
    found = alerts(corpus_store, "41F with atopic dermatitis on dupilumab 300 mg SC every 2 weeks. Add abrocitinib 100 mg PO "
                                 "daily.", "abrocitinib")
    alert = one(found, trigger="dupilumab (biologic)")
    assert "biologic immunomodulators" in alert.text


def test_renal_function_against_the_label_thresholds(corpus_store):
    case = "81F with E. coli cystitis; creatinine clearance {} mL/min. Nitrofurantoin 50 mg PO QID for 7 days."
    contra = one(alerts(corpus_store, case.format(35), "nitrofurantoin"), kind=AlertKind.CONTRAINDICATION)
    assert contra.trigger == "CrCl 35 mL/min" and "creatinine clearance under 60 mL per minute" in contra.text
    assert alerts(corpus_store, case.format(80), "nitrofurantoin") == []
    dialysis = alerts(corpus_store, "63M with MDD and ESRD on hemodialysis. Venlafaxine ER 225 mg PO daily.", "venlafaxine")
    alert = one(dialysis, kind=AlertKind.DOSAGE)
    assert alert.trigger == "ESRD, hemodialysis" and "hemodialysis" in alert.text


def test_hepatic_function_by_child_pugh_class_or_score(corpus_store):
    found = alerts(corpus_store, "70M with tardive dyskinesia and cirrhosis, Child-Pugh score 8. Valbenazine 80 mg daily.",
                   "valbenazine")
    alert = one(found, kind=AlertKind.DOSAGE)
    assert "Child-Pugh score 7 to 15" in alert.text and "Child-Pugh score 8" in alert.trigger
    femara = alerts(corpus_store, "71F with HR+ metastatic breast cancer and alcoholic cirrhosis, Child-Pugh C. Letrozole 2.5 "
                                  "mg PO daily.", "letrozole")
    assert "cirrhosis" in one(femara, kind=AlertKind.DOSAGE).text


def test_age_against_the_ages_a_sentence_names(corpus_store):
    child = alerts(corpus_store, "6-year-old with reflux and regurgitation. Metoclopramide 2.5 mg PO before meals.",
                   "metoclopramide")
    assert "not approved for use in pediatric patients" in one(child, trigger="6-year-old").text
    assert alerts(corpus_store, "40-year-old with diabetic gastroparesis. Metoclopramide 10 mg PO before meals.",
                  "metoclopramide") == []
    older = alerts(corpus_store, "72M with MDD, partial response. Increase citalopram to 40 mg PO daily.", "citalopram")
    assert "greater than 60 years of age" in one(older, kind=AlertKind.DOSAGE).text


def test_pregnancy_weeks_meet_the_label_window(corpus_store):
    late = alerts(corpus_store, "24F at 39 weeks' gestation with E. coli cystitis. Nitrofurantoin 100 mg PO QID.",
                  "nitrofurantoin")
    alert = one(late, kind=AlertKind.CONTRAINDICATION)
    assert alert.trigger == "pregnancy (39 weeks' gestation)" and "at term" in alert.text
    early = alerts(corpus_store, "24F, 10 weeks pregnant, with E. coli cystitis. Nitrofurantoin 100 mg PO QID.", "nitrofurantoin")
    assert not [a for a in early if "at term" in a.text]


def test_breastfeeding(corpus_store):
    found = alerts(corpus_store, "29F, 1 week postpartum and breastfeeding, with perineal pain. Codeine 30 mg PO q4h prn.",
                   "codeine")
    assert "breastfeeding is not recommended" in one(found, trigger="breastfeeding").text.lower()


def test_qtc_above_the_label_limit(corpus_store):
    found = alerts(corpus_store, "62F with HR+ metastatic breast cancer, QTc 510 ms. Toremifene 60 mg PO daily.", "toremifene")
    assert one(found, trigger="QTc 510 ms").kind == AlertKind.BOXED_WARNING


def test_a_condition_the_label_contraindicates(corpus_store):
    found = alerts(corpus_store, "52F with hypertension and moderate persistent asthma. Start carvedilol 6.25 mg BID.",
                   "carvedilol")
    alert = one(found, kind=AlertKind.CONTRAINDICATION)
    assert alert.trigger == "moderate persistent asthma" and "Bronchial asthma" in alert.text
    # what the label treats (hypertension) is not a trigger
    assert not [a for a in found if "hypertension" in a.trigger]
    cabg = alerts(corpus_store, "66M, post-op day 1 after CABG, sternotomy pain. Celecoxib 200 mg PO BID.", "celecoxib")
    assert "coronary artery bypass graft (CABG)" in one(cabg, trigger="CABG").text
    cramps = alerts(corpus_store, "74F with nocturnal leg cramps most nights. Quinine sulfate 324 mg PO at bedtime.",
                    "quinine sulfate")
    assert one(cramps, trigger="nocturnal leg cramps").kind == AlertKind.BOXED_WARNING


def test_a_condition_word_in_another_sense_is_not_a_trigger(corpus_store):
    """Ultram writes "respiratory depression" and "major depression": the case's depression is
    not the contraindicated respiratory depression; a normal result is not a condition."""
    found = alerts(corpus_store, "58M with depression and chronic back pain. Tramadol 50 mg PO q6h prn.", "tramadol")
    assert not [a for a in found if "depression" in a.trigger]
    normal = alerts(corpus_store, "60M with AML, G6PD normal, uric acid 11. Rasburicase 0.2 mg/kg IV daily.", "rasburicase")
    assert normal == []
    deficient = alerts(corpus_store, "55M with lymphoma and known G6PD deficiency. Rasburicase 0.2 mg/kg IV daily.",
                       "rasburicase")
    assert one(deficient, kind=AlertKind.BOXED_WARNING).text.startswith("Hemolysis: Do not administer Elitek")


def test_the_route_ordered(corpus_store):
    case = "34M with relapsed ALL. Order: Marqibo 2.25 mg/m2 {} with today's LP."
    alert = one(alerts(corpus_store, case.format("intrathecal"), "vincristine sulfate"), kind=AlertKind.BOXED_WARNING)
    assert alert.trigger == "intrathecal" and "intrathecal" in alert.text
    assert alerts(corpus_store, case.format("IV"), "vincristine sulfate") == []


def test_ancestry_and_a_partner_the_label_requires(corpus_store):
    found = alerts(corpus_store, "45M of Korean ancestry with chronic ITP. Start eltrombopag 50 mg daily.", "eltrombopag")
    alert = one(found, trigger="Korean ancestry")
    assert "East-/Southeast-Asian ancestry with ITP, initiate PROMACTA at a reduced dose of 25 mg" in alert.text
    alone = alerts(corpus_store, "61M with gout, intolerant of allopurinol. Start lesinurad 200 mg PO daily on its own.",
                   "lesinurad")
    assert "in combination with a xanthine oxidase inhibitor" in one(alone, trigger="on its own").text
    with_xoi = alerts(corpus_store, "55M with gout on allopurinol 300 mg daily, eCrCl 75 mL/min. Add lesinurad 200 mg PO daily.",
                      "lesinurad")
    assert not [a for a in with_xoi if a.kind == AlertKind.BOXED_WARNING]


@pytest.mark.parametrize("negated", ["No interacting medicines. ", "Not pregnant. ", "He is not a CYP2D6 poor metabolizer. "])
def test_negated_facts_trigger_nothing(corpus_store, negated):
    found = alerts(corpus_store, f"40M with schizophrenia. {negated}Start thioridazine 50 mg PO TID.", "thioridazine")
    assert [a.trigger for a in found] == []
