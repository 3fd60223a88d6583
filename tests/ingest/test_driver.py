"""The ingest driver on real files: idempotence, replacement, bad input, kill -9 and resume."""

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from medcite.index.store import open_store
from medcite.ingest.driver import ingest_paths
from medcite.settings import Settings

LABELS = "fda_labels_openfda_pharmgkb/openfda_labels.jsonl.gz"
NGC = "guidelines_ngc_ahrq/ngc_guideline_summaries.jsonl.gz"


def _settings(path):
    return Settings(index_path=str(path), embed_at_ingest=False)


def _snapshot(path):
    """Everything stored that bad input must not change: documents with hashes, passages, dictionary."""
    conn = sqlite3.connect(path)
    docs = conn.execute("SELECT doc_id, content_hash FROM documents ORDER BY doc_id").fetchall()
    passages = conn.execute("SELECT COUNT(*), SUM(LENGTH(text)) FROM passages").fetchone()
    drugs = conn.execute("SELECT COUNT(*) FROM drug_names").fetchone()
    version = conn.execute("SELECT value FROM meta WHERE key='corpus_version'").fetchone()
    conn.close()
    return docs, passages, drugs, version


def _first_lines(src, n):
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        return [next(fh) for _ in range(n)]


@pytest.fixture()
def small_index(shared_data, tmp_path):
    """An index of the first 20 real openFDA labels."""
    subset = tmp_path / "labels20.jsonl"
    subset.write_text("".join(_first_lines(shared_data / LABELS, 20)), encoding="utf-8")
    path = tmp_path / "idx.db"
    store = open_store(path)
    report = ingest_paths(store, [subset], _settings(path))
    store.close()
    assert report.sources["label/openfda_json"].added == 20
    return path, subset


def test_reingest_is_noop_and_changed_record_replaces(small_index, tmp_path):
    path, subset = small_index
    before = _snapshot(path)
    store = open_store(path)
    again = ingest_paths(store, [subset], _settings(path), force=True)
    assert again.sources["label/openfda_json"].unchanged == 20
    assert again.sources["label/openfda_json"].added == 0
    assert _snapshot(path) == before  # same content hash: nothing rewritten, version unchanged

    # A changed version of one real record (its own effective time moved) replaces the old one.
    lines = subset.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["version"] = str(int(record["version"]) + 1)
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps(record) + "\n", encoding="utf-8")
    report = ingest_paths(store, [changed], _settings(path))
    assert report.sources["label/openfda_json"].replaced == 1
    doc = store.get_document(f"spl:{record['set_id']}")
    assert doc.version == record["version"]
    assert store.corpus_version() == int(before[3][0]) + 1
    assert store.stats()["documents"] == 20
    store.close()


def _bad_inputs(shared_data, tmp_path):
    raw = gzip.open(shared_data / LABELS).read()
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(gzip.compress(raw)[: 200_000])
    corrupted = tmp_path / "corrupted.jsonl"
    lines = _first_lines(shared_data / LABELS, 3)
    corrupted.write_text(lines[0] + lines[1][: len(lines[1]) // 2] + "\n" + lines[2], encoding="utf-8")
    no_id = tmp_path / "no_id.jsonl"
    record = json.loads(lines[0])
    del record["set_id"]
    no_id.write_text(json.dumps(record) + "\n", encoding="utf-8")
    empty = tmp_path / "empty.json"
    empty.write_text("")
    unknown = tmp_path / "notes.bin"
    unknown.write_bytes(b"\x00\x01binary")
    return truncated, corrupted, no_id, empty, unknown


def test_bad_input_reports_one_line_each_and_changes_nothing_stored(shared_data, small_index, tmp_path):
    path, _ = small_index
    before = _snapshot(path)
    truncated, corrupted, no_id, empty, unknown = _bad_inputs(shared_data, tmp_path)
    store = open_store(path)
    # Only bad files here; each is reported, the good records inside them still come through.
    report = ingest_paths(store, [corrupted, no_id, empty, unknown], _settings(path))
    errors = report.errors
    assert any(e.startswith(str(corrupted)) and "line 2" in e for e in errors), errors
    assert any(e.startswith(str(no_id)) and "set_id" in e for e in errors), errors
    assert any(e.startswith(str(empty)) and "empty" in e for e in errors), errors
    assert any(e.startswith(str(unknown)) and "unknown format" in e for e in errors), errors
    assert all("\n" not in e for e in errors)
    # corrupted.jsonl still yields its 2 good records (both among the 20 already stored: no-ops).
    assert report.sources["label/openfda_json"].unchanged == 2
    assert report.sources["label/openfda_json"].added == 0
    logged = store.conn.execute("SELECT COUNT(*) FROM ingest_log WHERE status='error'").fetchone()[0]
    assert logged == len(errors)
    docs_after = dict(store.conn.execute("SELECT doc_id, content_hash FROM documents").fetchall())
    for doc_id, digest in before[0]:
        assert docs_after[doc_id] == digest  # nothing already stored changed
    store.close()


def test_truncated_gzip_keeps_records_read_before_the_cut(shared_data, tmp_path):
    truncated, *_ = _bad_inputs(shared_data, tmp_path)
    path = tmp_path / "t.db"
    store = open_store(path)
    report = ingest_paths(store, [truncated], _settings(path))
    assert len(report.errors) == 1 and report.errors[0].startswith(str(truncated))
    n = report.sources["label/openfda_json"].added
    assert 0 < n < 363
    assert store.stats()["documents"] == n
    store.close()


@pytest.mark.parametrize("query", ['"everolimus', "everolimus*", "NEAR(a b)", "-pancreatic", "tier:label", "AND OR NOT", "((", ""])
def test_queries_with_fts_syntax_never_raise(small_index, query):
    path, _ = small_index
    store = open_store(path, readonly=True)
    hits = store.search(query, k=5)
    assert isinstance(hits, list)
    store.close()


def test_kill_9_mid_ingest_leaves_consistent_index_and_resumes(shared_data, tmp_path):
    path = tmp_path / "kill.db"
    files = [str(shared_data / LABELS), str(shared_data / NGC)]
    cmd = [sys.executable, "-m", "medcite.cli", "ingest", *files, "--index", str(path), "--no-embed", "--silent"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    count = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
            count = conn.execute("SELECT COUNT(*) FROM documents WHERE tier='guideline'").fetchone()[0]
            conn.close()
        except sqlite3.Error:
            continue
        if count >= 200:  # labels done, guidelines half-way
            break
    assert proc.poll() is None, "ingest finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    orphans = conn.execute(
        "SELECT COUNT(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM passages p WHERE p.doc_id=d.doc_id)"
    ).fetchone()[0]
    assert orphans == 0  # every committed document has its passages: batches are atomic
    n_killed = conn.execute("SELECT COUNT(*) FROM documents WHERE tier='guideline'").fetchone()[0]
    assert 200 <= n_killed < 1416
    conn.close()

    store = open_store(path)
    report = ingest_paths(store, [shared_data / LABELS, shared_data / NGC], _settings(path))
    assert report.files_already_done == 1  # the labels file was finished before the kill
    ngc = report.sources["guideline/ngc_json"]
    assert ngc.unchanged == n_killed and ngc.added == 1416 - n_killed
    assert store.stats()["tiers"]["guideline"]["documents"] == 1416
    # The BM25 index left behind by the kill was rebuilt: guidelines stored before the kill are searchable.
    assert store.lexical.built_version() == store.corpus_version()
    hits = store.search("somatostatin analogues neuroendocrine tumours", k=5, tier="guideline")
    assert any(h.doc_id == "ngc:10883" for h in hits)
    store.close()


def test_older_version_from_another_format_never_replaces_newer(shared_data, tmp_path):
    """The SPL XML sample of Lipitor (version 11, 2014) must not replace its openFDA record (version 38)."""
    path = tmp_path / "v.db"
    store = open_store(path)
    ingest_paths(store, [shared_data / LABELS], _settings(path))
    xml = shared_data / "fda_spl_xml_samples" / "xml" / "lipitor-orig.xml"
    report = ingest_paths(store, [xml], _settings(path))
    assert report.sources["label/spl_xml"].unchanged == 1 and report.sources["label/spl_xml"].replaced == 0
    doc = store.get_document("spl:c6e131fe-e7df-4876-83f7-9156fc4e8228")
    assert (doc.source_kind, doc.version, doc.date) == ("openfda_json", "38", "2022-12-01")
    store.close()
