"""How fast and how lean ``Bedrock.map`` runs DataFrame rows, next to what users write by hand.

Run: ``.venv/bin/python benchmarks/bench_batch.py`` (about 4–6 minutes on 2 cores; ``--quick`` for
a smaller run). Everything talks to the local Bedrock service over real HTTPS, started as a
separate process (``python -m bedrock_magics.local`` semantics) so that its CPU is not charged to
the client, with an injected latency per call (``--latency-ms``, default 100 ms).

Throughput (one table per service variant):

* ``bedrock_magics map``: ``Bedrock.map`` over N rows (default 1,000) at concurrency 16 and 32, with
  its defaults (progress bar on — drawn into a buffer —, reply cache on, ledger written).
* ``boto3 thread pool``: what a user writes — one ``boto3.client("bedrock-runtime")`` with default
  settings and ``ThreadPoolExecutor(max_workers=C).map`` over ``client.converse``.
* ``boto3 sequential``: a plain ``for`` loop over ``client.converse``, on 50 rows, extrapolated
  to N (marked as such).
* ``litellm batch_completion`` (optional, ``--litellm /path/to/venv/bin/python``): LiteLLM in its
  own virtualenv (``python3 -m venv /tmp/litellm && /tmp/litellm/bin/pip install litellm``; it is
  not a dependency of this project), pointed at the local service with
  ``aws_bedrock_runtime_endpoint`` and ``litellm.ssl_verify`` = the local CA.

The ideal is ``ceil(N / C) × latency``; ``ratio`` is wall time over that (goal ≤ 1.05).

Memory (``--memory-rows``, default 100,000 rows; service latency 0, concurrency 16): each scenario
runs in a fresh process, warmed up on two other rows, so that peak RSS (``ru_maxrss``) is its own;
"RSS before" is the peak after the frame was built and the warm-up ran. ``tracemalloc`` peaks are
Python allocations during the call only (not traced for the real-HTTP run: tracing slows boto3
down ~2.5×, so that row shows RSS only).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time

MODEL = "us.amazon.nova-lite-v1:0"

# The service process. It serves until its stdin closes, so it never outlives the benchmark.
SERVICE = textwrap.dedent("""
    import json, sys
    from bedrock_magics.local import LocalService
    latency, state, faults = float(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    svc = LocalService(port=0, latency_ms=latency, state_dir=state).start()
    if faults:
        svc.faults.set(**faults)
    for name, value in svc.env.items():
        print(f"export {name}={value}", flush=True)
    print("ready", flush=True)
    sys.stdin.read()
    svc.stop()
""")


class Service:
    """The local service in a child process; ``env`` points clients at it."""

    def __init__(self, latency_ms: float, state_dir: str, **faults: object) -> None:
        """``faults``: global fault settings (``Faults.set``), e.g. ``throttle_rpm=100``."""
        self.proc = subprocess.Popen([sys.executable, "-c", SERVICE, str(latency_ms), state_dir, json.dumps(faults)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.env: dict[str, str] = {}
        for line in self.proc.stdout:  # type: ignore[union-attr]
            if line.strip() == "ready":
                break
            match = re.match(r"export (\w+)=(.*)", line.strip())
            if match:
                self.env[match.group(1)] = match.group(2)
        if not self.env:
            self.stop()
            raise RuntimeError("the local service did not start")

    def stop(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def environment(env: dict[str, str]):
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def prompts(n: int, tag: str) -> list[str]:
    # Distinct prompts per run: nothing is served from the reply cache by accident.
    return [f"echo: {tag} row {i}" for i in range(n)]


# ==================================================================================================
# Throughput


def run_map(n: int, concurrency: int, tag: str, ledger: str) -> tuple[float, int]:
    import pandas as pd

    from bedrock_magics import Bedrock

    bm = Bedrock(model=MODEL, ledger_path=ledger)
    frame = pd.DataFrame({"prompt": prompts(n, tag)})
    bm.map(frame.head(2), "{prompt}", progress=False)  # warm: clients built, TLS session up
    frame = pd.DataFrame({"prompt": prompts(n, tag + "x")})
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        out = bm.map(frame, "{prompt}", concurrency=concurrency)
        wall = time.perf_counter() - start
    bm.close()
    return wall, int(out["answer_error"].notna().sum())


def _converse(client, text: str) -> str:
    response = client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": text}]}])
    return response["output"]["message"]["content"][0]["text"]


def run_pool(n: int, concurrency: int, tag: str) -> tuple[float, int]:
    """The loop a user writes: default client, a thread pool, exceptions counted."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    client = boto3.client("bedrock-runtime")
    _converse(client, "echo: warm up")

    def call(text: str) -> str | None:
        try:
            return _converse(client, text)
        except Exception:  # noqa: BLE001
            return None

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        answers = list(pool.map(call, prompts(n, tag)))
    return time.perf_counter() - start, sum(answer is None for answer in answers)


def run_sequential(n: int, tag: str) -> tuple[float, int]:
    import boto3

    client = boto3.client("bedrock-runtime")
    _converse(client, "echo: warm up")
    start = time.perf_counter()
    for text in prompts(n, tag):
        _converse(client, text)
    return time.perf_counter() - start, 0


LITELLM = textwrap.dedent("""
    import json, os, sys, time
    import litellm
    n, c, latency = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    litellm.ssl_verify = os.environ["AWS_CA_BUNDLE"]
    kwargs = dict(model="bedrock/converse/" + sys.argv[4],
                  aws_bedrock_runtime_endpoint=os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"],
                  aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"], aws_region_name="us-east-1")
    litellm.completion(messages=[{"role": "user", "content": "echo: warm up"}], **kwargs)
    batch = [[{"role": "user", "content": f"echo: litellm row {i}"}] for i in range(n)]
    start = time.perf_counter()
    out = litellm.batch_completion(messages=batch, max_workers=c, **kwargs)
    wall = time.perf_counter() - start
    errors = sum(1 for r in out if isinstance(r, Exception))
    ok = sum(1 for i, r in enumerate(out)
             if not isinstance(r, Exception) and r.choices[0].message.content == f"litellm row {i}")
    print(json.dumps({"wall": wall, "errors": errors, "ok": ok}))
""")


def run_litellm(python: str, n: int, concurrency: int, latency_ms: float, env: dict[str, str]) -> tuple[float, int]:
    result = subprocess.run([python, "-c", LITELLM, str(n), str(concurrency), str(latency_ms), MODEL],
                            env={**os.environ, **env, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if data["ok"] + data["errors"] != n:
        raise RuntimeError(f"litellm answered {data['ok']} of {n} rows correctly")
    return data["wall"], data["errors"]


def throughput(args: argparse.Namespace, state: str) -> list[dict]:
    rows = []
    n, latency = args.rows, args.latency_ms / 1000.0
    with tempfile.TemporaryDirectory() as tmp, Service(args.latency_ms, state) as svc, \
            environment(svc.env):
        ledger = os.path.join(tmp, "ledger.sqlite")

        def add(approach: str, count: int, conc: int, wall: float, errors: int, note: str = "") -> None:
            floor = math.ceil(count / conc) * latency
            rows.append({"approach": approach, "rows": count, "C": conc, "wall_s": wall, "floor_s": floor,
                         "ratio": wall / floor, "rows_per_s": count / wall, "errors": errors, "note": note})

        for conc in args.concurrency:
            wall, errors = run_map(n, conc, f"map{conc}", ledger)
            add("bedrock_magics map", n, conc, wall, errors)
        for conc in args.concurrency:
            wall, errors = run_pool(n, conc, f"pool{conc}")
            add("boto3 thread pool", n, conc, wall, errors, "default client (10 connections)")
        seq_n = min(args.sequential_rows, n)
        wall, errors = run_sequential(seq_n, "seq")
        add("boto3 sequential", n, 1, wall * n / seq_n, errors, f"measured on {seq_n} rows, ×{n / seq_n:g}")
        if args.litellm:
            for conc in args.concurrency:
                try:
                    wall, errors = run_litellm(args.litellm, n, conc, args.latency_ms, svc.env)
                    add("litellm batch_completion", n, conc, wall, errors)
                except Exception as exc:  # noqa: BLE001 - optional peer: report, do not fail the run
                    rows.append({"approach": "litellm batch_completion", "rows": n, "C": conc,
                                 "note": f"failed: {str(exc)[:80]}"})
    return rows


# ==================================================================================================
# Memory (each scenario in its own process)


def child(scenario: str, n: int, ledger: str) -> None:
    """One memory scenario; prints a JSON line."""
    import resource
    import tracemalloc

    import pandas as pd

    from bedrock_magics import Bedrock

    frame = pd.DataFrame({"id": range(n), "text": [f"echo: memory row {i} " + "x" * 40 for i in range(n)]})
    bm = Bedrock(model=MODEL, ledger_path=ledger)
    # Warm up (imports, clients, TLS, the refused CountTokens) so that only the run is measured.
    warm = pd.DataFrame({"text": [f"echo: warm {scenario} {i}" for i in range(2)]})
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        bm.map(warm, "{text}", progress=False)
        bm.dry_run(warm, "{text}")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    frame_mb = frame.memory_usage(deep=True).sum() / 2**20
    traced = scenario != "map-http"
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        if scenario == "dry-run":
            out = bm.dry_run(frame, "{text}", concurrency=16)
            check = int(out["input_tokens"].gt(0).sum())
        else:
            out = bm.map(frame, "{text}", concurrency=16)
            check = int(out["answer_error"].isna().sum())
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_now = rss_current()
    cached = out.attrs.get("bedrock", {}).get("cached")
    print(json.dumps({"scenario": scenario, "rows": n, "wall_s": wall, "frame_mb": frame_mb, "rss_before_mb": rss0,
                      "rss_peak_mb": rss, "rss_after_mb": rss_now, "tracemalloc_peak_mb": peak, "ok_rows": check,
                      "cached": cached,
                      "result_mb": out.memory_usage(deep=True).sum() / 2**20}))


def rss_current() -> float | None:
    """The resident set size now, in MiB (Linux), or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def memory(args: argparse.Namespace, state: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Service(0, state) as svc:
        ledger = os.path.join(tmp, "ledger.sqlite")
        for scenario in ("map-http", "map-cached", "dry-run"):
            result = subprocess.run([sys.executable, __file__, "--child", scenario, "--memory-rows",
                                     str(args.memory_rows), "--ledger", ledger],
                                    env={**os.environ, **svc.env}, capture_output=True, text=True, timeout=3600)
            if result.returncode != 0:
                raise RuntimeError(f"{scenario}: {result.stderr.strip()[-400:]}")
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return rows


# ==================================================================================================
# Output


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    def cell(row: dict, key: str, fmt: str) -> str:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        return format(value, fmt) if fmt else str(value)

    header = [title for title, _, _ in columns]
    body = [[cell(row, key, fmt) for _, key, fmt in columns] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in body]
    return "\n".join(lines)


THROUGHPUT = [("approach", "approach", ""), ("rows", "rows", ","), ("C", "C", ""), ("wall s", "wall_s", ".2f"),
              ("ideal s", "floor_s", ".2f"), ("ratio", "ratio", ".3f"), ("rows/s", "rows_per_s", ".0f"),
              ("errors", "errors", ""), ("note", "note", "")]
MEMORY = [("scenario", "scenario", ""), ("rows", "rows", ","), ("wall s", "wall_s", ".1f"),
          ("frame MiB", "frame_mb", ".1f"), ("result MiB", "result_mb", ".1f"),
          ("RSS before MiB", "rss_before_mb", ".0f"), ("RSS peak MiB", "rss_peak_mb", ".0f"),
          ("RSS after MiB", "rss_after_mb", ".0f"),
          ("tracemalloc peak MiB", "tracemalloc_peak_mb", ".1f"), ("ok rows", "ok_rows", ","),
          ("from cache", "cached", ",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows per throughput run (default 1,000)")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--sequential-rows", type=int, default=50)
    parser.add_argument("--memory-rows", type=int, default=None, help="rows of the memory runs (default 100,000)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--quick", action="store_true", help="defaults of 300 rows and 20,000 memory rows")
    parser.add_argument("--litellm", metavar="PYTHON", help="a python with litellm installed (its own venv)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--ledger", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.rows = args.rows or (300 if args.quick else 1000)
    args.memory_rows = args.memory_rows or (20_000 if args.quick else 100_000)
    if args.child:
        child(args.child, args.memory_rows, args.ledger)
        return

    import platform

    print(f"bench_batch: {args.rows:,} rows, {args.latency_ms:g} ms injected latency, model {MODEL}; "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs (shared); local service in its own process")
    with tempfile.TemporaryDirectory() as state:
        print("\nThroughput")
        print(table(throughput(args, state), THROUGHPUT))
        if not args.litellm:
            print("litellm batch_completion: skipped (pass --litellm /path/to/a/venv/bin/python with litellm installed)")
        if not args.skip_memory:
            print(f"\nMemory, {args.memory_rows:,} rows, service latency 0, concurrency 16; "
                  "each scenario in a fresh process")
            print(table(memory(args, state), MEMORY))
            print("map-http: every row a real Converse call over HTTPS (ledger rows and cache entries written); "
                  "map-cached: the same frame again, every row from the reply cache; dry-run: token estimate "
                  "per row (Nova has no CountTokens), nothing sent but one refused CountTokens call.")


if __name__ == "__main__":
    main()
