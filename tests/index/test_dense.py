"""Passage vectors: stored per passage, resumable, tier-selected, and a derived matrix on disk.

Real data: the first 5 abstracts of the SciFact corpus, indexed with the product's code.
"""

import gzip
import json

import numpy as np
import pytest

from medcite.eval.beir import iter_documents
from medcite.eval.runner import index_documents
from medcite.index.dense import DenseIndex, embedding_text, sync_embeddings
from medcite.index.embed import get_embedder, model_name
from medcite.index.store import SQLiteStore
from medcite.settings import Settings


@pytest.fixture()
def store(shared_data, tmp_path):
    lines = []
    with gzip.open(shared_data / "beir_scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            lines.append(line)
            if len(lines) == 5:
                break
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(lines), encoding="utf-8")
    st = SQLiteStore(tmp_path / "index.db")
    index_documents(st, iter_documents(corpus), str(corpus), "five", Settings(), embed=False)
    yield st
    st.close()


def _count(store) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]


def test_sync_embeds_every_research_passage_once(store):
    n = store.conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    assert n == 9
    assert sync_embeddings(store, settings=Settings()) == "embedded 9, matrix rebuilt (9 vectors)"
    assert sync_embeddings(store, settings=Settings()) == "matrix fresh (9 vectors)"
    models = {r[0] for r in store.conn.execute("SELECT DISTINCT model FROM embeddings")}
    assert models == {model_name(64)} == {"all-MiniLM-L6-v2-onnx-int8@64"}
    state = json.loads((store.search_dir / "dense" / "state.json").read_text())
    assert state == {"corpus_version": store.corpus_version(), "model": "all-MiniLM-L6-v2-onnx-int8@64", "count": 9,
                     "last_rowid": 9}


def test_an_interrupted_run_is_resumed(store):
    sync_embeddings(store, settings=Settings())
    # As if the run had been killed before its last chunk was committed.
    with store.transaction():
        store.conn.execute("DELETE FROM embeddings WHERE passage_id IN ('s2:4983#0', 's2:4983#1')")
    assert sync_embeddings(store, settings=Settings()) == "embedded 2, matrix rebuilt (9 vectors)"
    assert _count(store) == 9


def test_only_the_configured_tiers_get_vectors(store):
    assert sync_embeddings(store, settings=Settings(dense_tiers="label,guideline")) == "matrix rebuilt (0 vectors)"
    assert _count(store) == 0


def test_matrix_search_finds_a_passage_from_its_own_text(store):
    sync_embeddings(store, settings=Settings())
    title, section, text = store.conn.execute(
        "SELECT d.title, p.section, p.text FROM passages p JOIN documents d USING (doc_id) WHERE p.passage_id='s2:4983#1'"
    ).fetchone()
    vec = get_embedder(64).embed([embedding_text(title, section, text)])[0]
    assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)
    # A reader of the same index (read-only, as `medcite serve` opens it) loads the matrix from disk.
    reader = SQLiteStore(store.path, readonly=True)
    index = DenseIndex(reader, model_name(64))
    assert index.sync() == "loaded"
    hits = index.search(vec, 3)
    assert hits[0][0] == "s2:4983#1" and hits[0][1] == pytest.approx(1.0, abs=1e-4)
    assert index.search(vec, 3, doc_ids=["s2:5836"]) == [(p, pytest.approx(s)) for p, s in index.search(vec, 9)
                                                         if p.startswith("s2:5836#")][:3]
    assert index.search(vec, 3, tier="label") == []
    reader.close()
