"""The web page in a real browser: Debian chromium driven by Playwright against `medcite serve`'s app.

Needs /usr/bin/chromium (`.ci/run` installs it) and the `playwright` Python package; the browser is
never downloaded (`playwright install` is not used). Leaves tests/artifacts/web-answer.png.
"""

import re
import socket
import threading
import time
from pathlib import Path

import pytest

from medcite.analyze.regimen import find_doses, find_frequencies
from medcite.api.app import create_app
from medcite.api.security import uvicorn_log_config
from medcite.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "web-answer.png"
SET_ID = "2cab8dd1-3a10-48e6-86ce-0e5275ed49e5"  # Fareston (toremifene citrate)
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(corpus_index):
    """Base URL of the app served by uvicorn on a free loopback port, in a thread."""
    import uvicorn

    settings = Settings(index_path=str(corpus_index), embed_at_ingest=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(settings, api_keys="", rate_limit=0, workers=2), host="127.0.0.1", port=port,
                            log_config=uvicorn_log_config(), log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(300):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def case_text(shared_data) -> str:
    """A case built from the Fareston label: its indication and its own dosage statement."""
    import gzip
    import json

    with gzip.open(shared_data / "fda_labels_openfda_pharmgkb" / "openfda_labels.jsonl.gz", "rt", encoding="utf-8") as f:
        label = next(r for r in map(json.loads, f) if r["set_id"] == SET_ID)
    dosage = label["dosage_and_administration"][0]
    condition = re.search(r"metastatic breast cancer", label["indications_and_usage"][0]).group(0)
    return (f"A postmenopausal woman with {condition}. Plan: start toremifene {find_doses(dosage)[0].text} orally "
            f"{find_frequencies(dosage)[0].text}.")


def test_answer_page_renders_tiers_and_opens_cited_passages(server, case_text, corpus_store):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: apt-get install -y --no-install-recommends chromium")
    from medcite.compose.answer import ask

    expected = ask(corpus_store, case_text, settings=Settings(index_path=str(corpus_store.path), embed_at_ingest=False))
    assert expected.label_checks and expected.references

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server + "/")
            page.fill("#case", case_text)
            page.click("#ask")
            page.wait_for_selector("#answer:not([hidden]) .tier", timeout=60_000)

            # The tiers, in the answer's order.
            tiers = page.eval_on_selector_all(".tier", "els => els.map(e => e.dataset.tier)")
            assert tiers == (["bottom_line"] if expected.bottom_line else []) + [s.tier for s in expected.sections]
            assert {"guideline", "label"} <= set(tiers)

            # Label-check verdicts as coloured badges.
            check = expected.label_checks[0]
            card = page.locator(f'.check[data-drug="{check.drug}"]')
            assert card.locator('.badge[data-verdict="indication"]').get_attribute("data-status") == check.indication.status
            dose = card.locator('.badge[data-verdict="dose"]')
            assert dose.get_attribute("data-status") == check.dose.status == "matches"
            assert "ok" in dose.get_attribute("class").split()

            # A citation click opens the cited passage, highlighted, and marks its reference.
            first = page.locator('.tier[data-tier="label"] button.cite').first
            n = int(first.get_attribute("data-n"))
            ref = next(r for r in expected.references if r.n == n)
            first.click()
            mark = page.wait_for_selector("mark.cited", timeout=30_000)
            assert mark.get_attribute("data-passage") == ref.passage_id
            passage = corpus_store.get_hits([ref.passage_id])[0]
            assert mark.inner_text().split() == passage.text.split()
            assert page.locator(f"#ref-{n}").get_attribute("class") == "active"
            assert page.inner_text("#passage-title") == f"[{n}] {ref.title}"
            assert page.locator("#references li").count() == len(expected.references)

            # Copy as markdown.
            page.click("#copy-md")
            page.wait_for_function("document.querySelector('#copy-md').dataset.markdown !== undefined")
            markdown = page.eval_on_selector("#copy-md", "b => b.dataset.markdown")
            assert markdown.startswith("# medcite answer") and "## References" in markdown
            assert f"{n}. {ref.title}" in markdown

            ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACT), full_page=True)
        finally:
            browser.close()
    assert ARTIFACT.stat().st_size > 10_000
