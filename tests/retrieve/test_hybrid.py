"""Hybrid retrieval pinned on real SciFact passages: rankings, RRF arithmetic, tie-breaks, expansion.

The slice: the first 20 abstracts of the SciFact corpus, plus the abstract judged relevant to
test claim 50 ("AIRE is expressed in some skin tumors.") and the abstracts that define "AIRE" in the
corpus, indexed with the product's own code (store, ingest batch writer, BM25, embeddings).
"""

import gzip
import json

import pytest

from medcite.eval.beir import iter_documents
from medcite.eval.runner import index_documents
from medcite.index.store import SQLiteStore
from medcite.ingest import vocab
from medcite.retrieve.hybrid import (
    bm25_ranking, convex_fuse, dense_ranking, expansion_terms, hybrid_search, ranked_passages, rrf_fuse,
)
from medcite.settings import Settings

CLAIM_50 = "50"
RELEVANT_50 = "12580014"  # qrels/test.tsv: 50 -> 12580014
AIRE_DEFINERS = ("1583134", "18488986")  # the abstracts defining "AIRE (autoimmune regulator)"


def _slice(shared_data, tmp_path):
    src = shared_data / "beir_scifact" / "corpus.jsonl.gz"
    keep = []
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            rec = json.loads(line)
            if i < 20 or rec["_id"] in {RELEVANT_50, *AIRE_DEFINERS}:
                keep.append(line)
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(keep), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hybrid")
    corpus = _slice(shared_data, tmp)
    st = SQLiteStore(tmp / "index.db")
    index_documents(st, iter_documents(corpus), str(corpus), "slice", Settings(), embed=True)
    # Real dictionary rows: Drugs@FDA entries naming Prozac, DrugBank's row that maps "milk".
    names = [n for n in vocab.read(shared_data / "drug_vocab_drugsfda" / "Products.txt")
             if getattr(n, "name", "").lower() == "prozac"]
    names += [n for n in vocab.read(shared_data / "drug_vocab_drugbank_open" / "drugbank_vocabulary.csv")
              if getattr(n, "name", "").lower() == "milk"]
    with st.transaction():
        st.add_drug_names(names)
    yield st
    st.close()


def _claim_50(shared_data) -> str:
    for line in (shared_data / "beir_scifact" / "queries.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["_id"] == CLAIM_50:
            return rec["text"]
    raise AssertionError("claim 50 not found")


def test_slice_is_indexed_with_vectors(store):
    n_docs, n_passages, n_vectors = store.conn.execute(
        "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM passages), (SELECT COUNT(*) FROM embeddings)"
    ).fetchone()
    assert (n_docs, n_passages, n_vectors) == (23, 36, 36)


def test_rankings_of_claim_50(store, shared_data):
    claim = _claim_50(shared_data)
    settings = Settings()  # defaults: convex fusion, dense weight 0.6
    assert [p for p, _ in bm25_ranking(store, claim, 3)] == ["s2:12580014#0", "s2:18488986#0", "s2:18488986#1"]
    assert [p for p, _ in dense_ranking(store, claim, 3, settings)] == ["s2:12580014#0", "s2:18488986#1", "s2:18488986#0"]
    hits = hybrid_search(store, claim, k=3, settings=settings)
    assert [h.passage_id for h in hits] == ["s2:12580014#0", "s2:18488986#0", "s2:18488986#1"]
    assert hits[0].doc_id == f"s2:{RELEVANT_50}"
    # First in both lists: normalised 1 in both, so (1 - a) * 1 + a * 1 = 1.
    assert hits[0].score == pytest.approx(1.0)


def test_rrf_of_claim_50_and_its_tie(store, shared_data):
    claim = _claim_50(shared_data)
    settings = Settings(fusion="rrf", rrf_k=60, dense_weight=1.0)
    # Ranks (bm25, dense): 12580014#0 (1, 1); 18488986#0 (2, 3); 18488986#1 (3, 2): the last two tie
    # at 1/62 + 1/63 and are ordered by passage id.
    assert ranked_passages(store, claim, k=3, settings=settings) == [
        ("s2:12580014#0", pytest.approx(2 / 61)),
        ("s2:18488986#0", pytest.approx(1 / 62 + 1 / 63)),
        ("s2:18488986#1", pytest.approx(1 / 62 + 1 / 63)),
    ]


def test_equal_fused_scores_are_ordered_by_passage_id():
    # One list puts A first, the other puts B first: equal RRF scores, so the id decides.
    a, b = "s2:4983#0", "s2:12580014#0"
    fused = rrf_fuse([[(a, 9.1)], [(b, 0.7)]], [1.0, 1.0], k=60)
    assert fused == [(b, pytest.approx(1 / 61)), (a, pytest.approx(1 / 61))]
    assert rrf_fuse([[(b, 0.7)], [(a, 9.1)]], [1.0, 1.0], k=60) == fused


def test_convex_fusion_normalises_each_list():
    # bm25 scores 8, 6, 4 -> 1, 0.5, 0; dense 0.9, 0.5 -> 1, 0; weights 0.5 / 0.5.
    bm25 = [("s2:1#0", 8.0), ("s2:2#0", 6.0), ("s2:3#0", 4.0)]
    dense = [("s2:3#0", 0.9), ("s2:2#0", 0.5)]
    assert convex_fuse([bm25, dense], [0.5, 0.5]) == [("s2:1#0", 0.5), ("s2:3#0", 0.5), ("s2:2#0", 0.25)]


def test_abbreviation_of_claim_50_expands_to_its_corpus_long_form(store, shared_data):
    # Two abstracts of the slice define "AIRE (autoimmune regulator)"; off by default in search.
    assert expansion_terms(store, _claim_50(shared_data)) == {"autoimmun": 0.4, "regul": 0.4}
    assert expansion_terms(store, _claim_50(shared_data), abbreviations=False) == {}


def test_brand_names_expand_to_the_generic_but_drugbank_synonyms_do_not(store, shared_data):
    queries = {json.loads(l)["_id"]: json.loads(l)["text"]
               for l in (shared_data / "nfcorpus_beir_test_preprocessed" / "queries.jsonl").read_text().splitlines()}
    assert queries["PLAIN-239"] == "Saffron vs. Prozac for Depression"
    assert expansion_terms(store, queries["PLAIN-239"]) == {"fluoxetin": 0.6}
    assert expansion_terms(store, queries["PLAIN-282"]) == {}  # "Skim Milk and Acne": milk stays milk


def test_bm25_mode_ignores_vectors_and_unknown_modes_fail(store, shared_data):
    claim = _claim_50(shared_data)
    assert ranked_passages(store, claim, k=3, mode="bm25") == bm25_ranking(store, claim, 3)
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        ranked_passages(store, claim, k=3, mode="sparse")

