"""A damaged, truncated or unreadable ledger file, and many processes opening one fresh ledger at once.

What a user must see: one Note line naming the file, the bad file kept beside it as
``ledger.sqlite.corrupt-YYYYmmdd-HHMMSS``, a fresh ledger that records the next call, and never a
sqlite traceback (``%bedrock usage`` used to raise ``sqlite3.DatabaseError``).
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from bedrock_magics.errors import Note
from bedrock_magics.ledger import Ledger
from bedrock_magics.reply import Reply

NOVA = "us.amazon.nova-lite-v1:0"


def _reply(n: int = 0) -> Reply:
    return Reply(text=f"hi {n}", model=NOVA, region="us-east-1", endpoint="runtime", api="converse",
                 usage={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}, latency_ms=12.5,
                 stop_reason="end_turn", cost_usd=0.0000018, request_id=f"req-{n}")


def _full_ledger(path: Path, rows: int = 400) -> None:
    ledger = Ledger(path)
    for n in range(rows):
        ledger.append(_reply(n), session="old")
    ledger.close()
    with sqlite3.connect(path) as conn:  # fold the WAL into the file, as after a clean shutdown
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


def _one_note(caught: list[warnings.WarningMessage]) -> str:
    notes = [str(w.message) for w in caught if issubclass(w.category, Note)]
    assert len(notes) == 1, notes
    assert "\n" not in notes[0]
    return notes[0]


def _aside(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name + ".corrupt-"))


def _use_a_bad_ledger(bm, path: Path, original: bytes) -> None:
    """usage() on a damaged ledger: one Note, an empty frame, the file moved aside, then a real call is recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        usage = bm.usage(all_sessions=True)
    note = _one_note(caught)
    assert len(usage) == 0
    (aside,) = _aside(path)
    assert aside.read_bytes() == original  # nothing of the user's file is lost
    assert f"the ledger at {path} is damaged" in note and str(aside) in note and "fresh ledger" in note
    assert aside.name[len(path.name):].startswith(".corrupt-2") and len(aside.name) == len(path.name) + len(".corrupt-YYYYmmdd-HHMMSS")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bm.ask("echo: after")
        assert list(bm.usage()["status"]) == ["ok"]
    assert not [w for w in caught if issubclass(w.category, Note)]  # said once
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture
def bm(local_service, tmp_path, monkeypatch):
    from bedrock_magics import Bedrock

    for name in ("AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "BEDROCK_MAGICS_LEDGER"):
        monkeypatch.delenv(name, raising=False)
    bm = Bedrock(ledger_path=str(tmp_path / "ledger.sqlite"), model=NOVA)
    bm.use_local(service=local_service)
    yield bm
    bm.close()


def test_a_garbage_ledger_file_is_moved_aside_with_one_line(bm, tmp_path):
    path = tmp_path / "ledger.sqlite"
    garbage = b"this is not a sqlite database" * 100
    path.write_bytes(garbage)
    _use_a_bad_ledger(bm, path, garbage)


def test_a_truncated_ledger_file_is_moved_aside_with_one_line(bm, tmp_path):
    path = tmp_path / "ledger.sqlite"
    _full_ledger(path)
    whole = path.read_bytes()
    half = whole[: len(whole) // 2]
    path.write_bytes(half)
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.DatabaseError, match="malformed"):
        conn.execute("SELECT * FROM calls").fetchall()  # what `%bedrock usage` raised before
    _use_a_bad_ledger(bm, path, half)


def test_a_ledger_damaged_while_open_is_moved_aside_on_the_next_use(tmp_path):
    path = tmp_path / "ledger.sqlite"
    _full_ledger(path)
    ledger = Ledger(path)
    assert len(ledger) == 400
    ledger.close()
    path.write_bytes(b"\0" * 100 + path.read_bytes()[100:])  # the header overwritten
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ledger.append(_reply(), session="s")  # a write, not just a read, recovers too
    assert "is damaged" in _one_note(caught)
    assert len(ledger) == 1 and len(_aside(path)) == 1


def test_a_directory_where_the_ledger_should_be_keeps_calls_in_memory(bm, tmp_path):
    # What SQLite says for a path it cannot open (a directory, a device, no permission). The
    # directory is not ours to move: the session's calls are kept in memory and the Note says how to fix it.
    path = tmp_path / "ledger.sqlite"
    path.mkdir()
    (path / "keep.txt").write_text("user data")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bm.ask("echo: one")
        bm.ask("echo: two")
        usage = bm.usage()
    note = _one_note(caught)
    assert note.startswith(f"the ledger at {path} cannot be opened (OperationalError: unable to open database file)")
    assert "Set Bedrock.ledger_path to a writable file" in note
    assert list(usage["status"]) == ["ok", "ok"]
    assert (path / "keep.txt").read_text() == "user data" and not _aside(path)


UNREADABLE = textwrap.dedent("""
    import sys, warnings
    from bedrock_magics.ledger import Ledger
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = Ledger(sys.argv[1]).rows()
    print(len(rows))
    for w in caught:
        print(w.category.__name__ + ": " + str(w.message))
""")
_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 24, 1, 2


def _without_root_file_access() -> None:
    """In the child before exec: drop the capabilities that let root read any file (a chmod 000
    file is then unreadable to it, as to any other user)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_an_unreadable_ledger_file_is_moved_aside_with_one_line(tmp_path):
    path = tmp_path / "ledger.sqlite"
    _full_ledger(path, rows=3)
    path.chmod(0o000)
    out = subprocess.run([sys.executable, "-c", UNREADABLE, str(path)], capture_output=True, text=True, timeout=120,
                         preexec_fn=_without_root_file_access if os.geteuid() == 0 else None)
    assert out.returncode == 0, out.stderr
    count, note = out.stdout.strip().splitlines()
    assert count == "0"
    (aside,) = _aside(path)
    assert note == (f"Note: the ledger at {path} can't be read (OperationalError: unable to open database file); "
                    f"it was moved to {aside} and a fresh ledger was started.")
    assert "Traceback" not in out.stderr
    aside.chmod(0o600)
    assert len(Ledger(aside)) == 3  # the user's rows are still there


def _open_fresh_ledgers(paths: list[str], barrier, results) -> None:
    """One process: for each path, wait for the others, then open that fresh ledger and write to it."""
    for path in paths:
        try:
            barrier.wait(timeout=120)
            ledger = Ledger(path)
            ledger.append(_reply(), session=str(os.getpid()))
            ledger.cache_clear()
            ledger.close()
            results.put("ok")
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which asserts on it
            results.put(f"{type(exc).__name__}: {exc}")


def test_many_processes_opening_one_fresh_ledger_never_see_database_is_locked(tmp_path):
    # Switching a fresh file to WAL answers "database is locked" at once, without the busy timeout;
    # 12 processes released together by a barrier, 40 fresh files, hit that within a few files before
    # the fix. "spawn", not "fork": this process runs the local service's threads.
    context = multiprocessing.get_context("spawn")
    processes, rounds = 12, 40
    paths = [str(tmp_path / f"ledger-{n}.sqlite") for n in range(rounds)]
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_open_fresh_ledgers, args=(paths, barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in range(processes * rounds)]
    for worker in workers:
        worker.join(timeout=120)
    assert [o for o in outcomes if o != "ok"] == []
    assert [len(Ledger(path)) for path in paths] == [processes] * rounds


@pytest.mark.kernel
def test_usage_on_a_garbage_ledger_in_a_kernel_is_one_line_then_a_table(tmp_path):
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"this is not a sqlite database" * 100)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK_MAGICS_"))}
    env.update(BEDROCK_MAGICS_LOCAL="1", BEDROCK_MAGICS_LEDGER=str(path), IPYTHONDIR=str(tmp_path / "ipython"),
               AWS_EC2_METADATA_DISABLED="true")
    cells = ["%load_ext bedrock_magics", "%bedrock usage", "%%bedrock x --no-stream\necho: hi", "%bedrock usage"]
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=env)
    _, first_usage, _, second_usage = nb.cells
    saved = nbformat.writes(nb)
    assert "Traceback" not in saved and "sqlite3" not in saved
    (aside,) = _aside(path)
    stderr = [o["text"] for o in first_usage.outputs if o.get("name") == "stderr"]
    assert "".join(stderr).strip().splitlines() == [
        f"Note: the ledger at {path} is damaged (DatabaseError: file is not a database); it was moved to {aside} "
        "and a fresh ledger was started."]
    table = second_usage.outputs[0]["data"]["text/html"]
    assert table.count("<td>ok</td>") == 1
