"""One settings model for the whole pipeline, overridable from the environment (MEDCITE_*).

Every answer is stamped with `settings_hash()` so that a result can be tied to the exact
configuration that produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path

from medcite.errors import MedciteError

DEFAULT_INDEX = "medcite.db"


class LexicalBackend(StrEnum):
    """Which engine answers lexical search on a PostgreSQL index (README "PostgreSQL")."""

    TANTIVY = "tantivy"  # BM25 in a local tantivy index built from the database rows per corpus version
    POSTGRES = "postgres"  # PostgreSQL full text (tsvector, ts_rank) in the database: nothing local
# Fields that never change an answer (paths, limits, serving, ingest): left out of the settings hash.
OPERATIONAL_FIELDS = frozenset({
    "index_path", "query_timeout_s", "log_patient_text", "max_question_chars", "max_facts_bytes",
    "max_drugs_per_case", "max_drug_mentions", "max_bundle_entries", "max_body_bytes", "max_json_depth", "body_timeout_s",
    "workers", "max_queue", "max_connections", "fhir_servers", "fhir_deadline_s", "fhir_max_response_bytes",
    "ingest_max_inflated_mb", "ingest_max_ratio", "ingest_max_errors_per_file", "local_dir",
    # where the model runs and how long we wait for it; the key is a secret (never hashed, logged or shown)
    "llm_url", "llm_api_key", "llm_api_key_file", "llm_timeout_s", "llm_connect_timeout_s",
})
# Fields that change an answer only when the LLM composer writes it.
LLM_FIELDS = frozenset({"llm_model", "llm_max_tokens", "llm_max_passages", "llm_passage_chars"})


class Composer(StrEnum):
    """Who writes an answer's prose: the extractive composer (quotes, the default) or an
    OpenAI-compatible language model behind the verifier (`compose.llm`)."""

    EXTRACTIVE = "extractive"
    LLM = "llm"


class SettingsError(MedciteError):
    """A setting has a value medcite cannot use (one line naming its variable)."""


@dataclass(frozen=True)
class Settings:
    """Pipeline settings. Field docs are the README's settings table."""

    index_path: str = DEFAULT_INDEX  # MEDCITE_INDEX: the SQLite file, or a postgresql:// URI (system of record)
    pg_lexical: str = LexicalBackend.TANTIVY.value  # lexical search of a PostgreSQL index: tantivy | postgres
    local_dir: str = ""  # MEDCITE_LOCAL_DIR: where a PostgreSQL index keeps local derived files (default ~/.cache/medcite)
    chunk_words: int = 180  # passages are at most this many words, never across sections
    retrieval_mode: str = "hybrid"  # bm25 | dense | hybrid
    rrf_k: int = 60  # reciprocal-rank-fusion constant
    dense_weight: float = 0.6  # weight of the dense ranking in fusion (bm25 weight is 1); tuned on train/dev
    embed_at_ingest: bool = True  # compute passage embeddings while ingesting
    embed_max_seq_len: int = 64  # tokens of a passage the embedding model reads (64: ingest in minutes; docs/retrieval.md)
    dense_tiers: str = "research"  # tiers whose passages get vectors ("all" or a comma list): docs/retrieval.md
    vector_search: str = "auto"  # exact | hnsw | auto (HNSW graph from ann_threshold vectors on): medcite/index/ann.py
    ann_threshold: int = 100_000  # vectors from which auto mode searches the HNSW graph (docs/scale.md)
    hnsw_m: int = 16  # HNSW links per node (faiss M)
    hnsw_ef_construction: int = 200  # HNSW candidate list while building
    hnsw_ef_search: int = 256  # HNSW candidate list while searching (at least the depth asked)
    fusion: str = "convex"  # convex (min-max normalised scores) | rrf (baseline) — docs/retrieval.md
    expand_queries: bool = True  # drug-dictionary (brand -> generic) expansion of queries
    expand_abbreviations: bool = False  # corpus abbreviation expansion (measured: no gain; docs/retrieval.md)
    k_guideline: int = 8  # passages retrieved per tier when answering
    k_label: int = 12
    k_research: int = 8
    max_sentences_per_tier: int = 6
    query_timeout_s: float = 10.0  # API: time limit of one query; the query is stopped there, not only answered 504
    log_patient_text: bool = False  # MEDCITE_LOG_PATIENT_TEXT: never by default

    # ---- bounded work per request (README "Security"); a request past a limit is refused, never cut
    max_question_chars: int = 10_000  # a case or question longer than this: 413
    max_facts_bytes: int = 16_384  # the `facts` object of /api/v1/ask as JSON: 413 past it
    max_drugs_per_case: int = 8  # distinct drugs checked against their labels (proposed, or asked about): 422 past it
    max_drug_mentions: int = 40  # drug names in a case, any role (co-medications included): 422 past it
    max_bundle_entries: int = 200  # entries of one FHIR Bundle in a hook request (draftOrders, each prefetch): 413
    max_body_bytes: int = 1_000_000  # request body: 413 past it
    max_json_depth: int = 64  # nesting of a request body's JSON: 400/422 past it
    body_timeout_s: float = 10.0  # the whole request body must arrive within this: 408 past it
    workers: int = 4  # MEDCITE_WORKERS: query threads of the server
    max_queue: int = 8  # queries waiting for a worker; one more is refused with 503 and Retry-After
    max_connections: int = 200  # open connections uvicorn serves at once (503 past it)

    # ---- CDS Hooks: fetching missing prefetch data from the EHR's FHIR server
    fhir_servers: str = ""  # MEDCITE_FHIR_SERVERS: comma-separated base URLs; empty = never fetch
    fhir_deadline_s: float = 5.0  # all fetches of one hook call together
    fhir_max_response_bytes: int = 2_000_000  # one FHIR response, after decompression

    # ---- ingest
    ingest_max_inflated_mb: int = 4096  # decompressed bytes of one file (gzip / zip member)
    ingest_max_ratio: float = 100.0  # decompressed / compressed size of one file, checked past 32 MB
    ingest_max_errors_per_file: int = 100  # errors of one file printed and logged; the rest are counted

    # ---- the optional LLM composer (README "LLM composer"); nothing is sent anywhere unless llm_url is set
    composer: str = Composer.EXTRACTIVE  # MEDCITE_COMPOSER: extractive | llm (ask --composer, the API's `composer`)
    llm_url: str = ""  # MEDCITE_LLM_URL: base URL of an OpenAI-compatible server ("http://127.0.0.1:8088/v1")
    llm_model: str = ""  # MEDCITE_LLM_MODEL: the model name sent to it (and stamped in the settings hash)
    llm_api_key: str = field(default="", repr=False)  # MEDCITE_LLM_API_KEY: sent as a Bearer token; never logged
    llm_api_key_file: str = ""  # MEDCITE_LLM_API_KEY_FILE: a file holding the key (instead of the variable)
    llm_timeout_s: float = 120.0  # the whole generation; past it the answer is the extractive one, and says so
    llm_connect_timeout_s: float = 3.0  # connecting to the server (a server that is down fails fast)
    llm_max_tokens: int = 320  # the token budget of one generated answer
    llm_max_passages: int = 8  # evidence passages given to the model
    llm_passage_chars: int = 700  # characters of one passage given to the model

    def __post_init__(self) -> None:
        if self.composer not in {c.value for c in Composer}:
            raise SettingsError(f"composer {self.composer!r} is not one of extractive, llm (MEDCITE_COMPOSER)")
        if self.llm_url and not self.llm_url.startswith(("http://", "https://")):
            raise SettingsError(f"llm_url must start with http:// or https:// (MEDCITE_LLM_URL): {self.llm_url!r}")

    def hash(self) -> str:
        """Return a short stable hash of the settings that change answers (not paths, limits or
        secrets); the model and its budget count only when the LLM composer writes the answer."""
        skip = OPERATIONAL_FIELDS | (LLM_FIELDS if self.composer == Composer.EXTRACTIVE else frozenset())
        answer_fields = {k: v for k, v in asdict(self).items() if k not in skip}
        blob = json.dumps(answer_fields, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def api_key(self) -> str:
        """Return the LLM server's API key: MEDCITE_LLM_API_KEY, else the first line of
        MEDCITE_LLM_API_KEY_FILE, else "" (raises SettingsError when that file cannot be read)."""
        if self.llm_api_key or not self.llm_api_key_file:
            return self.llm_api_key
        try:
            return Path(self.llm_api_key_file).read_text(encoding="utf-8").strip().splitlines()[0].strip()
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            raise SettingsError(f"{self.llm_api_key_file}: cannot read the LLM API key (MEDCITE_LLM_API_KEY_FILE): "
                                f"{type(exc).__name__}") from None

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


def env_name(field_name: str) -> str:
    """Return the environment variable that overrides a settings field ("MEDCITE_MAX_QUEUE")."""
    return "MEDCITE_INDEX" if field_name == "index_path" else f"MEDCITE_{field_name.upper()}"


def index_path(settings: Settings) -> Path:
    """Return the index file path of these settings."""
    return Path(settings.index_path)
