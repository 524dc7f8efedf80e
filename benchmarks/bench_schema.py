"""What ``--schema`` costs in a ``--df`` run: the same 1,000-row run with and without a schema,
side by side against the local service (reply cache off, so every row is a call). The service runs
in its own process, as Bedrock is remote: what is timed is the client's share (the request's
schema, parsing and validating each answer into columns), not the service making the JSON.

Run: ``python benchmarks/bench_schema.py [--rows N] [--concurrency N] [--repeats N] [--latency-ms MS]``
(``--latency-ms``: the service's time per call; 0, the default, is the worst case: every millisecond
the client or the service spends shows, on a machine both share). Prints one
table (rows, rows lost, wall time of each run, ratio); the runs alternate and the medians are
compared. Goals: 0 rows lost, and the schema run within 1.1x of the plain one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from bench_batch import Service, environment

from bedrock_magics.core import Bedrock

MODEL = "openai.gpt-oss-120b"
GOAL = 1.1


class Review(BaseModel):
    sentiment: str
    stars: int


def _run(bm: Bedrock, frame: pd.DataFrame, concurrency: int, schema: type | None) -> tuple[float, int]:
    start = time.perf_counter()
    result = bm.map(frame, "Review: {review}", model=MODEL, endpoint="mantle", concurrency=concurrency,
                    use_cache=False, progress=False, **({"schema": schema} if schema else {}))
    elapsed = time.perf_counter() - start
    lost = int(result["answer_error"].notna().sum())
    if schema is not None:
        lost += int(result["stars"].isna().sum())
    return elapsed, lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    frame = pd.DataFrame({"review": [f"Item {i}: works well, {i % 5 + 1} stars" for i in range(args.rows)]})
    with tempfile.TemporaryDirectory() as tmp, Service(args.latency_ms, tmp) as svc, environment(svc.env):
        bm = Bedrock(ledger_path=str(Path(tmp) / "ledger.sqlite"), local=False)  # the service, by its env
        _run(bm, frame.head(20), args.concurrency, Review)  # warm up clients and the service
        plain, schema, lost = [], [], {"plain": 0, "schema": 0}
        for _ in range(args.repeats):  # alternate, so drift on a shared machine hits both alike
            t, n = _run(bm, frame, args.concurrency, None)
            plain.append(t)
            lost["plain"] += n
            t, n = _run(bm, frame, args.concurrency, Review)
            schema.append(t)
            lost["schema"] += n
        bm.close()
    p, s = statistics.median(plain), statistics.median(schema)
    print(f"service latency {args.latency_ms:g} ms per call, concurrency {args.concurrency}")
    print(f"{'run':<10}{'rows':>7}{'lost':>6}{'median s':>10}  runs (s)")
    print(f"{'plain':<10}{args.rows:>7}{lost['plain']:>6}{p:>10.2f}  {', '.join(f'{t:.2f}' for t in plain)}")
    print(f"{'--schema':<10}{args.rows:>7}{lost['schema']:>6}{s:>10.2f}  {', '.join(f'{t:.2f}' for t in schema)}")
    ratio = s / p
    ok = lost["schema"] == 0 and ratio <= GOAL
    print(f"ratio --schema / plain: {ratio:.3f} (goal <= {GOAL}); rows lost with --schema: {lost['schema']} "
          f"-> {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
