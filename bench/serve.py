"""Load test of `medcite serve`: throughput and p50/p95 latency of POST /api/v1/ask, with the
admission control on (README "Security").

Starts the server in a second process on 127.0.0.1 (a free port), waits for /healthz, then sends
real consumer medication questions (MedicationQA, ../shared/data/eval_medicationqa) with 1, 8 and
32 concurrent clients. Each level is bounded by a count of answered requests and a time limit. A
request the server refuses because its queue is full (503 + Retry-After) is counted as refused and
its client waits Retry-After seconds (at most 5) before its next request; p50/p95 are those of the
answered requests; meanwhile /healthz is polled and its p95 reported. Loopback only.

    python bench/serve.py --index medcite.db [--requests 96] [--max-seconds 60] [--clients 1,8,32]
                          [--workers N] [--max-queue N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO.parent / "shared" / "data" / "eval_medicationqa" / "medicationqa.json"
HOST = "127.0.0.1"  # never anything but loopback


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(index: str, port: int, workers: int | None, max_queue: int | None) -> subprocess.Popen:
    """Start `medcite serve` in a second process; return it once /healthz answers."""
    cmd = [sys.executable, "-c", "from medcite.cli import main; main()", "serve", "--host", HOST, "--port", str(port), "--index", index]
    if workers:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if max_queue is not None:
        env["MEDCITE_MAX_QUEUE"] = str(max_queue)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("server did not answer /healthz within 60 s")


def load_questions(path: Path, n: int) -> list[str]:
    """Return up to n distinct questions of MedicationQA, in file order."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    return list(dict.fromkeys(r["Question"].strip() for r in rows if r.get("Question", "").strip()))[:n]


def pct(values: list[float], p: float) -> float:
    """Return the p-quantile (nearest rank) of sorted `values`, NaN when empty."""
    return values[min(len(values) - 1, max(0, round(p * len(values)) - 1))] if values else float("nan")


async def run_level(base: str, questions: list[str], clients: int, requests: int, max_seconds: float) -> dict:
    """Return throughput and latency of `requests` asks sent by `clients` concurrent clients, and
    the latency of /healthz polled meanwhile."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    health: list[float] = []
    next_i = answered = 0
    deadline = time.monotonic() + max_seconds
    running = True

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal next_i, answered
        while answered < requests and time.monotonic() < deadline:
            q = questions[next_i % len(questions)]
            next_i += 1
            t0 = time.perf_counter()
            try:
                r = await http.post("/api/v1/ask", json={"question": q})
                status = r.status_code
            except httpx.HTTPError:
                status, r = 0, None
            statuses[status] = statuses.get(status, 0) + 1
            if status == 503 and r is not None and "Retry-After" in r.headers:
                # refused by the admission control: back off as told (a polite client), then go on
                await asyncio.sleep(min(float(r.headers["Retry-After"]), 5.0))
                continue
            answered += 1
            if status == 200:
                latencies.append(time.perf_counter() - t0)

    async def probe(http: httpx.AsyncClient) -> None:
        while running:
            t0 = time.perf_counter()
            try:
                await http.get("/healthz")
                health.append(time.perf_counter() - t0)
            except httpx.HTTPError:
                health.append(float("inf"))
            await asyncio.sleep(0.2)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http, \
            httpx.AsyncClient(base_url=base, timeout=120) as monitor:
        started = time.perf_counter()
        watcher = asyncio.create_task(probe(monitor))
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - started
        running = False
        await watcher
    latencies.sort()
    health.sort()
    sent = sum(statuses.values())
    return {
        "clients": clients, "requests": sent, "ok": statuses.get(200, 0), "refused_503": statuses.get(503, 0),
        "errors": {str(k): v for k, v in statuses.items() if k not in (200, 503)}, "seconds": round(wall, 2),
        "throughput_rps": round(statuses.get(200, 0) / wall, 2) if wall else 0.0,
        "p50_ms": round(pct(latencies, 0.50) * 1000, 1), "p95_ms": round(pct(latencies, 0.95) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else float("nan"),
        "healthz_p95_ms": round(pct(health, 0.95) * 1000, 1),
    }


def main() -> int:
    """Run the benchmark and print a table (or JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", default=os.environ.get("MEDCITE_INDEX", "medcite.db"))
    ap.add_argument("--questions", type=Path, default=QUESTIONS)
    ap.add_argument("--requests", type=int, default=96, help="requests per concurrency level")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="time limit per level")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--workers", type=int, default=None, help="server query threads (default: the server's)")
    ap.add_argument("--max-queue", type=int, default=None, help="server queue length (default: the server's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not Path(args.index).exists():
        raise SystemExit(f"{args.index}: no index; run `medcite ingest` first or pass --index")
    questions = load_questions(args.questions, max(args.requests, 1))
    port = free_port()
    server = start_server(args.index, port, args.workers, args.max_queue)
    base = f"http://{HOST}:{port}"
    try:
        # Warm-up: the first ask builds the drug lexicon of the index (not part of any level).
        t0 = time.perf_counter()
        httpx.post(f"{base}/api/v1/ask", json={"question": questions[0]}, timeout=120).raise_for_status()
        warm = time.perf_counter() - t0
        limits = httpx.get(f"{base}/healthz", timeout=10).json().get("queries", {})
        rows = [asyncio.run(run_level(base, questions, int(c), args.requests, args.max_seconds)) for c in args.clients.split(",")]
    finally:
        server.terminate()
        server.wait(10)
    if args.json:
        print(json.dumps({"index": args.index, "warmup_s": round(warm, 2), "pool": limits, "levels": rows}, indent=2))
        return 0
    print(f"POST /api/v1/ask on {args.index} (warm-up {warm:.2f} s; {os.cpu_count()} CPUs; server and client on one machine; "
          f"{limits.get('workers')} workers, {limits.get('limit')} queries admitted)")
    print(f"{'clients':>7} {'requests':>8} {'ok':>5} {'503':>5} {'errors':>6} {'seconds':>8} {'ok/s':>6} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'healthz p95 ms':>15}")
    for r in rows:
        errors = sum(r["errors"].values())
        print(f"{r['clients']:>7} {r['requests']:>8} {r['ok']:>5} {r['refused_503']:>5} {errors:>6} {r['seconds']:>8} "
              f"{r['throughput_rps']:>6} {r['p50_ms']:>7} {r['p95_ms']:>7} {r['healthz_p95_ms']:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
