"""The case page's panel hook (web.casepage.Panel) refuses what it could not place: an app's mistake
shows when its panels are first built, not as a page with a part silently missing."""

from __future__ import annotations

import pytest

from web.casepage import SLOTS, Panel


def test_a_panel_goes_in_one_of_the_known_slots() -> None:
    assert SLOTS == ("header", "facts", "materials", "actions", "timeline")
    for slot in SLOTS:
        assert Panel("fees", "Fees", "x.html", slot).slot == slot  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="slot"):
        Panel("fees", "Fees", "x.html", "sidebar")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "Fees", "fees panel", "1fees", "fees-2", 'x" onclick="'])
def test_a_panel_id_is_a_safe_html_id(bad: str) -> None:
    with pytest.raises(ValueError, match="panel id"):
        Panel(bad, "Fees", "x.html", "materials")
