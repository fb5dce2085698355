"""What every node page needs: the node, this request's database, today in China."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlite_utils import Database

from node.context import Node

CHINA = dt.timezone(dt.timedelta(hours=8))
NODE_ROLES = ("village_clerk", "town_clerk", "node_admin")
# Who takes in and works on cases (and so reads applicants' data). A site administrator alone keeps
# the node running (sync, USB bundles, the home page's sync box); in a one-person village room the
# clerk's account holds both roles.
CLERK_ROLES = ("village_clerk", "town_clerk")


def node() -> Node:
    return current_app.extensions["bianmin_node"]


def db() -> Database:
    return current_app.extensions["bianmin_node_db"]()


def sync() -> Any:
    return current_app.extensions["bianmin_node_sync"]


def now() -> dt.datetime:
    return dt.datetime.now(CHINA)


def today() -> dt.date:
    return now().date()


def epoch_cn(value: float | None) -> str:
    """An epoch time as China local `2026-11-25 14:05`."""
    if value is None:
        return ""
    moment = dt.datetime.fromtimestamp(float(value), tz=CHINA)
    return moment.strftime("%Y-%m-%d %H:%M")


def age_cn(seconds: float | None) -> str:
    """A duration in the largest sensible unit, translated (`3 hours`)."""
    from flask_babel import gettext

    if seconds is None:
        return ""
    s = int(seconds)
    if s < 120:
        return gettext("%(n)s seconds", n=s)
    if s < 7200:
        return gettext("%(n)s minutes", n=s // 60)
    if s < 172800:
        return gettext("%(n)s hours", n=s // 3600)
    return gettext("%(n)s days", n=s // 86400)
