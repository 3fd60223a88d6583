"""BM25 search pins on the real corpus, one or more per tier, and `medcite search/show/stats` end to end."""

import json

from click.testing import CliRunner

from medcite.cli import cli

AFINITOR = "spl:2150f73a-179b-4afc-b8ce-67c85cc72f04"


def _search(store, query, tier, k=3):
    return store.search(query, k=k, tier=tier)


def test_label_pin_everolimus_pnet_indications_in_top3(corpus_store):
    hits = _search(corpus_store, "everolimus pancreatic neuroendocrine", "label")
    assert any(h.doc_id == AFINITOR and h.section_code == "34067-9" for h in hits[:3]), [(h.doc_id, h.section) for h in hits]


def test_label_pin_carbamazepine_hla_boxed_warning_first(corpus_store):
    hits = _search(corpus_store, "carbamazepine HLA-B*1502 Stevens-Johnson", "label")
    assert hits[0].title.startswith("Tegretol") and hits[0].section_code == "34066-1"


def test_guideline_pins(corpus_store):
    hits = _search(corpus_store, "somatostatin analogues neuroendocrine tumours", "guideline")
    assert hits[0].doc_id == "ngc:10883"
    hits = _search(corpus_store, "carbamazepine HLA-B*1502 Stevens-Johnson", "guideline")
    assert hits[0].doc_id == "ngc:10701" and "HLA-B*15:02" in hits[0].section
    hits = _search(corpus_store, "pancreatic neuroendocrine tumor everolimus sunitinib", "guideline", k=5)
    assert "ngc:10737" in {h.doc_id for h in hits}


def test_research_pin_known_item(shared_data, corpus_store):
    records = json.loads((shared_data / "pubmedqa" / "ori_pqal.json").read_text())
    pmid, record = sorted(records.items())[0]
    query = " ".join(record["CONTEXTS"][0].split()[:25])  # the opening of the real abstract
    hits = _search(corpus_store, query, "research", k=1)
    assert hits[0].doc_id == f"pmid:{pmid}"


def test_tier_filter_and_doc_filter(corpus_store):
    hits = corpus_store.search("neuroendocrine", k=20, tier="label")
    assert hits and all(h.tier == "label" for h in hits)
    hits = corpus_store.search("dosage", k=20, doc_ids=[AFINITOR])
    assert hits and {h.doc_id for h in hits} == {AFINITOR}
    assert corpus_store.search("dosage", k=5, doc_ids=[]) == []


def test_cli_search_show_stats_json(corpus_index):
    runner = CliRunner()
    out = runner.invoke(cli, ["search", "everolimus pancreatic neuroendocrine", "--tier", "label", "-k", "3",
                              "--json", "--index", str(corpus_index), "--mode", "bm25"])
    assert out.exit_code == 0, out.output
    hits = json.loads(out.output)
    assert set(hits[0]) == {"passage_id", "doc_id", "source_id", "source_kind", "tier", "title", "section",
                            "section_code", "score", "url", "snippet"}
    assert AFINITOR in {h["doc_id"] for h in hits}

    out = runner.invoke(cli, ["show", AFINITOR, "--json", "--index", str(corpus_index)])
    doc = json.loads(out.output)
    assert doc["source_id"] == "2150f73a-179b-4afc-b8ce-67c85cc72f04"
    assert "34067-9" in {s["code"] for s in doc["sections"]}

    out = runner.invoke(cli, ["stats", "--json", "--index", str(corpus_index)])
    stats = json.loads(out.output)
    assert stats["tiers"]["label"]["sources"]["openfda_json"]["documents"] == 363
    assert stats["tiers"]["guideline"]["sources"]["ngc_json"]["documents"] == 1416
    assert stats["tiers"]["guideline"]["sources"]["pdq_md"]["documents"] == 123
    assert stats["tiers"]["research"]["sources"]["pubmedqa"]["documents"] == 1000
    assert set(stats["drug_dictionary"]["sources"]) == {"labels", "drugsfda", "drugbank"}


def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["stats", "--index", str(tmp_path / "missing.db")])
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [f"Error: {tmp_path / 'missing.db'}: no index here; run `medcite ingest PATH` first (or pass --index)"]
    runner.invoke(cli, ["ingest", "--no-embed", "--silent", "--index", str(tmp_path / "x.db"), str(tmp_path / "nothing.json")])
    out = runner.invoke(cli, ["show", "pmid:0", "--index", str(tmp_path / "x.db")])
    assert out.exit_code == 1 and "pmid:0: no such document" in out.output
