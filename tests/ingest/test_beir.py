"""BEIR corpus reader and eval loaders, on real SciFact (5,183 abstracts) and NFCorpus files."""

import gzip

import pytest

from medcite.ingest import beir
from medcite.records import Document, RecordError


@pytest.fixture(scope="module")
def scifact(shared_data):
    return shared_data / "beir_scifact"


@pytest.fixture(scope="module")
def nfcorpus(shared_data):
    return shared_data / "nfcorpus_beir_test_preprocessed"


@pytest.fixture(scope="module")
def items(scifact):
    return list(beir.read(scifact / "corpus.jsonl.gz"))


@pytest.fixture(scope="module")
def docs(items):
    return {d.source_id: d for d in items if isinstance(d, Document)}


def test_reads_scifact(items, docs, scifact):
    assert beir.sniff(scifact / "corpus.jsonl.gz")
    assert [x for x in items if isinstance(x, RecordError)] == []
    assert len(docs) == 5183
    assert {(d.tier, d.source_kind) for d in docs.values()} == {("research", "beir")}
    doc = docs["4983"]
    assert doc.doc_id == "s2:4983"
    assert doc.url == "https://api.semanticscholar.org/CorpusID:4983"
    assert doc.title.startswith("Microstructural development of human newborn cerebral white matter")
    assert [s.name for s in doc.sections] == ["Abstract"]
    assert len(doc.meta["sentences"]) == 14
    # BEIR's text is the sentences joined by one space: rationale indices point into the same text
    assert all(" ".join(d.meta["sentences"]) == d.sections[0].text for d in docs.values())


def test_nfcorpus_is_refused_as_evidence(nfcorpus):
    corpus = nfcorpus / "corpus.jsonl.gz"
    assert not beir.sniff(corpus)
    assert beir.skip_reason(corpus) == "preprocessed NFCorpus text (lowercased, stop-words removed): evaluation only"
    items = list(beir.read(corpus))
    assert len(items) == 1 and isinstance(items[0], RecordError)
    assert items[0].message == "refused: " + beir.PREPROCESSED_REASON
    assert sum(1 for _ in beir.iter_beir_corpus(corpus)) == 3395  # still usable for lexical eval


def test_queries_and_claims_are_not_claimed(scifact, nfcorpus):
    for path in (scifact / "queries.jsonl", nfcorpus / "queries.jsonl", scifact / "claims_with_evidence.jsonl",
                 scifact / "qrels" / "test.tsv"):
        assert not beir.sniff(path), path
    assert beir.skip_reason(scifact / "queries.jsonl") == "BEIR queries: evaluation only"


def test_eval_loaders(scifact, nfcorpus, docs):
    test_queries = beir.load_queries(scifact / "queries.jsonl", split="test")
    assert len(test_queries) == 300
    assert len(beir.load_queries(scifact / "queries.jsonl")) == 1109
    qrels = beir.load_qrels(scifact / "qrels" / "test.tsv")
    assert len(qrels) == 300 and sum(len(v) for v in qrels.values()) == 339
    assert set(qrels) == set(test_queries)
    assert {doc for rel in qrels.values() for doc in rel} <= set(docs)
    nf_train = beir.load_qrels(nfcorpus / "qrels" / "train.tsv.gz")
    assert len(nf_train) == 2590 and sum(len(v) for v in nf_train.values()) == 110575
    first = next(beir.iter_beir_corpus(scifact / "corpus.jsonl.gz"))
    assert first[0] == "4983" and first[1] == docs["4983"].title


def test_corrupt_line(scifact, tmp_path):
    lines = gzip.open(scifact / "corpus.jsonl.gz", "rt", encoding="utf-8").read().splitlines()[:3]
    lines[1] = lines[1][: len(lines[1]) // 2]
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n")
    items = list(beir.read(path))
    assert [type(x) for x in items] == [Document, RecordError, Document]
    assert items[1].line().startswith(f"{path} [line 2]: not valid JSON: ")


def test_truncated_gzip(scifact, tmp_path, docs):
    data = (scifact / "corpus.jsonl.gz").read_bytes()
    path = tmp_path / "corpus.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    items = list(beir.read(path))
    read = [x for x in items if isinstance(x, Document)]
    assert isinstance(items[-1], RecordError) and items[:-1] == read
    assert 1000 < len(read) < 5183
    assert [d.source_id for d in read] == list(docs)[: len(read)]  # the good records before the cut
    assert items[-1].record == f"line {len(read) + 1}"
    assert items[-1].message.startswith("cannot read the rest of the file: Compressed file ended")


def test_claims_nothing_else_in_shared_data(shared_data):
    """Queries, claims, qrels, K-QA JSONL and the preprocessed NFCorpus are never claimed."""
    claimed = {str(p.relative_to(shared_data)) for p in shared_data.rglob("*") if p.is_file() and beir.sniff(p)}
    assert claimed == {"beir_scifact/corpus.jsonl.gz"}
