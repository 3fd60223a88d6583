"""Concurrent API requests while `medcite ingest` writes to the same index (SQLite WAL, read-only serving)."""

import asyncio
import gzip
import json
import threading

import httpx

from medcite.api.app import create_app
from medcite.index.store import open_store
from medcite.ingest.driver import ingest_paths
from medcite.settings import Settings


def test_requests_succeed_while_ingest_writes(tmp_path, shared_data):
    db = tmp_path / "live.db"
    settings = Settings(index_path=str(db), embed_at_ingest=False)
    writer = open_store(db)
    first = ingest_paths(writer, [shared_data / "pubmed_xml_samples" / "pubmed-29768149.xml"], settings)
    assert first.errors == [] and writer.lexical.built_version() == writer.corpus_version()

    scifact = shared_data / "beir_scifact" / "corpus.jsonl.gz"
    with gzip.open(scifact, "rt", encoding="utf-8") as f:
        last = json.loads(f.readline())  # the first record of the file: its title is searched for at the end
    report = {}
    ingest = threading.Thread(target=lambda: report.update(r=ingest_paths(writer, [scifact], settings)))

    app = create_app(settings, api_keys="", rate_limit=0, workers=4)
    statuses: list[int] = []
    during_ingest = 0

    async def load() -> None:
        nonlocal during_ingest
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://medcite.test") as client:
            ingest.start()
            rounds = 0
            while ingest.is_alive() and rounds < 200:
                rounds += 1
                batch = await asyncio.gather(
                    client.get("/api/v1/search", params={"q": "budesonide formoterol asthma", "k": 5}),
                    client.get("/api/v1/stats"),
                    client.get("/healthz"),
                    client.get("/api/v1/documents/pmid:29768149"),
                )
                if ingest.is_alive():
                    during_ingest += 1
                statuses.extend(r.status_code for r in batch)
            await asyncio.to_thread(ingest.join)
            after = await client.get("/api/v1/search", params={"q": last["title"], "k": 1})
            health = await client.get("/healthz")
        assert after.status_code == 200
        # The workers picked up the index the ingest published, without a restart.
        assert after.json()["hits"][0]["doc_id"] == f"s2:{last['_id']}"
        assert health.json()["corpus_version"] == report["r"].corpus_version

    try:
        asyncio.run(load())
    finally:
        ingest.join()
        app.state.pool.close()
        writer.close()
    assert report["r"].errors == [] and report["r"].sources["research/beir"].documents == 5183
    assert during_ingest > 0
    assert set(statuses) == {200}
