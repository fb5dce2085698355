"""Case, card and payment-notice numbers: format, tolerance, and the check character's promise."""

from __future__ import annotations

import datetime as dt
import itertools
import string

import pytest
from stdnum.iso7064 import mod_37_36

from casework.messages import RuleError
from casework.numbering import (
    SerialNumber,
    card_number,
    case_number,
    parse_card_number,
    parse_case_number,
    parse_number,
    parse_payment_notice_number,
    payment_notice_number,
)

DAY = dt.date(2026, 11, 25)
MAKERS = {"case": case_number, "card": card_number, "payment": payment_notice_number}
ORIGINS = ["T0101", "V010203", "S01", "C"]
ALPHABET = string.digits + string.ascii_uppercase


def samples() -> list[SerialNumber]:
    """Numbers of every kind and tier, with check characters 0-9 and X among them."""
    result = []
    for make in MAKERS.values():
        for origin in ORIGINS:
            for counter in (1, 7, 1234, 9999):
                result.append(make(origin, DAY, counter))
    result.append(case_number("C", dt.date(2031, 2, 28), 99999))
    assert {n.compact[-1] for n in result} >= {"X", "0", "7"}
    return result


SAMPLES = samples()


def test_format_examples() -> None:
    assert case_number("T0101", DAY, 7).text == "T0101-261125-0007-7"
    assert case_number("V010203", DAY, 7).text == "V010203-261125-0007-9"
    assert case_number("C", DAY, 7).text == "C-261125-00007-4"
    assert card_number("S01", DAY, 7).text == "KS01-261125-00007-X"
    assert payment_notice_number("T0101", DAY, 7).text == "JT0101-261125-0007-8"
    assert str(case_number("T0101", DAY, 7)) == "T0101-261125-0007-7"
    assert case_number("T0101", DAY, 7).compact == "T010126112500077"
    # fits one line of a 58 mm receipt printer (32 characters) with its label "办件编号：" beside it
    assert max(len(n.text) for n in SAMPLES) == len("KV010203-261125-0007-5") == 22


@pytest.mark.parametrize("number", SAMPLES, ids=str)
def test_round_trip_and_tolerance(number: SerialNumber) -> None:
    parse = {"case": parse_case_number, "card": parse_card_number, "payment": parse_payment_notice_number}[
        number.kind]
    assert parse(number.text) == number
    assert parse(number.compact) == number
    assert parse(" " + number.text.lower() + " ") == number
    assert parse(" ".join(number.compact)) == number
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in number.text)
    assert parse(full_width) == number


@pytest.mark.parametrize("number", SAMPLES, ids=str)
def test_every_single_substitution_is_detected(number: SerialNumber) -> None:
    for text in (number.text, number.compact):
        for i, original in enumerate(text):
            for c in ALPHABET:
                if c == original:
                    continue
                typed = text[:i] + c + text[i + 1:]
                with pytest.raises(RuleError):
                    parse_number(typed, number.kind)


@pytest.mark.parametrize("number", SAMPLES, ids=str)
def test_every_adjacent_swap_is_detected(number: SerialNumber) -> None:
    for text in (number.text, number.compact):
        for i in range(len(text) - 1):
            a, b = text[i], text[i + 1]
            if a == b:
                continue
            typed = text[:i] + b + a + text[i + 2:]
            if "-" in (a, b):
                # moving a dash changes no character of the number: it still names the same one
                assert parse_number(typed, number.kind) == number
                continue
            with pytest.raises(RuleError) as caught:
                parse_number(typed, number.kind)
            assert caught.value.code in {"numbering.bad_check", "numbering.bad_format", "numbering.bad_origin",
                                         "numbering.wrong_kind", "numbering.bad_date"}


def test_dropped_or_doubled_character_is_caught_by_length() -> None:
    number = case_number("T0101", DAY, 7)
    for i in range(len(number.compact)):
        for typed in (number.compact[:i] + number.compact[i + 1:],
                      number.compact[:i] + number.compact[i] + number.compact[i:]):
            with pytest.raises(RuleError):
                parse_case_number(typed)


def test_a_hybrid_mod_37_36_check_would_miss_a_swap() -> None:
    """Why not MOD 37,36 (the docstring's claim): swapped counter digits keep it valid."""
    assert mod_37_36.is_valid("T010126112545R")
    assert mod_37_36.is_valid("T010126112554R")
    swaps_missed = 0
    for a, b in itertools.permutations(ALPHABET, 2):
        body = "T0101261125" + a + b
        valid = body + mod_37_36.calc_check_digit(body)
        if mod_37_36.is_valid(body[:-2] + b + a + valid[-1]):
            swaps_missed += 1
    assert swaps_missed > 0


@pytest.mark.parametrize(
    ("text", "kind", "code", "says"),
    [
        ("", "case", "numbering.empty", "No number"),
        ("  - ", "case", "numbering.empty", "No number"),
        ("T0101-261125-0007-7!", "case", "numbering.bad_character", '"!"'),
        ("T0101-261125-0007-乙", "case", "numbering.bad_character", '"乙"'),
        ("KT0101-261125-0007-6", "case", "numbering.wrong_kind", "service-card number, not a case number"),
        ("JT0101-261125-0007-8", "card", "numbering.wrong_kind", "payment-notice number, not a service-card"),
        ("T0101-261125-0007-7", "payment", "numbering.wrong_kind", "case number, not a payment-notice"),
        ("X0101-261125-0007-7", "case", "numbering.bad_origin", "place code"),
        ("KX0101-261125-0007-7", "card", "numbering.bad_origin", "K + a place code"),
        ("T0101-261125-007-7", "case", "numbering.bad_length", "has 15 letters and digits"),
        ("T0101-261125-00007-7", "case", "numbering.bad_length", "has 17"),
        ("T0101-261125-0007-Y", "case", "numbering.bad_format", "digit or X"),
        ("T0101-2611A5-0007-7", "case", "numbering.bad_format", "only digits"),
        ("T0101-261125-0007-8", "case", "numbering.bad_check", "mistyped"),
        ("T0101-261125-0000-" + "0", "case", None, None),
    ],
)
def test_rejections_say_what_is_wrong(text: str, kind: str, code: str | None, says: str | None) -> None:
    if code is None:  # a counter of 0 with a correct check character: still refused
        from casework.numbering import _check_char

        text = text[:-1] + _check_char("T010126112500000"[:-1])
        code, says = "numbering.counter_out_of_range", "cannot be 0"
    with pytest.raises(RuleError) as caught:
        parse_number(text, kind)
    assert caught.value.code == code
    assert says in str(caught.value)


def test_impossible_date_with_a_valid_check_is_refused() -> None:
    from casework.numbering import _check_char

    body = "T0101261345" + "0007"
    with pytest.raises(RuleError) as caught:
        parse_case_number(body + _check_char(body))
    assert caught.value.code == "numbering.bad_date" and "261345" in str(caught.value)


@pytest.mark.parametrize(
    ("origin", "day", "counter", "code"),
    [
        ("T01", DAY, 1, "numbering.bad_origin"),
        ("t0101", DAY, 1, "numbering.bad_origin"),
        ("C1", DAY, 1, "numbering.bad_origin"),
        ("T0101", dt.datetime(2026, 11, 25, 10), 1, "numbering.bad_date"),
        ("T0101", dt.date(1999, 12, 31), 1, "numbering.bad_date"),
        ("T0101", DAY, 0, "numbering.counter_out_of_range"),
        ("T0101", DAY, 10_000, "numbering.counter_out_of_range"),
        ("C", DAY, 100_000, "numbering.counter_out_of_range"),
        ("T0101", DAY, True, "numbering.counter_out_of_range"),
    ],
)
def test_making_refuses_bad_parts(origin: str, day: dt.date, counter: int, code: str) -> None:
    with pytest.raises(RuleError) as caught:
        case_number(origin, day, counter)
    assert caught.value.code == code


def test_numbers_from_different_places_and_days_never_collide() -> None:
    seen: set[str] = set()
    for make, origin, day, counter in itertools.product(
        MAKERS.values(), ORIGINS, [DAY, DAY + dt.timedelta(1)], range(1, 40)
    ):
        text = make(origin, day, counter).compact
        assert text not in seen
        seen.add(text)
