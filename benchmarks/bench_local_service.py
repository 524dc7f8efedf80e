"""Throughput and parallelism of the local Bedrock service, measured with real boto3.

Two numbers, printed as a table:

* requests/second of Converse at concurrency 32 with no injected latency;
* wall time of 64 Converse calls at concurrency 32 with 100 ms injected latency, against the
  ideal of two rounds (2 × 100 ms) — a ratio near 1 means the latency does not serialise calls.

The service runs as a separate process (``python -m bedrock_magics.local``), as users run it, so
that client and server do not share one interpreter lock. ``--in-process`` runs it in this process.

    python benchmarks/bench_local_service.py [--calls 640] [--in-process]
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

import boto3
from botocore.config import Config

MODEL = "amazon.nova-micro-v1:0"
CONCURRENCY = 32
LATENCY_MS = 100


@contextmanager
def service(latency_ms: int, in_process: bool, state_dir: str) -> Iterator[dict[str, str]]:
    """The environment of a running local service with ``latency_ms`` of injected latency."""
    if in_process:
        from bedrock_magics.local import LocalService

        with LocalService(port=0, latency_ms=latency_ms, state_dir=state_dir) as svc:
            yield svc.env
        return
    proc = subprocess.Popen([sys.executable, "-m", "bedrock_magics.local", "--port", "0", "--state-dir", state_dir,
                             "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, text=True)
    env: dict[str, str] = {}
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("#"):
                break
            name, _, value = shlex.split(line)[1].partition("=")
            env[name] = value
        yield env
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def converse_client(env: dict[str, str]):
    os.environ.update(env)
    return boto3.client("bedrock-runtime", config=Config(max_pool_connections=CONCURRENCY,
                                                         retries={"total_max_attempts": 1}))


def run(client, calls: int) -> float:
    """Wall time of ``calls`` Converse calls made by CONCURRENCY threads."""
    def one(i: int) -> None:
        client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": f"benchmark call {i}"}]}],
                        inferenceConfig={"maxTokens": 64})

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(CONCURRENCY)))  # warm up: open every pooled TLS connection
        started = time.perf_counter()
        list(pool.map(one, range(calls)))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=640, help="Converse calls in the throughput run")
    parser.add_argument("--in-process", action="store_true", help="run the service in this process")
    args = parser.parse_args()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)

    with tempfile.TemporaryDirectory() as state_dir:
        with service(0, args.in_process, state_dir) as env:
            wall = run(converse_client(env), args.calls)
        throughput = args.calls / wall
        with service(LATENCY_MS, args.in_process, state_dir) as env:
            latency_wall = run(converse_client(env), 2 * CONCURRENCY)

    ideal = 2 * LATENCY_MS / 1000
    where = "in-process" if args.in_process else "separate process"
    rows = [
        ("Converse req/s, concurrency 32, no latency", f"{throughput:,.0f} req/s", f"{args.calls} calls in {wall:.2f} s"),
        ("64 Converse calls, concurrency 32, 100 ms latency", f"{latency_wall * 1000:,.0f} ms",
         f"{latency_wall / ideal:.2f} x the 2 x 100 ms limit"),
    ]
    widths = [max(len(r[i]) for r in rows + [("measurement", "result", "detail")]) for i in range(3)]
    print(f"local Bedrock service benchmark ({where}, {os.cpu_count()} CPUs, model {MODEL})")
    for row in [("measurement", "result", "detail"), tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))


if __name__ == "__main__":
    main()
