"""ChaosProxy: a loopback TCP proxy that can cut, stall or refuse connections on demand.

Put it between a client and kube-apiserver to test what networks do to watches:
``cut()`` closes every open connection (a dropped stream), ``stall()`` keeps the
open connections up but stops moving their bytes (a stuck stream), ``refuse()``
makes new connections fail until ``accept()``, and ``delay`` slows every chunk. TLS passes through untouched:
the client still verifies the API server's certificate, which covers 127.0.0.1.

Invariants: every socket and thread it starts ends in ``close()``; a stalled
connection carries no byte in either direction until ``resume()``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType

#: How often a pump wakes to check for stall/close flags.
POLL_SECONDS = 0.05
CHUNK = 65536


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.stalled = threading.Event()
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


class ChaosProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._threads: list[threading.Thread] = []
        self._refusing = threading.Event()
        self._closing = threading.Event()
        self.accepted = 0
        #: Seconds each forwarded chunk is held back: a slow network, for timing-dependent tests.
        self.delay = 0.0
        self._spawn(self._accept_loop)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> ChaosProxy:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- faults ---------------------------------------------------------------------------

    def cut(self) -> int:
        """Close every open connection at once. Returns how many were cut."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        return len(connections)

    def stall(self) -> int:
        """Stop moving bytes on every open connection (they stay open). New connections flow."""
        with self._lock:
            for connection in self._connections:
                connection.stalled.set()
            return len(self._connections)

    def resume(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.stalled.clear()

    def refuse(self) -> None:
        """Close new connections as soon as they are accepted (and cut the open ones)."""
        self._refusing.set()
        self.cut()

    def accept(self) -> None:
        self._refusing.clear()

    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for c in self._connections if not c.closed.is_set())

    def close(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut()
        for thread in list(self._threads):
            thread.join(timeout=5)

    # -- plumbing -------------------------------------------------------------------------

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                readable, _, _ = select.select([self._listener], [], [], POLL_SECONDS)
                if not readable:
                    continue
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._refusing.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            connection = _Connection(client, upstream)
            with self._lock:
                self._connections.append(connection)
                self.accepted += 1
            self._spawn(self._pump, connection, client, upstream)
            self._spawn(self._pump, connection, upstream, client)

    def _pump(self, connection: _Connection, source: socket.socket, target: socket.socket) -> None:
        try:
            while not connection.closed.is_set() and not self._closing.is_set():
                if connection.stalled.is_set():
                    connection.closed.wait(POLL_SECONDS)
                    continue
                readable, _, _ = select.select([source], [], [], POLL_SECONDS)
                if not readable or connection.stalled.is_set():
                    continue
                data = source.recv(CHUNK)
                if not data:
                    break
                if self.delay:
                    connection.closed.wait(self.delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            connection.close()
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
