"""Load test of `medcite serve`: throughput and p50/p95 latency of POST /api/v1/ask.

Starts the server in a second process on 127.0.0.1 (a free port), waits for /healthz, then sends
real consumer medication questions (MedicationQA, ../shared/data/eval_medicationqa) with 1, 4 and
16 concurrent clients. Each level is bounded by a request count and a time limit. Loopback only.

    python bench/serve.py --index medcite.db [--requests 48] [--max-seconds 60] [--clients 1,4,16]
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


def start_server(index: str, port: int, workers: int | None) -> subprocess.Popen:
    """Start `medcite serve` in a second process; return it once /healthz answers."""
    cmd = [sys.executable, "-c", "from medcite.cli import main; main()", "serve", "--host", HOST, "--port", str(port), "--index", index]
    if workers:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
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


async def run_level(base: str, questions: list[str], clients: int, requests: int, max_seconds: float) -> dict:
    """Return throughput and latency of `requests` asks sent by `clients` concurrent clients."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_i = 0
    deadline = time.monotonic() + max_seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal next_i
        while next_i < requests and time.monotonic() < deadline:
            q = questions[next_i % len(questions)]
            next_i += 1
            t0 = time.perf_counter()
            try:
                r = await http.post("/api/v1/ask", json={"question": q})
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, max(0, round(p * len(latencies)) - 1))] if latencies else float("nan")

    return {
        "clients": clients, "requests": len(latencies), "ok": statuses.get(200, 0),
        "errors": {str(k): v for k, v in statuses.items() if k != 200}, "seconds": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 2) if wall else 0.0,
        "p50_ms": round(pct(0.50) * 1000, 1), "p95_ms": round(pct(0.95) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else float("nan"),
    }


def main() -> int:
    """Run the benchmark and print a table (or JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", default=os.environ.get("MEDCITE_INDEX", "medcite.db"))
    ap.add_argument("--questions", type=Path, default=QUESTIONS)
    ap.add_argument("--requests", type=int, default=48, help="requests per concurrency level")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="time limit per level")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--workers", type=int, default=None, help="server query threads (default: the server's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not Path(args.index).exists():
        raise SystemExit(f"{args.index}: no index; run `medcite ingest` first or pass --index")
    questions = load_questions(args.questions, max(args.requests, 1))
    port = free_port()
    server = start_server(args.index, port, args.workers)
    base = f"http://{HOST}:{port}"
    try:
        # Warm-up: the first ask builds the drug lexicon of the index (not part of any level).
        t0 = time.perf_counter()
        httpx.post(f"{base}/api/v1/ask", json={"question": questions[0]}, timeout=120).raise_for_status()
        warm = time.perf_counter() - t0
        rows = [asyncio.run(run_level(base, questions, int(c), args.requests, args.max_seconds)) for c in args.clients.split(",")]
    finally:
        server.terminate()
        server.wait(10)
    if args.json:
        print(json.dumps({"index": args.index, "warmup_s": round(warm, 2), "levels": rows}, indent=2))
        return 0
    print(f"POST /api/v1/ask on {args.index} (warm-up {warm:.2f} s; {os.cpu_count()} CPUs; server and client on one machine)")
    print(f"{'clients':>7} {'requests':>8} {'ok':>5} {'errors':>8} {'seconds':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for r in rows:
        errors = sum(r["errors"].values())
        print(f"{r['clients']:>7} {r['requests']:>8} {r['ok']:>5} {errors:>8} {r['seconds']:>8} {r['throughput_rps']:>7} "
              f"{r['p50_ms']:>8} {r['p95_ms']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
