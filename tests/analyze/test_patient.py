"""Patient facts read from case text (no index needed): the facts the label alerts are triggered by."""

from medcite.analyze.patient import days_since, find_genotypes, find_patient


def kinds(text):
    """Return {kind: [(value, text)]} of the findings of `text`."""
    out = {}
    for f in find_patient(text).findings:
        out.setdefault(f.kind, []).append((f.value, f.text))
    return out


def test_clinician_shorthand_gives_age_and_sex():
    found = kinds("70F with pseudobulbar affect. Seen with her daughter.")
    assert found["age"] == [(70.0, "70F")] and found["sex"] == [("female", "70F")]
    assert kinds("OAB in a 57M who was just started on an antibiotic.")["age"] == [(57.0, "57M")]
    # a temperature is not an age
    assert "age" not in kinds("Fever to 101F overnight.")


def test_egfr_is_not_the_egfr_gene():
    assert "egfr" not in kinds("metastatic EGFR L858R NSCLC")
    assert "egfr" not in kinds("EGFR exon 19 deletion on the tissue test")
    assert kinds("CKD stage 4 (eGFR 22 mL/min/1.73 m2)")["egfr"] == [(22.0, "eGFR 22 mL/min/1.73 m2")]
    assert kinds("CKD with eCrCl 25 mL/min")["crcl"] == [(25.0, "eCrCl 25 mL/min")]


def test_child_pugh_class_from_letter_or_score():
    assert kinds("cirrhosis, Child-Pugh score 8 (class B)")["child_pugh"] == [("B", "Child-Pugh score 8")]
    assert kinds("severe hepatic impairment (Child Pugh-C)")["child_pugh"][0][0] == "C"


def test_pregnancy_weeks_term_and_lactation():
    found = kinds("24-year-old woman at 39 weeks' gestation, exclusively breastfeeding her first child")
    assert found["gestation"] == [(39.0, "39 weeks' gestation")]
    assert found["lactation"] == [(True, "breastfeeding")]
    assert kinds("G2P1 at term in labor")["term"][0] == (True, "at term")
    # "non-pregnant" and a negative pregnancy test are not a pregnancy
    assert "pregnancy" not in kinds("26-year-old non-pregnant woman; negative pregnancy test")
    assert find_patient("36F, ~7 weeks pregnant").findings[-1].kind == "gestation"


def test_labs_and_ancestry():
    found = kinds("QTc 512 ms and K 3.1 this morning; 45M of Korean ancestry")
    assert found["qtc"] == [(512.0, "QTc 512 ms")] and found["potassium"] == [(3.1, "K 3.1")]
    assert found["ancestry"] == [("East Asian", "of Korean ancestry")]
    assert kinds("a Thai woman with epilepsy")["ancestry"][0][0] == "Southeast Asian"
    # the country a patient was born in gives the region
    assert kinds("58M born in Korea")["ancestry"] == [("East Asian", "born in Korea")]
    assert "ancestry" not in kinds("58M born in Ohio")


def test_genotype_alleles_written_after_the_word_genotype():
    (g,) = find_genotypes("UGT1A1 genotype *28/*28.")
    assert (g.gene, g.allele, g.status) == ("UGT1A1", "*28/*28", "genotype")
    (g,) = find_genotypes("CYP2D6 genotype *4/*4 - poor metabolizer.")
    assert (g.allele, g.status) == ("*4/*4", "poor metabolizer")
    (g,) = find_genotypes("TPMT genotype *1/*3A (heterozygous, intermediate activity)")
    assert (g.allele, g.status) == ("*1/*3A", "heterozygous")
    (g,) = find_genotypes("HD chorea patient whose CYP2D6 genotype shows a poor metabolizer.")
    assert g.status == "poor metabolizer"


def test_a_mutation_is_a_positive_result_and_a_normal_result_none():
    (g,) = find_genotypes("a known pathogenic POLG mutation (mitochondrial disease)")
    assert (g.gene, g.status) == ("POLG", "positive")
    assert find_genotypes("29F, G6PD normal, exclusively breastfeeding") == []


def test_days_since_a_drug_was_stopped():
    text = "stopped phenelzine 5 days ago because of side effects. Start venlafaxine today."
    start = text.index("phenelzine")
    assert days_since(text, start, start + len("phenelzine")) == 5.0
    text = "Phenelzine was discontinued last week."
    assert days_since(text, 0, len("Phenelzine")) == 7.0
    assert days_since("History of phenelzine use.", 11, 21) is None
