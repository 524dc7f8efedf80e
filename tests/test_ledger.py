"""The SQLite ledger: columns, sessions, durability across processes, concurrent writers, reply cache."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import timezone

from bedrock_magics.ledger import COLUMNS, Ledger, cache_key
from bedrock_magics.local import tokens
from bedrock_magics.reply import Reply
from bedrock_magics.request import Request


def _reply(**fields) -> Reply:
    base = dict(text="hi", model="us.amazon.nova-lite-v1:0", region="us-east-1", endpoint="runtime", api="converse",
                usage={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}, latency_ms=12.5,
                stop_reason="end_turn", cost_usd=0.0000018, request_id="req-1")
    base.update(fields)
    return Reply(**base)


def test_opening_is_lazy_and_uses_wal(tmp_path):
    path = tmp_path / "sub" / "ledger.sqlite"
    ledger = Ledger(path)
    assert not path.exists()  # nothing happens until the first read or write
    ledger.append(_reply(), session="s1", cell=3)
    assert path.exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_frame_has_the_contract_columns_and_types(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.append(_reply(), session="s1", cell=3)
    ledger.append(_reply(status="error", error="Bedrock throttled the calls", usage={}, cost_usd=math.nan,
                         stop_reason=None, chat="notes"), session="s2")
    frame = ledger.frame()
    # The cache and reasoning token columns come only when a call reported them (none did here).
    reported_only = ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
    assert tuple(frame.columns) == tuple(c for c in COLUMNS if c not in reported_only)
    ledger.append(_reply(usage={"input_tokens": 1, "output_tokens": 2, "cache_read_tokens": 7}), session="s3")
    assert tuple(ledger.frame().columns) == tuple(c for c in COLUMNS if c not in reported_only[1:])
    assert tuple(COLUMNS[:13]) == ("time", "region", "endpoint", "api", "model", "input_tokens", "output_tokens",
                                   "total_tokens", "latency_ms", "cost_usd", "stop_reason", "status", "error")
    assert str(frame["time"].dt.tz) == str(timezone.utc)
    first, second = frame.iloc[0], frame.iloc[1]
    assert (first.input_tokens, first.output_tokens, first.total_tokens) == (10, 5, 15)
    assert first.cost_usd == 0.0000018 and first.cell == 3 and first.session == "s1"
    assert second.status == "error" and second.error == "Bedrock throttled the calls" and second.chat == "notes"
    assert math.isnan(second.cost_usd)  # unknown stays NaN, never 0
    assert list(ledger.frame(session="s2")["status"]) == ["error"]


def test_rows_survive_the_process_that_wrote_them(tmp_path, local_service):
    """A real call recorded in one process is read back by another one."""
    path = tmp_path / "ledger.sqlite"
    env = {**os.environ, **local_service.env}
    env.pop("AWS_PROFILE", None)
    write = (f"from bedrock_magics import Bedrock\n"
             f"bm = Bedrock(ledger_path={str(path)!r})\n"
             f"print(bm.ask('echo: written by another process').text)\n"
             f"print(bm.session)\n")
    out = subprocess.run([sys.executable, "-c", write], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text, session = out.stdout.split("\n")[:2]
    assert text == "written by another process"
    read = (f"from bedrock_magics.ledger import Ledger\n"
            f"print(Ledger({str(path)!r}).frame().to_json(orient='records'))\n")
    out = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 1
    # The answer's tokens as the model's tokenizer counts them (the responder's per-family counts).
    expected = tokens.count("written by another process", tokens.family_of(rows[0]["model"]))
    assert rows[0]["session"] == session and rows[0]["status"] == "ok" and rows[0]["output_tokens"] == expected


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)

    def write(n: int) -> None:
        for i in range(25):
            ledger.append(_reply(request_id=f"t{n}-{i}"), session="threads")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    code = ("import sys\nfrom bedrock_magics.ledger import Ledger\nfrom bedrock_magics.reply import Reply\n"
            "l = Ledger(sys.argv[1])\n"
            "for i in range(50): l.append(Reply(model='m', status='ok'), session='proc')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)]) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(p.wait(timeout=120) == 0 for p in procs)
    frame = ledger.frame()
    assert (frame["session"] == "threads").sum() == 200
    assert (frame["session"] == "proc").sum() == 100
    assert frame["request_id"].dropna().nunique() == 200


def test_secrets_are_scrubbed_from_rows(tmp_path):
    from bedrock_magics.local import credentials

    ledger = Ledger(tmp_path / "ledger.sqlite")
    leaky = f"failed with Authorization: Bearer {credentials.API_KEY} and secret {credentials.SECRET_ACCESS_KEY}"
    ledger.append(_reply(status="error", error=leaky), session="s")
    error = ledger.frame()["error"].iloc[0]
    assert credentials.API_KEY not in error and credentials.SECRET_ACCESS_KEY not in error
    assert (tmp_path / "ledger.sqlite").read_bytes().find(credentials.SECRET_ACCESS_KEY.encode()) == -1


def test_reply_cache_keeps_successes_only(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    request = Request.from_prompt("hello", model="us.amazon.nova-lite-v1:0", temperature=0.2)
    key = cache_key(request)
    assert ledger.cache_get(key) is None
    ledger.cache_put(key, _reply(status="error", error="throttled"))
    assert ledger.cache_get(key) is None  # failures are never cached: a rerun must retry them
    ledger.cache_put(key, _reply(text="cached answer", raw={"output": {"message": "x"}}))
    hit = Ledger(tmp_path / "ledger.sqlite").cache_get(key)  # another handle (process) sees it
    assert hit.text == "cached answer" and hit.usage["total_tokens"] == 15 and hit.ok
    assert hit.raw == {"output": {"message": "x"}} and hit.cost_usd == 0.0000018


def test_cache_key_covers_what_changes_the_answer():
    base = Request.from_prompt("hello", model="m1", temperature=0.2)
    same = Request.from_prompt("hello", model="m1", temperature=0.2, region="eu-west-1")
    assert cache_key(base) == cache_key(same)  # the region does not change the answer
    for other in (Request.from_prompt("hello!", model="m1", temperature=0.2),
                  Request.from_prompt("hello", model="m2", temperature=0.2),
                  Request.from_prompt("hello", model="m1", temperature=0.3),
                  Request.from_prompt("hello", model="m1", temperature=0.2, system="be brief"),
                  Request.from_prompt("hello", model="m1", temperature=0.2, api="invoke")):
        assert cache_key(other) != cache_key(base)


def test_importing_the_ledger_does_not_import_pandas():
    code = "import sys, bedrock_magics.ledger; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_closing_while_other_threads_write_loses_nothing(tmp_path):
    # Bedrock.close() and a new ledger_path close the ledger while worker threads append: each
    # append must open a fresh connection rather than use the one being closed.
    ledger = Ledger(tmp_path / "ledger.sqlite")
    errors: list[BaseException] = []
    done = threading.Event()

    def write(n: int) -> None:
        try:
            for i in range(150):
                ledger.append(_reply(request_id=f"{n}-{i}"), session="s")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    def close_repeatedly() -> None:
        while not done.is_set():
            ledger.close()

    closer = threading.Thread(target=close_repeatedly)
    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    closer.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    closer.join()
    assert errors == []
    assert len(ledger) == 600


def test_append_once_writes_a_job_once_across_connections_and_cache_clears(tmp_path):
    path = tmp_path / "ledger.sqlite"
    kernels = [Ledger(path), Ledger(path)]  # two kernels: two connections to one file
    replies = [_reply(api="batch", request_id=f"job:ROW{i:08d}") for i in range(5)]
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123def456"
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def collect(ledger: Ledger) -> None:
        barrier.wait()
        results.append(ledger.append_once(arn, replies, session="s"))

    threads = [threading.Thread(target=collect, args=(kernels[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert len(kernels[0]) == 5
    # The marker is not in the reply cache: clearing the cache does not make the job billable again.
    kernels[0].cache_clear()
    assert kernels[1].append_once(arn, replies, session="s") is False
    assert len(kernels[1]) == 5
    # Another job is written.
    assert kernels[1].append_once(arn + "x", replies[:2], session="s") is True and len(kernels[0]) == 7


def test_cached_embeddings_come_back_as_float32_like_live_ones(tmp_path):
    import numpy as np

    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.cache_put("k", _reply(embedding=np.asarray([0.25, -1.5], dtype=np.float32)))
    cached = ledger.cache_get("k")
    assert cached.embedding.dtype == np.float32 and cached.embedding.tolist() == [0.25, -1.5]
