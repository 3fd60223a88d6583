"""Question understanding on real questions (MedicationQA, K-QA's question list) and the seed case:
intent, subjects from the drug dictionary / label classes / corpus abbreviations, negation, and
when the label check runs."""

import json
from pathlib import Path

import pytest

from medcite.analyze.facts import extract_facts
from medcite.analyze.question import corpus_aliases, mine_glosses, understand
from medcite.analyze.resources import case_resources
from medcite.records import Intent, SubjectKind

SEED = (Path(__file__).resolve().parents[2] / "examples" / "seed-case.txt").read_text().strip()


@pytest.fixture(scope="module")
def medicationqa(shared_data):
    return json.loads((shared_data / "eval_medicationqa" / "medicationqa.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def kqa_questions(shared_data):
    lines = (shared_data / "eval_kqa" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["Question"] for line in lines]


def _read(store, text):
    res = case_resources(store)
    return understand(extract_facts(text, res.lexicon, res.abbreviations), res.classes, res.abbreviations, res.glosses)


def _subjects(u):
    return [(s.kind, s.name) for s in u.subjects]


@pytest.mark.parametrize("index, intent", [
    (0, Intent.INTERACTIONS),      # how does rivatigmine and otc sleep medicine interact
    (1, Intent.MECHANISM),         # how does valium affect the brain
    (12, Intent.PRODUCT),          # what is the color of the fluvaastatin pill
    (44, Intent.INFORMATION),      # is cyclobenzaprine a benzodiazepine?
    (640, Intent.COMPARISON),      # what is the difference between atorvastatin and lipitor
    (650, Intent.ADVERSE_EFFECTS), # rosuvastatin calcium what are the side effects
    (41, Intent.INDICATION),       # levaquin treat uti?
])
def test_intent_of_medicationqa_questions(corpus_store, medicationqa, index, intent):
    assert _read(corpus_store, medicationqa[index]["Question"]).intent == intent


def test_brands_and_salts_resolve_to_generics(corpus_store, medicationqa):
    assert _subjects(_read(corpus_store, medicationqa[1]["Question"])) == [(SubjectKind.DRUG, "diazepam")]
    # "rosuvastatin calcium": the salt word is not part of the subject
    assert (SubjectKind.DRUG, "rosuvastatin") in _subjects(_read(corpus_store, medicationqa[650]["Question"]))


def test_drug_classes_from_label_pharmacologic_classes(corpus_store, medicationqa, kqa_questions):
    u = _read(corpus_store, medicationqa[44]["Question"])  # is cyclobenzaprine a benzodiazepine?
    assert (SubjectKind.DRUG, "cyclobenzaprine") in _subjects(u)
    (cls,) = u.of_kind(SubjectKind.DRUG_CLASS)
    assert cls.name == "benzodiazepine" and cls.generics  # the benzodiazepine labels held
    question = next(q for q in kqa_questions if q.startswith("What does proton pump inhibitor do"))
    u = _read(corpus_store, question)
    assert u.intent == Intent.MECHANISM
    (ppi,) = u.of_kind(SubjectKind.DRUG_CLASS)
    assert ppi.name == "proton pump inhibitor" and len(ppi.generics) >= 2


def test_a_class_abbreviation_resolves_through_the_corpus(corpus_store, kqa_questions):
    question = next(q for q in kqa_questions if "waiting for the PPI" in q)
    (ppi,) = _read(corpus_store, question).of_kind(SubjectKind.DRUG_CLASS)
    assert ppi.text == "PPI" and ppi.name == "proton pump inhibitor"


def test_a_ruled_out_drug_is_not_a_subject(corpus_store, kqa_questions):
    question = next(q for q in kqa_questions if "isnt ibuprofen" in q)
    u = _read(corpus_store, question)
    assert not u.of_kind(SubjectKind.DRUG) and not u.check_label


def test_tests_are_subjects(corpus_store, kqa_questions):
    question = next(q for q in kqa_questions if "way around the thyroid test" in q)
    assert (SubjectKind.TEST, "thyroid test") in _subjects(_read(corpus_store, question))


def test_label_check_runs_only_for_a_regimen_or_an_indication_question(corpus_store, medicationqa):
    seed = _read(corpus_store, SEED)
    assert seed.intent == Intent.CASE_REGIMEN and seed.check_label
    assert _read(corpus_store, medicationqa[352]["Question"]).check_label  # does enalaprilat is used for treat stroke?
    assert not _read(corpus_store, medicationqa[650]["Question"]).check_label  # side effects
    assert not _read(corpus_store, medicationqa[44]["Question"]).check_label  # what kind of drug


def test_corpus_aliases_are_appositions(corpus_store):
    (hit,) = corpus_store.search("lanreotide long-acting somatostatin analogue administered every 10 to 14 days", k=1,
                                 tier="guideline")
    assert "somatostatin analogue" in corpus_aliases("lanreotide", [hit.text])


def test_everyday_words_the_labels_gloss(corpus_store, kqa_questions):
    glosses = mine_glosses(corpus_store)
    assert glosses["high blood pressure"] == "hypertension"  # "high blood pressure (hypertension)" in the labels
    question = next(q for q in kqa_questions if "since i have high blood pressure" in q)
    u = _read(corpus_store, question)
    assert (SubjectKind.CONDITION, "hypertension") in _subjects(u)
    assert not u.of_kind(SubjectKind.DRUG)  # "other than sudafed": ruled out
