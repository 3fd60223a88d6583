"""Hybrid passage retrieval: BM25 (tantivy) + dense (MiniLM) fused, with query expansion.

Fusion methods (Settings.fusion), both deterministic, ties broken on (-score, passage_id):
- "rrf" (the baseline): reciprocal rank fusion, score = sum_i w_i / (rrf_k + rank_i) (Cormack et
  al. 2009, k = 60 as in pyserini); bm25 weight 1, dense weight `Settings.dense_weight`.
- "convex" (the default): min-max normalised scores of each list (top CANDIDATES of each),
  score = (1 - a) * bm25 + a * dense with a = dense_weight / (1 + dense_weight); a passage missing
  from one list gets 0 there.
Method and weight were chosen on SciFact train and NFCorpus dev only (bench/tune_fusion.py):
convex with dense_weight 0.6 (a = 0.375) had the best mean nDCG@10 (0.5295 against 0.5147 for
RRF k=60 w=1, 0.5022 for BM25 alone). Test splits are only ever reported.

Query expansion adds terms to the BM25 query only, with weight < 1:
- drug names (Settings.expand_queries, on): a brand name found in the query ("Prozac") adds its
  generic ("fluoxetine") from the store's drug dictionary; not the reverse (a generic has dozens
  of brands) and not DrugBank synonyms (they map everyday words: "milk" -> "cow milk").
  Measured +0.004 nDCG@10 on NFCorpus dev with the dictionary loaded.
- abbreviations (Settings.expand_abbreviations, off): a short form of the query that the corpus
  defines in at least two documents ("AIRE") adds its most frequent long form (corpus-mined,
  never a hand list). Measured -0.0004 to -0.003 nDCG@10 on SciFact train at weights 0.1-0.6,
  so it is off by default.

When the index holds no vectors (built with --no-embed, or a tier left out of `dense_tiers`) the
dense list is empty and hybrid search returns the BM25 ranking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from medcite.index.dense import dense_index, ready_dense_index
from medcite.index.store import Store
from medcite.records import Hit
from medcite.settings import Settings

CANDIDATES = 200  # depth of each ranked list before fusion (eval uses the same depth)
DRUG_WEIGHT = 0.6  # BM25 boost of an added generic name
ABBR_WEIGHT = 0.4  # BM25 boost of each word of an added long form
ABBR_MIN_DOCS = 2  # a definition must appear in this many documents to be used
MODES = ("bm25", "dense", "hybrid")

Ranked = list[tuple[str, float]]


# ---------------------------------------------------------------------------- fusion
def _ordered(scores: dict[str, float]) -> Ranked:
    return sorted(scores.items(), key=lambda kv: (-round(kv[1], 9), kv[0]))


def rrf_fuse(lists: Sequence[Ranked], weights: Sequence[float], k: int = 60) -> Ranked:
    """Return the reciprocal-rank fusion of ranked lists, best first, ties on passage id.

    Ranks are 1-based positions in each list as given (each list must already be ordered).
    """
    scores: dict[str, float] = {}
    for ranked, weight in zip(lists, weights):
        for rank, (pid, _) in enumerate(ranked, start=1):
            scores[pid] = scores.get(pid, 0.0) + weight / (k + rank)
    return _ordered(scores)


def convex_fuse(lists: Sequence[Ranked], weights: Sequence[float]) -> Ranked:
    """Return the weighted sum of min-max normalised scores, best first, ties on passage id."""
    scores: dict[str, float] = {}
    for ranked, weight in zip(lists, weights):
        if not ranked:
            continue
        values = [s for _, s in ranked]
        lo, hi = min(values), max(values)
        span = hi - lo
        for pid, s in ranked:
            norm = (s - lo) / span if span > 0 else 1.0
            scores[pid] = scores.get(pid, 0.0) + weight * norm
    return _ordered(scores)


def fuse(bm25: Ranked, dense: Ranked, settings: Settings, has_vector: Callable[[str], bool] | None = None) -> Ranked:
    """Return the fusion of a BM25 and a dense ranking under the settings' method and weights.

    has_vector(passage_id) tells whether a passage could be ranked by the dense side at all. One
    that has no vector (a tier left out of `dense_tiers`) takes its BM25 evidence in place of the
    missing dense evidence, so that it is not pushed below every embedded passage.
    """
    if not dense:
        return list(bm25)
    if not bm25:
        return list(dense)
    if settings.fusion == "convex":
        a = settings.dense_weight / (1.0 + settings.dense_weight)
        fused = dict(convex_fuse([bm25, dense], [1.0 - a, a]))
        if has_vector is not None:
            for pid, norm in convex_fuse([bm25], [a]):
                if not has_vector(pid):
                    fused[pid] += norm
        return _ordered(fused)
    fused = dict(rrf_fuse([bm25, dense], [1.0, settings.dense_weight], k=settings.rrf_k))
    if has_vector is not None:
        for rank, (pid, _) in enumerate(bm25, start=1):
            if not has_vector(pid):
                fused[pid] += settings.dense_weight / (settings.rrf_k + rank)
    return _ordered(fused)


# ---------------------------------------------------------------------------- expansion
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")
def _abbreviation_table(store: Store):
    from medcite.analyze.abbreviations import AbbreviationTable

    return store.cached("expansion_abbreviations", lambda: AbbreviationTable(store.abbreviation_rows(), min_count=ABBR_MIN_DOCS))


def brand_generics(store: Store, name: str) -> list[str]:
    """Return the generic names (salt words dropped) of a brand name; [] for anything else.

    Only Drugs@FDA / label brand names expand: DrugBank synonyms map everyday words ("milk" ->
    "cow milk", "balance" -> a herbicide), and a name that is itself a generic needs no expansion.
    """
    from medcite.ingest.vocab import salt_free_base

    return [salt_free_base(g) or g for g in store.brand_generics(name)]


def expansion_terms(store: Store, query: str, abbreviations: bool = True) -> dict[str, float]:
    """Return {analyzed BM25 term: weight} to add to `query` (drug generics, abbreviation long forms).

    Terms already in the query are never added (they keep weight 1).
    """
    analyze = store.lexical.query_terms
    present = set(analyze(query))
    added: dict[str, float] = {}

    def add(text: str, weight: float) -> None:
        for term in analyze(text):
            if term not in present and added.get(term, 0.0) < weight:
                added[term] = weight

    words = _WORD.findall(query)
    for n in (3, 2, 1):
        for i in range(len(words) - n + 1):
            phrase = " ".join(words[i : i + n])
            if n == 1 and len(phrase) < 4:
                continue  # short tokens are abbreviations, not drug names ("ACE", "MS")
            for generic in brand_generics(store, phrase):
                add(generic, DRUG_WEIGHT)
    table = _abbreviation_table(store) if abbreviations else None
    for word in words if table is not None else ():
        # Only tokens written with a capital letter: "NET" is an abbreviation, "net" is a word.
        if len(word) >= 2 and word != word.lower():
            longs = table.expand(word)  # also finds a plural ("NETs") under its singular
            if longs:
                add(longs[0], ABBR_WEIGHT)
    return added


# ---------------------------------------------------------------------------- retrieval
def bm25_ranking(store: Store, query: str, depth: int, tier: str | None = None,
                 doc_ids: Iterable[str] | None = None, expand: bool = True, abbreviations: bool = False) -> Ranked:
    """Return the BM25 ranking (passage_id, score) of `query`, expanded when asked."""
    store.ensure_search_ready()
    weights = expansion_terms(store, query, abbreviations) if expand else None
    return store.lexical.search(query, k=depth, tier=tier, doc_ids=doc_ids, term_weights=weights or None)


def dense_ranking(store: Store, query: str, depth: int, settings: Settings, tier: str | None = None,
                  doc_ids: Iterable[str] | None = None) -> Ranked:
    """Return the dense ranking (passage_id, cosine) of `query`; [] when the index has no vectors."""
    from medcite.index.embed import get_embedder

    index = ready_dense_index(store, settings)
    if index is None:
        return []
    vec = get_embedder(settings.embed_max_seq_len).embed_query(query)
    return index.search(vec, depth, tier=tier, doc_ids=doc_ids)


def ranked_passages(store: Store, query: str, k: int = 10, tier: str | None = None,
                    doc_ids: Iterable[str] | None = None, settings: Settings | None = None,
                    mode: str | None = None) -> Ranked:
    """Return the k best (passage_id, score) for `query` under `mode` (bm25 | dense | hybrid)."""
    settings = settings or Settings()
    mode = mode or settings.retrieval_mode
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
    if doc_ids is not None:
        doc_ids = list(doc_ids)
    depth = max(k, CANDIDATES)
    lexical: Ranked = []
    if mode != "dense":
        lexical = bm25_ranking(store, query, depth, tier, doc_ids, expand=settings.expand_queries,
                               abbreviations=settings.expand_abbreviations)
        if mode == "bm25":
            return lexical[:k]
    dense = dense_ranking(store, query, depth, settings, tier, doc_ids)
    if mode == "dense":
        return dense[:k]
    with_vector = dense_index(store, settings).vectored(pid for pid, _ in lexical)
    return fuse(lexical, dense, settings, has_vector=with_vector.__contains__)[:k]


def hybrid_search(store: Store, query: str, k: int = 10, tier: str | None = None,
                  doc_ids: Iterable[str] | None = None, settings: Settings | None = None,
                  mode: str | None = None) -> list[Hit]:
    """Return the k best passages as Hits (score = fused score), best first."""
    ranked = ranked_passages(store, query, k=k, tier=tier, doc_ids=doc_ids, settings=settings, mode=mode)
    return store.get_hits([pid for pid, _ in ranked], dict(ranked))


def documents_from_passages(ranked: Ranked, doc_of: dict[str, str] | None = None) -> Ranked:
    """Return (doc_id, score) best first: a document scores its best passage (doc id = text before '#')."""
    best: dict[str, float] = {}
    for pid, score in ranked:
        doc = doc_of[pid] if doc_of is not None else pid.rsplit("#", 1)[0]
        if doc not in best or score > best[doc]:
            best[doc] = score
    return _ordered(best)

