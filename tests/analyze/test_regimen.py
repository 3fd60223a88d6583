"""Regimen parsing (doses, frequencies, routes, durations) on real label text and phrase variants."""

import gzip
import json

import pytest

from medcite.analyze.regimen import (
    canonical_frequency,
    find_doses,
    find_durations,
    find_frequencies,
    find_routes,
    order_doses,
)


@pytest.fixture(scope="module")
def dosage_text(shared_data):
    """Return {source file: dosage_and_administration text} for Xeloda, Lutathera, Afinitor, Tegretol."""
    files = {"NDA020896.json", "NDA208700.json", "NDA022334.json", "NDA016608.json"}
    out = {}
    with gzip.open(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz", "rt", encoding="utf-8") as fh:
        for rec in (json.loads(line) for line in fh if any(f'"_source_file": "{f}"' in line for f in files)):
            if rec["_source_file"] in files:
                out[rec["_source_file"]] = " ".join(rec["dosage_and_administration"])
    return out


def test_xeloda_label(dosage_text):
    text = dosage_text["NDA020896.json"]
    dose = find_doses(text)[0]
    assert (dose.value, dose.unit, dose.text) == (1250.0, "mg/m2", "1,250 mg/m 2")
    freq = find_frequencies(text)[0]
    assert (freq.times, freq.per_days, freq.interval_days, freq.text) == (2, 1.0, 0.5, "twice daily")
    assert find_routes(text)[0].name == "oral"
    dur = find_durations(text)[0]
    assert (dur.value, dur.unit, dur.days, dur.text) == (14.0, "days", 14.0, "for the first 14 days")
    # "oxaliplatin 130 mg/m 2 administered intravenously"
    assert "intravenous" in {r.name for r in find_routes(text)}


def test_lutathera_label(dosage_text):
    text = dosage_text["NDA208700.json"]
    doses = find_doses(text)
    assert [(d.value, d.unit) for d in doses[:4]] == [(7.4, "GBq"), (200.0, "mCi"), (30.0, "mg"), (30.0, "mg")]
    freqs = [(f.text, f.interval_days) for f in find_frequencies(text)]
    assert freqs[:2] == [("every 8 weeks", 56.0), ("every 4 weeks", 28.0)]
    assert find_routes(text)[0].name == "intramuscular"
    assert [(d.value, d.unit) for d in find_durations(text)][:1] == [(4.0, "doses")]


def test_afinitor_and_tegretol_labels(dosage_text):
    afinitor = dosage_text["NDA022334.json"]
    assert [(d.value, d.unit) for d in find_doses(afinitor)][:2] == [(10.0, "mg"), (10.0, "mg")]
    assert find_frequencies(afinitor)[0].text == "once daily"
    assert (4.5, "mg/m2") in [(d.value, d.unit) for d in find_doses(afinitor)]
    tegretol = dosage_text["NDA016608.json"]
    texts = [f.text for f in find_frequencies(tegretol)]
    assert "twice daily" in texts and "four times daily" in texts and "three times daily" in texts
    assert (400.0, "mg/day") in [(d.value, d.unit) for d in find_doses(tegretol)]


@pytest.mark.parametrize(
    "phrases, numbers, text",
    [
        (["once daily", "daily", "qd", "q.d.", "QD", "q24h", "once a day", "every 24 hours", "every day"], (1, 1.0, 1.0), "once daily"),
        (["twice daily", "BID", "b.i.d.", "bid", "q12h", "twice a day", "two times daily", "every 12 hours"], (2, 1.0, 0.5), "twice daily"),
        (["three times daily", "TID", "t.i.d.", "q8h", "every 8 hours", "3 times a day"], (3, 1.0, 0.333333), "three times daily"),
        (["four times a day", "QID", "q6h"], (4, 1.0, 0.25), "four times daily"),
        (["weekly", "once weekly", "once a week", "every week", "every 7 days", "every 1 week"], (1, 7.0, 7.0), "once weekly"),
        (["every 3 weeks", "q3w", "every 21 days", "every three weeks", "Q3W"], (1, 21.0, 21.0), "every 3 weeks"),
        (["every 4 weeks", "q4w", "q4wk", "every 28 days", "monthly (every 4 weeks)", "every four weeks"], (1, 28.0, 28.0), "every 4 weeks"),
        (["every other day", "every 2 days", "q48h"], (1, 2.0, 2.0), "every 2 days"),
        (["monthly", "once a month", "every month"], (1, 30.0, 30.0), "monthly"),
    ],
)
def test_frequency_variants_normalise_to_one_form(phrases, numbers, text):
    for phrase in phrases:
        found = find_frequencies(f"given {phrase} until progression")
        assert len(found) == 1, phrase
        f = found[0]
        assert (f.times, f.per_days, f.interval_days, f.text) == (*numbers, text), phrase
        assert f.as_written == phrase


def test_as_needed_and_canonical_text():
    (f,) = find_frequencies("as needed for pain")
    assert (f.as_needed, f.times, f.interval_days, f.text) == (True, None, None, "as needed")
    assert canonical_frequency(1, 0.5) == "every 12 hours"
    assert canonical_frequency(2, 7.0) == "twice weekly"
    assert canonical_frequency(1, 56.0) == "every 8 weeks"


def test_lab_values_and_stages_are_not_regimens():
    assert find_doses("CrCl 30 mL/min, hemoglobin 10 g/dL, glucose 100 mg/dL") == []
    assert find_routes("stage IV disease, grade III") == []
    (d,) = find_doses("4.5 mg/m² and nothing else")
    assert (d.value, d.unit) == (4.5, "mg/m2")
    (r,) = find_routes("by deep subcutaneous injection")
    assert (r.name, r.detail, r.text) == ("subcutaneous", "deep", "deep subcutaneous")


def test_counts_of_capsules_or_tablets():
    # a count with no amount beside it is the dose; beside an amount, the amount is
    assert [(d.value, d.unit) for d in order_doses("take 2 capsules by mouth")] == [(2.0, "capsule")]
    assert [(d.value, d.unit) for d in order_doses("one tab PO")] == [(1.0, "tablet")]
    assert [(d.value, d.unit) for d in order_doses("take 2 tablets (10 mg) by mouth")] == [(10.0, "mg")]
    # after the strength of a product of two drugs ("20 mg/10 mg"), the count is the dose
    (d,) = order_doses("20 mg/10 mg, 1 capsule by mouth")
    assert (d.value, d.unit, d.text) == (1.0, "capsule", "20 mg/10 mg, 1 capsule")
    assert find_doses("2 capsules") == []  # label rows and lab values keep amounts only
