"""What the assessment tests share: evidence files, a finding posted as the browser posts it, the
quarter's board, and settling every open proposal (a uniquely named module: tests/casework has its own
test_assessment)."""

from __future__ import annotations

import io
from typing import Any

from centralkit import Clerk
from PIL import Image

from casework.assessment import packaged
from central import assessment_scores
from central.quarters import Quarter

Q3 = "2026-Q3"  # ended: the test clock stands on 2026-11-25


def photo(colour: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def post_files(clerk: Clerk, path: str, data: dict[str, Any], files: list[tuple[bytes, str]] = ()) -> Any:
    """A multipart POST with the session's CSRF token, as the browser sends the evidence form."""
    token = clerk.token(clerk.client.get("/guide/").text)
    payload: dict[str, Any] = {k: v for k, v in data.items()}
    payload["csrf_token"] = token
    if files:
        payload["evidence"] = [(io.BytesIO(b), name) for b, name in files]
    return clerk.client.post(path, data=payload, content_type="multipart/form-data")


def finding(clerk: Clerk, quarter: str = Q3, **fields: Any) -> Any:
    data = {"unit": "S01", "clause": "R01", "count": "2", "source": "undercover", "checked_on": "2026-09-15",
            "text": "9月15日上午暗访，3号窗口两名工作人员迟到"}
    data.update({k: v for k, v in fields.items() if k != "files"})
    return post_files(clerk, f"/assessment/{quarter}/finding", data, fields.get("files", [(photo(), "迟到.png")]))


def board(app: Any, quarter: str = Q3, only: str | None = None) -> assessment_scores.QuarterBoard:
    central = app.extensions["central"]
    with central.log._lock:
        return assessment_scores.board(central.log.db, Quarter.parse(quarter), scorecard=packaged(),
                                       today=central.today(), calendar=central.calendar(), only=only)


def settle(app: Any, supervisor: Clerk, quarter: str = Q3) -> None:
    """Dismiss every open proposal (late monthly reports of sub-centres that never report, ...)."""
    for unit in board(app, quarter).units:
        for p in board(app, quarter, only=unit.unit.code).unit(unit.unit.code).proposals:
            r = supervisor.post(f"/assessment/{quarter}/unit/{unit.unit.code}/proposal/{p.clause}",
                                {"decision": "dismiss", "note": "测试：不适用"})
            assert r.status_code == 302, r.text[:500]
