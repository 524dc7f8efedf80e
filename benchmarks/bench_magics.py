"""How much the IPython shell of bedrock_magics costs: ``%load_ext`` time and per-call overhead.

Run: ``python benchmarks/bench_magics.py [--runs N] [--calls N]``. Prints one table:

* ``%load_ext`` in a fresh interpreter, timed in-process around ``load_ext`` (median of N fresh
  ``python -c`` subprocesses), with and without ``BEDROCK_MAGICS_LOCAL=1`` (whose service start runs
  on a background thread; its time to ready is shown separately);
* ``ipython -c "%load_ext bedrock_magics"`` wall time minus bare ``ipython -c pass`` (medians);
* per-call overhead of ``%%bedrock --no-stream --quiet`` over a raw boto3 ``converse`` call to the
  same local service in the same process, the boto3 client reused (median of N interleaved calls).

Goals: load <= 60 ms, per-call overhead <= 5 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

LOAD_GOAL_MS = 60.0
CALL_GOAL_MS = 5.0
PROMPT = "echo: benchmark reply"
MODEL = "us.amazon.nova-lite-v1:0"

_LOAD_PROBE = textwrap.dedent("""
    import time
    from IPython.core.interactiveshell import InteractiveShell
    ip = InteractiveShell.instance()
    t0 = time.perf_counter()
    ip.run_line_magic("load_ext", "bedrock_magics")
    loaded = time.perf_counter()
    from bedrock_magics.magics import _loaded
    magics = _loaded[ip]
    magics._wait_for_local(raise_error=False)
    ready = time.perf_counter()
    print(f"{(loaded - t0) * 1000:.3f} {(ready - t0) * 1000:.3f}")
    ip.run_line_magic("unload_ext", "bedrock_magics")
""")


def _env(local: bool, tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEDROCK_MAGICS_")}
    env["IPYTHONDIR"] = os.path.join(tmp, "ipython")
    env["BEDROCK_MAGICS_LEDGER"] = os.path.join(tmp, "ledger.sqlite")
    if local:
        env["BEDROCK_MAGICS_LOCAL"] = "1"
    return env


def load_in_process(runs: int, local: bool, tmp: str) -> tuple[float, float]:
    """Median ms of load_ext in a fresh interpreter, and of load until the local service is ready."""
    loads, readies = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _LOAD_PROBE], capture_output=True, text=True,
                             env=_env(local, tmp), check=True)
        load, ready = map(float, out.stdout.split()[-2:])
        loads.append(load)
        readies.append(ready)
    return statistics.median(loads), statistics.median(readies)


def ipython_wall(runs: int, tmp: str) -> tuple[float, float]:
    """Median wall ms of ``ipython -c pass`` and of ``ipython -c "%load_ext bedrock_magics"``."""
    ipython = shutil.which("ipython", path=os.path.dirname(sys.executable)) or "ipython"
    bare, loaded = [], []
    for _ in range(runs):  # interleaved, so machine noise hits both alike
        for code, sink in (("pass", bare), ("%load_ext bedrock_magics", loaded)):
            t0 = time.perf_counter()
            subprocess.run([ipython, "--quick", "--no-banner", "-c", code], capture_output=True,
                           env=_env(False, tmp), check=True)
            sink.append((time.perf_counter() - t0) * 1000)
    return statistics.median(bare), statistics.median(loaded)


def call_overhead(calls: int, tmp: str) -> tuple[float, float, float]:
    """Median ms of a raw boto3 converse, of ``Bedrock.ask`` and of ``%%bedrock --no-stream --quiet``,
    all to the same local service from this process."""
    import boto3
    from botocore.config import Config
    from IPython.core.interactiveshell import InteractiveShell

    from bedrock_magics.local import LocalService, credentials
    from bedrock_magics.magics import current

    with LocalService(port=0, state_dir=os.path.join(tmp, "state")) as svc:
        raw = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=svc.endpoints["runtime"],
                           aws_access_key_id=credentials.ACCESS_KEY_ID,
                           aws_secret_access_key=credentials.SECRET_ACCESS_KEY, verify=svc.ca_file,
                           config=Config(retries={"mode": "standard", "max_attempts": 1}))
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "bedrock_magics")
        bm = current(ip)
        bm.ledger_path = os.path.join(tmp, "calls.sqlite")
        bm.use_local(service=svc)
        message = [{"role": "user", "content": [{"text": PROMPT}]}]
        paths = {
            "raw": lambda: raw.converse(modelId=MODEL, messages=message),
            "core": lambda: bm.ask(PROMPT),
            "magic": lambda: ip.run_cell_magic("bedrock", "--no-stream --quiet", PROMPT),
        }
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(5):  # warm every path: connections, imports, the ledger file
            for call in paths.values():
                call()
        for _ in range(calls):  # interleaved, so machine noise hits every path alike
            for name, call in paths.items():
                t0 = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - t0) * 1000)
        ip.run_line_magic("unload_ext", "bedrock_magics")
    return tuple(statistics.median(times[name]) for name in paths)  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per load measurement")
    parser.add_argument("--calls", type=int, default=200, help="calls per path for the overhead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-magics-") as tmp:
        load_ms, _ = load_in_process(args.runs, local=False, tmp=tmp)
        local_ms, ready_ms = load_in_process(args.runs, local=True, tmp=tmp)
        bare_ms, ipy_ms = ipython_wall(args.runs, tmp)
        raw_ms, core_ms, magic_ms = call_overhead(args.calls, tmp)

    rows = [
        ("%load_ext bedrock_magics (in-process, fresh shell)", f"{load_ms:.1f} ms", f"<= {LOAD_GOAL_MS:.0f} ms",
         "ok" if load_ms <= LOAD_GOAL_MS else "OVER"),
        ("  same with BEDROCK_MAGICS_LOCAL=1 (service starts in background)", f"{local_ms:.1f} ms",
         f"<= {LOAD_GOAL_MS:.0f} ms", "ok" if local_ms <= LOAD_GOAL_MS else "OVER"),
        ("  ... until the local service is ready", f"{ready_ms:.1f} ms", "-", "-"),
        ("ipython -c pass (wall)", f"{bare_ms:.0f} ms", "-", "-"),
        ('ipython -c "%load_ext bedrock_magics" (wall)', f"{ipy_ms:.0f} ms", "-", "-"),
        ("  difference", f"{ipy_ms - bare_ms:.1f} ms", f"<= {LOAD_GOAL_MS:.0f} ms",
         "ok" if ipy_ms - bare_ms <= LOAD_GOAL_MS else "OVER"),
        ("raw boto3 converse, client reused (local service)", f"{raw_ms:.2f} ms", "-", "-"),
        ("Bedrock.ask, the Python API (same service)", f"{core_ms:.2f} ms", "-", "-"),
        ("%%bedrock --no-stream --quiet (same service)", f"{magic_ms:.2f} ms", "-", "-"),
        ("  overhead of the magic over Bedrock.ask", f"{magic_ms - core_ms:.2f} ms", "-", "-"),
        ("  per-call overhead of the magic", f"{magic_ms - raw_ms:.2f} ms", f"<= {CALL_GOAL_MS:.0f} ms",
         "ok" if magic_ms - raw_ms <= CALL_GOAL_MS else "OVER"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'median':>10}  {'goal':>9}  result")
    print("-" * (width + 32))
    for name, value, goal, verdict in rows:
        print(f"{name:<{width}}  {value:>10}  {goal:>9}  {verdict}")
    print(f"\n{args.runs} fresh interpreters per load figure, {args.calls} interleaved calls per path; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs.")


if __name__ == "__main__":
    main()
