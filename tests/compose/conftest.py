"""LLM composer fixtures: an in-process stub of an OpenAI-compatible server (to play a broken or
forging model) and the real local model server (`medcite llm serve`, the `llm` extra), started once
per session."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

PASSAGE = re.compile(r'<passage n="(\d+)" tier="(\w+)" title="[^"]*">\n(.*?)\n</passage>', re.DOTALL)


class StubLLM(ThreadingHTTPServer):
    """A chat-completions server whose reply is `reply(passages)`: passages is [(n, tier, text)]
    as read from the request the composer sent (so a forged reply can quote real passages)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = lambda passages: ""
        self.status = 200
        self.raw: bytes | None = None  # a body to send as is (garbage)
        self.delay = 0.0
        self.requests: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # the request holds patient text: never printed
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        stub: StubLLM = self.server
        stub.requests.append(body)
        time.sleep(stub.delay)
        passages = [(int(n), tier, text) for n, tier, text in PASSAGE.findall(body["messages"][-1]["content"])]
        content = stub.raw if stub.raw is not None else json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": stub.reply(passages)}}]}).encode()
        self.send_response(stub.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        try:
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass


@pytest.fixture()
def stub_llm():
    """A fresh stub server on a free loopback port."""
    server = StubLLM()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def closed_url() -> str:
    """A loopback base URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture(scope="session")
def local_llm(tmp_path_factory):
    """Base URL of the real local model server (`medcite llm serve`), started once per session."""
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "medcite.cli", "llm", "serve", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 600  # assembling the model the first time and loading it
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"medcite llm serve exited ({proc.returncode}): {log.read_text()[-800:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                pytest.fail("medcite llm serve did not become healthy in 600 s")
            time.sleep(1)
        yield f"{url}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
