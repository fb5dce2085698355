"""Jinja filters both apps use: money in yuan, dates the Chinese way, masked ID and phone numbers.

Money is integer fen everywhere; only the page turns it into yuan, and it does so with integer
arithmetic (never float), so 123450 fen is always `¥1,234.50`. Masking is the default in every
list (DOMAIN.md, data protection); the masking rules themselves belong to casework.identity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask_babel import get_timezone

from casework import identity
from web.i18n import current_language


def yuan(fen: int | None) -> str:
    """`123450` -> `¥1,234.50`; negative amounts (refunds) get a leading minus."""
    if fen is None:
        return ""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"money must be integer fen, got {fen!r}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def _as_date(value: Any) -> dt.date | dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value) if "T" in value or " " in value else dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def date_cn(value: Any) -> str:
    """A date as `2026年11月25日` in Chinese, `2026-11-25` in English; text it cannot read as-is."""
    day = _as_date(value)
    if day is None:
        return "" if value is None else str(value)
    if isinstance(day, dt.datetime) and day.tzinfo is not None:
        day = day.astimezone(get_timezone())  # the China-time day, not the UTC one
    if current_language() == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def datetime_cn(value: Any) -> str:
    """A date and time as `2026年11月25日 14:05` (the time only if the value has one).

    An aware time (records carry UTC or +08:00) is shown in the app's time zone (China time by
    default, BABEL_DEFAULT_TIMEZONE); a naive one is taken to be local already.
    """
    moment = _as_date(value)
    if not isinstance(moment, dt.datetime):
        return date_cn(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(get_timezone())
    return f"{date_cn(moment.date())} {moment.hour:02d}:{moment.minute:02d}"


def mask_id(value: str | None) -> str:
    """`320682199001011234` -> `320682********1234` (casework.identity's rule)."""
    return identity.mask_id(str(value)) if value else ""


def mask_phone(value: str | None) -> str:
    """`13812345678` -> `138****5678`."""
    return identity.mask_phone(str(value)) if value else ""


def mask_credit_code(value: str | None) -> str:
    """`91320682MA1XXXXX3L` -> `91320682********3L`."""
    return identity.mask_credit_code(str(value)) if value else ""


def mask_name(value: str | None) -> str:
    """`张小三` -> `张*三`, for lists the public can see (e.g. a status board)."""
    return identity.mask_name(str(value)) if value else ""


def init_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        yuan=yuan, date_cn=date_cn, datetime_cn=datetime_cn, mask_id=mask_id, mask_phone=mask_phone,
        mask_credit_code=mask_credit_code, mask_name=mask_name,
    )
