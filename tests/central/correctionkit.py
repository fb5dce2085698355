"""What the scorecard-version and correction tests share (a uniquely named module: the whole suite runs
in one process): a published third quarter of 2026 with three sub-centres, a second supervisor (central
init's own `admin` also supervises), a correction posted as the browser posts it, and a version of the
scorecard edited through the form."""

from __future__ import annotations

import re
from typing import Any

from assessmentkit import Q3, finding, photo, post_files, settle
from centralkit import Clerk
from subcentrekit import SubCentre

from central import assessment_store, correction_store

ADMIN_PASSWORD = "admin-pass-1"


def second_supervisor(app: Any) -> Clerk:
    """`admin`, made by `bianmin central init` with the roles admin and supervisor: the four eyes."""
    return Clerk(app, "admin", ADMIN_PASSWORD)


def published_q3(app: Any) -> dict[str, Any]:
    """S01-S03 enrolled; S01 loses 2 points (R01 x2, an undercover visit), S02 1 point (R02); Q3 published.
    Totals 93 / 94 / 95, ranks S03 1, S02 2, S01 3."""
    central = app.extensions["central"]
    units = {code: SubCentre(central, code) for code in ("S01", "S02", "S03")}
    xun, li = Clerk(app, "xun"), Clerk(app, "li")
    assert finding(xun).status_code == 302
    assert finding(xun, unit="S02", clause="R02", count="1", text="明察发现一名工作人员未佩戴工作牌").status_code == 302
    settle(app, li)
    assert li.post(f"/assessment/{Q3}/publish").status_code == 302
    entries = {e.unit: e for e in assessment_store.entries(central.log.db, Q3)}
    return {"central": central, "units": units, "xun": xun, "li": li, "entries": entries}


def file_correction(clerk: Clerk, quarter: str = Q3, files: list[tuple[bytes, str]] | None = None,
                    **fields: Any) -> Any:
    data = {"action": "file", "unit": "S01", "op": "withdraw", "reason": "经核实，当日两名工作人员已请假，补办了手续"}
    data.update(fields)
    return post_files(clerk, f"/assessment/{quarter}/correction", data,
                      files if files is not None else [(photo("green"), "请假审批单.png")])


def correction_id(response: Any) -> str:
    found = re.search(r"/correction/([0-9a-f]{64})$", response.headers["Location"])
    assert found, response.headers["Location"]
    return found.group(1)


def decide(clerk: Clerk, path: str, decision: str = "approve", note: str = "") -> Any:
    return clerk.post(f"{path}/decide", {"decision": decision, "note": note})


def only_correction(central: Any, quarter: str = Q3) -> correction_store.Correction:
    (found,) = correction_store.of_subject(central.log.db, "quarter", quarter)
    return found


def decide_year(app: Any, li: Clerk) -> dict[str, Any]:
    """The meeting's decision on the year of test_awards_pages' `year` fixture: ten nominees, five models,
    five individuals, S02 chosen for the place S02 and S03 tie for, three directors."""
    from central import awards_store

    central = app.extensions["central"]
    people = {"S01": ["王敏", "李娜"], "S02": ["张伟", "刘洋"], "S03": ["陈静", "杨帆"], "S04": ["赵磊", "黄丽"],
              "S05": ["周杰", "吴芳"]}
    for unit, names in people.items():
        for name in names:
            assert li.post("/awards/2026/nominate", {"unit": unit, "name": name, "window": f"{unit}窗口",
                                                      "reason": "全年无差错", "review": "同意"}).status_code == 302
    ids = [n.id for n in awards_store.nominations(central.log.db, 2026) if n.active]
    form: dict[str, Any] = {"decided_by": "中心主任办公会议", "decided_on": "2027-01-05",
                            "minutes_ref": "皋政服纪〔2027〕1号", "fill": "S02",
                            "director_chosen": ["S01", "S02", "S05"]}
    for i, nid in enumerate(ids):
        form[f"award-{nid}"] = "model" if i < 5 else "individual"
    for unit in ("S01", "S02", "S05"):
        form[f"director-{unit}"] = f"{unit}主任"
        form[f"opinion-{unit}"] = "部门同意"
        form[f"results-{unit}"] = "全年考核名列前茅"
    r = li.client.post("/awards/2026/decide", data={**form, "csrf_token": li.token(li.get("/guide/").text)})
    assert r.status_code == 302, r.text[:1000]
    return {"ids": ids}


_INPUT = re.compile(r'<input\b([^>]*)>')
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def form_fields(html: str, form_id: str) -> list[tuple[str, str]]:
    """The (name, value) pairs a browser would send from the form `form_id` as the page stands:
    text and hidden inputs, ticked boxes, the chosen option of each select, textareas."""
    import html as entities

    part = html.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    out: list[tuple[str, str]] = []
    for attrs in _INPUT.findall(part):
        a = dict(_ATTR.findall(attrs))
        kind = a.get("type", "text")
        if "name" not in a or kind in ("file", "submit") or (kind in ("checkbox", "radio") and " checked" not in attrs):
            continue
        out.append((a["name"], entities.unescape(a.get("value", ""))))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', part, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body) or re.search(r'<option value="([^"]*)"', body)
        out.append((name, entities.unescape(chosen.group(1)) if chosen else ""))
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', part, re.S):
        out.append((name, entities.unescape(text)))
    return out


def scorecard_post(clerk: Clerk, fields: list[tuple[str, str]], **changes: str) -> Any:
    """POST the scorecard form with `changes` (name=value) applied, as multipart like the browser."""
    from werkzeug.datastructures import MultiDict

    data = MultiDict([(k, v) for k, v in fields if k not in changes and k != "csrf_token"])
    for k, v in changes.items():
        data[k] = v
    data["csrf_token"] = clerk.token(clerk.get("/guide/").text)
    return clerk.client.post("/assessment/scorecards/new", data=data, content_type="multipart/form-data")
