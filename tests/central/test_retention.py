"""The retention policy (issue 8): its rules (casework.retention), the administrator's page that publishes
it as a record, and central's pass that deletes exactly what is due and nothing else: scans of cases
past their years (after signing why), SMS numbers and texts, failed sign-ins, operators' log files;
`due()` announces the same counts first."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from centralkit import Clerk

from casework import retention
from central import retention_job, sms_store
from store import accounts
from store import retention as store_retention

DAY = 86400


def test_the_rules_of_a_policy() -> None:
    policy = retention.parse_policy({"version": 2, "settings": {"ops_log_days": 183, "central_scans_years": 0}})
    assert policy["ops_log_days"] == 183 and policy["central_scans_years"] == 0 and policy["sms_days"] == 30
    for settings, code in (({"ops_log_days": 182}, "retention.below_minimum"), ({"sms_days": 1.5}, "retention.not_whole"),
                           ({"sms_days": True}, "retention.not_whole"), ({"access_days": 9}, "retention.unknown"),
                           ({"central_scans_years": 3}, "retention.below_minimum"),
                           ({"backup_days": 1000}, "retention.above_maximum")):
        with pytest.raises(retention.PolicyError) as err:
            retention.parse_policy({"version": 1, "settings": settings})
        assert [p.code for p in err.value.problems.values()] == [code], settings
    with pytest.raises(retention.PolicyError):
        retention.parse_policy({"version": 0, "settings": {}})
    with pytest.raises(retention.PolicyError) as err:
        retention.from_form({s.key: "x" for s in retention.SETTINGS}, version=1)
    assert set(err.value.problems) == {s.key for s in retention.SETTINGS}
    assert retention.DEFAULT["ops_log_days"] >= 183 and retention.DEFAULT.version == 0


def test_the_administrator_publishes_a_version_and_bad_values_keep_the_form(app) -> None:
    central = app.extensions["central"]
    admin = Clerk(app, "admin", password="admin-pass-1")
    page = admin.get("/admin/retention")
    assert page.status_code == 200 and "运行日志文件" in page.text and "尚未发布" in page.text
    form = {s.key: str(s.default) for s in retention.SETTINGS} | {"ops_log_days": "90", "sms_days": "10",
                                                                  "note": "缩短短信号码保存期"}
    refused = admin.post("/admin/retention", form, page="/admin/retention")
    assert refused.status_code == 400 and "日志保存不得少于 183 天" in refused.text
    assert 'value="90"' in refused.text and 'value="10"' in refused.text and "缩短短信号码保存期" in refused.text
    assert central.records_of_kind(retention.KIND) == []
    no_reason = admin.post("/admin/retention", form | {"ops_log_days": "200", "note": ""}, page="/admin/retention")
    assert no_reason.status_code == 400 and central.records_of_kind(retention.KIND) == []
    done = admin.post("/admin/retention", form | {"ops_log_days": "200"}, page="/admin/retention")
    assert done.status_code == 302
    [(record, _at)] = central.records_of_kind(retention.KIND)
    assert record.body["version"] == 1 and record.body["settings"]["ops_log_days"] == 200
    assert record.body["staff"] == "admin" and record.body["note"] == "缩短短信号码保存期"
    current = store_retention.current(central.log.db)
    assert current.version == 1 and current["sms_days"] == 10
    assert "缩短短信号码保存期" in admin.get("/admin/retention").text
    # a policy signed by a node counts for nothing
    assert Clerk(app, "li").get("/admin/retention").status_code == 403


def _set_mtime(path: Path, when: float) -> None:
    path.write_text("{}\n")
    os.utime(path, (when, when))


def test_the_pass_deletes_exactly_what_is_due(app, clock, central_dir) -> None:
    central = app.extensions["central"]
    blobs = app.extensions["central_blobs"]
    central.sign(retention.KIND, {"version": 1, "settings": {"sms_days": 30, "login_failures_days": 10,
                                                             "ops_log_days": 183, "central_scans_years": 5}})
    now = central.now().timestamp()
    db = central.log.db
    # SMS: one sent 40 days ago, one 20 days ago, one never sent
    for n, (phone, sent) in enumerate((("13800000001", now - 40 * DAY), ("13800000002", now - 20 * DAY),
                                       ("13800000003", None))):
        with central.log.transaction() as tx:
            sms_store.enqueue(tx, dedupe=f"d{n}", case=f"C-{n}", phone=phone, text=f"您的办件 C-{n} 已受理",
                              reason="received", now=now - 50 * DAY)
            if sent is not None:
                sms_store.mark_sent(tx, n + 1, sent)
    # failed sign-ins: one 20 days old, one from yesterday, one old key still locked now
    policy = accounts.LockoutPolicy(max_failures=1, lock_seconds=60 * DAY, max_failures_per_address=1)
    with central.log.transaction() as tx:
        accounts.record_failure(tx, ["user:old"], accounts.LockoutPolicy(), now=now - 20 * DAY)
        accounts.record_failure(tx, ["user:recent"], accounts.LockoutPolicy(), now=now - 1 * DAY)
        accounts.record_failure(tx, ["addr:10.0.0.9"], policy, now=now - 20 * DAY)
    # operators' logs: the live file, one rotated 200 days ago, one 100 days ago
    logs = central_dir / "logs"
    logs.mkdir()
    _set_mtime(logs / "bianmin.log", now - 400 * DAY)
    _set_mtime(logs / "bianmin.log.2026-05-01", now - 200 * DAY)
    _set_mtime(logs / "bianmin.log.2026-08-01", now - 100 * DAY)

    due = retention_job.due(central, blobs, central_dir)
    assert due.sweep.counts == {"sms": 1, "login_failures": 1, "ops_logs": 1}
    done = retention_job.run_once(central, blobs, central_dir)
    assert done.sweep.counts == due.sweep.counts and done.records == []
    rows = {r[0]: r for r in db.execute("SELECT case_number, phone, text FROM sms_outbox")}
    assert rows["C-0"][1] == "138****0001" and rows["C-0"][2] == ""
    assert rows["C-1"][1] == "13800000002" and rows["C-2"][1] == "13800000003"
    assert {k for (k,) in db.execute("SELECT key FROM login_failures")} == {"user:recent", "addr:10.0.0.9"}
    assert sorted(p.name for p in logs.iterdir()) == ["bianmin.log", "bianmin.log.2026-08-01"]
    again = retention_job.run_once(central, blobs, central_dir)
    assert again.sweep.counts == {}


def test_scans_at_the_city_go_after_their_years_with_a_record_first(app, clock, central_dir) -> None:
    central = app.extensions["central"]
    blobs = app.extensions["central_blobs"]
    wang = Clerk(app, "wang")
    wang.post("/window/choose", {"window": "W52"})
    numbers = []
    for name in ("甲", "乙"):
        response = wang.post("/window/intake?item=BDC001", {"applicant_type": "person", "name": name,
                                                            "id_number": "11010519491231002X"})
        numbers.append(response.headers["Location"].rsplit("/", 1)[1])
    shas = []
    for n, number in enumerate(numbers):
        sha = blobs.put(f"scan of case {n}".encode())
        shas.append(sha)
        central.act(number, "case.material_added", window="W52", staff="wang", material="不动产权属证书", sha256=sha)
    central.act(numbers[0], "case.returned", window="W52", staff="wang", reason="材料不全，申请人撤回后重交")
    central.sign(retention.KIND, {"version": 1, "settings": {"node_scans_days": 30, "central_scans_years": 5}})

    clock.now += dt.timedelta(days=31)
    [archive] = retention_job.run_once(central, blobs, central_dir).records    # only the ended case
    assert archive.kind == "scans.archived" and archive.body["case"] == numbers[0]
    clock.now += dt.timedelta(days=365 * 5 - 31 - 5)   # 1820 days after it ended: not yet five years
    assert retention_job.due(central, blobs, central_dir).sweep.counts.get("expire_scans") is None
    clock.now += dt.timedelta(days=10)
    assert retention_job.due(central, blobs, central_dir).sweep.counts["expire_scans"] == 1
    done = retention_job.run_once(central, blobs, central_dir)
    [expired] = done.records
    assert expired.kind == "scans.expired" and expired.body == {"case": numbers[0], "scans": [shas[0]], "years": 5,
                                                               "policy": 1}
    assert not blobs.has(shas[0]) and blobs.has(shas[1])
    wang.post("/window/choose", {"window": "W52"})
    assert "不在本机" in wang.get(f"/case/{numbers[0]}").text
    assert retention_job.run_once(central, blobs, central_dir).records == []
