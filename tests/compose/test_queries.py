"""Which passages count as being about the case's condition (compose/queries.py)."""

import gzip
import json
from pathlib import Path

from medcite.analyze.label_text import terms
from medcite.analyze.facts import case_resources
from medcite.analyze.facts import extract_facts
from medcite.compose.queries import build_queries

SEED = (Path(__file__).resolve().parents[2] / "examples" / "seed-case.txt").read_text().strip()


def _scifact_text(shared_data, doc_id):
    with gzip.open(shared_data / "beir_scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["_id"] == doc_id:
                return rec["title"] + " " + rec["text"]
    raise AssertionError(doc_id)


def test_rarest_condition_word_is_required(shared_data, corpus_store):
    lexicon, abbreviations = case_resources(corpus_store)
    facts = extract_facts(SEED, lexicon, abbreviations)
    loose = build_queries(SEED, facts)
    strict = build_queries(SEED, facts, corpus_store.lexical.doc_freq)
    assert "neuroendocrin" in strict.required
    # A real SciFact abstract on pancreatic adenocarcinoma: "pancreatic" and "tumors", no "neuroendocrine".
    adenocarcinoma = set(terms(_scifact_text(shared_data, "4959368")))
    assert loose.relevant(adenocarcinoma)  # two of three words were enough before
    assert not strict.relevant(adenocarcinoma)
    # A real PubMedQA abstract on GEP-NETs stays relevant.
    records = json.loads((shared_data / "pubmedqa" / "ori_pqal.json").read_text())
    gep = records["26536001"]
    assert strict.relevant(set(terms(gep["QUESTION"] + " " + " ".join(gep["CONTEXTS"]))))
