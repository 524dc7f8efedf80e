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
import random
import sqlite3
import stat
import threading
import time
import warnings
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .redact import redact
from .reply import Reply
from .request import Request

__all__ = ["COLUMNS", "Ledger", "cache_key", "reply_from_json", "reply_to_json"]

# The usage DataFrame's columns, in order (docs/architecture.md; DESIGN.md "What lands in DataFrames").
COLUMNS = ("time", "region", "endpoint", "api", "model", "input_tokens", "output_tokens", "total_tokens",
           "latency_ms", "cost_usd", "stop_reason", "status", "error", "request_id", "chat", "session", "cell",
           "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "price_source")
_TYPES = {"input_tokens": "INTEGER", "output_tokens": "INTEGER", "total_tokens": "INTEGER", "latency_ms": "REAL",
          "cost_usd": "REAL", "cell": "INTEGER", "cache_read_tokens": "INTEGER", "cache_write_tokens": "INTEGER",
          "reasoning_tokens": "INTEGER"}
# Usage columns shown only when some call in the frame reported them.
_REPORTED_ONLY = ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
RESPONSE_COLUMNS = ("response_id", "time", "region", "endpoint", "api", "model", "chat", "session", "status",
                    "background")
_RESPONSE_COLUMNS_SQL = ", ".join(
    f"{name} {'TEXT PRIMARY KEY' if name == 'response_id' else 'INTEGER' if name == 'background' else 'TEXT'}"
    for name in RESPONSE_COLUMNS)
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
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file opened
        self._fallback = False  # the file can't be opened: this session's rows live in memory

    def __repr__(self) -> str:
        return f"Ledger({self.path!r})"

    # -- connection ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The open connection (opened on first use). Call it with ``self._lock`` held, and use the
        connection only while holding it: ``close()`` (another thread) takes the same lock.

        A damaged file is moved aside and a fresh ledger started; a path that can't be opened at all
        gives an in-memory ledger for this session (both with one :class:`Note` line), so that a
        bad ledger never costs the user their answer or ``%bedrock usage`` a traceback.
        """
        with self._lock:
            if self._conn is not None:
                return self._conn
            if self.path == ":memory:" or self._fallback:
                self._conn = _open(":memory:")
                return self._conn
            path = os.path.expanduser(self.path)
            identity = _identity(path)
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._conn = _open(path)
            except (sqlite3.DatabaseError, OSError) as exc:
                if (_damaged(exc) or (_unopenable(exc) and _no_access(path))) and _move_aside(path, identity, exc):
                    self._conn = _open(path)
                elif _damaged(exc) or _unopenable(exc):
                    self._use_memory(exc)
                else:
                    raise
            self._identity = _identity(path)
            return self._conn

    def _run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """``work(connection)`` under the lock; if the file turns out to be damaged (SQLite reads
        pages lazily, so a truncated file may open fine and fail on the first query), the file is
        moved aside and ``work`` runs once more on a fresh ledger."""
        with self._lock:
            try:
                return work(self._connect())
            except sqlite3.DatabaseError as exc:
                if not _damaged(exc) or self.path == ":memory:" or self._fallback:
                    raise
                self.close()
                # Another connection may have replaced the file already: only the file that failed goes.
                if not _move_aside(os.path.expanduser(self.path), self._identity, exc):
                    self._use_memory(exc)
                return work(self._connect())

    def _use_memory(self, exc: BaseException) -> None:
        self._fallback = True
        self._conn = _open(":memory:")
        _note(f"the ledger at {self.path} cannot be opened ({_reason(exc)}); this session's calls are kept "
              "in memory only. Set Bedrock.ledger_path to a writable file.")

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
            # Mantle's stored responses this ledger has seen (Responses has no list call): what
            # `%bedrock responses` lists, and where a --chat resumes after a kernel restart.
            conn.execute(f"CREATE TABLE IF NOT EXISTS responses ({_RESPONSE_COLUMNS_SQL})")
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
        row = _values(reply, session, cell)
        self._run(lambda conn: conn.execute(_INSERT, row))

    def append_once(self, marker: str, replies: list[Reply], session: str | None,
                    cell: int | None = None) -> bool:
        """Add one row per reply unless ``marker`` (a batch job's ARN) was appended before.

        The marker and the rows are written in one ``BEGIN IMMEDIATE`` transaction, so two kernels
        collecting the same job at once write its rows once, and ``cache_clear()`` does not forget
        it. Returns True when the rows were added, False when the marker was already there.
        """
        rows = [_values(reply, session, cell) for reply in replies]

        def write(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            try:
                added = conn.execute("INSERT OR IGNORE INTO jobs_collected (arn, time) VALUES (?, ?)",
                                     (marker, _iso(datetime.now(timezone.utc)))).rowcount == 1
                if added and rows:
                    conn.executemany(_INSERT, rows)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return added

        return self._run(write)

    def rows(self, session: str | None = None) -> list[dict[str, Any]]:
        """The rows as dicts (oldest first): this ``session``'s, or all when None."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM calls"
        args: tuple = ()
        if session is not None:
            sql += " WHERE session = ?"
            args = (session,)
        fetched = self._run(lambda conn: conn.execute(sql + " ORDER BY id", args).fetchall())
        return [dict(zip(COLUMNS, row)) for row in fetched]

    def frame(self, session: str | None = None):
        """The ledger as a DataFrame with :data:`COLUMNS`: this ``session``'s rows, or all when None.

        ``time`` is a timezone-aware UTC datetime; an unknown cost is ``NaN``. The prompt-cache and
        reasoning token columns are there when some call reported them (DESIGN: "where the API
        reports them"), so the usual frame stays narrow enough to be shown whole.
        """
        import pandas as pd

        frame = pd.DataFrame(self.rows(session), columns=list(COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
        for name in ("input_tokens", "output_tokens", "total_tokens"):
            frame[name] = frame[name].fillna(0).astype("int64")
        for name in ("latency_ms", "cost_usd"):
            frame[name] = frame[name].astype("float64")  # NULL cost -> NaN
        frame["cell"] = frame["cell"].astype("Int64")
        for name in _REPORTED_ONLY:
            frame[name] = frame[name].fillna(0).astype("int64")
        unused = [name for name in _REPORTED_ONLY if not frame[name].any()]
        return frame.drop(columns=unused) if unused else frame

    def __len__(self) -> int:
        return self._run(lambda conn: conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    # -- stored responses (mantle) ----------------------------------------------------------------

    def remember_response(self, reply: Reply, session: str | None, background: bool = False) -> None:
        """Note ``reply``'s stored response (its id, model, chat, status); a later reply with the
        same id (a background response fetched when done) updates the status."""
        row = (reply.response_id, _iso(reply.time), reply.region, reply.endpoint, reply.api, reply.model,
               reply.chat, session, reply.status, int(background))
        self._run(lambda conn: conn.execute(
            f"INSERT INTO responses ({', '.join(RESPONSE_COLUMNS)}) VALUES ({', '.join('?' * len(row))}) "
            "ON CONFLICT(response_id) DO UPDATE SET status = excluded.status", row))

    def responses(self) -> list[dict[str, Any]]:
        """The stored responses known to this ledger, oldest first."""
        rows = self._run(lambda conn: conn.execute(
            f"SELECT {', '.join(RESPONSE_COLUMNS)} FROM responses ORDER BY time, rowid").fetchall())
        return [dict(zip(RESPONSE_COLUMNS, row)) for row in rows]

    def response(self, response_id: str) -> dict[str, Any] | None:
        """What this ledger knows of one stored response, or None."""
        row = self._run(lambda conn: conn.execute(
            f"SELECT {', '.join(RESPONSE_COLUMNS)} FROM responses WHERE response_id = ?", (response_id,)).fetchone())
        return dict(zip(RESPONSE_COLUMNS, row)) if row else None

    def forget_response(self, response_id: str) -> None:
        """Drop a deleted response from the list."""
        self._run(lambda conn: conn.execute("DELETE FROM responses WHERE response_id = ?", (response_id,)))

    def forget_chats(self, chats: list[str]) -> None:
        """Unlink these conversations from their stored responses: a reset chat starts afresh, here
        and in later kernels."""
        self._run(lambda conn: conn.executemany("UPDATE responses SET chat = NULL WHERE chat = ?",
                                                [(name,) for name in chats]))

    def last_response(self, chat: str, region: str, endpoint: str) -> dict[str, Any] | None:
        """The newest finished stored response of conversation ``chat`` in ``region`` on ``endpoint``."""
        row = self._run(lambda conn: conn.execute(
            f"SELECT {', '.join(RESPONSE_COLUMNS)} FROM responses WHERE chat = ? AND region = ? AND endpoint = ? "
            "AND status = 'ok' ORDER BY time DESC, rowid DESC LIMIT 1", (chat, region, endpoint)).fetchone())
        return dict(zip(RESPONSE_COLUMNS, row)) if row else None

    # -- reply cache ----------------------------------------------------------------------------

    def cache_get(self, key: str) -> Reply | None:
        """The cached successful reply for ``key``, or None."""
        row = self._run(lambda conn: conn.execute("SELECT reply FROM cache WHERE key = ?", (key,)).fetchone())
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
        values = (key, _iso(datetime.now(timezone.utc)), reply_to_json(reply))
        self._run(lambda conn: conn.execute("INSERT OR REPLACE INTO cache (key, time, reply) VALUES (?, ?, ?)",
                                            values))

    def cache_clear(self) -> None:
        """Forget every cached reply."""
        self._run(lambda conn: conn.execute("DELETE FROM cache"))


# -- opening, damage and recovery ------------------------------------------------------------------

# Opening a fresh file, several connections race to switch it to WAL; SQLite answers that switch
# with "database is locked" at once, without waiting for the busy timeout (seen with 12 processes
# on SQLite 3.40), so opening is retried, with jittered backoff, for as long as the busy timeout.
_OPEN_RETRY_FIRST_S, _OPEN_RETRY_MAX_S = 0.005, 0.25


def _open(path: str) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with the schema in place, retrying while another
    connection holds the lock it needs."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    delay = _OPEN_RETRY_FIRST_S
    while True:
        conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            if path != ":memory:":
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode.lower() != "wal" and time.monotonic() < deadline:
                    # The switch did not happen (another connection held the file): try again.
                    raise sqlite3.OperationalError("database is locked")
                conn.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a crash loses at most the last rows
            Ledger._create(conn)
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            if not _busy(exc) or time.monotonic() >= deadline:
                raise
        except BaseException:
            conn.close()
            raise
        time.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, _OPEN_RETRY_MAX_S)


def _busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _damaged(exc: BaseException) -> bool:
    """The file is not a (whole) SQLite database: SQLITE_NOTADB or SQLITE_CORRUPT."""
    if not isinstance(exc, sqlite3.DatabaseError) or (isinstance(exc, sqlite3.OperationalError) and _busy(exc)):
        return False
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text or "encrypted" in text


def _unopenable(exc: BaseException) -> bool:
    """Nothing at the path can be opened as a file (a directory, a device, no permission, no such place)."""
    text = str(exc).lower()
    return isinstance(exc, OSError) or "unable to open" in text or "disk i/o error" in text


def _no_access(path: str) -> bool:
    """The regular file at ``path`` exists but this process may not read and write it (the one
    "can't open" worth moving aside: a full file table or a read-only directory is no fault of the file's)."""
    if _identity(path) is None:
        return False
    try:
        with open(path, "r+b"):
            return False
    except PermissionError:
        return True
    except OSError:
        return False


def _identity(path: str) -> tuple[int, int] | None:
    """``(device, inode)`` of the regular file at ``path``; None if there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _move_aside(path: str, identity: tuple[int, int] | None, exc: BaseException) -> bool:
    """Rename the damaged ledger ``path`` (and its WAL files) to ``path.corrupt-YYYYmmdd-HHMMSS`` and
    say so in one line. Only the file that failed (``identity``) is moved: if another connection
    has replaced it by a fresh ledger already, nothing is. Returns True when the path is free for a
    fresh ledger."""
    if identity is None or _identity(path) != identity:
        return _identity(path) is not None or not os.path.lexists(path)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    aside, n = f"{path}.corrupt-{stamp}", 1
    while os.path.lexists(aside):
        n += 1
        aside = f"{path}.corrupt-{stamp}-{n}"
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return True  # another kernel moved it a moment ago
    except OSError:
        return False
    for suffix in ("-wal", "-shm"):  # they belong to the damaged file, not to the fresh one
        try:
            os.replace(path + suffix, aside + suffix)
        except OSError:
            pass
    what = "can't be read" if _unopenable(exc) else "is damaged"
    _note(f"the ledger at {path} {what} ({_reason(exc)}); it was moved to {aside} and a fresh ledger "
          "was started.")
    return True


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"


def _note(text: str) -> None:
    from .errors import Note

    warnings.warn(text, Note, stacklevel=2)


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
    if request.schema is not None or request.reasoning is not None or request.prompt_cache:
        payload["features"] = {"schema": request.schema.json_schema if request.schema is not None else None,
                               "reasoning": request.reasoning, "prompt_cache": request.prompt_cache}
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
                  "request_id", "response_id", "tool_calls", "message", "streamed", "chat", "reasoning",
                  "price_source")


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
