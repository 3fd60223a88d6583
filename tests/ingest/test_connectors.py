"""Live connectors, offline: request building, and fetchers replaying recorded real payloads
(openFDA label records from the PharmGKB snapshot, PubMed efetch XML samples) through
httpx.MockTransport."""

import gzip
import io
import json
import zipfile
from urllib.parse import parse_qs

import httpx
import pytest
from lxml import etree

from medcite.ingest import connectors as c
from medcite.ingest import openfda, pubmed_xml
from medcite.records import Document, RecordError


def no_sleep(seconds):
    pass


@pytest.fixture(scope="module")
def label_records(shared_data):
    path = shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz"
    return [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]


@pytest.fixture(scope="module")
def pubmed_articles(shared_data):
    """PMID -> serialized <PubmedArticle> from the recorded efetch files, in file order."""
    articles = {}
    for path in sorted((shared_data / "pubmed_xml_samples").glob("*.xml")):
        root = etree.parse(str(path)).getroot()
        for art in root.iterfind("PubmedArticle"):
            articles[art.findtext("MedlineCitation/PMID")] = etree.tostring(art)
    return articles


# ---------------------------------------------------------------- request building


def test_openfda_label_request():
    url, params = c.openfda_label_request(search='openfda.brand_name:"Afinitor"', limit=10)
    assert (url, params) == ("https://api.fda.gov/drug/label.json", {"search": 'openfda.brand_name:"Afinitor"', "limit": 10})
    assert str(httpx.Request("GET", url, params=params).url) == (
        "https://api.fda.gov/drug/label.json?search=openfda.brand_name%3A%22Afinitor%22&limit=10")
    _, params = c.openfda_label_request(limit=1000, skip=25000, api_key="KEY")
    assert params == {"limit": 1000, "skip": 25000, "api_key": "KEY"}
    with pytest.raises(ValueError):
        c.openfda_label_request(limit=1001)
    with pytest.raises(ValueError):
        c.openfda_label_request(skip=25001)
    assert c.openfda_bulk_manifest_request() == ("https://api.fda.gov/download.json", {})


def test_esearch_request():
    url, params = c.esearch_request("lanreotide[tiab]", retmax=50, retstart=100, api_key="K", email="a@b.org")
    assert url == "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi"
    assert params == {"db": "pubmed", "term": "lanreotide[tiab]", "retmode": "json", "retmax": 50,
                      "retstart": 100, "tool": "medcite", "email": "a@b.org", "api_key": "K"}
    _, params = c.esearch_request("x", usehistory=True, tool=None)
    assert params == {"db": "pubmed", "term": "x", "retmode": "json", "retmax": 100, "usehistory": "y"}


def test_efetch_request_get_then_post(pubmed_articles):
    pmids = list(pubmed_articles)[:3]
    method, url, params = c.efetch_request(pmids, email="a@b.org")
    assert (method, url) == ("GET", "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi")
    assert params == {"db": "pubmed", "id": ",".join(pmids), "rettype": "abstract", "retmode": "xml",
                      "tool": "medcite", "email": "a@b.org"}
    many = [str(10000000 + i) for i in range(200)]
    method, _, params = c.efetch_request(many)
    assert method == "POST" and params["id"].count(",") == 199
    assert [len(b) for b in c.batches(many + many[:50])] == [200, 50]
    with pytest.raises(ValueError):
        c.efetch_request([])


def test_parse_esearch_json_and_xml():
    as_json = b'{"header":{},"esearchresult":{"count":"2","retmax":"2","retstart":"0","idlist":["29768149","12091962"],"querykey":"1","webenv":"MCID_1"}}'
    res = c.parse_esearch(as_json)
    assert (res.count, res.ids, res.webenv, res.query_key) == (2, ["29768149", "12091962"], "MCID_1", "1")
    as_xml = b"<eSearchResult><Count>2</Count><RetMax>2</RetMax><RetStart>0</RetStart><QueryKey>1</QueryKey><WebEnv>MCID_1</WebEnv><IdList><Id>29768149</Id><Id>12091962</Id></IdList></eSearchResult>"
    assert c.parse_esearch(as_xml) == res
    with pytest.raises(c.FetchError):
        c.parse_esearch(b'{"esearchresult":{"ERROR":"Invalid query"}}')


def test_check_efetch_xml_on_recorded_files(shared_data):
    samples = shared_data / "pubmed_xml_samples"
    assert c.check_efetch_xml((samples / "biopython_pubmed1.xml").read_bytes()) == ["12091962", "9997"]
    assert c.check_efetch_xml((samples / "pubmed-29768149.xml").read_bytes()) == ["29768149"]
    with pytest.raises(c.FetchError):
        c.check_efetch_xml(b"<eFetchResult><ERROR>Empty id list</ERROR></eFetchResult>")


def test_rate_limiter_spaces_calls():
    slept, now = [], [100.0]
    limiter = c.RateLimiter(4.0, sleep=slept.append, clock=lambda: now[0])
    limiter.wait()
    now[0] += 0.1
    limiter.wait()
    assert slept == [pytest.approx(0.15)]


# ---------------------------------------------------------------- openFDA replay


def openfda_transport(records, seen, link=True, fail_first=None):
    """Serve `records` as the openFDA label API does: skip/limit pages, a Link rel="next"
    search_after cursor when `link`, 404 for an empty result set."""
    state = {"fail": fail_first}

    def handler(request):
        seen.append(request)
        if state["fail"]:
            status, state["fail"] = state["fail"], None
            return httpx.Response(status, json={"error": {"code": "BUSY"}})
        q = request.url.params
        if q.get("search") == "nothing":
            return httpx.Response(404, json={"error": {"code": "NOT_FOUND", "message": "No matches found!"}})
        limit = int(q.get("limit", 1))
        start = int(q["search_after"]) if "search_after" in q else int(q.get("skip", 0))
        page = records[start : start + limit]
        headers = {}
        if link and start + limit < len(records):
            nxt = request.url.copy_remove_param("skip").copy_set_param("search_after", str(start + limit))
            headers["Link"] = f'<{nxt}>; rel="next"'
        body = {"meta": {"results": {"skip": start, "limit": limit, "total": len(records)}}, "results": page}
        return httpx.Response(200, json=body, headers=headers)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("link", [True, False])
def test_fetch_openfda_labels_pages_through_everything(tmp_path, label_records, link):
    records = label_records[:120]
    seen = []
    client = httpx.Client(transport=openfda_transport(records, seen, link=link))
    path, n = c.fetch_openfda_labels(None, None, tmp_path, client=client, page_size=50, sleep=no_sleep)
    assert n == 120 and len(seen) == 3
    assert path.name == "openfda_labels_all.jsonl.gz"
    assert [r.url.params.get("search_after" if link else "skip") for r in seen] == [None, "50", "100"]
    out = list(openfda.read(path))
    assert [d.source_id for d in out if isinstance(d, Document)] == [r["set_id"] for r in records]
    assert not [e for e in out if isinstance(e, RecordError)]


def test_fetch_openfda_labels_limit_retry_and_no_match(tmp_path, label_records):
    seen = []
    client = httpx.Client(transport=openfda_transport(label_records, seen, fail_first=429))
    path, n = c.fetch_openfda_labels('openfda.generic_name:"everolimus"', 30, tmp_path, client=client, sleep=no_sleep)
    assert n == 30
    assert [r.url.params["limit"] for r in seen] == ["30", "30"]  # the 429, then the retry
    assert path.name == "openfda_labels_openfda_generic_name_everolimus.jsonl.gz"
    assert len([d for d in openfda.read(path) if isinstance(d, Document)]) == 30

    path, n = c.fetch_openfda_labels("nothing", 10, tmp_path, client=client, sleep=no_sleep)
    assert n == 0 and list(openfda.read(path)) == []


def test_fetch_gives_up_after_retries(tmp_path, label_records):
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503, text="down")))
    with pytest.raises(c.FetchError, match="HTTP 503"):
        c.fetch_openfda_labels(None, 5, tmp_path, client=client, sleep=no_sleep)
    assert not list(tmp_path.glob("*.jsonl.gz"))  # no half-written file under the final name


def test_download_openfda_bulk(tmp_path, label_records):
    parts = [label_records[:200], label_records[200:]]
    base = "https://download.open.fda.gov/drug/label/"
    names = [f"drug-label-000{i}-of-0002.json" for i in (1, 2)]
    manifest = {"meta": {}, "results": {"drug": {"label": {"total_records": 363, "partitions": [
        {"display_name": f"part {i + 1}", "file": base + name + ".zip", "records": len(recs), "size_mb": "1"}
        for i, (name, recs) in enumerate(zip(names, parts))]}}}}

    def zipped(name, recs):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name, json.dumps({"meta": {}, "results": recs}))
        return buf.getvalue()

    def handler(request):
        if str(request.url) == "https://api.fda.gov/download.json":
            return httpx.Response(200, json=manifest)
        name = request.url.path.rsplit("/", 1)[1][: -len(".zip")]
        return httpx.Response(200, content=zipped(name, parts[names.index(name)]))

    client = httpx.Client(transport=httpx.MockTransport(handler))
    assert [p.filename for p in c.parse_openfda_bulk_manifest(manifest)] == [n + ".zip" for n in names]
    paths = c.download_openfda_bulk(tmp_path, parts=[2], client=client, sleep=no_sleep)
    assert [p.name for p in paths] == ["drug-label-0002-of-0002.json.zip"]
    assert openfda.sniff(paths[0])
    docs = [d for d in openfda.read(paths[0]) if isinstance(d, Document)]
    assert [d.source_id for d in docs] == [r["set_id"] for r in label_records[200:]]
    with pytest.raises(c.FetchError, match="no part"):
        c.download_openfda_bulk(tmp_path, parts=[3], client=client, sleep=no_sleep)


# ---------------------------------------------------------------- PubMed replay


def eutils_transport(articles, seen, fail_first=None):
    state = {"fail": fail_first}

    def handler(request):
        seen.append(request)
        if state["fail"]:
            status, state["fail"] = state["fail"], None
            return httpx.Response(status, text="busy")
        params = dict(request.url.params)
        if request.method == "POST":
            params.update({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        if request.url.path.endswith("esearch.fcgi"):
            ids = list(articles)
            start, size = int(params.get("retstart", 0)), int(params["retmax"])
            body = {"esearchresult": {"count": str(len(ids)), "retstart": str(start), "idlist": ids[start : start + size]}}
            return httpx.Response(200, json=body)
        wanted = params["id"].split(",")
        xml = b"<?xml version='1.0'?>\n<PubmedArticleSet>" + b"".join(articles[i] for i in wanted) + b"</PubmedArticleSet>"
        return httpx.Response(200, content=xml, headers={"Content-Type": "text/xml"})

    return httpx.MockTransport(handler)


def test_fetch_pubmed_by_term(tmp_path, pubmed_articles):
    seen = []
    client = httpx.Client(transport=eutils_transport(pubmed_articles, seen, fail_first=500))
    paths = c.fetch_pubmed("neuroendocrine tumor", tmp_path, retmax=9, client=client, batch_size=4,
                           email="a@b.org", sleep=no_sleep)
    assert [p.name for p in paths] == [f"pubmed_neuroendocrine_tumor_000{i}.xml" for i in (1, 2, 3)]
    got = [pmid for p in paths for pmid in c.check_efetch_xml(p.read_bytes())]
    assert got == list(pubmed_articles)
    assert len(got) == 9
    assert [r.url.path.rsplit("/", 1)[1] for r in seen] == ["esearch.fcgi"] * 2 + ["efetch.fcgi"] * 3
    # the files are what the PubMed XML reader reads
    assert all(pubmed_xml.sniff(p) for p in paths)
    read = [d.source_id for p in paths for d in pubmed_xml.read(p) if isinstance(d, Document)]
    assert read == got
    assert all(r.url.params["email"] == "a@b.org" and r.url.params["tool"] == "medcite" for r in seen)


def test_fetch_pubmed_by_pmids(tmp_path, pubmed_articles):
    seen = []
    client = httpx.Client(transport=eutils_transport(pubmed_articles, seen))
    pmids = list(pubmed_articles)[::-1]
    paths = c.fetch_pubmed(pmids, tmp_path, client=client, sleep=no_sleep)
    assert [p.name for p in paths] == ["pubmed_pmids_0001.xml"]
    assert c.check_efetch_xml(paths[0].read_bytes()) == pmids
    assert [r.method for r in seen] == ["GET"]
