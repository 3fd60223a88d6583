"""Passage retrieval: the one entry point every front end and the answer pipeline call.

`search_passages` runs BM25 (tantivy) and, when the index has passage embeddings and the mode asks
for it, dense retrieval, fused by reciprocal rank (see retrieve/hybrid.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from medcite.index.store import Store
from medcite.records import Hit
from medcite.settings import Settings


def search_passages(
    store: Store,
    query: str,
    k: int = 10,
    tier: str | None = None,
    doc_ids: Iterable[str] | None = None,
    settings: Settings | None = None,
    mode: str | None = None,
) -> list[Hit]:
    """Return the k best passages for `query` (optionally within a tier / set of documents)."""
    settings = settings or Settings()
    mode = mode or settings.retrieval_mode
    if mode != "bm25":
        try:
            from medcite.retrieve.hybrid import hybrid_search
        except ImportError:
            hybrid_search = None
        if hybrid_search is not None:
            return hybrid_search(store, query, k=k, tier=tier, doc_ids=doc_ids, settings=settings, mode=mode)
    return store.search(query, k=k, tier=tier, doc_ids=doc_ids)
