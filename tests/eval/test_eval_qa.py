"""`medcite eval qa` on the real K-QA and MedicationQA files, against the shared corpus index."""

import json

from click.testing import CliRunner

from medcite.cli import cli
from medcite.eval.qa import content_word_recall, in_split, load_items


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_splits_and_files(shared_data):
    dataset, items = load_items(shared_data / "eval_kqa" / "questions_w_answers.jsonl")
    assert dataset == "kqa" and len(items) == 201 and items[8].statements
    assert [i.index for i in items if in_split("kqa", i.index, "eval")][:3] == [0, 8, 16]
    assert not in_split("kqa", 8, "dev") and in_split("kqa", 9, "dev")
    dataset, items = load_items(shared_data / "eval_medicationqa" / "medicationqa.json")
    assert dataset == "medicationqa" and items[1].gold_intent == "mechanism"  # "Action"


def test_content_word_recall():
    statements = ["Escitalopram is an antidepressant", "Headache"]
    assert content_word_recall(statements, ["escitalopram is an SSRI antidepressant"]) == 0.5
    assert content_word_recall([], ["anything"]) is None


def test_eval_qa_kqa(corpus_index, shared_data):
    args = ["eval", "qa", str(shared_data / "eval_kqa" / "questions_w_answers.jsonl"), "--index", str(corpus_index),
            "--limit", "2", "--no-similarity", "--mode", "bm25", "--json", "--silent"]
    data = _json(CliRunner().invoke(cli, args))
    dev, ev = data["splits"]
    assert (dev["split"], ev["split"]) == ("dev", "eval")
    for s in (dev, ev):
        assert s["questions"] == 2 and s["answered"] + s["abstained"] == 2
        assert 0 <= s["recall_proxy"]["content_words"] <= 1 and s["recall_proxy"]["minilm"] is None
        assert s["latency"]["p50"] > 0
    assert [i["index"] for i in data["items"]["eval"]] == [0, 8]


def test_eval_qa_medicationqa_intents(corpus_index, shared_data):
    args = ["eval", "qa", str(shared_data / "eval_medicationqa" / "medicationqa.json"), "--index", str(corpus_index),
            "--limit", "40", "--split", "dev", "--intent-only", "--json", "--silent"]
    (dev,) = _json(CliRunner().invoke(cli, args))["splits"]
    assert dev["questions"] == 40 and dev["intent"]["evaluated"] >= 35
    assert 0.4 <= dev["intent"]["accuracy"] <= 1.0
    table = CliRunner().invoke(cli, args[:-2] + ["--silent"])
    assert table.exit_code == 0 and "medicationqa — answers" in table.output
