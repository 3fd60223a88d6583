"""Schwartz-Hearst abbreviation mining on real abstracts (SciFact, PubMedQA) and FDA label text."""

import gzip
import json

import pytest

from medcite.analyze.abbreviations import (
    AbbreviationTable,
    extract_pairs,
    find_pairs,
    mine_abbreviations,
    normalize_pair,
)

LABEL_FILES = (
    "NDA208700.json",  # Lutathera: GEP-NETs
    "NDA022334.json",  # Afinitor: NET, PNET
    "NDA020896.json",  # Xeloda: DPD
    "NDA016608.json",  # Tegretol: SJS, TEN
    "NDA215383.json",  # Welireg: pNET
    "NDA208447.json",  # Zejula: NET = norepinephrine transporter
    "NDA211964.json",  # Qelbree: NET = norepinephrine transporter
)


def label_texts(shared_data, files=LABEL_FILES) -> dict[str, str]:
    """Return {source file: all text sections of the openFDA label joined} for the chosen labels."""
    out = {}
    with gzip.open(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            # Parse only the wanted records (the file is 52 MB of JSON).
            if not any(f'"_source_file": "{f}"' in line for f in files):
                continue
            rec = json.loads(line)
            if rec["_source_file"] not in files:
                continue
            parts = [
                " ".join(v)
                for k, v in rec.items()
                if isinstance(v, list) and v and isinstance(v[0], str) and not k.endswith("_table")
            ]
            out[rec["_source_file"]] = "\n\n".join(parts)
    return out


def scifact_texts(shared_data) -> list[tuple[str, str]]:
    """Return (doc id, title + abstract) for every SciFact corpus record, in file order."""
    with gzip.open(shared_data / "beir_scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [(d["_id"], d["title"] + ". " + d["text"]) for d in map(json.loads, fh)]


@pytest.fixture(scope="module")
def labels(shared_data):
    return label_texts(shared_data)


@pytest.fixture(scope="module")
def scifact(shared_data):
    return scifact_texts(shared_data)


# ---------------------------------------------------------------- the algorithm


def test_gep_nets_in_lutathera_label(labels):
    text = labels["NDA208700.json"]
    pairs = find_pairs(text)
    raw = {(p.short, p.long) for p in pairs}
    assert ("GEP-NETs", "gastroenteropancreatic neuroendocrine tumors") in raw
    # Offsets point at the words in the label text.
    for p in pairs:
        assert text[p.short_start : p.short_end] == p.short
        assert text[p.long_start : p.long_end] == p.long
    # Stored form: plural short form folded, long form singular, lower case.
    assert ("GEP-NET", "gastroenteropancreatic neuroendocrine tumor") in extract_pairs(text)


def test_label_definitions(labels):
    afinitor = extract_pairs(labels["NDA022334.json"])
    assert {("PNET", "pancreatic neuroendocrine tumor"), ("NET", "neuroendocrine tumor")} <= set(afinitor)
    # The label also writes "... tumors (NET)": the plural variant of the same text is dropped.
    assert ("NET", "neuroendocrine tumors") not in afinitor
    assert ("DPD", "dihydropyrimidine dehydrogenase") in extract_pairs(labels["NDA020896.json"])
    assert {("SJS", "stevens-johnson syndrome"), ("TEN", "toxic epidermal necrolysis")} <= set(
        extract_pairs(labels["NDA016608.json"])
    )
    # Case is kept: the Welireg label writes "pNET", Afinitor "PNET".
    assert ("pNET", "pancreatic neuroendocrine tumors") in extract_pairs(labels["NDA215383.json"])


def test_pubmedqa_context(shared_data):
    data = json.loads((shared_data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    text = " ".join(data["26536001"]["CONTEXTS"])
    pairs = extract_pairs(text)
    assert ("GEP-NET", "gastroenteropancreatic neuroendocrine tumor") in pairs
    assert ("SRS", "somatostatin receptor scintigraphy") in pairs
    assert ("IHC", "immunohistochemistry") in pairs


def test_normalize_pair():
    assert normalize_pair("NETs", "Neuroendocrine  Tumours") == ("NET", "neuroendocrine tumour")
    # Irregular plurals are left alone with their short form.
    assert normalize_pair("APBs", "ALT-associated PML bodies") == ("APBs", "alt-associated pml bodies")
    assert normalize_pair("ROS", "reactive oxygen species") == ("ROS", "reactive oxygen species")
    assert normalize_pair("ESRD", "end\u2212stage renal disease") == ("ESRD", "end-stage renal disease")


# Every pair extracted from the first 30 SciFact records, judged by hand against the abstracts.
SCIFACT_SAMPLE = {
    "4983": [("MRI", "magnetic resonance imaging")],
    "5836": [("MDS", "myelodysplastic syndromes"), ("MDSC", "myeloid-derived suppressor cells"), ("ITIM", "inhibition motif")],
    "7912": [("SINE", "short interspersed element")],
    "18670": [
        ("PBMC", "peripheral blood mononuclear cells"),
        ("ASM", "allele-specific methylation"),
        ("hDMR", "haploid differentially methylated region"),
        ("ASE", "allele-specific expression"),
    ],
    "19238": [("Golli", "gene expressed in the oligodendrocyte lineage")],
    "33370": [("GSC", "glioblastoma stem cell"), ("shRNA", "short hairpin rna")],
    "36474": [
        ("hESC", "human embryonic stem cell"),
        ("hiPSC", "(hescs) and induced pluripotent stem cell"),
        ("ZFN", "zinc-finger nuclease"),
    ],
    "72159": [("pDC", "plasmacytoid dendritic cell"), ("IRF7", "interferon regulatory factor 7")],
    "87758": [
        ("CIMT", "carotid intima media thickness"),
        ("ABPI", "ankle brachial pressure index"),
        ("WB-MRA", "whole body magnetic resonance angiography"),
        ("Dotarem", "dose of intravenous gadolinium gadoterate meglumine"),
    ],
    "92308": [("HCV", "hepatitis c virus"), ("CTL", "cytotoxic t lymphocyte")],
    "92499": [("HSC", "hematopoietic stem cell")],
    "97884": [("SpA", "spondyloarthropathy")],
    "104130": [("MSC", "mesenchymal stem cell")],
    "116792": [("mTOR", "mammalian target of rapamycin"), ("P-S6", "phospho-s6")],
    "118568": [
        ("MODS", "multiple-organ dysfunction syndrome"),
        ("Ang-1", "angiopoietin-1"),
        ("Ang-2", "angiopoietin-2"),
        ("rh", "recombinant human"),
        ("CLP", "cecal ligation and puncture"),
    ],
    "123859": [("MPM", "multiphoton microscopy"), ("PEC", "parietal epithelial cell"), ("PEPCK", "phosphoenolpyruvate carboxykinase")],
    "140874": [("ICR", "imprinting control region"), ("DMR", "differentially methylated region"), ("MAR", "matrix attachment region")],
    "143251": [("ALT", "alternative lengthening of telomeres"), ("PML", "promyelocytic leukemia"), ("APBs", "alt-associated pml bodies")],
    "152245": [("ONNV", "o'nyong-nyong virus")],
    "153744": [("miRNA", "microrna")],
    "159469": [
        ("HTRF", "homogeneous time resolved fluorescence"),
        ("HTS", "high-throughput screening"),
        ("FRET", "fluorescence resonance energy transfer technology"),
        ("TR", "time-resolved measurement"),
        ("Tb", "terbium cryptate"),
    ],
    "164189": [("ATR", "ataxia telangiectasia and rad-3-related")],
}
# The wrong ones: a truncated long form (the algorithm's first-letter rule stops at "inhibition"),
# a long form swallowing a previous definition, a brand name in parentheses, and long forms
# running on past the abbreviated words ("technology", "measurement", "cryptate").
SCIFACT_WRONG = {
    ("ITIM", "inhibition motif"),
    ("hiPSC", "(hescs) and induced pluripotent stem cell"),
    ("Dotarem", "dose of intravenous gadolinium gadoterate meglumine"),
    ("FRET", "fluorescence resonance energy transfer technology"),
    ("TR", "time-resolved measurement"),
    ("Tb", "terbium cryptate"),
}


def test_precision_on_scifact_sample(scifact):
    found = {doc_id: extract_pairs(text) for doc_id, text in scifact[:30]}
    assert {k: v for k, v in found.items() if v} == SCIFACT_SAMPLE
    total = sum(len(v) for v in SCIFACT_SAMPLE.values())
    correct = total - len(SCIFACT_WRONG)
    assert (total, correct) == (50, 44)  # precision 0.88 on this sample


# ---------------------------------------------------------------- mining and the table


@pytest.fixture(scope="module")
def table_rows(scifact, labels):
    return mine_abbreviations([t for _, t in scifact] + list(labels.values()))


def test_mine_counts_documents(table_rows):
    counts = {(s, l): n for s, l, n in table_rows}
    assert counts[("ROS", "reactive oxygen species")] == 31
    assert counts[("NET", "neutrophil extracellular trap")] == 15
    assert counts[("NET", "norepinephrine transporter")] == 2
    # Rows are sorted by short form, most frequent first.
    assert table_rows == sorted(table_rows, key=lambda r: (r[0], -r[2], r[1]))


def test_table_expand(table_rows):
    table = AbbreviationTable(table_rows)
    nets = table.expand("NET")
    # SciFact abstracts use NET for neutrophil extracellular traps; the labels for tumours.
    assert nets[0] == "neutrophil extracellular trap"
    assert table.counts("NET")[1:3] == [("norepinephrine transporter", 2), ("neuroendocrine tumor", 1)]
    assert table.expand("NETs") == nets
    assert table.expand("PNET")[0] == "pancreatic neuroendocrine tumor"
    assert table.expand("pNET") == ["pancreatic neuroendocrine tumors"]
    assert table.expand("XYZQ") == []
    assert AbbreviationTable(table.rows()).rows() == table.rows()


def test_build_from_texts_min_count(scifact, labels):
    texts = [t for _, t in scifact[:2000]] + list(labels.values())
    table = AbbreviationTable.build_from_texts(texts, min_count=2)
    assert "pNET" not in table  # defined by one label only
    assert "GEP-NET" not in table
    assert "PNET" not in table  # Afinitor writes it twice ("tumor", "tumors"): still one label
    assert table.expand("ROS")[0] == "reactive oxygen species"
    assert table.counts("NET")[0] == ("neutrophil extracellular trap", 5)
