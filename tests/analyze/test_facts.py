"""Case-fact extraction. The case wording is ours; every dose and frequency is taken from a label in
../shared/data/fda_labels_openfda_pharmgkb (named beside each case); the seed case is verbatim."""

import gzip
import json
from dataclasses import asdict

import pytest

from medcite.analyze.abbreviations import AbbreviationTable, mine_abbreviations
from medcite.analyze.drug_lexicon import DrugLexicon
from medcite.analyze.facts import extract_facts
from medcite.ingest import vocab
from medcite.records import DrugName

SEED = (
    "The patient has a grade 2 pancreatic neuroendocrine tumor (NET) that was resected, and dotatate avid "
    "regions in the liver were discovered 3 months after resection. Lanreotide was prescribed for use every 4 weeks."
)


@pytest.fixture(scope="module")
def lexicon(shared_data):
    rows = []
    for path in (
        shared_data / "drug_vocab_drugsfda" / "Products.txt",
        shared_data / "drug_vocab_drugbank_open" / "drugbank_vocabulary.csv",
    ):
        rows += [r for r in vocab.read(path) if isinstance(r, DrugName)]
    return DrugLexicon(rows)


@pytest.fixture(scope="module")
def table(shared_data):
    """Abbreviations mined from SciFact abstracts and a few labels (NET is mostly "neutrophil
    extracellular trap" there: the extractor must skip expansions that are not conditions)."""
    texts = []
    with gzip.open(shared_data / "beir_scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        texts += [d["title"] + ". " + d["text"] for d in map(json.loads, fh)]
    wanted = {"NDA022334.json", "NDA208700.json", "NDA022056.json", "NDA020839.json", "NDA215383.json"}
    with gzip.open(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz", "rt", encoding="utf-8") as fh:
        # Parse only the wanted records (the file is 52 MB of JSON).
        for rec in (json.loads(line) for line in fh if any(f'"_source_file": "{f}"' in line for f in wanted)):
            if rec["_source_file"] in wanted:
                texts.append(" ".join(" ".join(v) for k, v in rec.items() if isinstance(v, list) and v and isinstance(v[0], str)))
    return AbbreviationTable(mine_abbreviations(texts))


def one(items, **where):
    """Return the single item whose attributes match `where`."""
    hits = [i for i in items if all(getattr(i, k) == v for k, v in where.items())]
    assert len(hits) == 1, (where, items)
    return hits[0]


def test_seed_case(lexicon, table):
    facts = extract_facts(SEED, lexicon, table)
    lan = one(facts.drugs, generic="lanreotide")
    assert (lan.text, lan.role, lan.negated) == ("Lanreotide", "proposed", False)
    f = lan.frequency
    assert (f.times, f.per_days, f.interval_days, f.text, f.as_written) == (1, 28.0, 28.0, "every 4 weeks", "every 4 weeks")
    assert lan.dose is None and lan.route is None
    # "dotatate avid regions": an imaging agent, not a treatment.
    assert one(facts.drugs, generic="dotatate").role == "diagnostic"
    assert facts.proposed() == [lan]
    (net,) = facts.conditions
    assert (net.text, net.name, net.abbreviation) == ("pancreatic neuroendocrine tumor", "pancreatic neuroendocrine tumor", "NET")
    assert SEED[net.start : net.end] == net.text
    assert (net.grade, net.resection, net.sites, net.extent) == (2, "resected", ["liver"], None)
    site = one(net.qualifiers, kind="site")
    assert SEED[site.start : site.end] == "liver"
    assert facts.abbreviations == {"NET": "neuroendocrine tumor"}
    assert facts.negations == []
    assert asdict(facts) == facts.to_dict()


def test_brand_regimen_comedication_crcl(lexicon, table):
    # Xeloda label (NDA020896): "1,250 mg/m 2 twice daily orally for the first 14 days of each
    # 21-day cycle"; renal dose modification "creatinine clearance (CLcr) of 30 to 50 mL/min".
    text = (
        "A 62-year-old woman with metastatic colorectal cancer will receive Xeloda 1,250 mg/m2 twice daily "
        "orally for the first 14 days of each 21-day cycle. She is also on warfarin. Her creatinine clearance "
        "is 30 mL/min."
    )
    facts = extract_facts(text, lexicon, table)
    xel = one(facts.drugs, text="Xeloda")
    assert (xel.generic, xel.name_kind, xel.role, xel.role_text) == ("capecitabine", "brand", "proposed", "will receive")
    assert (xel.dose.value, xel.dose.unit, xel.dose.text) == (1250.0, "mg/m2", "1,250 mg/m2")
    assert (xel.frequency.times, xel.frequency.interval_days, xel.frequency.text) == (2, 0.5, "twice daily")
    assert (xel.route.name, xel.route.text) == ("oral", "orally")
    assert (xel.duration.value, xel.duration.unit, xel.duration.days) == (14.0, "days", 14.0)
    war = one(facts.drugs, generic="warfarin")
    assert (war.role, war.role_text, war.dose) == ("comedication", "also on", None)
    p = facts.patient
    assert (p.age_years, p.sex, p.crcl_ml_min) == (62.0, "female", 30.0)
    crcl = one(p.findings, kind="crcl")
    assert (crcl.text, crcl.unit) == ("creatinine clearance is 30 mL/min", "mL/min")
    # "creatinine clearance" is a patient fact, not the drug creatinine.
    assert [d.generic for d in facts.drugs] == ["capecitabine", "warfarin"]
    (crc,) = facts.conditions
    assert (crc.name, crc.extent) == ("colorectal cancer", "metastatic")


def test_hla_genotype_with_carbamazepine(lexicon, table):
    # Tegretol label (NDA016608): HLA-B*1502 boxed warning; epilepsy "200 mg twice a day".
    text = (
        "A 30-year-old man who carries HLA-B*1502 is to be started on Tegretol 200 mg twice a day for epilepsy. "
        "His brother is HLA-B*15:02 positive."
    )
    facts = extract_facts(text, lexicon, table)
    teg = one(facts.drugs, text="Tegretol")
    assert (teg.generic, teg.role, teg.dose.value, teg.dose.unit) == ("carbamazepine", "proposed", 200.0, "mg")
    assert (teg.frequency.times, teg.frequency.per_days, teg.frequency.as_written) == (2, 1.0, "twice a day")
    g1, g2 = facts.patient.genotypes
    assert (g1.gene, g1.allele, g1.status, g1.text) == ("HLA-B", "*15:02", "positive", "HLA-B*1502")
    # The two spellings normalise to one allele.
    assert (g2.gene, g2.allele, g2.status, g2.text) == ("HLA-B", "*15:02", "positive", "HLA-B*15:02 positive")
    assert one(facts.conditions, name="epilepsy").negated is False
    assert (facts.patient.age_years, facts.patient.sex) == (30.0, "male")


def test_negations_and_co_medication(lexicon, table):
    # Prilosec label (NDA022056): "20 mg once daily"; Plavix label (NDA020839): "75 mg once daily",
    # CYP2C19 poor metabolizers, avoid omeprazole.
    text = (
        "He takes Prilosec 20 mg once daily for symptomatic GERD and was prescribed Plavix 75 mg once daily. "
        "He is not a CYP2C19 poor metabolizer. No history of atrial fibrillation, stroke, or diabetes, "
        "and he denies alcohol use."
    )
    facts = extract_facts(text, lexicon, table)
    pri = one(facts.drugs, text="Prilosec")
    assert (pri.generic, pri.role, pri.dose.value, pri.frequency.text) == ("omeprazole", "comedication", 20.0, "once daily")
    pla = one(facts.drugs, text="Plavix")
    assert (pla.role, pla.role_text, pla.dose.value, pla.frequency.interval_days) == ("proposed", "prescribed", 75.0, 1.0)
    (g,) = facts.patient.genotypes
    assert (g.gene, g.status, g.negated) == ("CYP2C19", "poor metabolizer", True)
    gerd = one(facts.conditions, abbreviation="GERD")
    assert (gerd.name, gerd.source, gerd.negated) == ("gastroesophageal reflux disease", "abbreviation", False)
    negated = sorted(c.name for c in facts.conditions if c.negated)
    assert negated == ["atrial fibrillation", "diabetes", "stroke"]
    assert [n.value for n in facts.negations] == [
        "a CYP2C19 poor metabolizer",
        "atrial fibrillation, stroke, or diabetes",
        "alcohol use",
    ]


def test_abbreviation_from_corpus_and_qualifiers(lexicon, table):
    # Afinitor label (NDA022334): NET "10 mg orally once daily"; hepatic impairment Child-Pugh B.
    text = (
        "Patient with a well-differentiated, non-functional pancreatic NET with liver metastases, Child-Pugh B; "
        "plan to start Afinitor 10 mg orally once daily. The pNET was resected."
    )
    facts = extract_facts(text, lexicon, table)
    afi = one(facts.drugs, text="Afinitor")
    assert (afi.generic, afi.role, afi.role_text) == ("everolimus", "proposed", "plan to start")
    assert (afi.dose.value, afi.frequency.text, afi.route.name) == (10.0, "once daily", "oral")
    net, pnet = facts.conditions
    # "NET" is defined in SciFact mostly as "neutrophil extracellular trap": not a condition, skipped.
    assert table.expand("NET")[0] == "neutrophil extracellular trap"
    assert (net.text, net.name, net.source) == ("pancreatic NET", "pancreatic neuroendocrine tumor", "abbreviation")
    assert (net.differentiation, net.functional, net.extent, net.sites) == ("well", "non-functional", "metastatic", ["liver"])
    # The Welireg label defines "pancreatic neuroendocrine tumors (pNET)": one tumour here.
    assert (pnet.name, pnet.resection) == ("pancreatic neuroendocrine tumor", "resected")
    assert facts.patient.child_pugh == "B"


def test_radioligand_with_inherited_role(lexicon, table):
    # Lutathera label (NDA208700): "7.4 GBq (200 mCi) every 8 weeks ... for a total of 4 doses";
    # "long-acting octreotide 30 mg intramuscularly every 4 weeks".
    text = (
        "She was started on Lutathera 7.4 GBq (200 mCi) every 8 weeks for a total of 4 doses, with "
        "long-acting octreotide 30 mg intramuscularly every 4 weeks. She is not pregnant."
    )
    facts = extract_facts(text, lexicon, table)
    lut, octr = facts.drugs
    assert (lut.generic, lut.role, lut.dose.value, lut.dose.unit) == ("lutetium dotatate lu-177", "proposed", 7.4, "GBq")
    assert (lut.frequency.interval_days, lut.duration.value, lut.duration.unit) == (56.0, 4.0, "doses")
    assert (octr.generic, octr.role, octr.dose.value, octr.route.name, octr.frequency.interval_days) == (
        "octreotide", "proposed", 30.0, "intramuscular", 28.0,
    )
    assert facts.patient.pregnant is False


def test_offsets_and_empty_input(lexicon, table):
    facts = extract_facts(SEED, lexicon, table)
    for d in facts.drugs:
        assert SEED[d.start : d.end] == d.text
        if d.frequency:
            assert SEED[d.frequency.start : d.frequency.end] == d.frequency.as_written
    assert extract_facts("   ", lexicon, table).drugs == []
    # Without an abbreviation table the case's own definition still names the tumour.
    assert [c.name for c in extract_facts(SEED, lexicon, None).conditions] == ["pancreatic neuroendocrine tumor"]


def test_pain_is_a_condition(lexicon, table):
    """The Ultram indication is "pain severe enough to require an opioid analgesic": a case's pain is
    a condition the label check can match, not an unrecognised phrase."""
    facts = extract_facts("A man with chronic pain who takes diazepam is started on tramadol 50 mg orally every 6 hours.",
                          lexicon, table)
    assert [c.name for c in facts.conditions] == ["chronic pain"]
    assert {(d.generic, d.role) for d in facts.drugs} == {("diazepam", "comedication"), ("tramadol", "proposed")}
