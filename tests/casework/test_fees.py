"""Fee standards: the data format of docs/contracts.md, every rejection, and the arithmetic."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.fees import (
    Assessment,
    FeeInput,
    FeeStandard,
    FeeStandardError,
    assess_case,
    parse_standard,
    yuan_text,
)
from casework.messages import RuleError

BASIS = "发改价格规〔2016〕2559号"


def standard(**fields: Any) -> dict[str, Any]:
    return {"code": "F0101", "name": "登记费", "basis": BASIS, **fields}


FIXED = standard(kind="fixed", amount_fen=8000, exemptions=["小微企业免收"], pre_fee=True)
PER_UNIT = standard(code="F0102", kind="per_unit", unit="本", unit_fen=1000, included=1)
TIERED = standard(
    code="F0103", kind="tiered", unit="平方米",
    tiers=[{"up_to": 100, "unit_fen": 50}, {"up_to": 300, "unit_fen": 40}, {"up_to": 0, "unit_fen": 30}],
)
RANGE = standard(code="F0104", kind="range", min_fen=1000, max_fen=5000)
PERCENT = standard(code="F0105", kind="percent", rate_ppm=1500, min_fen=500, max_fen=100_000)
ALL = [FIXED, PER_UNIT, TIERED, RANGE, PERCENT]


def problems_of(data: Any) -> list[str]:
    with pytest.raises(FeeStandardError) as caught:
        parse_standard(data)
    assert caught.value.code == "fees.invalid_standard"
    assert [e.english() for e in caught.value.errors] == caught.value.problems
    return caught.value.problems


@pytest.mark.parametrize("data", ALL, ids=lambda d: d["kind"])
def test_round_trip(data: dict[str, Any]) -> None:
    parsed = parse_standard(data)
    assert parse_standard(parsed.to_data()) == parsed
    assert parsed.to_data() == parse_standard(parsed.to_data()).to_data()
    # only plain data types, no floats: it is a signed record body
    for value in parsed.to_data().values():
        assert not isinstance(value, float)


def test_to_data_is_canonical_with_defaults() -> None:
    data = parse_standard(standard(kind="per_unit", unit="本", unit_fen=1000)).to_data()
    assert data == {
        "code": "F0101", "name": "登记费", "kind": "per_unit", "basis": BASIS, "pre_fee": False,
        "exemptions": [], "unit": "本", "unit_fen": 1000, "included": 0,
    }


def test_amounts() -> None:
    fixed, per_unit, tiered, ranged, percent = (parse_standard(d) for d in ALL)
    assert fixed.assess() == 8000 and fixed.assess(quantity=5) == 8000
    assert per_unit.assess(0) == 0 and per_unit.assess(1) == 0 and per_unit.assess(3) == 2000
    assert tiered.assess(0) == 0
    assert tiered.assess(100) == 5000
    assert tiered.assess(150) == 5000 + 50 * 40
    assert tiered.assess(400) == 5000 + 200 * 40 + 100 * 30
    assert ranged.assess() == 1000  # lower-bound charging (低限收费)
    assert percent.assess(base_fen=0) == 500  # raised to the minimum
    assert percent.assess(base_fen=1_000_000) == 1500
    assert percent.assess(base_fen=10**9) == 100_000  # capped


def test_percent_rounds_half_up_to_the_fen_then_clamps() -> None:
    pct = parse_standard(standard(kind="percent", rate_ppm=1500))
    assert pct.assess(base_fen=1000) == 2  # 1.5 fen -> 2
    assert pct.assess(base_fen=999) == 1  # 1.4985 fen -> 1
    assert pct.assess(base_fen=333) == 0  # 0.4995 fen -> 0
    assert pct.assess(base_fen=334) == 1  # 0.501 fen -> 1
    uncapped = parse_standard(standard(kind="percent", rate_ppm=500_000, max_fen=0))
    assert uncapped.assess(base_fen=10**11) == 5 * 10**10


def test_exemption_gives_zero_and_only_named_ones() -> None:
    fixed = parse_standard(FIXED)
    assert fixed.assess(exemption="小微企业免收") == 0
    with pytest.raises(RuleError) as caught:
        fixed.assess(exemption="熟人免收")
    assert caught.value.code == "fees.unknown_exemption"
    assert "熟人免收" in str(caught.value) and "F0101" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"quantity": -1}, "fees.out_of_range"),
        ({"quantity": 1.5}, "fees.not_whole"),
        ({"quantity": True}, "fees.not_whole"),
        ({"base_fen": -5}, "fees.out_of_range"),
        ({"base_fen": 10.0}, "fees.not_whole"),
    ],
)
def test_assess_refuses_bad_inputs(kwargs: dict[str, Any], code: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_standard(PERCENT).assess(**kwargs)
    assert caught.value.code == code


def test_every_problem_is_reported_at_once_with_its_field() -> None:
    problems = problems_of({"code": "F 1", "kind": "fixed", "amount_fen": 80.5, "amount_yuan": 80})
    assert problems == [
        "code: \"F 1\" must be 1-32 letters, digits, '.', '_' or '-'",
        "name: is required",
        "basis: is required",
        'amount_yuan: is not a field of a "fixed" fee standard',
        "amount_fen: must be a whole number (fen, not yuan), not the decimal 80.5",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (standard(kind="flat", amount_fen=1), 'kind: "flat" is not one of fixed, per_unit, tiered, range, percent'),
        (standard(), "kind: is required"),
        (standard(kind="fixed"), "amount_fen: is required"),
        (standard(kind="fixed", amount_fen=-1), "amount_fen: must be between 0 and"),
        (standard(kind="fixed", amount_fen="80"), "amount_fen: must be a whole number, not '80'"),
        (standard(kind="fixed", amount_fen=True), "amount_fen: must be a whole number, not True"),
        (standard(kind="fixed", amount_fen=1, pre_fee="yes"), "pre_fee: must be true or false"),
        (standard(kind="fixed", amount_fen=1, exemptions="免"), "exemptions: must be a list"),
        (standard(kind="fixed", amount_fen=1, exemptions=["免", "免"]), 'exemptions[1]: "免" is listed twice'),
        (standard(kind="fixed", amount_fen=1, exemptions=[""]), "exemptions[0]: must be a non-empty name"),
        (standard(kind="fixed", amount_fen=1, name="  "), "name: must not be empty"),
        (standard(kind="fixed", amount_fen=1, name=5), "name: must be text"),
        (standard(kind="fixed", amount_fen=1, unit="本"), 'unit: is not a field of a "fixed" fee standard'),
        (standard(kind="per_unit", unit_fen=1), "unit: is required"),
        (standard(kind="per_unit", unit="本", unit_fen=1, included=-2), "included: must be between"),
        (standard(kind="tiered", unit="m2"), "tiers: must be a non-empty list"),
        (standard(kind="tiered", unit="m2", tiers=[]), "tiers: must be a non-empty list"),
        (standard(kind="tiered", unit="m2", tiers=[{"up_to": 10, "unit_fen": 1}]),
         "tiers[0].up_to: the last tier must have up_to = 0"),
        (standard(kind="tiered", unit="m2", tiers=[{"up_to": 0, "unit_fen": 1}, {"up_to": 0, "unit_fen": 1}]),
         "tiers[0].up_to: only the last tier may have up_to = 0"),
        (standard(kind="tiered", unit="m2",
                  tiers=[{"up_to": 10, "unit_fen": 1}, {"up_to": 10, "unit_fen": 1}, {"up_to": 0, "unit_fen": 1}]),
         "tiers[1].up_to: 10 must be above the previous tier's up_to 10"),
        (standard(kind="tiered", unit="m2", tiers=[{"up_to": 0, "unit_fen": 1.5}]),
         "tiers[0].unit_fen: must be a whole number (fen, not yuan)"),
        (standard(kind="tiered", unit="m2", tiers=[{"up_to": 0, "unit_fen": 1, "rate": 2}]),
         "tiers[0].rate: is not a field of a tier"),
        (standard(kind="tiered", unit="m2", tiers=[5]), "tiers[0]: must be a table"),
        (standard(kind="range", min_fen=5000, max_fen=1000), "max_fen: 1000 is below min_fen 5000"),
        (standard(kind="range", min_fen=5000), "max_fen: is required"),
        (standard(kind="percent", rate_ppm=1_000_001), "rate_ppm: must be between 0 and 1000000"),
        (standard(kind="percent", rate_ppm=0.15), "rate_ppm: must be a whole number (fen, not yuan)"),
        (standard(kind="percent", rate_ppm=10, min_fen=50, max_fen=10), "max_fen: 10 is below min_fen 50"),
        ([1, 2], "a fee standard must be a table"),
    ],
)
def test_rejections_name_the_field(data: Any, expected: str) -> None:
    problems = problems_of(data)
    assert any(p.startswith(expected) for p in problems), problems


def test_text_is_normalised() -> None:
    parsed = parse_standard(standard(kind="fixed", amount_fen=1, name=" Cafe\u0301 "))
    assert parsed.name == "Caf\u00e9"


def test_assess_case_lines_total_and_pre_fee_total() -> None:
    standards = [parse_standard(d) for d in ALL]
    result = assess_case(standards, [
        {"fee": "F0101"},
        FeeInput("F0102", quantity=4),
        {"fee": "F0105", "base_fen": 2_000_000, "quantity": 1, "exemption": None},
    ])
    assert isinstance(result, Assessment)
    assert [line.amount_fen for line in result.lines] == [8000, 3000, 3000]
    assert result.total_fen == 14000
    assert result.pre_fee_total_fen == 8000
    data = result.to_data()
    assert data["total_fen"] == 14000 and data["lines"][1]["unit"] == "本"
    by_code = {s.code: s for s in standards}
    exempted = assess_case(by_code, [FeeInput("F0101", exemption="小微企业免收")])
    assert exempted.total_fen == 0 and exempted.pre_fee_total_fen == 0
    assert assess_case(by_code, []).total_fen == 0


@pytest.mark.parametrize(
    ("inputs", "code"),
    [
        ([{"fee": "F9999"}], "fees.unknown_standard"),
        ([{"fee": "F0101"}, {"fee": "F0101"}], "fees.duplicate_line"),
        ([{"fee": "F0101", "amount_fen": 1}], "fees.unknown_key"),
        ([{"quantity": 1}], "fees.missing"),
        ([{"fee": "F0102", "quantity": -1}], "fees.out_of_range"),
    ],
)
def test_assess_case_refuses(inputs: list[dict[str, Any]], code: str) -> None:
    with pytest.raises(RuleError) as caught:
        assess_case([parse_standard(d) for d in ALL], inputs)
    assert caught.value.code == code


def test_yuan_text() -> None:
    assert yuan_text(0) == "0.00"
    assert yuan_text(5) == "0.05"
    assert yuan_text(123456) == "1234.56"
    assert yuan_text(-150) == "-1.50"
    with pytest.raises(RuleError):
        yuan_text(1.5)  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------

fen = st.integers(min_value=0, max_value=10**9)


@st.composite
def standards(draw: st.DrawFn) -> FeeStandard:
    kind = draw(st.sampled_from(["fixed", "per_unit", "tiered", "range", "percent"]))
    extra: dict[str, Any]
    if kind == "fixed":
        extra = {"amount_fen": draw(fen)}
    elif kind == "per_unit":
        extra = {"unit": "件", "unit_fen": draw(fen), "included": draw(st.integers(0, 10))}
    elif kind == "tiered":
        bounds = sorted(draw(st.sets(st.integers(1, 10_000), max_size=4)))
        rates = draw(st.lists(fen, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
        extra = {"unit": "平方米",
                 "tiers": [{"up_to": b, "unit_fen": r} for b, r in zip([*bounds, 0], rates, strict=True)]}
    elif kind == "range":
        low, high = sorted(draw(st.lists(fen, min_size=2, max_size=2)))
        extra = {"min_fen": low, "max_fen": high}
    else:
        low = draw(fen)
        high = draw(st.one_of(st.just(0), st.integers(low, 10**10)))
        extra = {"rate_ppm": draw(st.integers(0, 1_000_000)), "min_fen": low, "max_fen": high}
    return parse_standard(standard(kind=kind, exemptions=["免收"], **extra))


quantities = st.integers(min_value=0, max_value=100_000)
bases = st.integers(min_value=0, max_value=10**11)


@settings(max_examples=300, deadline=None)
@given(standards(), quantities, quantities, bases, bases)
def test_never_negative_and_monotone(s: FeeStandard, q1: int, q2: int, b1: int, b2: int) -> None:
    (q1, q2), (b1, b2) = sorted((q1, q2)), sorted((b1, b2))
    low, high = s.assess(q1, b1), s.assess(q2, b2)
    assert 0 <= low <= high
    assert s.assess(q1, b1) <= s.assess(q2, b1) and s.assess(q1, b1) <= s.assess(q1, b2)
    assert s.assess(q2, b2, exemption="免收") == 0
    assert isinstance(high, int)
    assert parse_standard(s.to_data()) == s


@settings(max_examples=100, deadline=None)
@given(fen, fen, quantities, bases)
def test_range_charges_its_lower_bound(a: int, b: int, q: int, base: int) -> None:
    low, high = sorted((a, b))
    s = parse_standard(standard(kind="range", min_fen=low, max_fen=high))
    assert s.assess(q, base) == low


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1_000_000), bases)
def test_percent_is_the_rounded_exact_share(rate: int, base: int) -> None:
    from fractions import Fraction

    s = parse_standard(standard(kind="percent", rate_ppm=rate))
    exact = Fraction(base * rate, 1_000_000)
    assert abs(Fraction(s.assess(base_fen=base)) - exact) <= Fraction(1, 2)
    if exact - int(exact) == Fraction(1, 2):
        assert s.assess(base_fen=base) == int(exact) + 1  # half up
