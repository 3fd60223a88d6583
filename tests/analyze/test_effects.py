"""Effect sizes read from real PDQ text (the sentences are the summary's own)."""

from medcite.analyze.effects import extract_effects

PDQ_GI_NET = "nci_pdq_cancer_summaries/pdq_hp_treatment/types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md"


def _sentence_with(shared_data, needle):
    text = (shared_data / PDQ_GI_NET).read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if needle in line)
    return line


def test_hazard_ratio_with_ci_and_p(shared_data):
    line = _sentence_with(shared_data, "hazard ratio, 0.34")
    effects = extract_effects(line)
    hr = next(e for e in effects if e.kind == "HR")
    assert (hr.value, hr.ci_low, hr.ci_high, hr.p) == ("0.34", "0.20", "0.59", "<.0001")
    assert hr.sentence.startswith("At an interim analysis, the median time to tumor progression was 14.3 months")
    ttp = next(e for e in effects if e.kind.startswith("median time to"))
    assert (ttp.value, ttp.unit) == ("14.3", "months")


def test_median_pfs_and_survival(shared_data):
    line = _sentence_with(shared_data, "median progression-free survival (PFS) of 56 months")
    kinds = [(e.kind, e.value, e.unit, e.p) for e in extract_effects(line)]
    assert ("median PFS", "56", "months", "<.001") in kinds
    assert ("median survival", "159", "months", "<.001") in kinds


def test_no_effect_in_plain_text():
    assert extract_effects("Surgery plays a role even in the setting of metastatic disease.") == []
