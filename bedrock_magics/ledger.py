"""The ledger: one SQLite row per model call (failures and cancellations included), and a reply cache.

SQLite in WAL mode with a ``busy_timeout``, so that several kernels, a batch's worker threads and a
script can append to the same file at once without "database is locked". The file is opened on first
use, not at construction, so creating a ``Bedrock`` stays cheap. pandas is imported only by
:meth:`Ledger.frame`.

The cache table (``cache``) maps a hash of what was asked (:func:`cache_key`) to a successful reply,
so that an interrupted ``map`` over a DataFrame can resume without paying twice. Failures are never
cached: a rerun must retry them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import threading
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .redact import redact
from .reply import Reply
from .request import Request

__all__ = ["COLUMNS", "Ledger", "cache_key", "reply_from_json", "reply_to_json"]

# The usage DataFrame's columns, in order (docs/architecture.md; DESIGN.md "What lands in DataFrames").
COLUMNS = ("time", "region", "endpoint", "api", "model", "input_tokens", "output_tokens", "total_tokens",
           "latency_ms", "cost_usd", "stop_reason", "status", "error", "request_id", "chat", "session", "cell")
_TYPES = {"input_tokens": "INTEGER", "output_tokens": "INTEGER", "total_tokens": "INTEGER", "latency_ms": "REAL",
          "cost_usd": "REAL", "cell": "INTEGER"}
_SCHEMA_VERSION = 1
_BUSY_TIMEOUT_MS = 10_000

def scrub(text: str | None) -> str | None:
    """``text`` with every known secret, and anything shaped like one, masked (``redact.redact``)."""
    if not text:
        return text
    return redact(text)


class Ledger:
    """A SQLite ledger at ``path`` (``":memory:"`` keeps it in this process only).

    Thread-safe: one connection guarded by a lock (sqlite3 connections are not safe to share
    without one); other processes are serialised by SQLite itself (WAL + busy timeout).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Ledger({self.path!r})"

    # -- connection ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The open connection (opened on first use). Call it with ``self._lock`` held, and use the
        connection only while holding it: ``close()`` (another thread) takes the same lock."""
        with self._lock:
            if self._conn is not None:
                return self._conn
            if self.path != ":memory:":
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(os.path.expanduser(self.path), timeout=_BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a crash loses at most the last rows
            self._create(conn)
            self._conn = conn
            return conn

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        columns = ", ".join(f"{name} {_TYPES.get(name, 'TEXT')}" for name in COLUMNS)
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY AUTOINCREMENT, {columns})")
            # A ledger written by an older version may lack newer columns: add them rather than fail.
            have = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
            for name in COLUMNS:
                if name not in have:
                    conn.execute(f"ALTER TABLE calls ADD COLUMN {name} {_TYPES.get(name, 'TEXT')}")
            conn.execute("CREATE INDEX IF NOT EXISTS calls_session ON calls (session)")
            conn.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, time TEXT, reply TEXT NOT NULL)")
            # Batch jobs whose records are in `calls` already (jobs.collect_job bills a job once).
            conn.execute("CREATE TABLE IF NOT EXISTS jobs_collected (arn TEXT PRIMARY KEY, time TEXT)")
            conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- calls --------------------------------------------------------------------------------

    def append(self, reply: Reply, session: str | None, cell: int | None = None) -> None:
        """Add one row for ``reply`` (any status) to the ledger."""
        with self._lock:
            self._connect().execute(_INSERT, _values(reply, session, cell))

    def append_once(self, marker: str, replies: list[Reply], session: str | None,
                    cell: int | None = None) -> bool:
        """Add one row per reply unless ``marker`` (a batch job's ARN) was appended before.

        The marker and the rows are written in one ``BEGIN IMMEDIATE`` transaction, so two kernels
        collecting the same job at once write its rows once, and ``cache_clear()`` does not forget
        it. Returns True when the rows were added, False when the marker was already there.
        """
        rows = [_values(reply, session, cell) for reply in replies]
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                added = conn.execute("INSERT OR IGNORE INTO jobs_collected (arn, time) VALUES (?, ?)",
                                     (marker, _iso(datetime.now(timezone.utc)))).rowcount == 1
                if added and rows:
                    conn.executemany(_INSERT, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return added

    def rows(self, session: str | None = None) -> list[dict[str, Any]]:
        """The rows as dicts (oldest first): this ``session``'s, or all when None."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM calls"
        args: tuple = ()
        if session is not None:
            sql += " WHERE session = ?"
            args = (session,)
        with self._lock:
            cursor = self._connect().execute(sql + " ORDER BY id", args)
            return [dict(zip(COLUMNS, row)) for row in cursor.fetchall()]

    def frame(self, session: str | None = None):
        """The ledger as a DataFrame with :data:`COLUMNS`: this ``session``'s rows, or all when None.

        ``time`` is a timezone-aware UTC datetime; an unknown cost is ``NaN``.
        """
        import pandas as pd

        frame = pd.DataFrame(self.rows(session), columns=list(COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
        for name in ("input_tokens", "output_tokens", "total_tokens"):
            frame[name] = frame[name].fillna(0).astype("int64")
        for name in ("latency_ms", "cost_usd"):
            frame[name] = frame[name].astype("float64")  # NULL cost -> NaN
        frame["cell"] = frame["cell"].astype("Int64")
        return frame

    def __len__(self) -> int:
        with self._lock:
            return self._connect().execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    # -- reply cache ----------------------------------------------------------------------------

    def cache_get(self, key: str) -> Reply | None:
        """The cached successful reply for ``key``, or None."""
        with self._lock:
            row = self._connect().execute("SELECT reply FROM cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return reply_from_json(row[0])
        except (ValueError, TypeError, KeyError):
            return None  # written by an incompatible version: treat as a miss

    def cache_put(self, key: str, reply: Reply) -> None:
        """Remember ``reply`` under ``key``; failures and cancellations are never cached."""
        if not reply.ok:
            return
        with self._lock:
            self._connect().execute("INSERT OR REPLACE INTO cache (key, time, reply) VALUES (?, ?, ?)",
                         (key, _iso(datetime.now(timezone.utc)), reply_to_json(reply)))

    def cache_clear(self) -> None:
        """Forget every cached reply."""
        with self._lock:
            self._connect().execute("DELETE FROM cache")


_INSERT = f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _values(reply: Reply, session: str | None, cell: int | None) -> list[Any]:
    """The ``calls`` row of ``reply``, in :data:`COLUMNS` order (error text scrubbed of secrets)."""
    row = reply.to_dict()
    row["time"] = _iso(row["time"])
    row["error"] = scrub(row["error"])
    cost = row["cost_usd"]
    row["cost_usd"] = None if cost is None or (isinstance(cost, float) and math.isnan(cost)) else float(cost)
    row["latency_ms"] = float(row["latency_ms"] or 0.0)
    row["session"] = session
    row["cell"] = cell
    return [row.get(name) for name in COLUMNS]


def cache_key(request: Request) -> str:
    """A hash of what decides a reply: model, route, settings, system prompt, messages and tools.

    The region is left out on purpose: a model answers the same wherever it runs.
    """
    payload = {
        "model": request.model, "endpoint": request.endpoint, "api": request.api,
        "settings": {"max_tokens": request.max_tokens, "temperature": request.temperature,
                     "top_p": request.top_p, "stop": list(request.stop)},
        "system": request.system, "messages": list(request.messages),
        "tools": [asdict(tool) for tool in request.tools],
        "previous_response_id": request.previous_response_id, "extra": request.extra,
    }
    blob = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    """``value`` made JSON-safe (raw wire responses may hold datetimes or bytes), or None."""
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return None


_CACHED_FIELDS = ("text", "model", "region", "endpoint", "api", "usage", "latency_ms", "stop_reason", "status",
                  "request_id", "response_id", "tool_calls", "message", "streamed", "chat")


def reply_to_json(reply: Reply) -> str:
    """A successful reply as JSON (raw response and embedding included when serialisable)."""
    data = {name: getattr(reply, name) for name in _CACHED_FIELDS}
    cost = reply.cost_usd
    data["cost_usd"] = None if cost is None or math.isnan(cost) else cost
    data["time"] = _iso(reply.time)
    data["raw"] = _plain(reply.raw)
    embedding = reply.embedding
    data["embedding"] = embedding.tolist() if hasattr(embedding, "tolist") else _plain(embedding)
    return json.dumps(data, default=str)


def reply_from_json(text: str) -> Reply:
    """The inverse of :func:`reply_to_json`."""
    data = json.loads(text)
    kwargs = {name: data[name] for name in _CACHED_FIELDS if name in data}
    kwargs["cost_usd"] = math.nan if data.get("cost_usd") is None else float(data["cost_usd"])
    kwargs["time"] = datetime.fromisoformat(data["time"])
    kwargs["raw"] = data.get("raw")
    if data.get("embedding") is not None:
        import numpy as np

        kwargs["embedding"] = np.asarray(data["embedding"], dtype=np.float32)  # as live replies carry it
    return Reply(**kwargs)
