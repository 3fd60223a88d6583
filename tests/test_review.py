"""Batch review (`medcite review`): cases built from real labels, verdict categories, bad rows, resume."""

import csv
import gzip
import json
import re

import pytest
from click.testing import CliRunner

from medcite.analyze.regimen import find_doses, find_frequencies
from medcite.records import RecordError
from medcite.review import CATEGORIES, read_cases, read_results, run_review
from medcite.settings import Settings

FARESTON = "2cab8dd1-3a10-48e6-86ce-0e5275ed49e5"
PROMACTA = "7714a0ed-34bb-46e6-a0a5-b363908b22c2"


@pytest.fixture(scope="module")
def cases(shared_data) -> list[dict]:
    """Four cases whose facts come from the shared data, one per expected category."""
    with gzip.open(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz", "rt", encoding="utf-8") as f:
        labels = {r["set_id"]: r for r in map(json.loads, f) if r["set_id"] in (FARESTON, PROMACTA)}
    dosage = labels[FARESTON]["dosage_and_administration"][0]
    dose, freq = find_doses(dosage)[0], find_frequencies(dosage)[0]
    indication = re.search(r"metastatic breast cancer", labels[FARESTON]["indications_and_usage"][0]).group(0)
    # Promacta's Limitations of Use: "PROMACTA is not indicated for the treatment of patients with <condition> (MDS)."
    excluded = re.search(r"not indicated for the treatment of patients with ([a-z ]+?) \(MDS\)",
                         labels[PROMACTA]["indications_and_usage"][0]).group(1)
    rows = json.loads((shared_data / "eval_medicationqa" / "medicationqa.json").read_text(encoding="utf-8"))
    question = next(r["Question"] for r in rows if r["Focus (Drug)"].lower() == "anastrozole")
    return [
        {"id": "fareston-label", "case": f"A postmenopausal woman with {indication}. Plan: start toremifene {dose.text} orally {freq.text}."},
        {"id": "fareston-10x", "case": f"A postmenopausal woman with {indication}. Plan: start toremifene "
                                       f"{dose.value * 10:g} {dose.unit} orally {freq.text}."},
        {"id": "promacta-mds", "case": f"A patient with {excluded}. Plan: start eltrombopag."},
        {"id": "medicationqa", "question": question},
    ]


EXPECTED = {"fareston-label": "on-label", "fareston-10x": "dose mismatch", "promacta-mds": "not indicated", "medicationqa": "unclear"}


def write_jsonl(path, rows, extra_lines=()):
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
        for line in extra_lines:
            f.write(line + "\n")


def test_read_cases_reports_bad_rows(tmp_path, cases):
    path = tmp_path / "cases.jsonl"
    write_jsonl(path, cases[:2], ['{"id": "x"', '{"case": "no id here"}', '["a list"]', json.dumps(cases[0]), '{"id": "empty", "case": " "}'])
    items = list(read_cases(path))
    assert [i.id for i in items if not isinstance(i, RecordError)] == ["fareston-label", "fareston-10x"]
    assert [e.line() for e in items if isinstance(e, RecordError)] == [
        f"{path} [line 3]: not JSON (Expecting ',' delimiter)",
        f"{path} [line 4]: no `id`",
        f"{path} [line 5]: expected a JSON object",
        f"{path} [line 6]: duplicate id 'fareston-label'; the first one is kept",
        f"{path} [line 7 id=empty]: no `case` or `question` text",
    ]


def test_review_sorts_cases_and_resumes(tmp_path, corpus_store, cases):
    settings = Settings(index_path=str(corpus_store.path), embed_at_ingest=False)
    path, out = tmp_path / "cases.jsonl", tmp_path / "results.jsonl"
    write_jsonl(path, cases[:2])
    first = run_review(corpus_store, path, out, settings=settings)
    assert (first.total, first.answered, first.skipped, first.failed) == (2, 2, 0, 0)

    # The queue grows; a run killed while writing left half a line behind.
    write_jsonl(path, cases)
    with out.open("a", encoding="utf-8") as f:
        f.write('{"id": "promacta-mds", "categ')
    progress = []
    second = run_review(corpus_store, path, out, settings=settings, on_case=lambda case, cat: progress.append((case.id, cat)))
    assert (second.total, second.answered, second.skipped) == (4, 2, 2)
    assert progress == [("promacta-mds", "not indicated"), ("medicationqa", "unclear")]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [c["id"] for c in cases]
    results = read_results(out)
    assert {k: v["category"] for k, v in results.items()} == EXPECTED
    assert second.categories == {"on-label": 1, "not indicated": 1, "dose mismatch": 1, "unclear": 1, "contraindicated": 0, "off-label": 0}

    mismatch = results["fareston-10x"]["verdicts"]
    assert [(v["drug"], v["indication"], v["dose"]["status"], v["frequency"]["status"], v["route"]["status"]) for v in mismatch] == [
        ("toremifene", "on_label", "mismatch", "matches", "matches")]
    assert mismatch[0]["dose"]["prescribed"] == "600 mg"
    assert mismatch[0]["label"]["set_id"] == FARESTON
    assert results["medicationqa"]["verdicts"] == []

    third = run_review(corpus_store, path, out, settings=settings)
    assert (third.answered, third.skipped) == (0, 4)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


def test_review_command_on_csv(tmp_path, corpus_index, cases):
    from medcite.cli import cli

    path, out = tmp_path / "queue.csv", tmp_path / "out.jsonl"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "case", "question"])
        writer.writeheader()
        for row in cases:
            writer.writerow(row)
        writer.writerow({"id": "", "case": "no id"})
    runner = CliRunner()
    args = ["review", str(path), "--out", str(out), "--index", str(corpus_index), "--silent"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"error: {path} [line 6]: no `id`" in result.output
    for name in CATEGORIES:
        expected = 0 if name in ("contraindicated", "off-label") else 1
        assert re.search(rf"{name}\s*│\s*{expected}\b", result.stdout), result.stdout
    assert "cases read: 4, answered now: 4, already done: 0, failed: 0, unreadable rows: 1" in result.stdout

    again = runner.invoke(cli, args + ["--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["answered"], summary["skipped"]) == (0, 4)
    assert summary["categories"] == {"on-label": 1, "not indicated": 1, "dose mismatch": 1, "unclear": 1, "contraindicated": 0, "off-label": 0}


def test_review_rejects_other_formats(tmp_path, corpus_index):
    from medcite.cli import cli

    path = tmp_path / "cases.txt"
    path.write_text("id,case\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["review", str(path), "--out", str(tmp_path / "o.jsonl"), "--index", str(corpus_index)])
    assert result.exit_code == 1
    assert f"{path}: cases must be a .csv or .jsonl file (fields: id, and case or question)" in result.output
