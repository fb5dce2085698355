"""The navigation bar: each app lists its entries once, and each user sees those of their roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import request, url_for

from store.accounts import StaffAccount


@dataclass(frozen=True)
class NavEntry:
    """One link in the navigation bar.

    `label` is an English msgid (wrap it in flask_babel.lazy_gettext, or leave it plain: it is
    translated when shown). `roles` empty means every signed-in user. The entry is highlighted on
    its own endpoint and on any endpoint starting with one of `active_prefixes` (e.g. "cases.").
    """

    endpoint: str
    label: str
    roles: tuple[str, ...] = ()
    active_prefixes: tuple[str, ...] = field(default=())

    def visible_to(self, staff: StaffAccount | None) -> bool:
        if staff is None:
            return False
        return not self.roles or staff.has_role(*self.roles)

    def is_active(self) -> bool:
        endpoint = request.endpoint or ""
        return endpoint == self.endpoint or any(endpoint.startswith(p) for p in self.active_prefixes)

    def url(self) -> str:
        return url_for(self.endpoint)


def visible(nav: Sequence[NavEntry], staff: StaffAccount | None) -> list[NavEntry]:
    """The entries `staff` may use, in the app's order."""
    return [entry for entry in nav if entry.visible_to(staff)]
