"""`ingest --ray` on real files: the same store as the plain ingest, a killed worker retried, a
stopped driver resumed without loss or duplication. One local Ray cluster for the module."""

import gzip
import os
import shutil
import signal
import sqlite3
import time

from pathlib import Path

import numpy as np
import pytest

from medcite.index.store import open_store
from medcite.ingest.distributed import ingest_paths_ray, ray_cluster
from medcite.ingest.driver import ingest_paths
from medcite.settings import Settings

# A small real subset that still has every kind of record: labels (openFDA JSON and one SPL XML),
# guidelines, PubMed abstracts, drug names, and one record every reader rejects (METHOXSALEN.xml
# is an indexing document, not a label).
FIRST_LINES = {
    "fda_labels_openfda_pharmgkb/openfda_labels.jsonl.gz": 3,
    "guidelines_ngc_ahrq/ngc_guideline_summaries.jsonl.gz": 4,
}
WHOLE_FILES = (
    "pubmed_xml_samples/biopython_pubmed1.xml",
    "pubmed_xml_samples/biopython_pubmed2.xml",
    "pubmed_xml_samples/pubmed-29768149.xml",
    "fda_spl_xml_samples/xml/cough.xml",
    "fda_spl_xml_samples/xml/METHOXSALEN.xml",
)


def _settings(path) -> Settings:
    return Settings(index_path=str(path), dense_tiers="all")


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray cluster (2 CPUs) for the module."""
    with ray_cluster(None, num_cpus=2) as ray:
        yield ray


@pytest.fixture(scope="module")
def subset(shared_data, tmp_path_factory):
    """A folder of real records: the first lines of two JSONL files and a few whole XML files."""
    folder = tmp_path_factory.mktemp("subset")
    for rel, n in FIRST_LINES.items():
        with gzip.open(shared_data / rel, "rt", encoding="utf-8") as fh:
            lines = [next(fh) for _ in range(n)]
        (folder / (rel.split("/")[0] + ".jsonl")).write_text("".join(lines), encoding="utf-8")
    for rel in WHOLE_FILES:
        shutil.copy(shared_data / rel, folder / rel.rsplit("/", 1)[1])
    return folder


@pytest.fixture(scope="module")
def plain(subset, tmp_path_factory):
    """(snapshot, report) of the plain ingest of the subset, every tier embedded."""
    path = tmp_path_factory.mktemp("plain") / "plain.db"
    store = open_store(path)
    report = ingest_paths(store, [subset], _settings(path))
    store.close()
    return _snapshot(path), report


def _snapshot(path) -> dict:
    """Everything the ingest stores, in a form two indexes can be compared by (vectors apart)."""
    conn = sqlite3.connect(path)
    q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
    snap = {
        "documents": q("SELECT doc_id, tier, source_kind, source_id, title, version, meta, content_hash, source_file, "
                       "corpus_version FROM documents ORDER BY rowid"),
        "passages": q("SELECT passage_id, doc_id, ordinal, tier, section, section_code, text FROM passages ORDER BY rowid"),
        "drug_names": q("SELECT * FROM drug_names ORDER BY 1, 2, 3, 4, 5"),
        "abbreviations": q("SELECT * FROM doc_abbreviations ORDER BY 1, 2, 3"),
        "files": q("SELECT path, signature, format, status FROM ingest_files ORDER BY path"),
        "corpus_version": q("SELECT value FROM meta WHERE key='corpus_version'"),
        "errors": q("SELECT source_file, record, message FROM ingest_log WHERE status='error' ORDER BY 1, 2, 3"),
        "vectors": {pid: np.frombuffer(v, dtype=np.float32) for pid, v in q("SELECT passage_id, vector FROM embeddings")},
    }
    conn.close()
    return snap


def _assert_same(got: dict, want: dict) -> None:
    for key in want:
        if key != "vectors":
            assert got[key] == want[key], key
    assert set(got["vectors"]) == set(want["vectors"]) == {p[0] for p in want["passages"]}
    # The same model on the same text; the worker's single ONNX thread may round differently.
    cos = [float(got["vectors"][pid] @ want["vectors"][pid]) for pid in want["vectors"]]
    assert min(cos) > 0.9999


def _counts(report) -> dict:
    return {key: (s.documents, s.passages, s.added, s.replaced, s.unchanged) for key, s in report.sources.items()}


def test_ray_ingest_stores_what_the_plain_ingest_stores(ray_local, subset, plain, tmp_path):
    want, plain_report = plain
    path = tmp_path / "ray.db"
    store = open_store(path)
    report = ingest_paths_ray(store, [subset], _settings(path))
    store.close()
    assert _counts(report) == _counts(plain_report)
    assert report.drug_names == plain_report.drug_names
    assert sorted(report.errors) == sorted(plain_report.errors) and len(report.errors) == 1
    assert report.dense.startswith(f"embedded {len(want['passages'])} on ray")
    _assert_same(_snapshot(path), want)


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _worker_processes(task_name: str) -> list[int]:
    """Return the pids of this test's Ray workers now running `task_name` (Ray names a worker's
    process `ray::<task>` while it runs one); Linux /proc."""
    me, out = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes().split(b"\0")[0] != f"ray::{task_name}".encode():
                continue
            pid = int(entry.name)
            while pid > 1 and pid != me:  # a descendant of this process, not another user's cluster
                pid = _parent(pid)
        except OSError:
            continue
        if pid == me:
            out.append(int(entry.name))
    return out


def test_a_killed_worker_is_retried_and_nothing_is_lost(ray_local, subset, plain, tmp_path):
    want, _ = plain
    path = tmp_path / "ray.db"
    killed: list[int] = []

    def kill_an_embedding_worker(kind):
        # At the first committed batch the driver has queued embedding tasks: kill the worker
        # process running one (SIGKILL, as the OOM killer or a lost node would).
        if killed:
            return
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for pid in _worker_processes("embed_texts"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    store = open_store(path)
    report = ingest_paths_ray(store, [subset], _settings(path), on_commit=kill_an_embedding_worker)
    store.close()
    assert killed, "no embedding worker was running to kill"
    assert report.dense.startswith(f"embedded {len(want['passages'])} on ray")
    _assert_same(_snapshot(path), want)


class DriverStopped(Exception):
    """Raised from the commit hook: the driver dies between two batches."""


def test_a_stopped_driver_resumes_without_loss_or_duplication(ray_local, subset, plain, tmp_path):
    want, _ = plain
    path = tmp_path / "ray.db"
    commits: list[str] = []

    def stop_after_three(kind):
        commits.append(kind)
        if len(commits) == 3:
            raise DriverStopped

    store = open_store(path)
    with pytest.raises(DriverStopped):
        ingest_paths_ray(store, [subset], _settings(path), on_commit=stop_after_three)
    store.close()
    first = _snapshot(path)
    assert 0 < len(first["files"]) < len(want["files"])  # stopped part-way through the files
    assert len(first["vectors"]) < len(want["passages"])

    store = open_store(path)
    report = ingest_paths_ray(store, [subset], _settings(path))
    store.close()
    assert report.files_already_done == len(first["files"])
    # embeddings stored by the first run are not computed again
    assert report.dense.startswith(f"embedded {len(want['passages']) - len(first['vectors'])} on ray")
    got = _snapshot(path)
    for pid, vec in first["vectors"].items():
        assert np.array_equal(got["vectors"][pid], vec)
    # the errors of the file read in both runs are logged once per run, as in the plain path
    got["errors"], want_no_errors = sorted(set(got["errors"])), dict(want, errors=sorted(set(want["errors"])))
    _assert_same(got, want_no_errors)


def test_cli_ingest_with_ray(ray_local, subset, plain, tmp_path):
    from click.testing import CliRunner

    from medcite.cli import cli

    want, _ = plain
    path = tmp_path / "cli.db"
    result = CliRunner().invoke(cli, ["ingest", str(subset), "--index", str(path), "--no-embed", "--silent", "--ray"])
    assert result.exit_code == 0, result.output
    got = _snapshot(path)
    assert got["passages"] == want["passages"] and got["documents"] == want["documents"]
    assert got["vectors"] == {}
    # `--ray PATH` would read the path as a cluster address: refused with the fix
    result = CliRunner().invoke(cli, ["ingest", "--ray", str(subset), str(subset), "--index", str(path)])
    assert result.exit_code == 2
    assert "put --ray after the paths" in result.output
