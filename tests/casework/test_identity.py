"""Resident IDs, credit codes, mobile numbers: every rejection kind, normalisation and masking."""

from __future__ import annotations

import datetime as dt

import pytest
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2

from casework.identity import (
    birth_date,
    is_credit_code,
    is_mobile,
    is_resident_id,
    mask_credit_code,
    mask_id,
    mask_name,
    mask_phone,
    normalise,
    parse_credit_code,
    parse_mobile,
    parse_resident_id,
    sex,
)
from casework.messages import RuleError

TODAY = dt.date(2026, 11, 25)


def with_check(first17: str) -> str:
    """A real-format ID: 17 digits and their GB 11643 check character (synthetic, nobody's)."""
    return first17 + mod_11_2.calc_check_digit(first17)


RUGAO_1980 = with_check("32068219800101123")  # born before 如皋市's code existed (1991)
RUGAO_WOMAN = with_check("32068219900101122")
BEIJING_X = with_check("11010519491231002")
assert BEIJING_X.endswith("X")


def expect(code: str, func, text: str, **kw) -> RuleError:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleError) as caught:
        func(text, **kw)
    assert caught.value.code == code, caught.value
    return caught.value


def test_valid_ids_and_what_they_say() -> None:
    man = parse_resident_id(RUGAO_1980, today=TODAY)
    assert man.number == RUGAO_1980 and str(man) == RUGAO_1980
    assert man.region_code == "320682" and man.region_name == "江苏省如皋市"
    assert man.birth_date == dt.date(1980, 1, 1) and man.sex == "male"
    assert man.age_on(TODAY) == 46 and man.age_on(dt.date(2026, 1, 1)) == 46
    assert man.age_on(dt.date(2025, 12, 31)) == 45
    assert man.masked == "320682********" + RUGAO_1980[-4:]
    woman = parse_resident_id(RUGAO_WOMAN)
    assert woman.sex == "female" and sex(RUGAO_WOMAN) == "female" and sex(RUGAO_1980) == "male"
    assert birth_date(BEIJING_X) == dt.date(1949, 12, 31)
    assert parse_resident_id(BEIJING_X).region_name == "北京市朝阳区"
    hk = parse_resident_id(with_check("81000019900101123"))
    assert hk.region_name == "香港特别行政区"
    assert parse_resident_id(with_check("83000019900101124")).region_name == "台湾居民居住证"
    assert is_resident_id(RUGAO_1980) and not is_resident_id(RUGAO_1980[:-1])


def test_id_normalisation() -> None:
    lower = BEIJING_X[:-1] + "x"
    assert parse_resident_id(lower).number == BEIJING_X
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in BEIJING_X)
    assert parse_resident_id(full_width).number == BEIJING_X
    spaced = f" {BEIJING_X[:6]} {BEIJING_X[6:14]} {BEIJING_X[14:]} "
    assert parse_resident_id(spaced).number == BEIJING_X
    assert normalise("３２０６８２－ｘ") == "320682X"


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("", "identity.empty", "No ID number"),
        ("  ", "identity.empty", "No ID number"),
        ("32068219800101123A", "identity.id_bad_character", '"A"'),
        ("3206821980O101123X", "identity.id_bad_character", '"O"'),
        ("320682800101123", "identity.id_old_15_digits", "15-digit"),
        ("3206821980010112", "identity.id_length", "this one has 16"),
        ("3206821980010112345", "identity.id_length", "this one has 19"),
        ("320682X98001011234", "identity.id_x_misplaced", "last character"),
        (with_check("99068219800101123"), "identity.id_unknown_region", "990682"),
        (with_check("32999919800101123"), "identity.id_unknown_region", "329999"),
        (with_check("32068219991340123"), "identity.id_bad_birth_date", "19991340"),
        (with_check("32068219900229123"), "identity.id_bad_birth_date", "19900229"),
        (with_check("32068218991231123"), "identity.id_bad_birth_date", "18991231"),
        (with_check("32068220261126123"), "identity.id_future_birth_date", "20261126"),
    ],
)
def test_id_rejections_say_what_is_wrong(text: str, code: str, says: str) -> None:
    error = expect(code, parse_resident_id, text, today=TODAY)
    assert says in str(error)


def test_wrong_check_character_is_caught_without_revealing_it() -> None:
    right = RUGAO_1980[-1]
    for wrong in "0123456789X":
        if wrong == right:
            continue
        error = expect("identity.id_bad_check", parse_resident_id, RUGAO_1980[:-1] + wrong)
        assert "mistyped" in str(error) and right not in error.params.values()
    # a mistyped sequence digit or two swapped digits are caught by the check character
    expect("identity.id_bad_check", parse_resident_id, RUGAO_1980[:15] + "9" + RUGAO_1980[16:])
    swapped = RUGAO_1980[:14] + RUGAO_1980[15] + RUGAO_1980[14] + RUGAO_1980[16:]
    expect("identity.id_bad_check", parse_resident_id, swapped)


def test_born_today_is_fine() -> None:
    assert parse_resident_id(with_check("32068220261125123"), today=TODAY).birth_date == TODAY


# --- credit codes ------------------------------------------------------------------------------


def credit(first17: str) -> str:
    return first17 + uscc.calc_check_digit(first17)


def test_valid_credit_codes() -> None:
    assert parse_credit_code("91110000600037341L") == "91110000600037341L"
    assert parse_credit_code(" 9111 0000 6000 3734 1l ") == "91110000600037341L"
    village_collective = credit("N2320682MF0000001")  # 农村集体经济组织: stdnum.cn.uscc refuses these
    assert parse_credit_code(village_collective) == village_collective
    other = credit("Y1320682MA0000001")
    assert is_credit_code(other)


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("", "identity.empty", "credit code"),
        ("91110000600037341", "identity.uscc_length", "this one has 17"),
        ("91110000600O37341L", "identity.uscc_bad_character", '"O"'),
        ("91110000600I37341L", "identity.uscc_bad_character", '"I"'),
        (credit("B1320682MA0000001"), "identity.uscc_bad_authority", "B"),
        (credit("9132A682MA0000001"), "identity.uscc_bad_region", "32A682"),
        ("91110000600037341M", "identity.uscc_bad_check", "mistyped"),
        ("91110000600073341L", "identity.uscc_bad_check", "swapped"),
    ],
)
def test_credit_code_rejections(text: str, code: str, says: str) -> None:
    assert says in str(expect(code, parse_credit_code, text))
    assert not is_credit_code(text)


# --- mobile numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678", "0086 13812345678",
     "86 13812345678", "１３８１２３４５６７８", "(+86) 138-1234-5678"],
)
def test_mobile_tolerates_spaces_dashes_and_country_code(text: str) -> None:
    assert parse_mobile(text) == "13812345678"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_mobile_ranges(prefix: str) -> None:
    assert is_mobile(prefix + "812345678")


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("", "identity.empty", "mobile"),
        ("1381234567a", "identity.phone_bad_character", '"A"'),
        ("138.1234.5678", "identity.phone_bad_character", '"."'),
        ("1381234567", "identity.phone_length", "this one has 10"),
        ("+86 1381234567", "identity.phone_length", "this one has 10"),
        ("051387654321", "identity.phone_length", "this one has 12"),
        ("12812345678", "identity.phone_not_mobile", "13 to 19"),
        ("23812345678", "identity.phone_not_mobile", "13 to 19"),
    ],
)
def test_mobile_rejections(text: str, code: str, says: str) -> None:
    assert says in str(expect(code, parse_mobile, text))


# --- masking -----------------------------------------------------------------------------------


def test_masking() -> None:
    assert mask_id("320682199001011234") == "320682********1234"
    assert mask_id("32068219900101123x") == "320682********123X"
    assert mask_id("320682900101123") == "320682******123"
    assert mask_id("E12345678") == "E1*****78"
    assert mask_id("") == ""
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("5551234") == "55***34"
    assert mask_credit_code("91110000600037341L") == "91110000********1L"
    assert mask_credit_code("9111") == "****"
    assert mask_name("张三") == "张*"
    assert mask_name("张小三") == "张*三"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name(" 阿依古丽·买买提 ") == "阿******提"
    assert mask_name("王") == "*"
    assert mask_name("") == ""


def test_masks_never_show_the_birth_date_or_the_middle() -> None:
    for number in (RUGAO_1980, RUGAO_WOMAN, BEIJING_X):
        masked = mask_id(number)
        assert len(masked) == 18 and number[6:14] not in masked and masked.count("*") == 8
