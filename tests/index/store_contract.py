"""One conformance suite for every Store backend (issue 10): a backend's test module subclasses
`StoreContract` and provides a class- or session-scoped `backend` fixture, an object with

    new() -> Store            a writable store on a fresh, empty location
    reopen(store, readonly)   another store (its own connection) on the same location

The suite ingests a few real files of ../shared/data through the product's own ingest driver once
per backend (`corpus`), reads it back through the Store protocol only, and writes to fresh stores
for the write rules (upsert, rollback, dictionary, log). Expected values come from the files
themselves, never from one backend's answers, so that two backends passing it agree.
"""

from __future__ import annotations

import gzip
import itertools
import threading

import numpy as np
import pytest

from medcite.errors import NotFoundError
from medcite.index.embed import get_embedder, model_name
from medcite.index.store import Store, bm25_body
from medcite.ingest.chunking import chunk_document
from medcite.ingest.driver import ingest_paths
from medcite.ingest import ngc, pubmed_xml, vocab
from medcite.records import Document, DrugName
from medcite.settings import Settings

NGC_NET = "guidelines_ngc_ahrq/raw_xml_net_pancreas"
PDQ_PNET = "nci_pdq_cancer_summaries/pdq_hp_treatment/types-pancreatic-hp-pnet-treatment-pdq.md"
PUBMED = "pubmed_xml_samples"
LABELS = "fda_labels_openfda_pharmgkb/openfda_labels.jsonl.gz"
MODEL = model_name(64)


def _first_labels(shared_data, folder, n=5):
    """Copy the first n records of the real openFDA label file to a temporary file (not the repo)."""
    out = folder / "labels.jsonl.gz"
    with gzip.open(shared_data / LABELS, "rt", encoding="utf-8") as src, gzip.open(out, "wt", encoding="utf-8") as dst:
        dst.writelines(itertools.islice(src, n))
    return out


def _documents(reader, path) -> list[Document]:
    return [r for r in reader.read(path) if isinstance(r, Document)]


class StoreContract:
    """The behaviour every Store backend must show (see the module docstring)."""

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture(scope="class")
    @classmethod
    def corpus(cls, backend, shared_data, tmp_path_factory):
        """A store holding the NET guidelines, the PNET PDQ summary, PubMed samples and five labels,
        with real embeddings of the research passages."""
        store = backend.new()
        files = [shared_data / NGC_NET, shared_data / PDQ_PNET, shared_data / PUBMED,
                 _first_labels(shared_data, tmp_path_factory.mktemp("labels"))]
        report = ingest_paths(store, files, Settings(index_path=store.location, embed_at_ingest=True))
        assert report.errors == [] and report.files_done >= 4
        yield store
        store.close()

    @pytest.fixture()
    def fresh(self, backend):
        store = backend.new()
        yield store
        store.close()

    # ------------------------------------------------------------------ the protocol
    def test_implements_the_protocol(self, corpus):
        assert isinstance(corpus, Store)

    def test_counts_and_stats_agree_with_the_files(self, corpus, shared_data):
        guidelines = sorted((shared_data / NGC_NET).glob("*.xml"))
        stats = corpus.stats()
        assert stats["tiers"]["guideline"]["sources"]["ngc_xml"]["documents"] == len(guidelines)
        assert stats["documents"] == corpus.counts()["documents"]
        assert stats["passages"] == corpus.counts()["passages"] > stats["documents"]
        assert stats["corpus_version"] == corpus.corpus_version() > 0
        assert stats["embeddings"] == corpus.vector_index(MODEL).size > 0

    # ------------------------------------------------------------------ documents and passages
    def test_document_round_trip(self, corpus, shared_data):
        (doc,) = _documents(ngc, shared_data / NGC_NET / "ngc-10883.xml")
        back = corpus.get_document(doc.doc_id)
        assert (back.title, back.tier, back.source_kind, back.source_id) == (doc.title, doc.tier, doc.source_kind, doc.source_id)
        assert back.meta == doc.meta
        stored = corpus.passages_of(doc.doc_id)
        assert [p.text for p in stored] == [p.text for p in chunk_document(doc, Settings().chunk_words)]
        assert [p.ordinal for p in stored] == sorted(p.ordinal for p in stored)
        with pytest.raises(NotFoundError):
            corpus.get_document("ngc:no-such-guideline")

    def test_get_hits_keeps_order_and_drops_unknown(self, corpus):
        (doc_id,) = [d for d in corpus.documents_by_kind(tier="guideline") if d == "ngc:10883"]
        pids = [p.passage_id for p in corpus.passages_of(doc_id)][:3]
        hits = corpus.get_hits(list(reversed(pids)) + ["ngc:10883#nope"], {pids[0]: 2.5})
        assert [h.passage_id for h in hits] == list(reversed(pids))
        assert hits[-1].score == 2.5 and hits[0].score == 0.0
        assert corpus.get_hits([]) == []

    def test_listing_documents(self, corpus):
        guidelines = corpus.documents_by_kind(tier="guideline", source_kind="ngc_xml")
        assert guidelines == sorted(guidelines) and all(d.startswith("ngc:") for d in guidelines)
        assert set(corpus.documents_by_kind(tier="guideline")) >= set(guidelines)
        keys = corpus.source_ids()
        assert len(keys) == corpus.counts()["documents"] and keys["ngc:10883"] == "10883"
        meta = corpus.document_meta(["ngc:10883", "ngc:10883", "nope"])
        assert list(meta) == ["ngc:10883"] and meta["ngc:10883"]["tier"] == "guideline"

    def test_passage_texts_of_tiers(self, corpus):
        rows = list(corpus.passage_texts(["guideline"]))
        assert {d for d, _ in rows} == set(corpus.documents_by_kind(tier="guideline"))
        assert [t for d, t in rows if d == "ngc:10883"] == [p.text for p in corpus.passages_of("ngc:10883")]

    def test_labels_by_rxcui(self, corpus):
        label_ids = corpus.documents_by_kind(tier="label")
        assert label_ids
        codes = [c for d in label_ids for c in (corpus.get_document(d).meta.get("rxcui") or [])]
        assert codes, "the first labels of the file carry RxNorm codes"
        found = corpus.labels_with_rxcui(codes[0])
        assert found and all(codes[0] in meta["rxcui"] for _, meta in found)
        assert corpus.labels_with_rxcui("0") == []

    # ------------------------------------------------------------------ lexical search
    def test_lexical_search(self, corpus):
        hits = corpus.search("somatostatin analogues neuroendocrine tumours", k=5, tier="guideline")
        assert hits and all(h.tier == "guideline" for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        terms = corpus.lexical.query_terms("somatostatin")
        assert terms and any(terms[0] in bm25_body(h.title, h.section, h.text).lower() for h in hits)
        only = corpus.search("neuroendocrine", k=50, doc_ids=["ngc:10883"])
        assert only and {h.doc_id for h in only} == {"ngc:10883"}
        assert corpus.search("tumor", k=5, doc_ids=[]) == []
        assert corpus.search('"* : - ( ', k=5) == []  # query syntax never raises
        assert corpus.search('neuroendocrine AND "(tumour* -NEAR:', k=3)

    def test_lexical_statistics(self, corpus):
        corpus.ensure_search_ready()
        assert corpus.lexical.built_version() is not None
        assert corpus.lexical.num_docs() == corpus.counts()["passages"]
        (term,) = corpus.lexical.query_terms("lanreotide")
        assert 0 < corpus.lexical.doc_freq(term) < corpus.lexical.num_docs()

    # ------------------------------------------------------------------ vectors
    def test_vector_search_finds_the_passage_itself(self, corpus):
        index = corpus.vector_index(MODEL)
        index.sync()
        research = corpus.documents_by_kind(tier="research")
        target = corpus.passages_of(research[0])[0]
        title = corpus.get_document(research[0]).title
        vec = get_embedder(64).embed([bm25_body(title, target.section, target.text)])[0]
        hits = index.search(vec, 5)
        assert hits[0][0] == target.passage_id and hits[0][1] == pytest.approx(1.0, abs=1e-3)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        assert index.search(vec, 5, tier="guideline") == []  # only research passages have vectors
        assert {p for p, _ in index.search(vec, 50, doc_ids=[research[1]])} == {p.passage_id for p in corpus.passages_of(research[1])}
        assert index.search(vec, 3, allowed_ids=[target.passage_id]) == [hits[0]]
        assert index.vectored([target.passage_id, "ngc:10883#0"]) == {target.passage_id}
        assert corpus.missing_embeddings(MODEL, ["research"]) == []

    # ------------------------------------------------------------------ dictionary and abbreviations
    def test_drug_dictionary(self, fresh, shared_data):
        names = [n for n in vocab.read(shared_data / "drug_vocab_drugsfda" / "Products.txt") if isinstance(n, DrugName)][:400]
        with fresh.transaction():
            added = fresh.add_drug_names(names)
            assert fresh.add_drug_names(names) == 0
            fresh.bump_version()
        rows = fresh.drug_name_rows()
        assert added == len(rows) and len(set(rows)) == len(rows)
        brand = next(n for n in names if n.kind == "brand" and n.name.lower() != n.generic.lower())
        assert brand.generic.lower() in fresh.resolve_drug(brand.name.upper())
        assert brand.name.lower() in fresh.synonyms(brand.generic)
        generics = fresh.brand_generics(brand.name)
        assert generics == sorted(generics) and len(generics) <= 3
        assert fresh.brand_generics("no such drug name") == []

    def test_abbreviations(self, fresh, shared_data):
        docs = _documents(ngc, shared_data / NGC_NET / "ngc-10883.xml") + _documents(ngc, shared_data / NGC_NET / "ngc-10737.xml")
        with fresh.transaction():
            for doc in docs:
                fresh.upsert_document(doc, chunk_document(doc))
                fresh.add_abbreviations(doc.doc_id, [("NET", "neuroendocrine tumour")])
            fresh.add_abbreviations(docs[0].doc_id, [("NET", "neuroendocrine tumour")])  # a duplicate is ignored
            fresh.bump_version()
        assert fresh.abbreviation_rows() == [("NET", "neuroendocrine tumour", 2)]
        assert fresh.abbreviation_rows(min_count=3) == []

    # ------------------------------------------------------------------ writes
    def test_upsert_rules(self, fresh, shared_data):
        (doc,) = _documents(ngc, shared_data / NGC_NET / "ngc-10883.xml")
        with fresh.transaction():
            assert fresh.upsert_document(doc, chunk_document(doc)) == "added"
            assert fresh.upsert_document(doc, chunk_document(doc)) == "unchanged"
            fresh.bump_version()
        shorter = Document(**{**doc.__dict__, "sections": doc.sections[:-1]})
        with fresh.transaction():
            assert fresh.upsert_document(shorter, chunk_document(shorter)) == "replaced"
            fresh.bump_version()
        assert len(fresh.passages_of(doc.doc_id)) == len(chunk_document(shorter))
        assert fresh.corpus_version() == 2

    def test_rollback_leaves_nothing(self, fresh, shared_data):
        (doc,) = _documents(ngc, shared_data / NGC_NET / "ngc-10883.xml")
        with pytest.raises(RuntimeError):
            with fresh.transaction():
                fresh.upsert_document(doc, chunk_document(doc))
                fresh.bump_version()
                raise RuntimeError("stop")
        assert fresh.corpus_version() == 0 and fresh.counts() == {"documents": 0, "passages": 0}

    def test_ingest_log_and_files(self, fresh):
        with fresh.transaction():
            fresh.log("run1", "a.xml", "rec-1", "error", "bad record")
            fresh.mark_file("a.xml", "10:20", "ngc", "partial", "run1")
        assert fresh.file_signature("a.xml") is None
        with fresh.transaction():
            fresh.mark_file("a.xml", "10:20", "ngc", "done", "run1")
        assert fresh.file_signature("a.xml") == "10:20"
        assert fresh.stats()["ingest_errors"] == 1

    def test_embeddings_written_and_missing(self, fresh, shared_data):
        docs = _documents(pubmed_xml, shared_data / PUBMED / "pubmed-29768149.xml")
        with fresh.transaction():
            for doc in docs:
                fresh.upsert_document(doc, chunk_document(doc))
            fresh.bump_version()
        todo = fresh.missing_embeddings(MODEL, ["research"])
        assert todo and fresh.missing_embeddings(MODEL, ["label"]) == []
        vectors = get_embedder(64).embed([bm25_body(t, s, x) for _, t, s, x in todo])
        with fresh.transaction():
            fresh.put_embeddings(MODEL, [(todo[0][0], vectors[0])])
        assert [r[0] for r in fresh.missing_embeddings(MODEL, None)] == [r[0] for r in todo[1:]]
        index = fresh.vector_index(MODEL)
        index.sync(force=True)
        assert index.size == 1 and index.search(np.asarray(vectors[0]), 3)[0][0] == todo[0][0]

    # ------------------------------------------------------------------ caches and concurrency
    def test_cache_follows_the_corpus_version(self, fresh, shared_data):
        built = []
        assert fresh.cached("n", lambda: built.append(1) or len(built)) == 1
        assert fresh.cached("n", lambda: built.append(1) or len(built)) == 1
        (doc,) = _documents(ngc, shared_data / NGC_NET / "ngc-10883.xml")
        with fresh.transaction():
            fresh.upsert_document(doc, chunk_document(doc))
            fresh.bump_version()
        assert fresh.cached("n", lambda: built.append(1) or len(built)) == 2

    def test_reader_sees_old_or_new_corpus_while_ingest_writes(self, backend, fresh, shared_data):
        docs = _documents(ngc, shared_data / NGC_NET / "ngc-10883.xml") + _documents(ngc, shared_data / NGC_NET / "ngc-10737.xml")
        with fresh.transaction():
            fresh.upsert_document(docs[0], chunk_document(docs[0]))
            fresh.bump_version()
        reader = backend.reopen(fresh, readonly=True)
        try:
            seen = []
            with fresh.transaction():
                fresh.upsert_document(docs[1], chunk_document(docs[1]))
                fresh.bump_version()
                # another thread, another connection: the uncommitted batch is invisible to it
                t = threading.Thread(target=lambda: seen.append((reader.corpus_version(), reader.counts()["documents"])))
                t.start()
                t.join(30)
            seen.append((reader.corpus_version(), reader.counts()["documents"]))
            assert seen == [(1, 1), (2, 2)]
            reader.interrupt()  # nothing running: a no-op, never an error
        finally:
            reader.close()
