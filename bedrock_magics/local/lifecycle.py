"""The threads the local Bedrock service owns, so that ``LocalService.stop()`` leaves none behind.

Two kinds:

* :class:`TrackedThreadingMixIn` — for a ``socketserver`` threading server (the service's own
  HTTP(S) server and the S3 server batch jobs use): one named thread per connection, each
  remembered with its socket, so that :meth:`~TrackedThreadingMixIn.close` can wake idle
  keep-alive connections and join their threads. ``socketserver``'s own ``block_on_close`` joins
  without a time limit and cannot wake a thread blocked reading an idle connection.
* :class:`Workers` — background work started by handlers (background responses, batch jobs): named
  threads plus a ``stopping`` event their waits use, so that a stop never waits out a sleep.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

#: How long a stop waits, in all, for threads to end before giving up on them.
JOIN_TIMEOUT = 5.0


def join_all(threads: list[threading.Thread], timeout: float) -> list[threading.Thread]:
    """Join ``threads`` within ``timeout`` seconds in all; those still alive afterwards."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        if thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in threads if t.is_alive()]


class TrackedThreadingMixIn:
    """A ``socketserver`` mix-in (before the server class in the bases): a tracked thread per connection.

    ``thread_name`` names the connection threads; subclasses that replace the socket (a TLS wrap)
    call :meth:`_replace_connection` so that :meth:`close` reaches the socket actually in use.
    """

    daemon_threads = True
    block_on_close = False  # close() joins, with a time limit
    thread_name = "tracked-connection"

    def _tracking(self) -> tuple[threading.Lock, dict[threading.Thread, socket.socket]]:
        # Set up lazily: the server classes this mixes into have constructors of their own.
        state = vars(self)
        if "_conn_lock" not in state:
            state.setdefault("_conn_lock", threading.Lock())
            state.setdefault("_conn_threads", {})
            state.setdefault("_conn_closing", False)
        return state["_conn_lock"], state["_conn_threads"]

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        """Serve one connection on a new, tracked thread (called from ``serve_forever``)."""
        lock, threads = self._tracking()
        thread = threading.Thread(target=self._serve_tracked, args=(request, client_address),
                                  name=f"{self.thread_name}-{client_address[1]}", daemon=True)
        with lock:
            threads[thread] = request
        thread.start()

    def _serve_tracked(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)  # type: ignore[attr-defined]
        finally:
            lock, threads = self._tracking()
            with lock:
                threads.pop(threading.current_thread(), None)

    def _replace_connection(self, conn: socket.socket) -> bool:
        """Track ``conn`` as the current thread's socket; False when the server is closing."""
        lock, threads = self._tracking()
        with lock:
            if vars(self)["_conn_closing"]:
                return False
            threads[threading.current_thread()] = conn
            return True

    def close(self, timeout: float = JOIN_TIMEOUT) -> list[threading.Thread]:
        """Stop ``serve_forever``, close the listening socket, wake every open connection and join
        the connection threads; the threads still alive after ``timeout`` seconds (none, normally).
        """
        self.shutdown()  # type: ignore[attr-defined]  # no new connections once this returns
        self.server_close()  # type: ignore[attr-defined]
        lock, threads = self._tracking()
        with lock:
            vars(self)["_conn_closing"] = True
            open_now = dict(threads)
        for conn in open_now.values():
            try:
                # socket.socket's own shutdown, also for a TLS socket: ssl.SSLSocket.shutdown would
                # drop its SSL object under the feet of the thread still using it.
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed
        return join_all(list(open_now), timeout)


class Workers:
    """Background threads of one running service, and the ``stopping`` event they wait on."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def spawn(self, name: str, target: Callable[..., Any], *args: Any) -> threading.Thread:
        """Start ``target(*args)`` on a tracked daemon thread named ``name``."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]  # forget finished work
            self._threads.append(thread)
        thread.start()
        return thread

    def stop(self, timeout: float = JOIN_TIMEOUT) -> list[threading.Thread]:
        """Set ``stopping`` and join every worker; the threads still alive after ``timeout``."""
        self.stopping.set()
        with self._lock:
            threads, self._threads = self._threads, []
        return join_all(threads, timeout)

    def restart(self) -> None:
        """Clear ``stopping`` (the service starts again)."""
        self.stopping.clear()
