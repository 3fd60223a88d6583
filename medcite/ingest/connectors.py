"""Live connectors: openFDA drug labels (API and bulk download) and PubMed E-utilities.

Building a request, parsing a response and writing files are separate functions, so that all of
it except the HTTP call itself is tested offline on recorded payloads. Fetchers write files the
readers of this package read: JSONL.gz for `openfda`, efetch XML for `pubmed_xml`, the bulk
`.json.zip` parts for `openfda`. Nothing here runs unless a user asks for a fetch.

NCBI asks for at most 3 requests/s without an API key and 10/s with one, and for `tool` and
`email` parameters; openFDA allows 240 requests/min. Requests are spaced accordingly, and 429
and 5xx answers are retried with exponential backoff (honouring Retry-After).
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from medcite.errors import MedciteError

OPENFDA_LABEL_URL = "https://api.fda.gov/drug/label.json"
OPENFDA_DOWNLOAD_URL = "https://api.fda.gov/download.json"
OPENFDA_MAX_LIMIT = 1000
OPENFDA_MAX_SKIP = 25000
EUTILS = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
ESEARCH_URL = EUTILS + "esearch.fcgi"
EFETCH_URL = EUTILS + "efetch.fcgi"
EFETCH_BATCH = 200
ESEARCH_MAX_RETMAX = 10000
# An id list longer than this (as "1,2,3") goes in a POST body: long GET URLs are refused.
MAX_GET_IDS_CHARS = 1000
USER_AGENT = "medcite/0.1 (+https://github.com/medcite)"

Sleep = Callable[[float], None]


class FetchError(MedciteError):
    """A remote service refused or failed a request after retries."""


# ---------------------------------------------------------------- HTTP plumbing


class RateLimiter:
    """Space calls at least 1/per_second seconds apart."""

    def __init__(self, per_second: float, sleep: Sleep = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / per_second
        self.sleep = sleep
        self.clock = clock
        self.last: float | None = None

    def wait(self) -> None:
        """Sleep until the next call is allowed, then record it."""
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            self.sleep(self.interval - (now - self.last))
            now = self.clock()
        self.last = now


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def send(
    client: httpx.Client,
    method: str,
    url: str,
    params: dict[str, Any] | None = None,
    *,
    data: dict[str, Any] | None = None,
    limiter: RateLimiter | None = None,
    retries: int = 4,
    backoff: float = 1.0,
    sleep: Sleep = time.sleep,
    ok_statuses: tuple[int, ...] = (200,),
) -> httpx.Response:
    """Return the response to one request, retrying 429/5xx and connection errors with
    exponential backoff; raise FetchError when retries run out or on another error status."""
    attempt = 0
    while True:
        if limiter:
            limiter.wait()
        try:
            resp = client.request(method, url, params=params, data=data)
        except httpx.TransportError as exc:
            if attempt >= retries:
                raise FetchError(f"{url}: {exc} (after {retries} retries); check the network") from exc
            sleep(backoff * 2**attempt)
            attempt += 1
            continue
        if resp.status_code in ok_statuses:
            return resp
        if (resp.status_code == 429 or resp.status_code >= 500) and attempt < retries:
            sleep(_retry_after(resp) or backoff * 2**attempt)
            attempt += 1
            continue
        raise FetchError(f"{resp.request.url}: HTTP {resp.status_code}: {resp.text[:200].strip()}")


def _client(client: httpx.Client | None) -> tuple[httpx.Client, bool]:
    if client is not None:
        return client, False
    return httpx.Client(timeout=120, follow_redirects=True, headers={"User-Agent": USER_AGENT}), True


def _slug(text: str, width: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:width] or "all"


# ---------------------------------------------------------------- openFDA label API


def openfda_label_request(
    search: str | None = None,
    limit: int = 100,
    skip: int = 0,
    api_key: str | None = None,
    sort: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Return (url, params) for one page of the openFDA drug-label API.

    `search` uses openFDA query syntax (e.g. 'openfda.generic_name:"everolimus"'); `limit` is
    capped at 1000 and `skip` at 25000 by the API (ValueError here rather than a 400 there).
    """
    if not 1 <= limit <= OPENFDA_MAX_LIMIT:
        raise ValueError(f"limit must be 1..{OPENFDA_MAX_LIMIT}, got {limit}")
    if not 0 <= skip <= OPENFDA_MAX_SKIP:
        raise ValueError(f"skip must be 0..{OPENFDA_MAX_SKIP} (use search_after paging), got {skip}")
    params: dict[str, Any] = {}
    if search:
        params["search"] = search
    if sort:
        params["sort"] = sort
    params["limit"] = limit
    if skip:
        params["skip"] = skip
    if api_key:
        params["api_key"] = api_key
    return OPENFDA_LABEL_URL, params


def parse_openfda_page(body: bytes | str | dict) -> tuple[list[dict], int]:
    """Return (results, total) of one openFDA API response."""
    data = json.loads(body) if isinstance(body, (bytes, str)) else body
    results = data.get("results") or []
    total = ((data.get("meta") or {}).get("results") or {}).get("total", len(results))
    return results, int(total)


def _next_link(resp: httpx.Response) -> str | None:
    # openFDA sends `Link: <...search_after=...>; rel="next"` when more pages follow.
    for rel, link in resp.links.items():
        if str(rel).lower() == "next" and link.get("url"):
            return link["url"]
    return None


def iter_openfda_labels(
    search: str | None,
    *,
    max_records: int | None = None,
    page_size: int = OPENFDA_MAX_LIMIT,
    api_key: str | None = None,
    client: httpx.Client | None = None,
    sleep: Sleep = time.sleep,
) -> Iterator[dict]:
    """Yield label records matching `search` (all labels if None), page by page.

    Follows the `Link: rel="next"` (search_after) URL when the API gives one, which is how
    result sets over 26,000 are paged; otherwise pages with skip/limit up to the skip cap.
    """
    client, own = _client(client)
    limiter = RateLimiter(4.0, sleep=sleep)  # 240 requests/min
    try:
        url, params = openfda_label_request(search, limit=page_size, api_key=api_key)
        got, received, cursor = 0, 0, False
        while True:
            resp = send(client, "GET", url, params, limiter=limiter, sleep=sleep, ok_statuses=(200, 404))
            if resp.status_code == 404:  # openFDA answers "no matches" with 404 NOT_FOUND
                return
            results, total = parse_openfda_page(resp.content)
            for rec in results:
                if max_records is not None and got >= max_records:
                    return
                got += 1
                yield rec
            if not results or (max_records is not None and got >= max_records):
                return
            received += len(results)
            nxt = _next_link(resp)
            if nxt:
                cursor = True
                url, params = nxt, ({"api_key": api_key} if api_key and "api_key=" not in nxt else None)
                continue
            # In cursor mode a page without a next link is the last one.
            if cursor or received >= total or received > OPENFDA_MAX_SKIP:
                return
            url, params = openfda_label_request(search, limit=page_size, skip=received, api_key=api_key)
    finally:
        if own:
            client.close()


def fetch_openfda_labels(
    query: str | None,
    limit: int | None,
    out_dir: Path,
    *,
    api_key: str | None = None,
    client: httpx.Client | None = None,
    page_size: int = OPENFDA_MAX_LIMIT,
    sleep: Sleep = time.sleep,
) -> tuple[Path, int]:
    """Fetch up to `limit` labels matching `query` (None: no limit) into one JSONL.gz file in
    `out_dir` that `medcite.ingest.openfda` reads; return (path, number of records).

    The file is written under a temporary name and renamed when complete, so an interrupted
    fetch never leaves a file that looks whole.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"openfda_labels_{_slug(query or 'all')}.jsonl.gz"
    part = path.with_name(path.name + ".part")
    n = 0
    with gzip.open(part, "wt", encoding="utf-8") as fh:
        for rec in iter_openfda_labels(
            query, max_records=limit, page_size=min(page_size, limit or page_size), api_key=api_key,
            client=client, sleep=sleep,
        ):
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    part.replace(path)
    return path, n


# ---------------------------------------------------------------- openFDA bulk download


def openfda_bulk_manifest_request() -> tuple[str, dict[str, Any]]:
    """Return (url, params) of openFDA's download manifest (download.json)."""
    return OPENFDA_DOWNLOAD_URL, {}


@dataclass
class BulkPart:
    """One partition of an openFDA bulk download."""

    url: str
    display_name: str = ""
    records: int | None = None
    size_mb: float | None = None

    @property
    def filename(self) -> str:
        """The file name in the URL (e.g. drug-label-0001-of-0013.json.zip)."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]


def parse_openfda_bulk_manifest(body: bytes | str | dict, endpoint: tuple[str, str] = ("drug", "label")) -> list[BulkPart]:
    """Return the partitions of one endpoint (default drug/label) listed in download.json."""
    data = json.loads(body) if isinstance(body, (bytes, str)) else body
    node = data.get("results", {})
    for key in endpoint:
        node = node.get(key, {})
    parts = []
    for p in node.get("partitions", []):
        size = p.get("size_mb")
        parts.append(
            BulkPart(
                url=p["file"],
                display_name=p.get("display_name", ""),
                records=int(p["records"]) if p.get("records") is not None else None,
                size_mb=float(size) if size not in (None, "") else None,
            )
        )
    return parts


def download_openfda_bulk(
    out_dir: Path,
    parts: Iterable[int] | None = None,
    *,
    client: httpx.Client | None = None,
    sleep: Sleep = time.sleep,
) -> list[Path]:
    """Download drug-label bulk partitions (1-based numbers in `parts`, all if None) into
    `out_dir` as the `.json.zip` files `medcite.ingest.openfda` reads; return their paths.
    A partition already on disk with the right size is not downloaded again."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    client, own = _client(client)
    try:
        url, params = openfda_bulk_manifest_request()
        manifest = parse_openfda_bulk_manifest(send(client, "GET", url, params, sleep=sleep).content)
        wanted = set(parts) if parts is not None else set(range(1, len(manifest) + 1))
        unknown = sorted(i for i in wanted if not 1 <= i <= len(manifest))
        if unknown:
            raise FetchError(f"openFDA drug/label has {len(manifest)} partitions; no part {unknown}")
        paths = []
        for i, part in enumerate(manifest, start=1):
            if i not in wanted:
                continue
            path = out_dir / part.filename
            paths.append(path)
            tmp = path.with_name(path.name + ".part")
            with client.stream("GET", part.url) as resp:
                if resp.status_code != 200:
                    raise FetchError(f"{part.url}: HTTP {resp.status_code}")
                size = resp.headers.get("Content-Length")
                if path.exists() and size and path.stat().st_size == int(size):
                    continue
                with open(tmp, "wb") as fh:
                    for chunk in resp.iter_bytes():
                        fh.write(chunk)
            tmp.replace(path)
        return paths
    finally:
        if own:
            client.close()


# ---------------------------------------------------------------- PubMed E-utilities


def _eutils_common(api_key: str | None, email: str | None, tool: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if tool:
        params["tool"] = tool
    if email:
        params["email"] = email
    if api_key:
        params["api_key"] = api_key
    return params


def esearch_request(
    term: str,
    retmax: int = 100,
    retstart: int = 0,
    api_key: str | None = None,
    email: str | None = None,
    tool: str | None = "medcite",
    usehistory: bool = False,
) -> tuple[str, dict[str, Any]]:
    """Return (url, params) of a PubMed esearch (JSON) for `term`."""
    if not 0 <= retmax <= ESEARCH_MAX_RETMAX:
        raise ValueError(f"retmax must be 0..{ESEARCH_MAX_RETMAX}, got {retmax}")
    params: dict[str, Any] = {"db": "pubmed", "term": term, "retmode": "json", "retmax": retmax}
    if retstart:
        params["retstart"] = retstart
    if usehistory:
        params["usehistory"] = "y"
    params.update(_eutils_common(api_key, email, tool))
    return ESEARCH_URL, params


@dataclass
class ESearchResult:
    """Parsed esearch answer: total hit count, this page's PMIDs and the history-server keys."""

    count: int
    ids: list[str] = field(default_factory=list)
    retstart: int = 0
    webenv: str | None = None
    query_key: str | None = None


def parse_esearch(body: bytes | str) -> ESearchResult:
    """Return the ESearchResult of an esearch response in JSON or XML; raise FetchError when
    the response reports an error."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if text.lstrip().startswith("{"):
        res = json.loads(text).get("esearchresult", {})
        if "ERROR" in res or "count" not in res:
            raise FetchError(f"esearch error: {res.get('ERROR') or res.get('errorlist') or text[:200]}")
        return ESearchResult(
            count=int(res["count"]),
            ids=[str(i) for i in res.get("idlist", [])],
            retstart=int(res.get("retstart", 0)),
            webenv=res.get("webenv"),
            query_key=res.get("querykey"),
        )
    root = etree.fromstring(text.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    err = root.findtext("ERROR")
    if err or root.findtext("Count") is None:
        raise FetchError(f"esearch error: {err or text[:200]}")
    return ESearchResult(
        count=int(root.findtext("Count")),
        ids=[e.text for e in root.iterfind("IdList/Id") if e.text],
        retstart=int(root.findtext("RetStart") or 0),
        webenv=root.findtext("WebEnv"),
        query_key=root.findtext("QueryKey"),
    )


def efetch_request(
    pmids: Sequence[str | int],
    api_key: str | None = None,
    email: str | None = None,
    tool: str | None = "medcite",
) -> tuple[str, str, dict[str, Any]]:
    """Return (method, url, params) of an efetch of PubMed records as XML abstracts: GET for a
    short id list, POST (params as the form body) when the ids would make the URL too long."""
    ids = ",".join(str(p).strip() for p in pmids if str(p).strip())
    if not ids:
        raise ValueError("efetch needs at least one PMID")
    params: dict[str, Any] = {"db": "pubmed", "id": ids, "rettype": "abstract", "retmode": "xml"}
    params.update(_eutils_common(api_key, email, tool))
    method = "POST" if len(ids) > MAX_GET_IDS_CHARS else "GET"
    return method, EFETCH_URL, params


def batches(items: Sequence[str], size: int = EFETCH_BATCH) -> list[list[str]]:
    """Return `items` cut into consecutive lists of at most `size`."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def check_efetch_xml(body: bytes) -> list[str]:
    """Return the PMIDs of a PubmedArticleSet payload; raise FetchError if it is not one."""
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except etree.XMLSyntaxError as exc:
        raise FetchError(f"efetch returned no XML ({exc}): {body[:200]!r}") from exc
    if root.tag != "PubmedArticleSet":
        raise FetchError(f"efetch returned <{root.tag}>, not <PubmedArticleSet>: {body[:200]!r}")
    return [p.text for p in root.iterfind("PubmedArticle/MedlineCitation/PMID") if p.text]


def pubmed_search_ids(
    term: str,
    retmax: int,
    *,
    client: httpx.Client,
    limiter: RateLimiter,
    api_key: str | None = None,
    email: str | None = None,
    tool: str | None = "medcite",
    sleep: Sleep = time.sleep,
) -> list[str]:
    """Return up to `retmax` PMIDs matching `term` (esearch, paged by 10,000)."""
    ids: list[str] = []
    while len(ids) < retmax:
        page = min(ESEARCH_MAX_RETMAX, retmax - len(ids))
        url, params = esearch_request(term, page, len(ids), api_key, email, tool)
        result = parse_esearch(send(client, "GET", url, params, limiter=limiter, sleep=sleep).content)
        ids.extend(result.ids)
        if not result.ids or len(ids) >= result.count:
            break
    return ids[:retmax]


def fetch_pubmed(
    term_or_pmids: str | Sequence[str | int],
    out_dir: Path,
    *,
    retmax: int = 1000,
    api_key: str | None = None,
    email: str | None = None,
    tool: str | None = "medcite",
    client: httpx.Client | None = None,
    batch_size: int = EFETCH_BATCH,
    sleep: Sleep = time.sleep,
) -> list[Path]:
    """Fetch PubMed records as efetch XML files (`pubmed_<name>_0001.xml`, ... one per batch of
    at most 200 PMIDs) into `out_dir`, for `medcite.ingest.pubmed_xml`; return the file paths.

    `term_or_pmids` is a PubMed query (searched first, up to `retmax` hits) or a list of PMIDs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    client, own = _client(client)
    limiter = RateLimiter(10.0 if api_key else 3.0, sleep=sleep)
    try:
        if isinstance(term_or_pmids, str):
            ids = pubmed_search_ids(
                term_or_pmids, retmax, client=client, limiter=limiter, api_key=api_key, email=email, tool=tool, sleep=sleep
            )
            name = _slug(term_or_pmids, 40)
        else:
            ids = [str(p).strip() for p in term_or_pmids if str(p).strip()]
            name = "pmids"
        paths = []
        for n, batch in enumerate(batches(ids, min(batch_size, EFETCH_BATCH)), start=1):
            method, url, params = efetch_request(batch, api_key, email, tool)
            if method == "POST":
                resp = send(client, "POST", url, data=params, limiter=limiter, sleep=sleep)
            else:
                resp = send(client, "GET", url, params, limiter=limiter, sleep=sleep)
            check_efetch_xml(resp.content)
            path = out_dir / f"pubmed_{name}_{n:04d}.xml"
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(resp.content)
            tmp.replace(path)
            paths.append(path)
        return paths
    finally:
        if own:
            client.close()

