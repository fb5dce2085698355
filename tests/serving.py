"""Serve any WSGI app (a Flask app) with waitress on 127.0.0.1, on a free port, in a thread.

Tests drive real HTTP (requests, Chromium) against the real server, never a test client alone:

    from serving import serve          # tests/ is on sys.path through tests/conftest.py

    with serve(app) as base_url:       # e.g. "http://127.0.0.1:54321"
        requests.get(base_url + "/login")

A test worker runs hundreds of servers in one process, so stopping one must give back every
socket and thread it had: `Served.close()` closes the listening socket and every open
connection, which ends waitress's loop, and waits for the thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from web.serving import make_server


class Served:
    """`app` served on 127.0.0.1:<free port> (or `port`) in a thread until `close()`."""

    def __init__(self, app: Callable[..., Any], *, threads: int = 4, port: int = 0, **options: Any) -> None:
        self.app = app
        self.server = make_server(app, host="127.0.0.1", port=port, threads=threads, **options)
        self.port: int = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"waitress-{self.port}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            # closing the sockets under a running poll() is how the loop is stopped
            if not self._stopping.is_set():
                raise

    def close(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.server.task_dispatcher.shutdown(timeout=5)  # in-flight answers first
        # closing every channel (the listener among them) empties waitress's map, which ends its loop
        for channel in list(self.server._map.values()):
            with contextlib.suppress(OSError):
                channel.close()
        self.thread.join(timeout=10)


@contextlib.contextmanager
def serve(app: Callable[..., Any], *, threads: int = 4) -> Iterator[str]:
    """Run `app` until the block ends; yields its base URL (no trailing slash)."""
    served = Served(app, threads=threads, clear_untrusted_proxy_headers=True)
    try:
        yield served.url
    finally:
        served.close()
