"""Serve any WSGI app (a Flask app) with waitress on 127.0.0.1, on a free port, in a thread.

Tests drive real HTTP (requests, Chromium) against the real server, never a test client alone:

    from serving import serve          # tests/ is on sys.path through tests/conftest.py

    with serve(app) as base_url:       # e.g. "http://127.0.0.1:54321"
        requests.get(base_url + "/login")
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from waitress.server import create_server


@contextlib.contextmanager
def serve(app: Callable[..., Any], *, threads: int = 4) -> Iterator[str]:
    """Run `app` until the block ends; yields its base URL (no trailing slash)."""
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, clear_untrusted_proxy_headers=True)
    port = server.effective_port  # type: ignore[union-attr]
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            # closing the sockets under a running select() is how the loop is stopped
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name=f"waitress-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stopping.set()
        # closing every channel empties waitress's socket map, which ends its loop
        for channel in list(server._map.values()):  # type: ignore[union-attr]
            channel.close()
        server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        thread.join(timeout=10)
