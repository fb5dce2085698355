"""`bianmin doctor` on real folders (a node enrolled against a real central, central's own folder),
and the operators' log that never carries an ID number or a phone number."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from click.testing import CliRunner

from bianmin.cli import main
from installer.doctor import diagnose, render
from installer.ops_logging import configure, mask_personal


def _levels(checks: list) -> dict[str, str]:
    return {c.code: c.level for c in checks}


def test_healthy_node_then_broken_key_rights(live_central, enrolled_node) -> None:
    folder = enrolled_node()
    checks = diagnose(folder)
    levels = _levels(checks)
    assert levels["db.ok"] == "ok" and levels["key.ok"] == "ok" and levels["clock.ok"] == "ok"
    assert levels["sync.ok"] == "ok"
    assert "fail" not in levels.values()
    text = render(checks, "zh")
    assert "一切正常" in text and "服务点" in text

    (folder / "bianmin.key").chmod(0o644)
    result = CliRunner().invoke(main, ["doctor", "--data", str(folder), "--lang", "en"])
    assert result.exit_code == 1
    assert "chmod 600" in result.output and "[FAIL]" in result.output


def test_pending_records_and_central_unreachable(live_central, enrolled_node, tmp_path: Path) -> None:
    from node.context import Node

    folder = enrolled_node()
    the_node = Node.open(folder)
    try:
        the_node.append("case.note_added", {"case": "V000101-261125-0001-X", "after": [], "text": "待发送"})
    finally:
        the_node.close()
    config = (folder / "node.toml").read_text("utf-8")
    (folder / "node.toml").write_text(config.replace(live_central.url, "http://127.0.0.1:9"), "utf-8")
    checks = diagnose(folder, timeout=2)
    levels = _levels(checks)
    assert levels["clock.unreachable"] == "warn"
    assert "sync.pending" in levels
    assert "1 条记录等待发送" in render(checks)


def test_damaged_database_and_missing_key(live_central, enrolled_node) -> None:
    folder = enrolled_node()
    (folder / "bianmin.key").unlink()
    db = folder / "bianmin.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[4096 + 100: 4096 + 400] = b"\x00" * 300  # wreck the second page's cells
    data[8192:9000] = b"\xab" * 808
    db.write_bytes(bytes(data))
    checks = diagnose(folder, contact_central=False)
    levels = _levels(checks)
    assert levels["db.damaged"] == "fail"
    assert levels["key.missing"] == "fail"
    assert "bianmin restore" in render(checks, "zh")


def test_central_folder_is_recognised(live_central) -> None:
    checks = diagnose(live_central.folder)
    levels = _levels(checks)
    assert levels["kind"] == "info" and levels["clock.central"] == "info"
    assert levels["central.clean"] == "ok"
    assert "市中心" in render(checks)


def test_not_a_data_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["doctor", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "不是节点或市中心的数据目录" in result.output


def test_logs_are_json_and_mask_personal_numbers(tmp_path: Path) -> None:
    path = configure(tmp_path)
    log = logging.getLogger("bianmin.test")
    try:
        log.warning("intake failed for %s phone %s", "32068219800101123X", "13812345678",
                    extra={"case": "V000101-261125-0001-X", "applicant": "org 91320682MA1XXXXX3L"})
        try:
            raise ValueError("bad id 320682198001011237")
        except ValueError:
            log.exception("oops")
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler.get_name() == "bianmin-ops":
                handler.flush()
                root.removeHandler(handler)
                handler.close()
    text = path.read_text("utf-8")
    for secret in ("32068219800101123X", "13812345678", "91320682MA1XXXXX3L", "320682198001011237"):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["msg"] == "intake failed for 320682********123X phone 138****5678"
    assert lines[0]["case"] == "V000101-261125-0001-X"  # case numbers are not personal data
    assert lines[0]["applicant"] == "org 91320682********3L"
    assert lines[1]["level"] == "error" and "320682********1237" in lines[1]["error"]
    assert mask_personal("sha256 " + "a" * 64) == "sha256 " + "a" * 64


def test_app_commands_write_the_ops_log_and_doctor_sits_under_node(live_central, enrolled_node) -> None:
    folder = enrolled_node()
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["node", "sync", "--data", str(folder)])
        assert result.exit_code == 0, result.output
        logging.getLogger("bianmin.test").info("sync done for 13812345678")
        for handler in logging.getLogger().handlers:
            handler.flush()
        text = (folder / "logs" / "bianmin.log").read_text("utf-8")
        assert "138****5678" in text and "13812345678" not in text
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler.get_name() == "bianmin-ops":
                root.removeHandler(handler)
                handler.close()
    result = runner.invoke(main, ["node", "doctor", "--data", str(folder), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "All is well." in result.output
