"""`bianmin catalogue ...` as an administrator runs it: the installed command, real files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from casework.catalogue import DATA, load

BIANMIN = Path(sys.executable).parent / "bianmin"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIANMIN), "catalogue", *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(BIANMIN.parent), "COLUMNS": "100", "LANG": "C.UTF-8"})


def test_check_of_the_packaged_data_passes() -> None:
    result = run("check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == f"departments=33 windows=71 items={len(load().items)}"


def test_check_of_broken_data_lists_every_problem_and_fails(tmp_path: Path) -> None:
    data = tmp_path / "catalogue"
    shutil.copytree(DATA, data)
    scjg = data / "items" / "scjg.toml"
    scjg.write_text(scjg.read_text(encoding="utf-8").replace('window = "W36"', 'window = "W99"', 1),
                    encoding="utf-8")
    windows = data / "windows.toml"
    windows.write_text(windows.read_text(encoding="utf-8").replace('"qxj", "xfj"]', '"qxj"]'), encoding="utf-8")
    (data / "items" / "dx.toml").write_text("[[item]\ncode = 1\n", encoding="utf-8")

    result = run("check", "--path", str(data))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    dx_items = len(load().items_for_department("dx"))
    assert lines[-1] == f"departments=33 windows=71 items={len(load().items) - dx_items}"
    assert "items/scjg.toml: item[SCJG001].window: unknown window 'W99'" in lines
    assert any(line.startswith("windows.toml: window[W68].departments: the combined window") for line in lines)
    assert any(line.startswith("items/dx.toml: (syntax): not valid TOML") and "line 1" in line for line in lines)


def test_check_of_a_missing_folder_fails(tmp_path: Path) -> None:
    result = run("check", "--path", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1] == "departments=0 windows=0 items=0"


def test_show_prints_the_six_public_things() -> None:
    result = run("show", "BDC002")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in ("【事项】", "【设定依据】", "【办理程序】", "【申报材料】", "【办理时限】", "【收费标准】"):
        assert heading in out
    assert "不动产转移登记（二手房买卖）" in out
    assert "承诺时限3个工作日" in out
    assert "80.00元/件" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_show_accepts_lower_case_and_rejects_unknown_codes() -> None:
    assert "企业设立登记" in run("show", "scjg001").stdout
    result = run("show", "NOPE42")
    assert result.returncode == 1
    assert "没有代码为 NOPE42 的事项" in result.stderr


@pytest.mark.parametrize(("query", "code"), [("qysldj", "SCJG001"), ("低保", "MZJ001"), ("GA003", "GA003")])
def test_search(query: str, code: str) -> None:
    result = run("search", query)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(code)


def test_search_with_filters_and_no_result() -> None:
    result = run("search", "登记", "--tier", "village", "--department", "rsj")
    assert result.returncode == 0
    assert all(line.startswith("RSJ") for line in result.stdout.splitlines())
    none = run("search", "zzzzzz")
    assert none.returncode == 1 and "没有找到" in none.stderr
    bad = run("search", "x", "--department", "nope")
    assert bad.returncode == 1 and "nope" in bad.stderr


def test_guide_lists_types_and_prints_a_sheet() -> None:
    listing = run("guide")
    assert listing.returncode == 0 and "GYJS" in listing.stdout and "餐饮服务项目" in listing.stdout
    sheet = run("guide", "cyfw")
    assert sheet.returncode == 0, sheet.stderr
    assert sheet.stdout.startswith("导办服务单：餐饮服务项目（投资额50万元以上")
    assert "第1步（联合办理）" in sheet.stdout and "SCJG008  食品经营许可 → 市场监管食品经营许可窗口" in sheet.stdout
    unknown = run("guide", "NOPE")
    assert unknown.returncode == 1 and "没有代码为 NOPE 的项目类型" in unknown.stderr
