"""`bianmin doctor --data DIR`: is this node or central healthy, and if not, what should a person do?

Written for the person on the phone with a village clerk: every finding is one line in plain
words (Chinese by default, English with `--lang en`), with what to do. It reads; it never
repairs (a repair is a decision, e.g. `bianmin restore`), and it is safe while the app runs.

Checks, in the order a person would look:
- disk space where the data folder lives (a full disk stops every write);
- the database: SQLite's quick_check, and whether writing is held after a restore;
- key files: present, and readable by this user only (0600 on Linux);
- the clock against central's (`GET /sync/v1/time`): a node's requests are refused beyond a few
  minutes of skew, and its records' times are information only, but people read them;
- sync (a node): records waiting to be sent and the age of the oldest, the last error, a stop;
  (central): forks kept as evidence and records in quarantine, which a person must look at.
"""

from __future__ import annotations

import contextlib
import gettext
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.datadir import SECRET_FILE, SYNC_STATE_FILE, AppDir, NotADataDirError, detect

GB = 1024**3
CLOCK_WARN_S = 60
CLOCK_FAIL_S = 240  # sync/requestauth refuses requests beyond 5 minutes
LAG_WARN_S = 24 * 3600
LAG_FAIL_S = 3 * 24 * 3600

# code -> (Chinese, English); `{name}` placeholders filled from Check.params
TEXTS: dict[str, tuple[str, str]] = {
    "kind": ("数据目录：{kind}（{origin}），位于 {root}", "Data folder: {kind} ({origin}) at {root}"),
    "not_data": ("{root} 不是节点或市中心的数据目录。请检查 --data 路径。",
                 "{root} is neither a node's nor central's data folder. Check the --data path."),
    "disk.ok": ("磁盘剩余空间 {free_gb} GB，足够。", "{free_gb} GB free on the disk: enough."),
    "disk.low": ("磁盘剩余空间只有 {free_gb} GB。请清理其他文件或把旧备份移走，剩余空间少于 0.2 GB 时将无法保存。",
                 "Only {free_gb} GB free. Remove other files or move old backups away; below 0.2 GB nothing can be saved."),
    "disk.full": ("磁盘几乎已满（剩余 {free_gb} GB），无法保存新的办件。请立即清理磁盘，并联系市中心技术人员。",
                  "The disk is almost full ({free_gb} GB free): new cases cannot be saved. Free space now and "
                  "call the city's technician."),
    "db.missing": ("找不到数据库文件 {path}。如果是新装电脑，请先登记（bianmin node init）或从备份恢复（bianmin restore）。",
                   "The database {path} is missing. On a new PC enrol first (bianmin node init) or restore a "
                   "backup (bianmin restore)."),
    "db.ok": ("数据库完整性检查通过（{records} 条记录）。", "The database passes its integrity check ({records} records)."),
    "db.damaged": ("数据库已损坏：{problem}。请停止服务，用 bianmin restore 从最近的备份恢复；恢复后本点的其余记录会从市中心取回。",
                   "The database is damaged: {problem}. Stop the service and restore the latest backup with "
                   "bianmin restore; this point's other records then come back from the city."),
    "db.held": ("本点刚从备份恢复，在与市中心联系之前暂停写入（{reason}）。请接通网络后点“立即同步”或运行 bianmin node sync。",
                "This point was restored from a backup; writing is held until it reaches the city ({reason}). "
                "Connect the network and press Sync now, or run bianmin node sync."),
    "key.ok": ("密钥文件 {path} 存在，且只有本用户可读。", "Key file {path} is present and readable by this user only."),
    "key.missing": ("密钥文件 {path} 不存在，本点无法签名。备份中从不包含密钥：请把原电脑上的密钥文件拷回，"
                    "或向市中心申请新的登记码后运行 bianmin restore --from 备份 --data 目录 --token 登记码。",
                    "The key file {path} is missing, so this point cannot sign. Backups never hold keys: copy the "
                    "key file back from the old PC, or ask the city for a new enrolment token and run "
                    "bianmin restore --from BACKUP --data DIR --token TOKEN."),
    "key.open": ("密钥文件 {path} 的权限是 {mode}，其他用户也能读取。请运行：chmod 600 {path}",
                 "Key file {path} has rights {mode}: other users can read it. Run: chmod 600 {path}"),
    "clock.ok": ("本机时间与市中心相差 {skew} 秒，正常。", "This PC's clock is {skew} s from the city's: fine."),
    "clock.off": ("本机时间与市中心相差 {skew} 秒。请在 Windows/Linux 设置中校准日期和时间（开启自动对时）。",
                  "This PC's clock is {skew} s away from the city's. Set the date and time (turn on automatic time)."),
    "clock.far": ("本机时间与市中心相差 {skew} 秒，超过 4 分钟，同步会被拒绝。请立即校准日期和时间。",
                  "This PC's clock is {skew} s away from the city's, over 4 minutes: sync will be refused. "
                  "Set the date and time now."),
    "clock.unreachable": ("无法连接市中心（{url}），未能核对时间：{error}。办件可离线继续，网络恢复后会自动发送。",
                          "Cannot reach the city ({url}) to compare clocks: {error}. Work goes on offline and is "
                          "sent when the link is back."),
    "clock.skipped": ("未联系市中心（--offline），未核对时间。", "The city was not contacted (--offline): clock not checked."),
    "clock.central": ("本机是市中心，是全网的时间基准：请确认已开启网络对时（NTP）。",
                      "This is central, the network's time reference: make sure NTP time sync is on."),
    "clock.usb": ("本点没有市中心地址，只用U盘交换数据，未核对时间。", "This point has no city address (USB bundles only): clock not checked."),
    "sync.ok": ("同步正常：没有待发送的记录；上次成功：{last}。", "Sync is fine: nothing waiting; last success {last}."),
    "sync.pending": ("有 {pending} 条记录等待发送，最早的已等待 {age}。上次成功：{last}。",
                     "{pending} records are waiting to be sent, the oldest for {age}. Last success: {last}."),
    "sync.lagging": ("有 {pending} 条记录等待发送，最早的已等待 {age}。请检查网络；如果长期无法联网，请用U盘导出数据包交给镇中心。",
                     "{pending} records are waiting, the oldest for {age}. Check the link; with no link for long, "
                     "export a USB bundle for the town centre."),
    "sync.error": ("上次同步失败：{error}", "The last sync failed: {error}"),
    "sync.stopped": ("同步已停止，需要人工处理：{error} 请联系市中心管理员。",
                     "Sync has stopped and needs a person: {error} Call the city administrator."),
    "central.forks": ("有 {forks} 组分叉记录作为证据保存（同一编号两条不同记录），请在监督页面查看对应节点。",
                      "{forks} forks are kept as evidence (two records under one number): look at those nodes "
                      "on the supervision pages."),
    "central.quarantine": ("有 {count} 条记录因业务原因被隔离，请在管理页面处理。",
                           "{count} records are in quarantine for business reasons: settle them on the "
                           "administration pages."),
    "central.clean": ("没有分叉或隔离的记录。", "No forks and no quarantined records."),
    "scankey.ok": ("扫描件密钥文件 {path} 存在，且只有本用户可读；本机扫描件均已加密保存。",
                   "The scan key file {path} is present and private; the scans on this PC are stored encrypted."),
    "scankey.missing": ("扫描件密钥文件 {path} 不存在，本机保存的扫描件无法读取。备份中从不包含密钥：如果是恢复到了新电脑，"
                        "请把原电脑上的 scans.key 拷回数据目录；否则已发送到市中心的扫描件会在下次同步后重新取回。",
                        "The scan key file {path} is missing, so the scans kept here cannot be read. Backups never hold "
                        "keys: after a restore onto a new PC copy scans.key back from the old PC; otherwise the scans "
                        "already sent to the city are fetched again after the next sync."),
    "scankey.open": ("扫描件密钥文件 {path} 的权限是 {mode}，其他用户也能读取。请运行：chmod 600 {path}",
                     "Scan key file {path} has rights {mode}: other users can read it. Run: chmod 600 {path}"),
    "scans.unsent_unreadable": ("有 {n} 份在本机采集、尚未发送到市中心的扫描件无法用本机密钥读取（可能是从备份恢复到了新电脑）。"
                                "请把原电脑上的 scans.key 拷回数据目录，不要删除这些文件。",
                                "{n} scans taken here and never sent to the city cannot be read with this PC's key "
                                "(restored onto a new PC?). Copy scans.key back from the old PC; do not delete them."),
    "retention.due": ("按保存期限，下次同步后将：{what}。", "Under the retention policy, after the next sync: {what}."),
    "retention.none": ("没有到期需要删除的个人信息。", "No personal data is due for deletion."),
}
# what a retention pass will do, per kind (node.housekeeping)
DUE_TEXTS: dict[str, tuple[str, str]] = {
    "scans_to_drop": ("删除 {n} 份已在市中心归档的扫描件", "delete {n} scans archived at the city"),
    "scans_to_fetch": ("从市中心重新取回 {n} 份本机无法读取的扫描件", "fetch again {n} scans this PC cannot read"),
    "bundles": ("删除 {n} 个过期的U盘数据包", "delete {n} old USB bundle files"),
    "ops_logs": ("删除 {n} 个过期的运行日志文件", "delete {n} old operators' log files"),
    "login_failures": ("清除 {n} 条过期的登录失败记录", "forget {n} old failed sign-ins"),
}
HEAD = {"ok": ("正常", "OK"), "warn": ("注意", "WARN"), "fail": ("故障", "FAIL"), "info": ("信息", "INFO")}
KIND_NAMES = {"node": ("服务点", "service point"), "central": ("市中心", "central")}


@dataclass(frozen=True)
class Check:
    area: str
    level: str  # ok | warn | fail | info
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "zh") -> str:
        zh, en = TEXTS[self.code]
        template = zh if lang == "zh" else en
        params = dict(self.params)
        if self.code == "kind":
            params["kind"] = KIND_NAMES[params["kind"]][0 if lang == "zh" else 1]
        if isinstance(params.get("age"), int | float):
            params["age"] = _age(params["age"], lang)
        if "last" in params:
            params["last"] = _when(params["last"], lang)
        if "error_code" in params:
            params["error"] = _sync_error(params["error_code"], params.get("error_params") or {}, lang)
        if isinstance(params.get("what"), dict):
            i = 0 if lang == "zh" else 1
            params["what"] = ("；" if lang == "zh" else "; ").join(
                DUE_TEXTS[k][i].format(n=n) for k, n in sorted(params["what"].items()) if k in DUE_TEXTS)
        return template.format(**params)


def _age(seconds: float, lang: str) -> str:
    hours = seconds / 3600
    if hours < 1:
        return f"{round(seconds / 60)} 分钟" if lang == "zh" else f"{round(seconds / 60)} minutes"
    if hours < 48:
        return f"{hours:.0f} 小时" if lang == "zh" else f"{hours:.0f} hours"
    return f"{hours / 24:.0f} 天" if lang == "zh" else f"{hours / 24:.0f} days"


def _when(stamp: Any, lang: str) -> str:
    if not stamp:
        return "从未" if lang == "zh" else "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(stamp)))


def _sync_error(code: str, params: dict[str, Any], lang: str) -> str:
    """sync's plain-English reason, in Chinese through the web layer's translation catalogue."""
    from sync.status import MESSAGES

    msgid = MESSAGES.get(code, code)
    if lang == "zh":
        folder = Path(__file__).resolve().parent.parent / "web" / "translations"
        msgid = gettext.translation("messages", localedir=str(folder), languages=["zh"], fallback=True).gettext(msgid)
    try:
        return msgid % params if params else msgid
    except (KeyError, TypeError, ValueError):
        return msgid


def diagnose(data_dir: str | Path, *, contact_central: bool = True, timeout: float = 5.0) -> list[Check]:
    """Every check for the folder, in reading order (see the module docstring)."""
    try:
        app = detect(data_dir)
    except NotADataDirError:
        return [Check("folder", "fail", "not_data", {"root": str(data_dir)})]
    config = _config(app)
    origin = "C" if app.kind == "central" else str(config.get("node_id", "?"))
    checks = [Check("folder", "info", "kind", {"kind": app.kind, "origin": origin, "root": str(app.root)})]
    checks.append(_disk(app))
    database = _database(app)
    checks += database
    checks += _keys(app)
    checks.append(_clock(app, config, contact_central, timeout))
    if database[0].code == "db.ok":
        checks += _sync(app, config) if app.kind == "node" else _central_log(app)
    if app.kind == "node":
        checks += _scans(app)
    return checks


def _config(app: AppDir) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(app.config_file.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _disk(app: AppDir) -> Check:
    free = shutil.disk_usage(app.root).free
    params = {"free_gb": f"{free / GB:.1f}"}
    if free < 0.2 * GB:
        return Check("disk", "fail", "disk.full", params)
    if free < 1 * GB:
        return Check("disk", "warn", "disk.low", params)
    return Check("disk", "ok", "disk.ok", params)


def _database(app: AppDir) -> list[Check]:
    if not app.db.exists():
        return [Check("database", "fail", "db.missing", {"path": str(app.db)})]
    try:
        conn = sqlite3.connect(f"file:{app.db}?mode=ro", uri=True, timeout=10)
        try:
            problem = conn.execute("PRAGMA quick_check").fetchone()[0]
            records = conn.execute("SELECT count(*) FROM records").fetchone()[0] if problem == "ok" else 0
            held = conn.execute("SELECT value FROM meta WHERE name = 'hold'").fetchone() if problem == "ok" else None
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        problem, records, held = str(err), 0, None
    if problem != "ok":
        return [Check("database", "fail", "db.damaged", {"problem": problem})]
    checks = [Check("database", "ok", "db.ok", {"records": records})]
    if held:
        checks.append(Check("database", "warn", "db.held", {"reason": held[0]}))
    return checks


def _keys(app: AppDir) -> list[Check]:
    checks = []
    for path, required in ((app.key, True), (app.root / SECRET_FILE, False)):
        if not path.exists():
            if required:
                checks.append(Check("keys", "fail", "key.missing", {"path": str(path)}))
            continue
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            checks.append(Check("keys", "fail" if required else "warn", "key.open",
                                {"path": str(path), "mode": oct(mode)[2:]}))
        else:
            checks.append(Check("keys", "ok", "key.ok", {"path": str(path)}))
    return checks


def _scans(app: AppDir) -> list[Check]:
    """The node's scan key, scans it cannot read, and what the retention policy will delete next."""
    from node.housekeeping import due_at
    from sync.blobcrypt import default_data_key_path

    checks = []
    path = default_data_key_path(app.db)
    due = due_at(app.root)
    if not path.exists():
        if (app.blobs / "objects").is_dir() and any((app.blobs / "objects").glob("??/??/*")):
            checks.append(Check("scans", "fail", "scankey.missing", {"path": str(path)}))
    elif path.stat().st_mode & 0o077:
        checks.append(Check("scans", "fail", "scankey.open", {"path": str(path), "mode": oct(path.stat().st_mode & 0o777)[2:]}))
    else:
        checks.append(Check("scans", "ok", "scankey.ok", {"path": str(path)}))
    if due.unsent_unreadable:
        checks.append(Check("scans", "fail", "scans.unsent_unreadable", {"n": len(due.unsent_unreadable)}))
    if due.sweep.counts:
        checks.append(Check("retention", "info", "retention.due", {"what": dict(due.sweep.counts)}))
    else:
        checks.append(Check("retention", "ok", "retention.none"))
    return checks


def central_clock_skew(url: str, timeout: float = 5.0) -> float:
    """Central's clock minus ours, in seconds (midpoint of the request), from `GET /sync/v1/time`."""
    import requests

    t0 = time.time()
    resp = requests.get(url.rstrip("/") + "/sync/v1/time", timeout=timeout)
    t1 = time.time()
    resp.raise_for_status()
    return float(resp.json()["time"]) - (t0 + t1) / 2


def _clock(app: AppDir, config: dict[str, Any], contact: bool, timeout: float) -> Check:
    if app.kind == "central":
        return Check("clock", "info", "clock.central")
    url = str(config.get("central_url") or "")
    if not url:
        return Check("clock", "info", "clock.usb")
    if not contact:
        return Check("clock", "info", "clock.skipped")
    try:
        skew = central_clock_skew(url, timeout)
    except Exception as err:  # any failure to ask is reported, never raised
        return Check("clock", "warn", "clock.unreachable", {"url": url, "error": type(err).__name__})
    params = {"skew": f"{skew:+.0f}"}
    if abs(skew) >= CLOCK_FAIL_S:
        return Check("clock", "fail", "clock.far", params)
    if abs(skew) >= CLOCK_WARN_S:
        return Check("clock", "warn", "clock.off", params)
    return Check("clock", "ok", "clock.ok", params)


def _sync(app: AppDir, config: dict[str, Any]) -> list[Check]:
    from sync.logstore import LogStore

    state: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):  # no sync yet, or a half-written file: no state
        state = json.loads((app.root / SYNC_STATE_FILE).read_text("utf-8"))
    log = LogStore.open(app.db, network=str(config.get("network", "")), origin=str(config.get("node_id", "")))
    try:
        pending = log.count_pending("C")
        oldest = None
        if pending:
            first = log.records_of(log.origin, log.cursor("C", "sent") + 1, log.cursor("C", "sent") + 1)
            stored = log.stored(first[0].id) if first else None
            if stored is not None:
                from datetime import datetime

                oldest = time.time() - datetime.fromisoformat(stored.received_at).timestamp()
    finally:
        log.close()
    checks = []
    last = state.get("last_success")
    if pending == 0:
        checks.append(Check("sync", "ok", "sync.ok", {"last": last}))
    else:
        age = oldest or 0.0
        level = "fail" if age >= LAG_FAIL_S else "warn" if age >= LAG_WARN_S else "info"
        checks.append(Check("sync", level, "sync.lagging" if age >= LAG_WARN_S else "sync.pending",
                            {"pending": pending, "age": age, "last": last}))
    code = state.get("last_error_code")
    if state.get("stopped"):
        checks.append(Check("sync", "fail", "sync.stopped",
                            {"error_code": code or "sync.refused", "error_params": state.get("last_error_params")}))
    elif code:
        checks.append(Check("sync", "warn", "sync.error",
                            {"error_code": code, "error_params": state.get("last_error_params")}))
    return checks


def _central_log(app: AppDir) -> list[Check]:
    conn = sqlite3.connect(f"file:{app.db}?mode=ro", uri=True, timeout=10)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        forks = conn.execute("SELECT count(*) FROM forks").fetchone()[0] if "forks" in tables else 0
        quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0] if "quarantine" in tables else 0
    finally:
        conn.close()
    checks = []
    if forks:
        checks.append(Check("sync", "warn", "central.forks", {"forks": forks}))
    if quarantined:
        checks.append(Check("sync", "warn", "central.quarantine", {"count": quarantined}))
    return checks or [Check("sync", "ok", "central.clean")]


def render(checks: list[Check], lang: str = "zh") -> str:
    """The report as text, one line per finding, the worst first after the folder line."""
    i = 0 if lang == "zh" else 1
    lines = []
    for check in checks:
        lines.append(f"[{HEAD[check.level][i]}] {check.text(lang)}")
    worst = "fail" if any(c.level == "fail" for c in checks) else "warn" if any(c.level == "warn" for c in checks) else "ok"
    summary = {"ok": ("一切正常。", "All is well."),
               "warn": ("有需要注意的事项，见上。", "Some things need attention, see above."),
               "fail": ("有故障，请按上面的说明处理。", "Something is wrong: follow the advice above.")}[worst][i]
    return "\n".join([*lines, summary])
