"""How close DataFrame runs come to the speed of the quota, next to what users write by hand.

Run: ``.venv/bin/python benchmarks/bench_quota.py [--quick] [--litellm PYTHON]`` (about 25 minutes;
``--quick``: the 150-row cases only, about 5 minutes). The local Bedrock service runs in its own
process with a per-minute quota (``throttle_rpm`` or ``throttle_tpm``, sliding one-minute windows
as Bedrock's) and 100 ms latency per call. Each approach runs the same rows at concurrency 16:

* ``bedrock_magics map``: ``Bedrock.map`` with its defaults (quota pacing included);
* ``boto3 adaptive``: a ``ThreadPoolExecutor`` over one ``bedrock-runtime`` client with botocore's
  ``adaptive`` retry mode and 10 attempts, as a user who read the retry docs writes it;
* ``litellm batch_completion``: LiteLLM in its own virtualenv (``--litellm``; ``python3 -m venv
  /tmp/litellm && /tmp/litellm/bin/pip install litellm``), with ``num_retries=3``.

``ideal`` is what a client that knew the quota would need: each call starts as soon as a worker is
free and the quota window has room for it (simulated with the same window, latency and
concurrency). ``ratio`` = wall / ideal; the goal is ≤ 1.1 with 0 failed rows.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import deque

from bench_batch import MODEL, Service, environment, table

CONCURRENCY = 16
LATENCY_MS = 100.0
WINDOW = 60.0
#: (quota, rows, limit per minute): each case's ideal is about one to two windows.
CASES = [("requests", 150, 100), ("requests", 1000, 600), ("requests", 5000, 3000),
         ("tokens", 150, 100), ("tokens", 1000, 600), ("tokens", 5000, 3000)]
#: Per approach and case, a bound on the wall time (the benchmark always ends).
TIMEOUT_S = 900


def prompts(n: int, tag: str) -> list[str]:
    # Same length for every row (zero-padded), distinct per run: the reply cache never answers.
    return [f"echo: {tag} row {i:05d}" for i in range(n)]


def tokens_of(prompt: str) -> int:
    """The local service's token estimate of a Converse request with this prompt (its throttle counts
    with the model's own tokenizer)."""
    from bedrock_magics.local.faults import estimate_tokens
    from bedrock_magics.local.tokens import family_of

    body = {"messages": [{"role": "user", "content": [{"text": prompt}]}]}
    return estimate_tokens(json.dumps(body).encode(), family_of(MODEL))


def ideal(costs: list[int], limit: int, concurrency: int = CONCURRENCY, latency: float = LATENCY_MS / 1000) -> float:
    """Finish time of a client that knew the quota: ``costs`` per call (1 each for a request quota,
    tokens for a token quota), at most ``limit`` per sliding window, ``concurrency`` workers."""
    free = [0.0] * concurrency  # when each worker is free
    window: deque[tuple[float, int]] = deque()
    used, finish = 0, 0.0
    for cost in costs:
        start = heapq.heappop(free)
        while window and window[0][0] + WINDOW <= start:
            used -= window.popleft()[1]
        while used + cost > limit:  # wait for the oldest start to leave the window
            at, old = window.popleft()
            used -= old
            start = max(start, at + WINDOW)
        window.append((start, cost))
        used += cost
        heapq.heappush(free, start + latency)
        finish = max(finish, start + latency)
    return finish


def run_map(rows: list[str], ledger: str) -> tuple[float, int]:
    import pandas as pd

    from bedrock_magics import Bedrock

    bm = Bedrock(model=MODEL, ledger_path=ledger)
    frame = pd.DataFrame({"prompt": rows})
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        out = bm.map(frame, "{prompt}", concurrency=CONCURRENCY)
        wall = time.perf_counter() - start
    bm.close()
    return wall, int(out["answer_error"].notna().sum())


def run_adaptive(rows: list[str]) -> tuple[float, int]:
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from botocore.config import Config

    client = boto3.client("bedrock-runtime", config=Config(retries={"mode": "adaptive", "max_attempts": 10},
                                                           max_pool_connections=CONCURRENCY))

    def call(text: str) -> bool:
        try:
            client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": text}]}])
            return True
        except Exception:  # noqa: BLE001 - a failed row, counted
            return False

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        ok = list(pool.map(call, rows))
    return time.perf_counter() - start, ok.count(False)


LITELLM = textwrap.dedent("""
    import json, os, sys, time
    import litellm
    rows = json.loads(sys.stdin.read())
    litellm.ssl_verify = os.environ["AWS_CA_BUNDLE"]
    kwargs = dict(model="bedrock/converse/" + sys.argv[1], num_retries=3,
                  aws_bedrock_runtime_endpoint=os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"],
                  aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"], aws_region_name="us-east-1")
    batch = [[{"role": "user", "content": text}] for text in rows]
    start = time.perf_counter()
    out = litellm.batch_completion(messages=batch, max_workers=int(sys.argv[2]), **kwargs)
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "errors": sum(1 for r in out if isinstance(r, Exception))}))
""")


def run_litellm(python: str, rows: list[str], env: dict[str, str]) -> tuple[float, int]:
    result = subprocess.run([python, "-c", LITELLM, MODEL, str(CONCURRENCY)], input=json.dumps(rows),
                            env={**os.environ, **env, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["wall"], data["errors"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the 150-row cases")
    parser.add_argument("--litellm", metavar="PYTHON", help="a python with litellm installed (its own venv)")
    parser.add_argument("--only", nargs="+", default=["map", "adaptive", "litellm"],
                        help="approaches to run (map adaptive litellm)")
    args = parser.parse_args()
    cases = [case for case in CASES if not args.quick or case[1] == 150]

    import platform

    print(f"bench_quota: model {MODEL}, concurrency {CONCURRENCY}, {LATENCY_MS:g} ms latency per call; "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs (shared); local service in its own process")
    results = []
    with tempfile.TemporaryDirectory() as state:
        for quota, n, per_minute in cases:
            for approach in args.only:
                if approach == "litellm" and not args.litellm:
                    continue
                rows = prompts(n, f"{approach}-{quota}-{n}")
                costs = [tokens_of(p) for p in rows] if quota == "tokens" else [1] * n
                limit = per_minute * max(costs) if quota == "tokens" else per_minute
                faults = {"throttle_tpm": limit} if quota == "tokens" else {"throttle_rpm": limit}
                best = ideal(costs, limit)
                row = {"quota": f"{limit:,} {quota}/min", "rows": n, "approach": approach, "ideal_s": best}
                # A fresh service per run: every approach starts with an empty quota window.
                with Service(LATENCY_MS, state, **faults) as svc, environment(svc.env), \
                        tempfile.TemporaryDirectory() as tmp:
                    try:
                        if approach == "map":
                            wall, failed = run_map(rows, os.path.join(tmp, "ledger.sqlite"))
                        elif approach == "adaptive":
                            wall, failed = run_adaptive(rows)
                        else:
                            wall, failed = run_litellm(args.litellm, rows, svc.env)
                        row.update(wall_s=wall, ratio=wall / best, failed=failed)
                    except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
                        row["note"] = f"failed: {str(exc)[:70]}"
                results.append(row)
                print(f"  {row}", file=sys.stderr, flush=True)
    print(table(results, [("quota", "quota", ""), ("rows", "rows", ","), ("approach", "approach", ""),
                          ("wall s", "wall_s", ".1f"), ("ideal s", "ideal_s", ".1f"), ("ratio", "ratio", ".2f"),
                          ("failed rows", "failed", ","), ("note", "note", "")]))
    if not args.litellm:
        print("litellm batch_completion: skipped (pass --litellm /path/to/a/venv/bin/python with litellm installed)")


if __name__ == "__main__":
    main()
