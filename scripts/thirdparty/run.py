#!/usr/bin/env python3
"""Run langchain-aws's own Bedrock integration tests against the local Bedrock service.

It starts ``python -m bedrock_magics.local`` from a project checkout's ``.venv``, reads the
``export`` lines it prints, gives pytest only those endpoint/credential variables (plus the two
endpoint variables the anthropic SDK reads and the mantle base URL for ``endpoint_plugin.py``),
runs the copied tests in ``langchain_aws/`` with the third-party virtualenv's Python, and prints
passed / failed / skipped / errors per test file and in total, with the pass rate over
non-skipped tests. See README.md.

    python scripts/thirdparty/run.py --setup              # once: build scripts/thirdparty/.venv
    python scripts/thirdparty/run.py                      # run against this checkout's service
    python scripts/thirdparty/run.py --project /tmp/tp-X  # against another checkout's service
    python scripts/thirdparty/run.py --table-only scripts/thirdparty/results/*.xml  # re-print a table
    python scripts/thirdparty/run.py -- -k converse -x    # extra pytest arguments after --

Exit status: 0 when the run completed (whatever the pass rate), 2 when the service or pytest
could not start.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import venv
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS_ROOT = HERE / "langchain_aws"  # the copied upstream tests (rootdir of the pytest run)
VENV = HERE / ".venv"  # the third-party client's own virtualenv, never the project's
RESULTS = HERE / "results"
DESELECTED = HERE / "deselected.txt"

# Variables that could point a client somewhere else or carry real credentials: none of them
# reaches the tests unless the local service printed it.
_SCRUBBED_PREFIXES = ("AWS_", "ANTHROPIC_", "OPENAI_", "BEDROCK_", "LANGCHAIN_", "LANGSMITH_")
_SCRUBBED_NAMES = {"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
                   "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}

OUTCOMES = ("passed", "failed", "errors", "skipped")


def venv_python(root: Path) -> Path:
    """The Python of the virtualenv at ``root``."""
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def setup_venv() -> None:
    """Create scripts/thirdparty/.venv and install the client and its test dependencies."""
    if not venv_python(VENV).exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    subprocess.run([str(venv_python(VENV)), "-m", "pip", "install", "-q",
                    "-r", str(HERE / "requirements.txt"), "-c", str(HERE / "constraints.txt")],
                   check=True)


def start_service(project: Path, python: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start ``project``'s local service with ``python``; return the process and its exported variables.

    It runs in ``project`` with ``-m``, so ``project``'s own ``bedrock_magics`` is imported first
    even when ``python`` belongs to another checkout's venv with the same dependencies.
    """
    if not python.exists():
        sys.exit(f"error: {python} not found; run `make .venv/.installed` in {project} first")
    proc = subprocess.Popen([str(python), "-m", "bedrock_magics.local"], cwd=project,
                            stdout=subprocess.PIPE, text=True)
    exported: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:  # export lines, then one comment line once it serves
        if line.startswith("#"):
            break
        if line.startswith("export "):
            name, _, value = line[len("export "):].strip().partition("=")
            exported[name] = shlex.split(value)[0] if value else ""
    if proc.poll() is not None or "AWS_ENDPOINT_URL_BEDROCK_RUNTIME" not in exported:
        proc.kill()
        sys.exit("error: the local service did not start (no export lines); "
                 f"try `{python} -m bedrock_magics.local` in {project}")
    return proc, exported


def test_environment(exported: dict[str, str]) -> dict[str, str]:
    """This process's environment without AWS/LLM settings, plus the service's endpoints."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_SCRUBBED_PREFIXES) and k not in _SCRUBBED_NAMES}
    env.update(exported)
    runtime = exported["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"]
    mantle = exported["AWS_ENDPOINT_URL_BEDROCK_MANTLE"]
    env.update({
        # the anthropic SDK's own endpoint variables (AnthropicBedrock, AnthropicBedrockMantle)
        "ANTHROPIC_BEDROCK_BASE_URL": runtime,
        "ANTHROPIC_BEDROCK_MANTLE_BASE_URL": mantle + "/anthropic",
        # read by endpoint_plugin.py: ChatOpenAIMantle reads no variable for its base URL
        "LOCAL_MANTLE_OPENAI_BASE_URL": mantle + "/v1",
        # no ~/.aws profile, no real account
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(HERE),  # endpoint_plugin
    })
    return env


def deselected_ids() -> list[str]:
    """Node ids listed in deselected.txt (one per line, ``#`` starts a reason/comment)."""
    ids = []
    for line in DESELECTED.read_text().splitlines():
        node = line.split("#", 1)[0].strip()
        if node:
            ids.append(node)
    return ids


# Upstream runs its suites with ambient AWS credentials (SigV4), except ChatOpenAIMantle's, which
# needs a Bedrock API key (test_openai.py skips without AWS_BEARER_TOKEN_BEDROCK). The anthropic
# SDK refuses a key and AWS credentials together, so each kind gets its own pytest session.
BEARER_KEY_TESTS = ["tests/integration_tests/chat_models/test_openai.py"]


def sessions(env: dict[str, str]) -> list[tuple[str, dict[str, str], list[str]]]:
    """(name, environment, pytest arguments) of the SigV4 and the API-key sessions."""
    sigv4 = {k: v for k, v in env.items() if k != "AWS_BEARER_TOKEN_BEDROCK"}
    not_bearer = [arg for path in BEARER_KEY_TESTS for arg in ("--ignore", path)]
    return [("sigv4", sigv4, ["tests/integration_tests", *not_bearer]), ("api-key", env, BEARER_KEY_TESTS)]


def run_pytest(env: dict[str, str], targets: list[str], junit: Path, extra: list[str]) -> int:
    """Run the copied tests with the third-party venv's pytest; returns pytest's exit status."""
    cmd = [str(venv_python(VENV)), "-m", "pytest", *targets,
           "-p", "endpoint_plugin", "-p", "offline_fixtures", "-p", "no:cacheprovider",
           "--disable-recording",  # no cassettes: every request goes to the local service
           # native tracebacks: pytest's own renderer re-parses test sources, and under CPython 3.11
           # that can die with "AST constructor recursion depth mismatch", ending the whole session
           "--tb=native", "--timeout", "180", f"--junitxml={junit}", "-q", "-rN"]
    for node in deselected_ids():
        cmd += ["--deselect", node]
    return subprocess.run(cmd + extra, cwd=TESTS_ROOT, env=env).returncode


def outcome(case: ET.Element) -> str:
    """passed / failed / errors / skipped of one junit testcase (xfail counts as skipped)."""
    if case.find("failure") is not None:
        return "failed"
    if case.find("error") is not None:
        return "errors"
    if case.find("skipped") is not None:
        return "skipped"
    return "passed"


def group_of(case: ET.Element, by_class: bool) -> str:
    """The test file of a junit testcase (``path.py``), or ``path.py::Class`` when by_class."""
    parts = case.get("classname", "?").split(".")
    cls = parts.pop() if parts[-1][:1].isupper() else ""
    name = "/".join(parts) + ".py"
    return f"{name}::{cls}" if by_class and cls else name


def tally(junits: list[Path], by_class: bool = False) -> dict[str, Counter]:
    """Outcome counts per test file (or class), from pytest's junit XML files."""
    per_group: dict[str, Counter] = {}
    for junit in junits:
        for case in ET.parse(junit).iter("testcase"):
            per_group.setdefault(group_of(case, by_class), Counter())[outcome(case)] += 1
    return per_group


def table(per_file: dict[str, Counter]) -> str:
    """A plain-text table of the counts and the pass rate over non-skipped tests."""
    def row(label: str, c: Counter) -> str:
        ran = c["passed"] + c["failed"] + c["errors"]
        rate = f"{100 * c['passed'] / ran:5.1f}%" if ran else "    -"
        return f"{label:<{width}} " + " ".join(f"{c[o]:>7}" for o in OUTCOMES) + f" {rate:>7}"

    width = max([len(f) for f in per_file] + [5])
    lines = [f"{'file':<{width}} " + " ".join(f"{o:>7}" for o in OUTCOMES) + f" {'pass%':>7}"]
    total: Counter = Counter()
    for name in sorted(per_file):
        lines.append(row(name, per_file[name]))
        total.update(per_file[name])
    lines.append(row("TOTAL", total))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the tests against a fresh local service, print the table."""
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--setup", action="store_true", help="create/update scripts/thirdparty/.venv and exit")
    p.add_argument("--project", type=Path, default=HERE.parent.parent,
                   help="checkout whose .venv runs the local service (default: this one)")
    p.add_argument("--service-python", type=Path, default=None,
                   help="Python that runs the service (default: PROJECT/.venv's); any venv with the "
                        "project's dependencies installed will do")
    p.add_argument("--label", default=None, help="prefix of this run's results files (default: project dir name)")
    p.add_argument("--by-class", action="store_true", help="one table row per test class instead of per file")
    p.add_argument("--table-only", nargs="*", type=Path, metavar="JUNIT",
                   help="print the table of earlier runs' results/*.xml files and exit (no service, no tests)")
    args = p.parse_args(argv)
    if args.setup:
        setup_venv()
        return 0
    if args.table_only:
        print(table(tally(args.table_only, args.by_class)))
        return 0
    if not venv_python(VENV).exists():
        sys.exit(f"error: {VENV} missing; run `python {Path(__file__).name} --setup` first")

    RESULTS.mkdir(exist_ok=True)
    label = args.label or args.project.resolve().name
    # absolute, not resolved: a venv's python is a symlink out of the venv
    python = (args.service_python or venv_python(args.project.resolve() / ".venv")).absolute()
    proc, exported = start_service(args.project.resolve(), python)
    junits = []
    try:
        env = test_environment(exported)
        for name, session_env, targets in sessions(env):
            junit = RESULTS / f"{label}-{name}.xml"
            junit.unlink(missing_ok=True)
            status = run_pytest(session_env, targets, junit, extra)
            if status not in (0, 1, 5) or not junit.exists():  # ran: all passed / some failed / none selected
                print(f"error: pytest ({name} session) exited with status {status}", file=sys.stderr)
                return 2
            junits.append(junit)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print()
    print(table(tally(junits, args.by_class)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
