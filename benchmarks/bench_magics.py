"""How much the IPython shell of bedrock_magics costs: ``%load_ext`` time and per-call overhead.

Run: ``python benchmarks/bench_magics.py [--runs N] [--calls N]``. Prints one table:

* ``%load_ext`` in a fresh interpreter, timed in-process around ``load_ext`` (median of N fresh
  ``python -c`` subprocesses), with and without ``BEDROCK_MAGICS_LOCAL=1`` (whose service start runs
  on a background thread; its time to ready is shown separately). Bytecode is cached (in a private
  ``PYTHONPYCACHEPREFIX``, written by one warm-up run), as after ``pip install`` or any earlier
  import; ``--compile`` adds the figure with the package compiled from source on every start
  (``PYTHONDONTWRITEBYTECODE=1`` and no ``__pycache__``, as in a fresh editable checkout);
* ``ipython -c "%load_ext bedrock_magics"`` wall time minus bare ``ipython -c pass`` (medians);
* per-call overhead of ``%%bedrock --no-stream --quiet`` over a raw boto3 ``converse`` call to the
  same local service in the same process, the boto3 client reused (median of N interleaved calls).

Goals: load <= 60 ms, per-call overhead <= 5 ms.

``--compare BEFORE AFTER`` measures two checkouts side by side instead (each a directory with its
own ``.venv``, or a Python executable), interleaved run by run so machine noise hits both alike,
and prints one before/after table: ``%load_ext`` with cached bytecode and compiled from source,
and the per-call overhead (each side's calls in its own interpreter, rounds alternating)::

    python benchmarks/bench_magics.py --compare /work/wt-base /work/wt-i9b --runs 20
"""

from __future__ import annotations

import argparse
import json
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
    t0, cpu0 = time.perf_counter(), time.process_time()
    ip.run_line_magic("load_ext", "bedrock_magics")
    loaded, cpu = time.perf_counter(), time.process_time()
    from bedrock_magics.magics import _loaded
    magics = _loaded[ip]
    magics._wait_for_local(raise_error=False)
    ready = time.perf_counter()
    print(f"{(loaded - t0) * 1000:.3f} {(ready - t0) * 1000:.3f} {(cpu - cpu0) * 1000:.3f}")
    ip.run_line_magic("unload_ext", "bedrock_magics")
""")


def _env(local: bool, tmp: str, pycache: str | None = None) -> dict[str, str]:
    """The environment of a measured interpreter: its own IPython dir and ledger; bytecode cached
    under ``pycache`` (a private prefix, so no checkout is written to), or, with ``pycache=None``,
    never written (``PYTHONDONTWRITEBYTECODE=1``: a package without ``__pycache__`` compiles from
    source on every start)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BEDROCK_MAGICS_") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["IPYTHONDIR"] = os.path.join(tmp, "ipython")
    env["BEDROCK_MAGICS_LEDGER"] = os.path.join(tmp, "ledger.sqlite")
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = pycache
    if local:
        env["BEDROCK_MAGICS_LOCAL"] = "1"
    return env


def _probe_load(python: str, env: dict[str, str]) -> tuple[float, float, float]:
    """ms of load_ext in one fresh interpreter, until its local service is ready, and the CPU ms
    load_ext took (less disturbed than wall time by other work on the machine)."""
    # cwd: a directory with no package in it, so ``python -c`` imports the interpreter's own install
    out = subprocess.run([python, "-c", _LOAD_PROBE], capture_output=True, text=True, env=env, check=True,
                         cwd=env["IPYTHONDIR"].rpartition(os.sep)[0])
    load, ready, cpu = map(float, out.stdout.split()[-3:])
    return load, ready, cpu


def load_in_process(runs: int, local: bool, tmp: str, compiled: bool = True) -> tuple[float, float]:
    """Median ms of load_ext in a fresh interpreter, and of load until the local service is ready;
    ``compiled=False``: the package compiled from source each time."""
    env = _env(local, tmp, os.path.join(tmp, "pycache") if compiled else None)
    _probe_load(sys.executable, env)  # writes the bytecode cache (and IPython's profile dir)
    loads, readies = [], []
    for _ in range(runs):
        load, ready, _ = _probe_load(sys.executable, env)
        loads.append(load)
        readies.append(ready)
    return statistics.median(loads), statistics.median(readies)


def ipython_wall(runs: int, tmp: str) -> tuple[float, float]:
    """Median wall ms of ``ipython -c pass`` and of ``ipython -c "%load_ext bedrock_magics"``."""
    ipython = shutil.which("ipython", path=os.path.dirname(sys.executable)) or "ipython"
    bare, loaded = [], []
    subprocess.run([ipython, "--quick", "--no-banner", "-c", "%load_ext bedrock_magics"], capture_output=True,
                   env=_env(False, tmp, os.path.join(tmp, "pycache")), check=True)  # warm the bytecode cache
    for _ in range(runs):  # interleaved, so machine noise hits both alike
        for code, sink in (("pass", bare), ("%load_ext bedrock_magics", loaded)):
            t0 = time.perf_counter()
            subprocess.run([ipython, "--quick", "--no-banner", "-c", code], capture_output=True,
                           env=_env(False, tmp, os.path.join(tmp, "pycache")), check=True)
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


def _python_of(checkout: str) -> str:
    """A checkout's ``.venv`` Python, or ``checkout`` itself when it is an executable."""
    venv = os.path.join(checkout, ".venv", "bin", "python")
    return venv if os.path.isfile(venv) else checkout


def _package_dir(python: str, tmp: str) -> str:
    out = subprocess.run([python, "-c", "import bedrock_magics, os; print(os.path.dirname(bedrock_magics.__file__))"],
                         capture_output=True, text=True, check=True, env=_env(False, tmp, None), cwd=tmp)
    return out.stdout.strip()


def compare(before: str, after: str, runs: int, calls: int, rounds: int) -> None:
    """Print before/after of two checkouts, every measurement interleaved between them."""
    sides = {"before": _python_of(before), "after": _python_of(after)}
    with tempfile.TemporaryDirectory(prefix="bench-magics-compare-") as tmp:
        dirs = {name: os.path.join(tmp, name) for name in sides}
        for d in dirs.values():
            os.makedirs(d)
        figures: dict[str, dict[str, list[float]]] = {name: {} for name in sides}
        for regime, cache in (("cached", "pycache"), ("source", None)):
            envs = {name: _env(False, dirs[name], os.path.join(dirs[name], cache) if cache else None)
                    for name in sides}
            for name, python in sides.items():  # warm-up: bytecode cache, IPython profile dir
                _probe_load(python, envs[name])
            for _ in range(runs):
                for name, python in sides.items():
                    wall, _, cpu = _probe_load(python, envs[name])
                    figures[name].setdefault(regime, []).append(wall)
                    figures[name].setdefault(regime + " cpu", []).append(cpu)
        for _ in range(rounds):  # each round: one fresh interpreter per side, alternating
            for name, python in sides.items():
                out = subprocess.run([python, os.path.abspath(__file__), "--overhead-json", "--calls", str(calls)],
                                     capture_output=True, text=True, check=True, cwd=dirs[name],
                                     env=_env(False, dirs[name], os.path.join(dirs[name], "pycache")))
                raw, core, magic = json.loads(out.stdout.splitlines()[-1])
                figures[name].setdefault("overhead", []).append(magic - raw)
                figures[name].setdefault("api", []).append(core - raw)
        packages = {name: _package_dir(python, tmp) for name, python in sides.items()}
    stale = [name for name in sides if os.path.isdir(os.path.join(packages[name], "__pycache__"))]
    med = {name: {k: statistics.median(v) for k, v in f.items()} for name, f in figures.items()}
    rows = [
        ("%load_ext bedrock_magics, bytecode cached", "cached", "ms", 1),
        ("  CPU time of it", "cached cpu", "ms", 1),
        ("%load_ext bedrock_magics, compiled from source" + (" (!)" if stale else ""), "source", "ms", 1),
        ("  CPU time of it", "source cpu", "ms", 1),
        ("per-call overhead of %%bedrock over raw boto3", "overhead", "ms", 2),
        ("  of which Bedrock.ask over raw boto3", "api", "ms", 2),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'median':<{width}}  {'before':>9}  {'after':>9}  {'after/before':>12}")
    print("-" * (width + 38))
    for label, key, unit, digits in rows:
        b, a = med["before"][key], med["after"][key]
        ratio = f"{a / b:.2f}" if b > 0.05 else "-"
        print(f"{label:<{width}}  {b:>6.{digits}f} {unit}  {a:>6.{digits}f} {unit}  {ratio:>12}")
    print(f"\nbefore: {packages['before']}\nafter:  {packages['after']}\n{runs} fresh interpreters per side and load "
          f"figure, interleaved; overhead: {rounds} alternating rounds of {calls} calls per path; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs.")
    if stale:
        print(f"(!) {', '.join(stale)} has a __pycache__ in its package, so its 'from source' figure read bytecode.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per load measurement")
    parser.add_argument("--calls", type=int, default=200, help="calls per path for the overhead")
    parser.add_argument("--compile", action="store_true",
                        help="also measure %%load_ext with the package compiled from source")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="two checkouts (each with a .venv) or Python executables, measured interleaved")
    parser.add_argument("--rounds", type=int, default=3, help="--compare: alternating rounds of --calls calls")
    parser.add_argument("--overhead-json", action="store_true", help=argparse.SUPPRESS)  # one side of --compare
    args = parser.parse_args()
    if args.overhead_json:
        with tempfile.TemporaryDirectory(prefix="bench-magics-") as tmp:
            print(json.dumps(call_overhead(args.calls, tmp)))
        return
    if args.compare:
        compare(*args.compare, runs=args.runs, calls=args.calls, rounds=args.rounds)
        return

    with tempfile.TemporaryDirectory(prefix="bench-magics-") as tmp:
        load_ms, _ = load_in_process(args.runs, local=False, tmp=tmp)
        local_ms, ready_ms = load_in_process(args.runs, local=True, tmp=tmp)
        source_ms = load_in_process(args.runs, local=False, tmp=tmp, compiled=False)[0] if args.compile else None
        bare_ms, ipy_ms = ipython_wall(args.runs, tmp)
        raw_ms, core_ms, magic_ms = call_overhead(args.calls, tmp)

    rows = [
        ("%load_ext bedrock_magics (in-process, fresh shell)", f"{load_ms:.1f} ms", f"<= {LOAD_GOAL_MS:.0f} ms",
         "ok" if load_ms <= LOAD_GOAL_MS else "OVER"),
        ("  same with BEDROCK_MAGICS_LOCAL=1 (service starts in background)", f"{local_ms:.1f} ms",
         f"<= {LOAD_GOAL_MS:.0f} ms", "ok" if local_ms <= LOAD_GOAL_MS else "OVER"),
        ("  ... until the local service is ready", f"{ready_ms:.1f} ms", "-", "-"),
        *([("  compiled from source (no bytecode cache)", f"{source_ms:.1f} ms", "-", "-")]
          if source_ms is not None else []),
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
