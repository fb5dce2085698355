"""A store connection per request, for apps that keep one SQLite file.

sqlite3 connections belong to one thread and waitress serves each request on one of its threads,
so the simplest correct scheme is: open on first use within a request, close when it ends.
Opening costs well under a millisecond (see store.db).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask, g
from sqlite_utils import Database

from store.db import open_db


def per_request_db(app: Flask, path: str | Path) -> Callable[[], Database]:
    """A getter for `web.init_app(store_db_getter=...)` opening `path` once per request/app context."""
    key = f"bianmin_db_{id(app)}_{Path(path).resolve()}"  # an app may keep more than one file

    def get() -> Database:
        db = g.get(key)
        if db is None:
            db = open_db(path)
            g.setdefault(key, db)
        return db

    @app.teardown_appcontext
    def close(_exc: BaseException | None) -> None:
        db = g.pop(key, None)
        if db is not None:
            db.close()

    return get
