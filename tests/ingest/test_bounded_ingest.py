"""Bounded ingest: decompression bombs are refused with bounded memory, blank lines cost nothing,
and a file of a million bad lines logs a bounded number of errors (issue 9, item 3).

Every bomb is built in tmp_path at test time around a real label line from ../shared/data.
"""

import gzip
import tracemalloc
import zipfile
import zlib

from medcite.index.store import open_store
from medcite.ingest.driver import ingest_paths
from medcite.settings import Settings

LABELS = "fda_labels_openfda_pharmgkb/openfda_labels.jsonl.gz"
SCIFACT = "beir_scifact/corpus.jsonl.gz"
MB = 1 << 20


def _first_label(shared_data) -> bytes:
    with gzip.open(shared_data / LABELS, "rb") as fh:
        return fh.readline()


def _blank_line_bomb(path, first_line: bytes, gigabytes: int = 1) -> None:
    """Write `first_line` then `gigabytes` GB of blank lines as a multi-member gzip (~1 KB per GB):
    one member of 1 MB of newlines, repeated."""
    member = gzip.compress(b"\n" * MB, compresslevel=9)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(first_line))
        for _ in range(1024 * gigabytes):
            fh.write(member)


def _ingest(tmp_path, files, **overrides):
    db = tmp_path / "idx.db"
    store = open_store(db)
    try:
        report = ingest_paths(store, files, Settings(index_path=str(db), embed_at_ingest=False, **overrides))
        logged = store.conn.execute("SELECT COUNT(*) FROM ingest_log WHERE status='error'").fetchone()[0]
        documents = store.stats()["documents"]
    finally:
        store.close()
    return report, logged, documents


def _ingest_measured(tmp_path, files, **overrides):
    """Return _ingest(...) and the peak Python memory it took (tracemalloc)."""
    tracemalloc.start()
    try:
        result = _ingest(tmp_path, files, **overrides)
        return (*result, tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def test_gzip_bomb_of_blank_lines_is_refused_with_bounded_memory(shared_data, tmp_path):
    bomb = tmp_path / "labels.jsonl.gz"
    _blank_line_bomb(bomb, _first_label(shared_data), gigabytes=1)
    assert bomb.stat().st_size < 2 * MB
    report, logged, documents, peak = _ingest_measured(tmp_path, [bomb])
    assert report.errors == [f"{bomb}: {bomb.stat().st_size:,} compressed bytes inflate more than 100-fold "
                             "(a decompression bomb?); refused (limit MEDCITE_INGEST_MAX_RATIO)"]
    assert logged == 1
    assert documents == 1  # the real label before the blank lines is kept
    assert peak < 64 * MB, f"peak Python memory {peak / MB:.0f} MB"


def test_blank_lines_are_skipped_in_constant_memory(shared_data, tmp_path):
    # 12 MB of blank lines after a real label: under the ratio check, read to the end.
    first = _first_label(shared_data)
    path = tmp_path / "padded.jsonl.gz"
    path.write_bytes(gzip.compress(first + b"\n \r\n\t\n" * (2 * MB) + first, compresslevel=9))
    report, logged, documents, peak = _ingest_measured(tmp_path, [path])
    assert report.errors == [] and logged == 0
    assert report.sources["label/openfda_json"].documents == 2 and documents == 1  # the same label twice
    assert peak < 48 * MB, f"peak Python memory {peak / MB:.0f} MB"


def test_inflated_size_limit_names_the_file_and_the_setting(shared_data, tmp_path):
    corpus = shared_data / SCIFACT  # 3 MB that inflate to 15 MB
    report, logged, documents = _ingest(tmp_path, [corpus], ingest_max_inflated_mb=4)
    assert report.errors == [f"{corpus}: decompresses to more than 4 MB; refused (limit MEDCITE_INGEST_MAX_INFLATED_MB); "
                             "split the file or raise the limit"]
    assert logged == 1
    assert 0 < documents < 5183  # what was read before the limit is kept


def test_zip_member_bomb_is_refused(shared_data, tmp_path):
    archive = tmp_path / "drug-label-0001-of-0001.json.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("drug-label-0001-of-0001.jsonl", "w") as member:
            member.write(_first_label(shared_data))
            blank = b"\n" * MB
            for _ in range(64):
                member.write(blank)
    report, logged, documents = _ingest(tmp_path, [archive])
    assert len(report.errors) == 1 and report.errors[0].startswith(f"{archive}: ")
    assert "inflate more than 100-fold" in report.errors[0]
    assert documents == 1


def test_errors_per_file_are_capped_first_kept_rest_counted(shared_data, tmp_path):
    lines = 250_000  # `{}` lines after a real label (the issue had a million: README "Security" has that run)
    path = tmp_path / "labels.jsonl.gz"
    path.write_bytes(gzip.compress(_first_label(shared_data) + b"{}\n" * lines, compresslevel=9))
    report, logged, documents = _ingest(tmp_path, [path], ingest_max_errors_per_file=100)
    assert documents == 1
    assert len(report.errors) == 101 and logged == 101
    assert report.errors[0] == f"{path} [line 2]: record has no set_id"
    assert report.errors[99] == f"{path} [line 101]: record has no set_id"
    assert report.errors[100] == (f"{path}: {lines - 100:,} more errors not shown (the first 100 are; "
                                  "limit MEDCITE_INGEST_MAX_ERRORS_PER_FILE)")


def test_truncated_member_after_a_bounded_chunk_still_reports_truncation(shared_data, tmp_path):
    # A stream cut inside a member whose output fills whole chunks: the cut is still reported.
    data = gzip.compress(_first_label(shared_data) + b"\n" * (3 * MB))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) - 12])
    report, _, documents = _ingest(tmp_path, [path])
    assert documents == 1
    assert len(report.errors) == 1 and "truncated gzip file" in report.errors[0]
    zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)  # the uncut stream itself is valid


def test_pubmed_xml_gzip_bomb_is_refused(shared_data, tmp_path):
    # a real efetch file with 300 MB of spaces before its closing tag
    xml = (shared_data / "pubmed_xml_samples" / "pubmed-29768149.xml").read_bytes()
    cut = xml.rindex(b"</PubmedArticleSet>")
    bomb = tmp_path / "pubmed-29768149.xml.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(xml[:cut])
        for _ in range(300):
            fh.write(b" " * MB)
        fh.write(xml[cut:])
    report, logged, documents = _ingest(tmp_path, [bomb])
    assert len(report.errors) == 1 and report.errors[0].startswith(f"{bomb}: ") and "100-fold" in report.errors[0]
    assert logged == 1 and documents == 1  # the article before the padding is kept
