"""The public site's frame: what a signed-out visitor sees around the public pages.

Central serves some pages to anyone (the service guide, the forms, the status query, the kiosk).
A citizen who opens them must see a public site, not a staff application with its menu missing:
links between the public pages, and the centre's address and hours at the foot of every page.
An app that has public pages says so once:

    init_public_site(app, links=[NavEntry("guide.index", _l("Service guide")), ...],
                     centre=lambda: catalogue().centre)

Templates extending "public_layout.html" then show those links to signed-out visitors (staff keep
their own menu), and the centre's name, address and hours in the footer. An app that never calls
this (a node, whose guide is for its clerks only) gets the ordinary staff layout from the same
templates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from web.navigation import NavEntry

KEY = "bianmin_public_site"


@dataclass(frozen=True)
class PublicSite:
    """The public pages' links (in menu order) and where the centre is (an object with `name`,
    `address`, `hours`, e.g. casework's Centre; or None while it is not known)."""

    links: tuple[NavEntry, ...]
    centre: Callable[[], Any]


def init_public_site(app: Flask, *, links: Sequence[NavEntry], centre: Callable[[], Any]) -> None:
    """Give `app` a public site frame (see the module docstring)."""
    app.extensions[KEY] = PublicSite(tuple(links), centre)

    @app.context_processor
    def _public_site() -> dict[str, object]:
        return {"public_site": app.extensions[KEY]}


def public_site() -> PublicSite | None:
    """The public site of the app handling this request, if it has one."""
    return current_app.extensions.get(KEY)
