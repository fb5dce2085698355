"""A TCP proxy between a node and central that breaks the link on purpose.

Village links drop mid-request, stall, and (through flaky middleboxes) deliver a request twice.
The sync tests put this proxy between the client and the real central to prove the protocol's
promises under exactly those faults: it can cut either direction after N bytes, delay every
connection, truncate a response, and replay a connection's request bytes to central a second time.
It also counts the bytes that cross it, which is what "wire bytes" means in the benchmarks.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Fault:
    """What to do to one connection. None everywhere means a clean link."""

    cut_request_after: int | None = None  # close after this many client->central bytes
    cut_response_after: int | None = None  # close after this many central->client bytes
    delay: float = 0.0  # seconds before the first byte is forwarded
    duplicate: bool = False  # after the connection ends, replay its request bytes to central

    @property
    def clean(self) -> bool:
        return (self.cut_request_after is None and self.cut_response_after is None
                and not self.delay and not self.duplicate)


@dataclass
class Stats:
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    faults: list[str] = field(default_factory=list)


class FaultProxy:
    """Listen on 127.0.0.1 (port 0) and forward to (host, port) with the faults asked for."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.stats = Stats()
        self._queue: list[Fault] = []
        self._chaos: tuple[random.Random, float] | None = None
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True, name="faultproxy")
        self._accept.start()

    # -- choosing faults ---------------------------------------------------------------------
    def next(self, *faults: Fault) -> None:
        """Apply these faults to the next connections, one each, in order."""
        with self._lock:
            self._queue.extend(faults)

    def chaos(self, seed: int, probability: float) -> None:
        """From now on, each connection is faulted at random with this probability."""
        with self._lock:
            self._chaos = (random.Random(seed), probability)

    def calm(self) -> None:
        with self._lock:
            self._queue.clear()
            self._chaos = None

    def _pick(self) -> Fault:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            if self._chaos is None:
                return Fault()
            rng, p = self._chaos
            if rng.random() >= p:
                return Fault()
            kind = rng.choice(["cut_request", "cut_response", "delay", "duplicate"])
            if kind == "cut_request":
                return Fault(cut_request_after=rng.randint(0, 4000))
            if kind == "cut_response":
                return Fault(cut_response_after=rng.randint(0, 4000))
            if kind == "delay":
                return Fault(delay=rng.uniform(0.01, 0.2))
            return Fault(duplicate=True)

    # -- forwarding --------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            fault = self._pick()
            with self._lock:
                self.stats.connections += 1
                if not fault.clean:
                    self.stats.faults.append(repr(fault))
            t = threading.Thread(target=self._handle, args=(client, fault), daemon=True)
            t.start()
            self._threads.append(t)

    def _handle(self, client: socket.socket, fault: Fault) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=30)
        except OSError:
            client.close()
            return
        if fault.delay:
            time.sleep(fault.delay)
        sent: list[bytes] = []
        closed = threading.Event()

        def close_both() -> None:
            closed.set()
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

        def pump(src: socket.socket, dst: socket.socket, limit: int | None, up: bool) -> None:
            moved = 0
            try:
                while not closed.is_set():
                    data = src.recv(65536)
                    if not data:
                        break
                    if limit is not None and moved + len(data) >= limit:
                        data = data[: limit - moved]
                        if data:
                            dst.sendall(data)
                        self._count(up, len(data))
                        close_both()
                        return
                    moved += len(data)
                    if up:
                        sent.append(data)
                    dst.sendall(data)
                    self._count(up, len(data))
            except OSError:
                pass
            close_both()

        down = threading.Thread(target=pump, args=(upstream, client, fault.cut_response_after, False),
                                daemon=True)
        down.start()
        pump(client, upstream, fault.cut_request_after, True)
        down.join(timeout=30)
        if fault.duplicate and sent:
            self._replay(b"".join(sent))

    def _replay(self, data: bytes) -> None:
        """Deliver the same request bytes to central again, and read (and drop) what it says."""
        try:
            with socket.create_connection(self.target, timeout=10) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
        except OSError:
            pass

    def _count(self, up: bool, n: int) -> None:
        with self._lock:
            if up:
                self.stats.bytes_up += n
            else:
                self.stats.bytes_down += n

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()

    def close(self) -> None:
        """Stop accepting (shutting the listener down wakes the thread blocked in accept())."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._accept.join(timeout=5)
