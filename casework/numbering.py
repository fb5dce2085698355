"""Case, service-card and payment-notice numbers: made offline, read aloud, typed back safely.

A village room creates cases with no link to the city, so a number cannot come from a central
counter. It is built from what only its creator knows and no one else can produce:

    case           T0101-261125-0007-X    place (origin) - date YYMMDD - counter - check
    service card   KC-261125-00012-7      K + place ...
    payment notice JT0101-261125-0007-3   J + place ...

- The place is the node's origin id (docs/contracts.md: ``T####`` town centre, ``V######``
  village room, ``S##`` sub-centre, ``C`` central), so two places never collide; the counter is
  the origin's own per-day counter, so one place never collides with itself. The date is the
  origin's day of creation (20YY); it is part of the name, not a legal date.
- The counter has a fixed width per tier: 4 digits for town centres and village rooms (9,999 a
  day), 5 for central and sub-centres. With every part fixed in length, each kind of number has
  one length per tier, so a dropped or doubled character is caught by its length alone.
- Numbers are digits except the leading letters, and the check character is a digit or ``X``,
  exactly like the last character of a resident ID card: everyone in China already reads it
  aloud ("叉") and types it. Dashes only group the number for reading; input may have spaces,
  dashes, lower case or full-width characters, all ignored, since they carry no information.

Why ISO 7064 MOD 11-2 for the check character (``stdnum.iso7064.mod_11_2``): each letter is
first replaced by one digit (C=1, S=2, T=3, V=4, K=5, J=6), so characters and digits correspond one
to one, and the check makes ``sum(d_i * 2**(n-i)) = 1 (mod 11)`` with the check character (0-9 or
X = 10) at weight 1. As 11 is prime and every weight 2**k is invertible mod 11:
- a single substituted character changes the sum by ``(d' - d) * 2**k`` with ``0 < |d' - d| <= 10``:
  never 0 mod 11, so it is always detected;
- swapping two different neighbours changes it by ``(d_i - d_j) * (2**(k+1) - 2**k) =
  (d_i - d_j) * 2**k``: never 0 mod 11, so it is always detected (the check character included:
  its neighbour has weight 2, and ``(a - b) * (2 - 1)`` is never 0 mod 11 for a != b).
MOD 37,36 (alphanumeric, hybrid) was rejected because it does NOT catch every adjacent swap: for
72 (state, a, b) combinations the two orders reach the same state (tests/casework/test_numbering.py
demonstrates it); MOD 37-2 catches both but its check character can be ``*``, awkward to print and
to say on the phone; MOD 97-10 needs two check digits. A substituted letter that is still a
valid letter changes its digit and is caught the same way; any other is refused by the format.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from stdnum.iso7064 import mod_11_2

from casework.messages import N_, RuleError

KINDS = {"case": "", "card": "K", "payment": "J"}
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in KINDS.items()}
_LETTER_DIGIT = {"C": "1", "S": "2", "T": "3", "V": "4", "K": "5", "J": "6"}
# origin letter -> (digits after it, counter width)
_TIERS = {"T": (4, 4), "V": (6, 4), "S": (2, 5), "C": (0, 5)}
_ORIGIN = re.compile(r"T\d{4}|V\d{6}|S\d{2}|C")
_SEPARATORS = re.compile(r"[\s\-_‐‑‒–—―]+")
_WRONG_KIND = {
    ("card", "case"): N_("%(value)s is a service-card number, not a case number"),
    ("payment", "case"): N_("%(value)s is a payment-notice number, not a case number"),
    ("case", "card"): N_("%(value)s is a case number, not a service-card number"),
    ("payment", "card"): N_("%(value)s is a payment-notice number, not a service-card number"),
    ("case", "payment"): N_("%(value)s is a case number, not a payment-notice number"),
    ("card", "payment"): N_("%(value)s is a service-card number, not a payment-notice number"),
}


@dataclass(frozen=True)
class SerialNumber:
    """A checked number: what it names, and its text."""

    kind: str
    origin: str
    day: dt.date
    counter: int

    @property
    def compact(self) -> str:
        body = KINDS[self.kind] + self.origin + self.day.strftime("%y%m%d") + self._counter_text
        return body + _check_char(body)

    @property
    def text(self) -> str:
        """The printed form, grouped for reading aloud."""
        compact = self.compact
        return "-".join((KINDS[self.kind] + self.origin, self.day.strftime("%y%m%d"), self._counter_text,
                         compact[-1]))

    @property
    def _counter_text(self) -> str:
        return f"{self.counter:0{_TIERS[self.origin[0]][1]}d}"

    def __str__(self) -> str:
        return self.text


def _check_char(body: str) -> str:
    return mod_11_2.calc_check_digit("".join(_LETTER_DIGIT.get(c, c) for c in body))


def _make(kind: str, origin: str, day: dt.date, counter: int) -> SerialNumber:
    if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
        raise RuleError("numbering.bad_origin", N_("%(value)s is not a place code (T and 4 digits, V and 6 digits, "
                                                   "S and 2 digits, or C)"), value=repr(origin))
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date) or not 2000 <= day.year <= 2099:
        raise RuleError("numbering.bad_date", N_("%(value)s is not a date in 2000-2099"), value=repr(day))
    width = _TIERS[origin[0]][1]
    if isinstance(counter, bool) or not isinstance(counter, int) or not 1 <= counter < 10**width:
        raise RuleError("numbering.counter_out_of_range",
                        N_("The day's counter for %(origin)s must be 1 to %(max)s, not %(value)s"),
                        origin=origin, max=10**width - 1, value=repr(counter))
    return SerialNumber(kind, origin, day, counter)


def case_number(origin: str, day: dt.date, counter: int) -> SerialNumber:
    """The number of a case created at `origin` on `day` as that origin's `counter`-th of the day."""
    return _make("case", origin, day, counter)


def card_number(origin: str, day: dt.date, counter: int) -> SerialNumber:
    """The number of a service card (一卡通) issued at `origin` on `day`."""
    return _make("card", origin, day, counter)


def payment_notice_number(origin: str, day: dt.date, counter: int) -> SerialNumber:
    """The number of a payment notice (缴款通知单) issued at `origin` on `day`."""
    return _make("payment", origin, day, counter)


def normalise(text: str) -> str:
    """Full-width to half-width, upper case, separators and spaces removed."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def parse_number(text: str, kind: str) -> SerialNumber:
    """Read a typed number of the given kind; RuleError saying exactly what is wrong."""
    compact = normalise(text) if isinstance(text, str) else ""
    if not compact:
        raise RuleError("numbering.empty", N_("No number was given"))
    bad = [c for c in compact if not (c.isascii() and c.isalnum())]
    if bad:
        raise RuleError("numbering.bad_character",
                        N_("\"%(char)s\" cannot appear in this number: only letters, digits and dashes"), char=bad[0])
    found = _KIND_OF_PREFIX.get(compact[0], "case")
    if found != kind:
        raise RuleError("numbering.wrong_kind", _WRONG_KIND[found, kind], value=text.strip())
    prefix = KINDS[kind]
    letter = compact[len(prefix): len(prefix) + 1]
    if letter not in _TIERS:
        raise RuleError("numbering.bad_origin",
                        N_("%(value)s does not begin with %(prefix)sa place code (T, V, S or C and its digits)"),
                        value=text.strip(), prefix=prefix + " + " if prefix else "")
    origin_digits, width = _TIERS[letter]
    expected = len(prefix) + 1 + origin_digits + 6 + width + 1
    if len(compact) != expected:
        raise RuleError("numbering.bad_length",
                        N_("This number has %(found)s letters and digits (without dashes) but one from a place "
                           "starting with %(letter)s has %(expected)s: a character is missing or extra"),
                        letter=letter, expected=expected, found=len(compact))
    body, check = compact[:-1], compact[-1]
    start = len(prefix)
    origin = compact[start: start + 1 + origin_digits]
    date_text = compact[start + 1 + origin_digits: start + 7 + origin_digits]
    counter_text = compact[start + 7 + origin_digits: -1]
    if not (origin[1:] + date_text + counter_text).isdigit() or not (check.isdigit() or check == "X"):
        raise RuleError("numbering.bad_format",
                        N_("%(value)s is not well formed: only digits follow the place letter, and the last "
                           "character is a digit or X"), value=text.strip())
    if check != _check_char(body):
        raise RuleError("numbering.bad_check",
                        N_("The check character of %(value)s does not match: a character was probably mistyped "
                           "or two neighbours swapped; please compare with the printed number"),
                        value=text.strip())
    try:
        day = dt.date(2000 + int(date_text[:2]), int(date_text[2:4]), int(date_text[4:]))
    except ValueError:
        raise RuleError("numbering.bad_date", N_("The date part %(value)s of this number is not a real date"),
                        value=date_text) from None
    counter = int(counter_text)
    if counter == 0:
        raise RuleError("numbering.counter_out_of_range", N_("The counter part of this number cannot be 0"))
    return SerialNumber(kind, origin, day, counter)


def parse_case_number(text: str) -> SerialNumber:
    """Read a typed case number (tolerant of spaces, dashes, lower case; strict on the check)."""
    return parse_number(text, "case")


def parse_card_number(text: str) -> SerialNumber:
    return parse_number(text, "card")


def parse_payment_notice_number(text: str) -> SerialNumber:
    return parse_number(text, "payment")
