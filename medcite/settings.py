"""One settings model for the whole pipeline, overridable from the environment (MEDCITE_*).

Every answer is stamped with `settings_hash()` so that a result can be tied to the exact
configuration that produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

DEFAULT_INDEX = "medcite.db"


@dataclass(frozen=True)
class Settings:
    """Pipeline settings. Field docs are the README's settings table."""

    index_path: str = DEFAULT_INDEX  # MEDCITE_INDEX: the SQLite file (system of record)
    chunk_words: int = 180  # passages are at most this many words, never across sections
    retrieval_mode: str = "hybrid"  # bm25 | dense | hybrid
    rrf_k: int = 60  # reciprocal-rank-fusion constant
    dense_weight: float = 0.6  # weight of the dense ranking in fusion (bm25 weight is 1); tuned on train/dev
    embed_at_ingest: bool = True  # compute passage embeddings while ingesting
    embed_max_seq_len: int = 64  # tokens of a passage the embedding model reads (64: ingest in minutes; docs/retrieval.md)
    dense_tiers: str = "research"  # tiers whose passages get vectors ("all" or a comma list): docs/retrieval.md
    fusion: str = "convex"  # convex (min-max normalised scores) | rrf (baseline) — docs/retrieval.md
    expand_queries: bool = True  # drug-dictionary (brand -> generic) expansion of queries
    expand_abbreviations: bool = False  # corpus abbreviation expansion (measured: no gain; docs/retrieval.md)
    k_guideline: int = 8  # passages retrieved per tier when answering
    k_label: int = 12
    k_research: int = 8
    max_sentences_per_tier: int = 6
    query_timeout_s: float = 10.0  # API: time limit of one query
    log_patient_text: bool = False  # MEDCITE_LOG_PATIENT_TEXT: never by default

    def hash(self) -> str:
        """Return a short stable hash of the settings that change answers (not paths or limits)."""
        answer_fields = {k: v for k, v in asdict(self).items() if k not in {"index_path", "query_timeout_s", "log_patient_text"}}
        blob = json.dumps(answer_fields, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def with_overrides(self, **overrides) -> "Settings":
        """Return a copy with the given non-None fields replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _coerce(value: str, current):
    if isinstance(current, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    return value


def load_settings(**overrides) -> Settings:
    """Return Settings from defaults, then MEDCITE_<FIELD> environment variables, then `overrides`."""
    base = Settings()
    env = {}
    for f in fields(Settings):
        value = os.environ.get(f"MEDCITE_{f.name.upper()}")
        if f.name == "index_path":
            value = os.environ.get("MEDCITE_INDEX", value)
        if value is not None:
            env[f.name] = _coerce(value, getattr(base, f.name))
    return base.with_overrides(**env).with_overrides(**overrides)


def index_path(settings: Settings) -> Path:
    """Return the index file path of these settings."""
    return Path(settings.index_path)
