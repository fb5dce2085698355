"""Who applies: resident ID numbers, unified social credit codes, mobile numbers, and masking.

A clerk types these from a card held up at the window, so a rejection must say what is wrong
in words a clerk can act on ("the birth date 19991340 does not exist"), and a number that is
right must never be refused. Where python-stdnum does the job it is used (check characters,
birth date); where it is stricter than reality it is not:
- stdnum.cn.ric refuses a region code that did not exist in the birth year, but a resident ID
  carries the code of the place that ISSUED it: someone born in 1980 in Rugao county holds
  320682..., a code created in 1991. So any region code that has ever existed is accepted
  (stdnum's table of codes), plus 830000 (Taiwan residents' residence permits, which share the
  format).
- stdnum.cn.uscc requires the first 8 characters to be digits, but GB 32100 registration
  authorities include A (central military reform office), N (agriculture: village collective
  economic organisations, common here) and Y (other). So the structure is checked here and only
  the check character is computed by stdnum.

A wrong check character is reported as "probably a mistyped digit" without revealing the
expected character: revealing it would let anyone turn a made-up number into a valid one.

Masking follows the national guidance (DOMAIN.md): lists show ``320682********1234`` and
``138****5678``; unmasking is logged by the web layer.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from stdnum import numdb
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2

from casework.messages import N_, RuleError

_SEPARATORS = re.compile(r"[\s\-_‐‑‒–—―]+")
_EXTRA_REGIONS = {"830000": "台湾居民居住证"}
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_AUTHORITIES = "123456789ANY"


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), spaces and dashes removed, upper case (x -> X)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def normalise_text(text: str) -> str:
    """A name or address as stored: NFC, surrounding space stripped, inner runs of space single."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


# --- resident ID (GB 11643) --------------------------------------------------------------------


@dataclass(frozen=True)
class ResidentId:
    """A checked 18-character resident ID number and what it says."""

    number: str
    region_code: str
    region_name: str
    birth_date: dt.date
    sex: str  # "male" | "female" (17th digit odd | even)

    @property
    def masked(self) -> str:
        return mask_id(self.number)

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    def __str__(self) -> str:
        return self.number


def _region_name(code: str) -> str | None:
    if code in _EXTRA_REGIONS:
        return _EXTRA_REGIONS[code]
    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(code):
        info.update(props)
    if "province" not in info or "county" not in info:
        return None
    county = info["county"].split(",")[-1]
    county = county.split("]", 1)[1] if county.startswith("[") else county
    province = unicodedata.normalize("NFC", info["province"])
    return county if county == province or code.endswith("0000") else province + county


def parse_resident_id(text: str, *, today: dt.date | None = None) -> ResidentId:
    """Check an 18-character resident ID; RuleError (code ``identity.id_*``) saying what is wrong."""
    number = normalise(text) if isinstance(text, str) else ""
    if not number:
        raise RuleError("identity.empty", N_("No ID number was given"))
    bad = [c for c in number if not (c.isdigit() and c.isascii()) and c != "X"]
    if bad:
        raise RuleError("identity.id_bad_character",
                        N_("\"%(char)s\" cannot appear in a resident ID number: only digits, and X as the last "
                           "character"), char=bad[0])
    if len(number) == 15:
        raise RuleError("identity.id_old_15_digits",
                        N_("This is a 15-digit first-generation ID number; those cards are no longer valid, "
                           "please use the 18-digit number on the current card"))
    if len(number) != 18:
        raise RuleError("identity.id_length",
                        N_("A resident ID number has 18 characters, this one has %(found)s"), found=len(number))
    if "X" in number[:-1]:
        raise RuleError("identity.id_x_misplaced", N_("X can only be the last character of a resident ID number"))
    region = number[:6]
    region_name = _region_name(region)
    if region_name is None:
        raise RuleError("identity.id_unknown_region",
                        N_("The first six digits %(value)s are not a region code of China; please check them"),
                        value=region)
    date_text = number[6:14]
    try:
        birth = dt.date(int(date_text[:4]), int(date_text[4:6]), int(date_text[6:]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1900:
        raise RuleError("identity.id_bad_birth_date",
                        N_("The birth date %(value)s (digits 7-14) does not exist; please check them"),
                        value=date_text)
    if birth > (today or dt.date.today()):
        raise RuleError("identity.id_future_birth_date",
                        N_("The birth date %(value)s (digits 7-14) is in the future; please check them"),
                        value=date_text)
    if number[-1] != mod_11_2.calc_check_digit(number[:-1]):
        raise RuleError("identity.id_bad_check",
                        N_("The check character (the last one) does not match the other 17: probably a digit "
                           "was mistyped or two were swapped; please compare with the card"))
    sex = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number, region, region_name, birth, sex)


def is_resident_id(text: str, *, today: dt.date | None = None) -> bool:
    try:
        parse_resident_id(text, today=today)
    except RuleError:
        return False
    return True


def birth_date(id_number: str) -> dt.date:
    """The birth date a (valid) resident ID states."""
    return parse_resident_id(id_number).birth_date


def sex(id_number: str) -> str:
    """"male" or "female", as a (valid) resident ID states (17th digit odd or even)."""
    return parse_resident_id(id_number).sex


# --- unified social credit code (GB 32100) ----------------------------------------------------


def parse_credit_code(text: str) -> str:
    """Check an 18-character unified social credit code; return it normalised."""
    code = normalise(text) if isinstance(text, str) else ""
    if not code:
        raise RuleError("identity.empty", N_("No credit code was given"))
    if len(code) != 18:
        raise RuleError("identity.uscc_length",
                        N_("A unified social credit code has 18 characters, this one has %(found)s"),
                        found=len(code))
    bad = [c for c in code if c not in _USCC_ALPHABET]
    if bad:
        raise RuleError("identity.uscc_bad_character",
                        N_("\"%(char)s\" cannot appear in a unified social credit code (letters I, O, S, V and Z "
                           "are never used)"), char=bad[0])
    if code[0] not in _USCC_AUTHORITIES:
        raise RuleError("identity.uscc_bad_authority",
                        N_("The first character %(value)s is not a registration authority (1-9, A, N or Y)"),
                        value=code[0])
    if not code[2:8].isdigit():
        raise RuleError("identity.uscc_bad_region",
                        N_("Characters 3-8 (%(value)s) must be the six digits of a region code"), value=code[2:8])
    if code[-1] != uscc.calc_check_digit(code[:-1]):
        raise RuleError("identity.uscc_bad_check",
                        N_("The check character (the last one) does not match the other 17: probably a character "
                           "was mistyped or two were swapped; please compare with the licence"))
    return code


def is_credit_code(text: str) -> bool:
    try:
        parse_credit_code(text)
    except RuleError:
        return False
    return True


# --- mobile numbers ---------------------------------------------------------------------------


def parse_mobile(text: str) -> str:
    """A mainland mobile number as 11 digits (13x-19x); spaces, dashes, +86 / 0086 tolerated."""
    number = normalise(text) if isinstance(text, str) else ""
    number = number.replace("(", "").replace(")", "")
    if not number:
        raise RuleError("identity.empty", N_("No mobile number was given"))
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("0086"):
        number = number[4:]
    elif number.startswith("86") and len(number) == 13:
        number = number[2:]
    bad = [c for c in number if not (c.isdigit() and c.isascii())]
    if bad:
        raise RuleError("identity.phone_bad_character",
                        N_("\"%(char)s\" cannot appear in a mobile number: only digits"), char=bad[0])
    if len(number) != 11:
        raise RuleError("identity.phone_length", N_("A mobile number has 11 digits, this one has %(found)s"),
                        found=len(number))
    if not re.fullmatch(r"1[3-9]\d{9}", number):
        raise RuleError("identity.phone_not_mobile",
                        N_("%(value)s is not a mainland mobile number: those begin with 13 to 19"), value=number)
    return number


def is_mobile(text: str) -> bool:
    try:
        parse_mobile(text)
    except RuleError:
        return False
    return True


# --- masking ----------------------------------------------------------------------------------


def _mask(text: str, keep_start: int, keep_end: int) -> str:
    hidden = len(text) - keep_start - keep_end
    if hidden <= 0:
        return "*" * len(text)
    return text[:keep_start] + "*" * hidden + (text[-keep_end:] if keep_end else "")


def mask_id(number: str) -> str:
    """``320682199001011234`` -> ``320682********1234``: region and the last four kept, the
    birth date hidden. Anything else (a passport, a half-typed number) keeps only its first and
    last two characters, so it is never shown in full either."""
    value = normalise(number)
    if len(value) == 18:
        return _mask(value, 6, 4)
    if len(value) == 15:  # a first-generation number: YYMMDD birth date, then a 3-digit sequence
        return _mask(value, 6, 3)
    return _mask(value, 2, 2)


def mask_phone(number: str) -> str:
    """``13812345678`` -> ``138****5678``; other lengths keep their first and last two."""
    value = normalise(number)
    if len(value) == 11:
        return _mask(value, 3, 4)
    return _mask(value, 2, 2)


def mask_credit_code(code: str) -> str:
    """``91320682MA1XXXXX3L`` -> ``91320682********3L``: authority, category and region kept (they
    say what kind of organisation and where), the organisation code hidden. A sole trader's
    code (92...) can point at a person, so it is masked like the rest."""
    value = normalise(code)
    if len(value) == 18:
        return _mask(value, 8, 2)
    return _mask(value, 2, 2)


def mask_name(name: str) -> str:
    """``张三`` -> ``张*``, ``张小三`` -> ``张*三``, ``欧阳小明`` -> ``欧**明``: the family name and
    the last character, as receipts and notice boards commonly show."""
    value = normalise_text(name)
    if len(value) <= 1:
        return "*" * len(value)
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
