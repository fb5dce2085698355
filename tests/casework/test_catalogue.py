"""The service catalogue: Rugao's packaged data, the loader's complete problem reports, the
published dict's round trip, lookups and search. Broken catalogues are real files in tmp_path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from casework.catalogue import DATA, Catalogue, CatalogueError, UnknownCodeError, load
from casework.catalogue.guide import six_public


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(DATA, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text in a data file, failing loudly if the data changed under the test."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        load(path)
    return caught.value.problems


# --- the packaged data --------------------------------------------------------------------------

def test_packaged_data_has_rugaos_shape(cat: Catalogue) -> None:
    assert len(cat.departments) == 33
    assert sum(d.kind == "government" for d in cat.departments) == 30
    assert {d.name for d in cat.departments if d.kind == "utility"} == {
        "如皋市供水公司", "国网江苏省电力有限公司如皋市供电分公司", "中国电信股份有限公司如皋分公司"}
    assert len(cat.windows) == 71
    assert len(cat.items) >= 130
    assert cat.centre.hours.startswith("工作日 9:00")


def test_one_combined_window_serves_ten_departments_that_have_no_other(cat: Catalogue) -> None:
    combined = [w for w in cat.windows if w.kind == "combined"]
    assert len(combined) == 1 and len(combined[0].departments) == 10
    for code in combined[0].departments:
        assert [w.code for w in cat.windows if code in w.departments] == [combined[0].code]
        assert all(i.window == combined[0].code for i in cat.items_for_department(code))


def test_card_and_settlement_windows_exist(cat: Catalogue) -> None:
    kinds = [w.kind for w in cat.windows]
    assert kinds.count("card") == 1
    assert kinds.count("settlement") >= 1
    assert any(w.name == "一卡通服务窗口" for w in cat.windows)


def test_every_item_is_complete_and_consistent(cat: Catalogue) -> None:
    fee_codes = {f.code for f in cat.fees}
    for item in cat.items:
        window = cat.window_for(item)
        assert item.department in window.departments, item.code
        assert item.handle_tier in item.receive_tiers, item.code
        assert item.legal_basis and item.procedure and item.materials, item.code
        assert item.promised_limit_days <= item.legal_limit_days or item.immediate, item.code
        assert set(item.fees) <= fee_codes
        assert item.place and item.hours
    assert any(item.fees for item in cat.items) and any(not item.fees for item in cat.items)


def test_villages_receive_and_towns_handle_enough(cat: Catalogue) -> None:
    village = cat.items_receivable_at("village")
    assert len(village) >= 30
    assert len(cat.items_handled_at("town")) >= 15
    names = {i.name for i in village}
    assert {"最低生活保障申请", "残疾人证办理", "生育登记", "城乡居民基本养老保险参保登记"} <= names
    homestead = next(i for i in cat.items if i.name == "农村村民宅基地审批")
    assert homestead.handle_tier == "town" and "city" not in homestead.receive_tiers


def test_all_four_kinds_and_tolerated_gaps_are_present(cat: Catalogue) -> None:
    assert {i.kind for i in cat.items} == {"immediate", "promised", "joint", "reported"}
    assert any(m.gap_allowed for i in cat.items for m in i.materials)
    assert all(i.promised_limit_days == 0 for i in cat.items if i.immediate)


def test_project_types_give_guide_sheets(cat: Catalogue) -> None:
    names = {p.name for p in cat.project_types}
    assert {"工业建设项目", "房地产开发项目", "商贸服务业项目", "餐饮服务项目"} <= names
    sheet = cat.guide_sheet("GYJS")
    assert sheet[0][0] == 1 and sheet[0][1].joint
    first_item, first_window = sheet[0][2][0]
    assert first_item.name == "企业设立登记" and first_window.code == first_item.window
    assert cat.project_type("CYFW").min_investment_fen == 50_000_000


def test_lookups(cat: Catalogue) -> None:
    item = cat.item("SCJG001")
    assert item.name == "企业设立登记" and item.result == "营业执照"
    assert cat.window_for("SCJG001") == cat.window_for(item) == cat.window(item.window)
    assert all(i.department == "scjg" for i in cat.items_for_department("scjg"))
    assert [f.code for f in cat.fees_for("BDC002")] == ["F0101", "F0103"]
    assert cat.fee("F0101").assess() == 8000
    for call in (lambda: cat.item("NOPE"), lambda: cat.items_for_department("nope"),
                 lambda: cat.project_type("NOPE"), lambda: cat.items_receivable_at("county")):
        with pytest.raises(UnknownCodeError):
            call()
    with pytest.raises(KeyError):  # still a KeyError for callers that expect one
        cat.window("W99")


def test_six_public_things(cat: Catalogue) -> None:
    sections = six_public(cat, cat.item("BDC002"))
    titles = [s.title for s in sections]
    assert titles[:2] == ["事项", "设定依据"]
    assert {"办理程序", "申报材料", "办理时限", "收费标准"} <= set(titles)
    fees = next(s for s in sections if s.title == "收费标准").lines
    assert fees[0].startswith("不动产登记费（住宅）：80.00元/件")
    free = next(s for s in six_public(cat, cat.item("MZJ001")) if s.title == "收费标准")
    assert free.lines == ("不收费",)


# --- the published dict -------------------------------------------------------------------------

def _plain_types(value: Any) -> set[type]:
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        return {dict}.union(*(_plain_types(v) for v in value.values()))
    if isinstance(value, list):
        return {list}.union(*(_plain_types(v) for v in value)) if value else {list}
    return {type(value)}


def test_to_data_round_trips_exactly_through_json(cat: Catalogue) -> None:
    data = cat.to_data()
    assert _plain_types(data) <= {dict, list, str, int, bool}
    wire = json.loads(json.dumps(data, ensure_ascii=False, sort_keys=True))
    again = Catalogue.from_data(wire)
    assert again == cat
    assert again.to_data() == data
    assert again.search("qysldj")[0].code == "SCJG001"


def test_from_data_checks_as_hard_as_the_files(cat: Catalogue) -> None:
    data = cat.to_data()
    data["items"][0]["kind"] = "someday"
    data["items"][1]["window"] = "W99"
    data["windows"][0]["colour"] = "red"
    data["fees"][0]["amount_fen"] = 80.5
    del data["project_types"]
    with pytest.raises(CatalogueError) as caught:
        Catalogue.from_data(data)
    problems = caught.value.problems
    first, second = data["items"][0]["code"], data["items"][1]["code"]
    expected = [
        f"data: item[{first}].kind: 'someday' is not one of",
        f"data: item[{second}].window: unknown window 'W99'",
        "data: window[W01].colour: unknown key",
        "data: fee[F0101].amount_fen: must be a whole number (fen, not yuan)",
        "data: project_types: missing",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)


# --- every problem, with file and field ---------------------------------------------------------

def test_many_problems_at_once_are_all_reported(data_copy: Path) -> None:
    items = data_copy / "items"
    edit(data_copy / "departments.toml", 'code = "gxj"\nname = "市工业和信息化局"', 'code = "gxj"\nname = "  "')
    edit(data_copy / "departments.toml", 'code = "cl"', 'code = "ga"')
    edit(data_copy / "windows.toml", '"qxj", "xfj"]', '"qxj"]')
    edit(data_copy / "windows.toml", 'code = "W02"\nname', 'code = "W02"\npalce = "x"\nname')
    edit(data_copy / "fees.toml", "amount_fen = 55000", "amount_fen = 550.0")
    edit(items / "scjg.toml", 'code = "SCJG001"\nname = "企业设立登记"\nwindow = "W36"',
         'code = "SCJG001"\nname = "企业设立登记"\nwindow = "W99"')
    edit(items / "scjg.toml", "legal_limit_days = 10\npromised_limit_days = 5",
         "legal_limit_days = 10\npromised_limit_days = 12")
    edit(items / "scjg.toml", 'code = "SCJG011"', 'code = "SCJG010"')
    edit(items / "ga.toml", 'fees = ["F0203"]\nresult = "临时居民身份证"',
         'fees = ["F0203"]\nresult = "临时居民身份证"\nmaterails = []')
    edit(items / "ga.toml", "legal_limit_days = 1\npromised_limit_days = 0",
         "legal_limit_days = 1\npromised_limit_days = 2")
    edit(items / "ga.toml", '{ name = "居民户口簿", form = "original" }',
         '{ name = "居民户口簿", form = "copies" }')
    edit(items / "rsj.toml", 'receive_tiers = ["village", "town", "city"]\nhandle_tier = "town"',
         'receive_tiers = ["county", "city"]\nhandle_tier = "town"')
    edit(items / "ybj.toml", "legal_limit_days = 45", 'legal_limit_days = "45"')
    edit(items / "gs.toml", 'fees = ["F0401"]', 'fees = ["F9999"]')
    edit(items / "mzj.toml", 'name = "最低生活保障申请"', 'name = "最低生活保障申请')
    edit(data_copy / "project_types.toml", 'items = ["FGW001"]\nnote', 'items = ["FGW999"]\nnote')

    problems = problems_of(data_copy)
    expected = [
        "departments.toml: department[gxj].name: must not be empty",
        "departments.toml: department[ga].code: duplicate department code 'ga'",
        "windows.toml: window[W68].departments: the combined window (综合窗口) must serve exactly 10 departments, found 9",
        "departments.toml: department[xfj]: has no window",
        "windows.toml: window[W02].palce: unknown key",
        "fees.toml: fee[F0102].amount_fen: must be a whole number (fen, not yuan)",
        "items/scjg.toml: item[SCJG001].window: unknown window 'W99'",
        "items/scjg.toml: item[SCJG008].promised_limit_days: promised limit 12 is longer than the legal limit 10",
        "items/scjg.toml: item[SCJG010].code: duplicate item code 'SCJG010'",
        "items/ga.toml: item[GA005].materails: unknown key (did you mean 'materials'?)",
        "items/ga.toml: item[GA012].promised_limit_days: an immediate item (即办件) is finished on the spot",
        "items/ga.toml: item[GA003].materials[1].form: 'copies' is not one of original, copy, original_and_copy",
        "items/rsj.toml: item[RSJ001].receive_tiers[1]: 'county' is not one of village, town, city",
        "items/rsj.toml: item[RSJ001].receive_tiers: must include the handle tier 'town'",
        "items/ybj.toml: item[YBJ006].legal_limit_days: expected a whole number, found text",
        "items/gs.toml: item[GS001].fees[1]: unknown fee standard 'F9999'",
        "items/mzj.toml: (syntax): not valid TOML:",
        "project_types.toml: project_type[GYJS].steps[2].items[1]: unknown item 'FGW999'",
    ]
    missing = [text for text in expected if not any(p.startswith(text) for p in problems)]
    assert not missing, "\n".join(["missing:", *missing, "got:", *problems])
    syntax = next(p for p in problems if p.startswith("items/mzj.toml: (syntax)"))
    assert "line" in syntax  # the administrator is told where


def test_a_problem_in_one_file_does_not_hide_problems_in_another(data_copy: Path) -> None:
    (data_copy / "windows.toml").write_text("[[window]\n", encoding="utf-8")
    edit(data_copy / "items" / "dx.toml", 'code = "DX002"', 'code = ""')
    problems = problems_of(data_copy)
    assert any(p.startswith("windows.toml: (syntax)") for p in problems)
    assert "items/dx.toml: item[#2].code: must not be empty" in problems
    assert not any("unknown window" in p or "has no window" in p for p in problems)  # no flood


def test_rules_about_kinds_tiers_windows_and_materials(data_copy: Path) -> None:
    items = data_copy / "items"
    edit(items / "fgw.toml", 'kind = "reported"\nreceive_tiers = ["city"]\nhandle_tier = "city"',
         'kind = "reported"\nreceive_tiers = ["town"]\nhandle_tier = "town"')
    edit(items / "fgw.toml", 'window = "W01"', 'window = "W36"')
    edit(items / "sthj.toml", 'form = "original", notes = "在线填报" }',
         'form = "original", notes = "在线填报", gap_allowed = true }')
    edit(items / "cl.toml", 'legal_limit_days = 30\npromised_limit_days = 15',
         'legal_limit_days = 30\npromised_limit_days = 0')
    edit(items / "gxj.toml", "[[item]]", 'department = "gxj"\n[[item]]')
    (items / "nosuch.toml").write_text("", encoding="utf-8")
    edit(items / "scjg.toml", 'code = "SCJG012"', 'code = "scjg 12"')
    edit(items / "scjg.toml", 'code = "SCJG011"', 'code = "GA999"')
    edit(data_copy / "departments.toml", 'code = "dx"', 'code = "DX"')
    problems = problems_of(data_copy)
    expected = [
        "items/fgw.toml: item[FGW002].handle_tier: a reported item (上报件) goes up through the city",
        "items/fgw.toml: item[FGW001].window: window W36 does not serve department fgw",
        "items/sthj.toml: item[STHJ002].materials[1].gap_allowed: an immediate item has no promised date",
        "items/cl.toml: item[CL001].promised_limit_days: a promised item needs a promised limit",
        "items/gxj.toml: department: unknown top-level key",
        "items/nosuch.toml: (file): no department with code 'nosuch'",
        "items/nosuch.toml: item: no [[item]] tables",
        "items/scjg.toml: item[scjg 12].code: 'scjg 12' is not a valid code (2-16 capital letters or digits",
        "items/scjg.toml: item[GA999].code: 'GA999' should start with its department's code in capitals (SCJG...)",
        "departments.toml: department[DX].code: 'DX' is not a valid code (2-12 lower-case letters",
    ]
    missing = [text for text in expected if not any(p.startswith(text) for p in problems)]
    assert not missing, "\n".join(["missing:", *missing, "got:", *problems])


def test_a_missing_file_and_an_empty_folder(tmp_path: Path, data_copy: Path) -> None:
    (data_copy / "fees.toml").unlink()
    problems = problems_of(data_copy)
    assert "fees.toml: (file): missing" in problems
    assert not any("unknown fee standard" in p for p in problems)  # one cause, one problem
    empty = tmp_path / "empty"
    empty.mkdir()
    problems = problems_of(empty)
    assert "departments.toml: (file): missing" in problems
    assert any(p.startswith("items/: (folder): missing") for p in problems)


def test_edited_copy_that_is_valid_loads(data_copy: Path) -> None:
    """The copy itself is fine: the failures above come from the edits, not from copying."""
    edit(data_copy / "items" / "scjg.toml", 'name = "企业设立登记"', 'name = "企业设立登记（公司）"')
    assert load(data_copy).item("SCJG001").name == "企业设立登记（公司）"


# --- search --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "first"), [
    ("qysldj", "SCJG001"),
    ("QYSLDJ", "SCJG001"),
    ("ｑｙｓｌｄｊ", "SCJG001"),
    ("qiyesheli", "SCJG001"),
    ("企业设立登记", "SCJG001"),
    ("企业设立", "SCJG001"),
    ("SCJG001", "SCJG001"),
    ("scjg001", "SCJG001"),
    ("营业执照", "SCJG001"),
    ("dibao", "MZJ001"),
    ("低保", "MZJ001"),
    ("zjdsp", "NYJ001"),
    ("cjrz", "CL001"),
    ("不动产 抵押", "BDC004"),
])
def test_search_finds(cat: Catalogue, query: str, first: str) -> None:
    assert cat.search(query)[0].code == first


def test_search_filters_and_edges(cat: Catalogue) -> None:
    assert cat.search("") == [] and cat.search("   ") == []
    assert cat.search("没有这种事项") == []
    assert all(i.department == "ga" for i in cat.search("证", department="ga"))
    assert all("village" in i.receive_tiers for i in cat.search("登记", tier="village"))
    assert len(cat.search("登记", tier="village")) < len(cat.search("登记"))
    assert [i.code for i in cat.search("scjg", limit=3)] == ["SCJG001", "SCJG002", "SCJG003"]
    with pytest.raises(UnknownCodeError):
        cat.search("x", department="nope")


def test_search_is_fast_once_indexed(cat: Catalogue) -> None:
    import time

    cat.search("warm up")
    start = time.perf_counter()
    for _ in range(100):
        cat.search("qysldj")
    assert (time.perf_counter() - start) / 100 < 0.01  # well under 10 ms a query


def test_packaged_is_loaded_once_and_equals_load(cat: Catalogue) -> None:
    from casework.catalogue import packaged

    assert packaged() is packaged()
    assert packaged() == cat


def test_duplicate_codes_name_both_records(data_copy: Path) -> None:
    edit(data_copy / "fees.toml", 'code = "F0102"', 'code = "F0101"')
    problems = problems_of(data_copy)
    assert ("fees.toml: fee[F0101].code: duplicate fee code 'F0101' (record #2; first used by record #1 in "
            "fees.toml)") in problems


# --- the published dict comes over a wire: junk anywhere is a CatalogueError, never a crash ---

def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in the dict a value sits (dict keys and list positions)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):  # the first few rows of each list are enough
            found += _paths(inner, (*prefix, index))
    return found


def test_junk_anywhere_in_the_published_dict_is_reported_not_crashed(cat: Catalogue) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    data = cat.to_data()
    places = [p for p in _paths(data) if p]
    junk = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=3),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))

    @settings(max_examples=150, deadline=None)
    @given(st.sampled_from(places), junk)
    def replace_one(place: tuple, value: Any) -> None:
        mutated = json.loads(json.dumps(data))
        target = mutated
        for step in place[:-1]:
            target = target[step]
        target[place[-1]] = value
        try:
            again = Catalogue.from_data(mutated)
        except CatalogueError as err:
            assert err.problems and all(p.startswith("data: ") for p in err.problems)
        else:
            assert again.to_data() == Catalogue.from_data(again.to_data()).to_data()

    replace_one()
