"""A node's case page is the shared page with no panels of its own: central's window panels (fees,
joint opinions, tolerated gap, finishing on the spot, the card, the record chain) never show at a
village, and its actions are exactly the shared ones casework offers the village, in their order.

A real node data folder (nodekit), its app driven through Flask's test client with real CSRF tokens."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nodekit import PASSWORD

from casework.cases import allowed_actions
from node.app import create_app
from store import cases as store_cases
from store.db import open_db
from web.case_actions import offered

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _signed_in(app: Any) -> Any:
    client = app.test_client()
    token = TOKEN.search(client.get("/login").text).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": "clerk", "password": PASSWORD}
                       ).status_code == 302
    return client


def _post(client: Any, path: str, data: dict[str, Any]) -> Any:
    token = TOKEN.search(client.get("/guide/").text).group(1)
    return client.post(path, data={"csrf_token": token, **data})


def _actions_offered(folder: Path, number: str, place: str) -> list[str]:
    db = open_db(folder / "bianmin.sqlite")
    try:
        state = store_cases.get_case_state(db, number)
    finally:
        db.close()
    return offered(state, place, allowed_actions(state, place))


def test_a_village_case_page_has_the_shared_parts_and_no_panels(village_dir) -> None:
    folder, _central = village_dir
    app = create_app({"DATA_DIR": str(folder)})
    try:
        clerk = _signed_in(app)
        done = _post(clerk, "/intake/new", {"item": "SFJ002", "applicant_type": "person", "name": "周九",
                                            "id_number": "11010519491231002X", "have_0": "1", "have_1": "1"})
        assert done.status_code == 302, done.text[:500]
        number = re.search(r"/done/([^?/]+)", done.headers["Location"]).group(1)
        place = app.extensions["bianmin_node"].config.place
        for step in range(2):
            page = clerk.get(f"/case/{number}")
            assert page.status_code == 200
            html = page.text
            expected = _actions_offered(folder, number, place)
            assert "forwarded" in expected and "note_added" in expected, expected
            shown = re.findall(r'<details class="action[^"]*"(?: open)? id="action-([a-z_]+)"', html)
            assert shown == expected                              # the shared actions, nothing added
            assert "case-panel" not in html and not re.search(r'id="panel-', html)
            for central_only in ("/window/", "/settlement/", "/supervision/", "/card/", 'name="gap"'):
                assert central_only not in html, central_only
            # the shared parts are all there
            for part in ('id="facts-h"', 'id="actions-h"', 'id="timeline-h"', 'class="notice-links"',
                         "110105********002X"):
                assert part in html, part
            if step == 0:                                     # and again once it has moved on
                assert _post(clerk, f"/case/{number}/act/note_added", {"text": "已电话联系申请人"}
                             ).status_code == 302
        # forwarding from a village needs no reason: central's rule for its windows is not the node's
        assert 'name="note" rows="2" required' not in html
    finally:
        app.extensions["bianmin_node"].close()
