"""The Store conformance suite on the embedded default (SQLite + tantivy + exact vectors)."""

import itertools

import pytest

from medcite.index.store import SQLiteStore, open_store

from store_contract import StoreContract  # tests/index is on sys.path (rootdir-relative imports)


class SQLiteBackend:
    """Fresh SQLite files in one temporary folder."""

    def __init__(self, folder):
        self.folder = folder
        self._n = itertools.count()

    def new(self) -> SQLiteStore:
        return open_store(self.folder / f"store{next(self._n)}.db")

    def reopen(self, store, readonly: bool) -> SQLiteStore:
        return open_store(store.location, readonly=readonly)


class TestSQLiteStore(StoreContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, tmp_path_factory):
        return SQLiteBackend(tmp_path_factory.mktemp("sqlite-contract"))
