"""CDS Hooks prefetch data that the client did not send, fetched from its FHIR server — fail closed.

A hook request may name a `fhirServer` (and an OAuth token for it). medcite contacts it only when:
- it is under a base URL listed in `settings.fhir_servers` (MEDCITE_FHIR_SERVERS); unset, nothing
  is ever fetched. Scheme, host and port must be the listed ones exactly: `localhost` or
  `[::ffff:127.0.0.1]` is not `127.0.0.1` (only the URL standard's own reading of an address, such
  as `2130706433` for `127.0.0.1`, is the same host); URLs with user info are refused;
- the patient id is a FHIR id ([A-Za-z0-9-.]{1,64}); it is URL-encoded anyway, and every URL built
  from the prefetch templates must still lie under the listed base.

Each fetch: no redirects (a 3xx is a failure), no proxy from the environment, the response read as
raw bytes up to `settings.fhir_max_response_bytes` and decompressed (gzip / deflate) under the same
cap, JSON parsed in a thread, never on the event loop. All fetches of one hook call share one
deadline, `settings.fhir_deadline_s`. A failure leaves the data out: the card says which data was
not available, never why at the network level (no status codes or error names that would make the
service a port scanner); the server log has the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from medcite.api.guards import json_depth
from medcite.ingest.inflate import inflate_pieces
from medcite.numbers import format_number
from medcite.settings import Settings

log = logging.getLogger("medcite.api")

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchFailed(Exception):
    """One prefetch could not be fetched (the reason goes to the server log only)."""


@dataclass(frozen=True)
class Base:
    """A FHIR base URL reduced to what decides where a request goes."""

    scheme: str
    host: str
    port: int
    path: str  # without a trailing slash

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    def holds(self, other: "Base") -> bool:
        """Return True when `other` is this base or a path under it."""
        return (other.scheme, other.host, other.port) == (self.scheme, self.host, self.port) and (
            other.path == self.path or other.path.startswith(self.path + "/"))


def parse_base(url: str) -> Base | None:
    """Return the Base of an http(s) URL, or None for anything else (user info, a query, dot
    segments, an unparsable port)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if parts.query or parts.fragment:
        return None
    path = parts.path.rstrip("/")
    if any(seg in (".", "..") for seg in path.split("/")) or "%2e" in path.lower() or "\\" in path:
        return None
    return Base(scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme], path)


def listed_base(server: str, settings: Settings) -> Base | None:
    """Return the listed base (MEDCITE_FHIR_SERVERS) that holds `server`; None when none does."""
    target = parse_base(server)
    if target is None:
        return None
    for entry in settings.fhir_servers.split(","):
        base = parse_base(entry) if entry.strip() else None
        if base is not None and base.holds(target):
            return base
    return None


def request_url(server: Base, listed: Base, template: str, context: dict[str, Any]) -> str:
    """Return the URL of one prefetch template; FetchFailed when it would leave the listed base."""
    def value(m: re.Match[str]) -> str:
        return quote(str(context.get(m.group(1), "")), safe="")

    relative = re.sub(r"\{\{\s*context\.(\w+)\s*\}\}", value, template)
    path, _, query = relative.partition("?")
    url = f"{server.url()}/{path}" + (f"?{query}" if query else "")
    final = parse_base(url.partition("?")[0])
    if final is None or not listed.holds(final) or final.path == listed.path:
        raise FetchFailed("the URL would leave the listed base")
    return url


async def _get_json(client: httpx.AsyncClient, url: str, headers: dict[str, str], settings: Settings) -> Any:
    cap = settings.fhir_max_response_bytes
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code != 200:
            raise FetchFailed(f"HTTP {response.status_code}")
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise FetchFailed(f"declared size {declared} bytes over the cap")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if response.is_stream_consumed:  # an in-memory response (httpx.MockTransport): already decoded
            pieces, encoding = _pieces(response.content), "identity"
        else:
            pieces = response.aiter_raw()  # raw bytes: decompressed below, under the cap
        raw, size = [], 0
        async for piece in pieces:
            size += len(piece)
            if size > cap:
                raise FetchFailed(f"response over {format_number(cap)} bytes")
            raw.append(piece)
    # decompressing and parsing a 2 MB document is work: not on the event loop
    return await asyncio.to_thread(decode_json, b"".join(raw), encoding, cap, settings.max_json_depth)


async def _pieces(data: bytes):
    yield data


def decode_json(raw: bytes, encoding: str, cap: int, max_depth: int) -> Any:
    """Return the JSON document in `raw` (identity, gzip or deflate), refused past `cap` bytes
    decompressed or `max_depth` levels of nesting."""
    if encoding in ("gzip", "x-gzip", "deflate"):
        total = [0]

        def count(n: int) -> None:
            total[0] += n
            if total[0] > cap:
                raise FetchFailed(f"response inflates past {format_number(cap)} bytes")

        try:
            raw = b"".join(inflate_pieces([raw], 32 + 15, count, lambda: FetchFailed("compressed response cut short")))
        except zlib.error as exc:
            raise FetchFailed(f"compressed response unreadable ({exc})") from None
    elif encoding not in ("", "identity"):
        raise FetchFailed(f"content-encoding {encoding} not accepted")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FetchFailed(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise FetchFailed("not a FHIR resource (a JSON object)")
    if json_depth(data, max_depth) > max_depth:
        raise FetchFailed(f"JSON nested deeper than {max_depth} levels")
    return data


async def fetch_prefetch(
    server: str | None, token: str | None, context: dict[str, Any], missing: dict[str, str], settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Return ({key: resource} fetched for the `missing` prefetch templates, notes for the card)."""
    if not missing or server is None:
        return {}, []
    keys = ", ".join(missing)
    listed = listed_base(server, settings)
    if listed is None:
        # Never send the EHR's bearer token to a server the operator has not listed.
        return {}, [f"{keys} not fetched: the hook's FHIR server is not one this service is set to use (MEDCITE_FHIR_SERVERS)"]
    patient = str(context.get("patientId", ""))
    if not FHIR_ID.fullmatch(patient):
        return {}, [f"{keys} not fetched: the patientId is not a FHIR id"]
    base = parse_base(server)
    headers = {"Accept": "application/fhir+json", "Accept-Encoding": "gzip, deflate"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    got: dict[str, Any] = {}
    failed: list[str] = []
    timeout = httpx.Timeout(settings.fhir_deadline_s)
    deadline = asyncio.get_running_loop().time() + settings.fhir_deadline_s  # one for all the fetches
    async with httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for key, template in missing.items():
            try:
                url = request_url(base, listed, template, context)
                async with asyncio.timeout_at(deadline):
                    got[key] = await _get_json(client, url, headers, settings)
            except (FetchFailed, httpx.HTTPError, TimeoutError, OSError) as exc:
                # Decision support goes on without this data; the reason is for the operator only.
                log.warning("FHIR prefetch %s not fetched: %s", key, exc if isinstance(exc, FetchFailed) else type(exc).__name__)
                failed.append(key)
    if failed:
        return got, [f"{', '.join(failed)} could not be fetched from the FHIR server"]
    return got, []
