"""How both apps are put on the network: waitress, with the options a long-running server needs.

One choice matters beyond the defaults. Waitress watches its sockets with select() unless told
otherwise, and select() cannot watch a descriptor numbered 1024 or above: central keeps a
connection per syncing node, sqlite files, blobs and logs open, and once the process holds
about a thousand descriptors its serving thread dies with "filedescriptor out of range" and
every request after it hangs. poll() has no such ceiling, so both apps (and the tests' servers,
which run many apps in one process) use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waitress.server import create_server


def make_server(app: Callable[..., Any], *, host: str, port: int, threads: int, **options: Any) -> Any:
    """A waitress server for `app`, not yet running (call `.run()`); port 0 picks a free one."""
    return create_server(app, host=host, port=port, threads=threads, asyncore_use_poll=True, **options)
