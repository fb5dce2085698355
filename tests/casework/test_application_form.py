"""Application forms generated from the catalogue: every item gets one, its materials in catalogue
order, the applicant block its `applicant` kind names, and a catalogue without the new key (a
catalogue central published before it existed) still loads with both blocks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casework.catalogue import DATA, Catalogue, CatalogueError, load
from casework.catalogue.application_form import ORGANISATION, PERSON, application_form


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load()


def test_every_item_has_a_form_with_its_materials(cat: Catalogue) -> None:
    for item in cat.items:
        form = application_form(cat, item)
        assert [m.name for m in form.materials] == [m.name for m in item.materials]
        assert form.title and form.code == item.code and form.department
        assert form.declaration and form.signatures and form.proxy.blanks
        assert dict(form.receiving)["办公时间"] == item.hours


def test_named_form_title_materials_and_needs(cat: Catalogue) -> None:
    form = application_form(cat, cat.item("SCJG001"))
    assert form.title == "公司登记（备案）申请书"  # the catalogue's own form name
    assert form.applicants == (ORGANISATION,) and "本单位" in form.declaration
    proxy = form.materials[-1]
    assert proxy.name == "委托代理人办理的授权委托书及代理人身份证件"
    assert (proxy.form, proxy.count, proxy.need) == ("原件及复印件", 1, "非必要")
    assert dict(form.receiving)["收费标准"] == "不收费"
    unnamed = application_form(cat, cat.item("GA003"))
    assert unnamed.title == "居民身份证申领、换领申请表" and unnamed.applicants == (PERSON,)
    assert unnamed.applicant_choice == ""


def test_either_kind_prints_both_blocks_and_a_tick_line(cat: Catalogue) -> None:
    item = cat.item("BDC001")
    assert item.applicant == "any"
    form = application_form(cat, item)
    assert form.applicants == (PERSON, ORGANISATION)
    assert "□ 个人" in form.applicant_choice and "本人（本单位）" in form.declaration
    fees = dict(form.receiving)["收费标准"]
    assert "不动产登记费" in fees


def test_gap_allowed_material_says_so(cat: Catalogue) -> None:
    item = next(i for i in cat.items if any(m.gap_allowed for m in i.materials))
    form = application_form(cat, item)
    gap = next(line for line, m in zip(form.materials, item.materials, strict=True) if m.gap_allowed)
    assert gap.need.endswith("可容缺受理")


def test_applicant_kind_is_checked_and_defaults_to_any(cat: Catalogue, tmp_path: Path) -> None:
    data = cat.to_data()
    for item in data["items"]:
        item.pop("applicant")
    assert {i.applicant for i in Catalogue.from_data(data).items} == {"any"}
    copy = tmp_path / "catalogue"
    shutil.copytree(DATA, copy)
    path = copy / "items" / "ga.toml"
    text = path.read_text(encoding="utf-8")
    assert 'applicant = "person"' in text
    path.write_text(text.replace('applicant = "person"', 'applicant = "citizen"', 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as err:
        load(copy)
    assert any("applicant" in p and "citizen" in p for p in err.value.problems)
