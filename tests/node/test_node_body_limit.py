"""A node refuses a request body over its limit (48 MB: a whole intake form with its scans) before
reading it, with the 413 page in the user's language."""

from __future__ import annotations

import nodekit

from node.app import create_app


def test_a_node_refuses_an_oversized_form(tmp_path):
    folder = tmp_path / "village"
    nodekit.make_node(folder)
    app = create_app({"DATA_DIR": str(folder)})
    try:
        response = app.test_client().post("/login", data=b"x" * (49 * 1024 * 1024),
                                          content_type="application/x-www-form-urlencoded")
        assert response.status_code == 413
        assert app.config["MAX_CONTENT_LENGTH"] == 48 * 1024 * 1024
    finally:
        app.extensions["bianmin_node"].close()
