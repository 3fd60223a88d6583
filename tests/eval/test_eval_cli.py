"""`medcite eval beir` and `medcite eval bioasq` end to end, through click's CliRunner.

BEIR: a slice of SciFact written to a temporary BEIR folder: the abstracts judged for the first 30
test claims, then the corpus in order up to 120 abstracts, with the test claims whose judged
abstracts are all in the slice. BioASQ: the real 12B1 golden file (85 questions), BM25 only.
"""

import gzip
import json
import sqlite3

import pytest
from click.testing import CliRunner

from medcite.cli import cli
from medcite.eval.metrics import read_trec_run

SLICE_DOCS = 120
SLICE_QUERIES = 39  # test claims whose judged abstracts are all in the slice
SLICE_PASSAGES = 200
BIOASQ_DOCS = 1415  # PMIDs with at least one gold snippet in 12B1


@pytest.fixture(scope="module")
def scifact_slice(shared_data, tmp_path_factory):
    src = shared_data / "beir_scifact"
    rows = [r.split("\t") for r in (src / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    qrels: dict[str, set[str]] = {}
    for qid, doc, _score in rows:
        qrels.setdefault(qid, set()).add(doc)
    first = sorted(qrels, key=int)[:30]
    wanted = {d for q in first for d in qrels[q]}
    lines = []
    with gzip.open(src / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            _id = json.loads(line)["_id"]
            if _id in wanted or len(lines) < SLICE_DOCS - len(wanted):
                lines.append(line)
                wanted.discard(_id)
    kept = {json.loads(line)["_id"] for line in lines}
    folder = tmp_path_factory.mktemp("scifact_slice")
    (folder / "qrels").mkdir()
    (folder / "corpus.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "queries.jsonl").write_text((src / "queries.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    judged = [r for r in rows if qrels[r[0]] <= kept]
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join("\t".join(r) + "\n" for r in judged), encoding="utf-8"
    )
    return folder


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_slice_shape(scifact_slice):
    assert sum(1 for _ in (scifact_slice / "corpus.jsonl").open()) == SLICE_DOCS
    judged = {line.split("\t")[0] for line in (scifact_slice / "qrels" / "test.tsv").read_text().splitlines()[1:]}
    assert len(judged) == SLICE_QUERIES


def test_eval_beir_bm25_json_and_run_file(scifact_slice, tmp_path):
    run_file = tmp_path / "bm25.run"
    out = _json(CliRunner().invoke(cli, ["eval", "beir", str(scifact_slice), "--mode", "bm25", "--json",
                                         "--run", str(run_file), "--silent"]))
    assert (out["dataset"], out["split"], out["mode"], out["queries"]) == ("scifact_slice0", "test", "bm25", SLICE_QUERIES)
    assert (out["documents"], out["passages"]) == (SLICE_DOCS, SLICE_PASSAGES)
    assert out["metrics"] == {"ndcg@10": 0.8834, "recall@10": 0.9487, "recall@100": 0.9487, "mrr@10": 0.8607}
    run = read_trec_run(run_file)
    assert len(run) == SLICE_QUERIES
    # Claim 1's ranking starts with abstract 393001 (66 abstracts share a term with it).
    assert run_file.read_text().splitlines()[0] == "1 Q0 393001 1 66 medcite-bm25"
    assert len(run["1"]) == 66


def test_eval_beir_hybrid_default_table(scifact_slice, tmp_path):
    result = CliRunner().invoke(cli, ["eval", "beir", str(scifact_slice), "--workdir", str(tmp_path / "w"), "--silent"])
    assert result.exit_code == 0, result.output
    assert "scifact_slice0 (test) — hybrid" in result.stdout
    for header in ("nDCG@10", "Recall@10", "Recall@100", "MRR@10", "queries/s"):
        assert header in result.stdout
    # The kept work folder is reused: the second run embeds nothing and gives the same metrics.
    first = _json(CliRunner().invoke(cli, ["eval", "beir", str(scifact_slice), "--workdir", str(tmp_path / "w"),
                                           "--json", "--silent"]))
    assert first["mode"] == "hybrid"
    assert first["metrics"] == {"ndcg@10": 0.8987, "recall@10": 0.9487, "recall@100": 1.0, "mrr@10": 0.8846}
    db = sqlite3.connect(tmp_path / "w" / "eval.db")
    assert db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == SLICE_PASSAGES


def test_eval_bioasq_bm25(shared_data):
    path = shared_data / "bioasq_12b_golden" / "12B1_golden.json"
    out = _json(CliRunner().invoke(cli, ["eval", "bioasq", str(path), "--mode", "bm25", "--json", "--silent"]))
    assert (out["dataset"], out["queries"], out["documents"]) == ("bioasq:12B1", 85, BIOASQ_DOCS)
    assert out["metrics"] == {"ndcg@10": 0.8217, "recall@10": 0.4942, "recall@100": 0.8445, "mrr@10": 0.9286}


def test_eval_beir_missing_split_is_one_line(scifact_slice):
    result = CliRunner().invoke(cli, ["eval", "beir", str(scifact_slice), "--split", "dev", "--silent"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {scifact_slice}: no qrels/dev.tsv; splits here: test"

