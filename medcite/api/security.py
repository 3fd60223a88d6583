"""API keys, a per-key rate limit and an access log that never carries patient text.

Keys come from MEDCITE_API_KEYS (comma-separated); when it is unset the API is open, which is the
loopback default. The rate limit (MEDCITE_RATE_LIMIT requests per minute, 0 = off) is a token
bucket per key, or per client address when keys are off, so one busy client cannot starve others.
A request with a missing or unknown key spends the budget of its client address: guessing keys is
rate limited like anything else.

The access log shows the route, not the request: no query string, and path parameters replaced by
their names (`/api/v1/documents/{doc_id}`); a path that is no route is logged as `/{unknown}`.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Paths that need a key when keys are configured. The page, its static files, the health check
# and the OpenAPI schema stay open: they carry no patient data.
PROTECTED_PREFIXES = ("/api/", "/cds-services")


@dataclass
class AccessPolicy:
    """Which keys are accepted and how many requests per minute each may make."""

    api_keys: frozenset[str] = frozenset()
    rate_per_minute: int = 0
    _buckets: dict[str, "TokenBucket"] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_env(cls, api_keys: str | None = None, rate_limit: int | None = None) -> "AccessPolicy":
        """Return the policy from the arguments, else MEDCITE_API_KEYS / MEDCITE_RATE_LIMIT."""
        raw = api_keys if api_keys is not None else os.environ.get("MEDCITE_API_KEYS", "")
        keys = frozenset(k.strip() for k in raw.split(",") if k.strip())
        if rate_limit is None:
            value = os.environ.get("MEDCITE_RATE_LIMIT", "").strip()
            rate_limit = int(value) if value else 0
        return cls(api_keys=keys, rate_per_minute=max(0, int(rate_limit)))

    def protects(self, path: str) -> bool:
        """Return True when requests to `path` must pass the key check and the rate limit."""
        return path.startswith(PROTECTED_PREFIXES)

    def check_key(self, headers) -> tuple[str | None, str | None]:
        """Return (client key, None) for an accepted request, or (None, reason) for a refused one."""
        if not self.api_keys:
            return None, None
        given = headers.get("x-api-key")
        if not given:
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                given = token.strip()
        if not given:
            return None, "an API key is required: send it as X-API-Key or Authorization: Bearer"
        # compare_digest against every key: the time taken does not reveal which prefix matched.
        matched = [k for k in self.api_keys if hmac.compare_digest(k.encode(), given.encode())]
        if not matched:
            return None, "unknown API key"
        return matched[0], None

    def take(self, client: str) -> float:
        """Spend one request of `client`'s budget; return 0 when allowed, else seconds until allowed."""
        if self.rate_per_minute <= 0:
            return 0.0
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                bucket = self._buckets[client] = TokenBucket(capacity=self.rate_per_minute, per_second=self.rate_per_minute / 60.0)
        return bucket.take()


class TokenBucket:
    """A bucket of `capacity` tokens refilled at `per_second`; each request takes one token."""

    def __init__(self, capacity: float, per_second: float, clock=time.monotonic):
        self.capacity = capacity
        self.per_second = per_second
        self.clock = clock
        self.tokens = float(capacity)
        self.stamp = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Return 0 and spend a token when one is left, else the seconds until the next token."""
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.per_second


# ---------------------------------------------------------------------- access log
class PathOnlyAccessFilter(logging.Filter):
    """Rewrites uvicorn access-log records so that they show the path without its query string.

    Search terms and case text travel in query strings (`/api/v1/search?q=...`); request bodies are
    never logged by uvicorn. With MEDCITE_LOG_PATIENT_TEXT=1 the record is left as it is.
    """

    def __init__(self, log_patient_text: bool = False):
        super().__init__()
        self.log_patient_text = log_patient_text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.log_patient_text:
            return True
        args = record.args
        # uvicorn.access: (client_addr, method, full_path, http_version, status_code)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], access_path(args[2]), args[3], args[4])
        return True


def strip_query(path: str) -> str:
    """Return `path` without its query string and fragment."""
    return urlsplit(path).path or "/"


# Routes as the access log shows them: fixed paths as they are, parameters by name.
LOGGED_PATHS = frozenset({"/", "/healthz", "/api/v1/stats", "/api/v1/search", "/api/v1/ask", "/cds-services",
                          "/openapi.json", "/docs", "/redoc", "/favicon.ico"})
LOGGED_PREFIXES = (("/api/v1/documents/", "/api/v1/documents/{doc_id}"), ("/cds-services/", "/cds-services/{service_id}"),
                   ("/static/", "/static/{file}"))


def access_path(path: str) -> str:
    """Return the route of a request path for the access log: no query string, no parameter values."""
    path = strip_query(path)
    if path in LOGGED_PATHS:
        return path
    return next((template for prefix, template in LOGGED_PREFIXES if path.startswith(prefix)), "/{unknown}")


def uvicorn_log_config(log_patient_text: bool = False) -> dict:
    """Return a uvicorn `log_config` whose access log passes through PathOnlyAccessFilter."""
    from uvicorn.config import LOGGING_CONFIG

    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in LOGGING_CONFIG.items()}
    config["filters"] = {
        "path_only": {"()": "medcite.api.security.PathOnlyAccessFilter", "log_patient_text": log_patient_text}
    }
    handlers = {name: dict(h) for name, h in config["handlers"].items()}
    handlers["access"]["filters"] = ["path_only"]
    config["handlers"] = handlers
    return config
