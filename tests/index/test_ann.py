"""The HNSW graph beside the dense matrix: agreement with exact search, filters, persistence, rebuild.

Real data: the first 160 abstracts of the SciFact corpus (then 40 more), embedded by the product's
model, and the SciFact test claims as queries. The graph is forced on with a low threshold.
"""

import gzip
import itertools

import numpy as np
import pytest

from medcite.eval.beir import iter_documents, load_split
from medcite.eval.runner import index_documents
from medcite.index.ann import FILTER_FRACTION, GRAPH_FILE, AnnParams, VectorSearch
from medcite.index.dense import DenseIndex, sync_embeddings
from medcite.index.embed import get_embedder, model_name
from medcite.index.store import SQLiteStore
from medcite.settings import Settings

FIRST, MORE = 160, 40
HNSW = Settings(vector_search="hnsw")
EXACT = Settings(vector_search="exact")
RECALL_AT_10 = 0.95  # the least share of the exact top 10 the graph must return, over all queries


def _corpus(shared_data, tmp_path, start: int, stop: int):
    with gzip.open(shared_data / "beir_scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        lines = list(itertools.islice(fh, start, stop))
    path = tmp_path / f"corpus-{start}-{stop}.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory):
    """(store, query vectors) of an index of SciFact abstracts with vectors and an HNSW graph."""
    tmp = tmp_path_factory.mktemp("ann")
    store = SQLiteStore(tmp / "index.db")
    corpus = _corpus(shared_data, tmp, 0, FIRST)
    index_documents(store, iter_documents(corpus), str(corpus), "first", HNSW, embed=False)
    sync_embeddings(store, settings=HNSW)
    queries, _ = load_split(shared_data / "beir_scifact", "test")
    embedder = get_embedder(64)
    vecs = [embedder.embed_query(queries[q]) for q in sorted(queries)[:40]]
    yield store, tmp, vecs
    store.close()


def _index(store, settings) -> DenseIndex:
    index = DenseIndex(store, model_name(64), settings)
    index.sync()
    return index


def _recall(approx: list[list[str]], exact: list[list[str]]) -> float:
    return sum(len(set(a) & set(e)) for a, e in zip(approx, exact)) / sum(len(e) for e in exact)


def test_the_graph_is_stored_beside_the_matrix_and_agrees_with_exact_search(built):
    store, _, vecs = built
    hnsw, exact = _index(store, HNSW), _index(store, EXACT)
    graph = hnsw._m.graph
    assert graph is not None and exact._m.graph is None
    assert graph.size == hnsw.size == exact.size > FIRST  # abstracts split into several passages
    assert (store.search_dir / "dense" / GRAPH_FILE).is_file()
    # The graph answers (no exact fallback) an unfiltered search.
    assert graph.search(vecs[0], 30) is not None
    approx = [[p for p, _ in hnsw.search(v, 10)] for v in vecs]
    truth = [[p for p, _ in exact.search(v, 10)] for v in vecs]
    assert _recall(approx, truth) >= RECALL_AT_10
    # Scores are the same cosines as the exact ones for the passages both return.
    for v in vecs[:5]:
        exact_scores = dict(exact.search(v, 50))
        for pid, score in hnsw.search(v, 10):
            if pid in exact_scores:
                assert score == pytest.approx(exact_scores[pid], abs=1e-4)


def test_auto_mode_uses_the_graph_from_the_threshold_on(built):
    store, _, _ = built
    size = _index(store, EXACT).size
    assert _index(store, Settings(vector_search="auto", ann_threshold=size + 1))._m.graph is None
    assert _index(store, Settings(vector_search="auto", ann_threshold=size))._m.graph is not None


def test_filters_are_honoured_through_the_graph_and_by_exact_fallback(built):
    store, _, vecs = built
    hnsw, exact = _index(store, Settings(vector_search="hnsw", ann_threshold=1)), _index(store, EXACT)
    docs = sorted(hnsw._m.doc_rows)
    wide = docs[::2]  # half the documents: searched through the graph with a row selector
    rows = np.array(sorted(r for d in wide for r in hnsw._m.doc_rows[d]))
    assert len(rows) >= FILTER_FRACTION * hnsw.size
    assert hnsw._m.graph.search(vecs[0], 10, rows) is not None
    approx, truth = [], []
    for v in vecs:
        hits = hnsw.search(v, 10, doc_ids=wide)
        assert {p.rsplit("#", 1)[0] for p, _ in hits} <= set(wide)
        approx.append([p for p, _ in hits])
        truth.append([p for p, _ in exact.search(v, 10, doc_ids=wide)])
    assert _recall(approx, truth) >= RECALL_AT_10
    # Two documents: too narrow for the graph, so exact search answers, identical to the exact index.
    narrow = docs[:2]
    few = np.array(sorted(r for d in narrow for r in hnsw._m.doc_rows[d]))
    assert hnsw._m.graph.search(vecs[0], 10, few) is None
    for v in vecs[:10]:
        assert hnsw.search(v, 10, doc_ids=narrow) == exact.search(v, 10, doc_ids=narrow)
        allowed = [hnsw._m.pids[r] for r in few]
        assert hnsw.search(v, 3, allowed_ids=allowed) == exact.search(v, 3, allowed_ids=allowed)
    assert hnsw.search(vecs[0], 10, tier="label") == []


def test_a_reader_loads_the_stored_graph_and_a_corpus_change_rebuilds_it(built, shared_data):
    store, tmp, vecs = built
    reader = SQLiteStore(store.path, readonly=True)
    loaded = DenseIndex(reader, model_name(64), HNSW)
    assert loaded.sync() == "loaded" and loaded._m.graph is not None
    before = loaded.size
    more = _corpus(shared_data, tmp, FIRST, FIRST + MORE)
    index_documents(store, iter_documents(more), str(more), "more", HNSW, embed=False)
    assert sync_embeddings(store, settings=HNSW).startswith("embedded ")
    writer = _index(store, HNSW)
    assert writer.size > before
    assert writer._m.graph.size == writer.size
    # The reader picks up the new matrix and its graph together.
    assert loaded.sync(force=True) == "loaded"
    assert loaded.size == loaded._m.graph.size == writer.size
    # A passage of the new documents, searched by its own vector, is found first through the graph.
    for row in (before, writer.size - 1):
        pid = writer._m.pids[row]
        assert loaded._m.graph.search(writer._m.vectors[row], 1)[0][0] == loaded._m.row_of[pid]
        assert loaded.search(writer._m.vectors[row], 1)[0][0] == pid
    reader.close()


def test_a_bad_mode_names_its_variable():
    with pytest.raises(ValueError, match="MEDCITE_VECTOR_SEARCH='fast': use one of exact, hnsw, auto"):
        AnnParams.from_settings(Settings(vector_search="fast"))
    with pytest.raises(ValueError, match="MEDCITE_HNSW_EF_SEARCH=0"):
        AnnParams.from_settings(Settings(hnsw_ef_search=0))
    assert AnnParams.from_settings(Settings()).mode is VectorSearch.AUTO
