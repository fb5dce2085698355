"""Central refuses an oversized form before reading it, while the sync API keeps its own limits:
a USB bundle carried in by a town may be far bigger than any form."""

from __future__ import annotations

BIG = 49 * 1024 * 1024


def test_an_oversized_form_is_refused_with_413(make_app):
    app = make_app()
    client = app.test_client()
    response = client.post("/login", data=b"x" * BIG, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "请求" in response.text or "太大" in response.text or "过大" in response.text


def test_the_sync_api_answers_by_its_own_limits(make_app):
    app = make_app()
    client = app.test_client()
    response = client.post("/sync/v1/bundle", data=b"x" * BIG, content_type="application/octet-stream")
    assert response.status_code != 413  # not refused for size: for the missing signature
    assert response.status_code in (400, 401)
    assert response.is_json

