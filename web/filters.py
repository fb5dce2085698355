"""Jinja filters both apps use: money in yuan, dates the Chinese way, masked ID and phone numbers.

Money is integer fen everywhere; only the page turns it into yuan, and it does so with integer
arithmetic (never float), so 123450 fen is always `¥1,234.50`. Masking is the default in every
list (DOMAIN.md, data protection); the masking rules themselves belong to casework.identity.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask

from web.i18n import current_language

try:  # casework.identity owns the masking rules; until it lands, the same documented format
    from casework.identity import mask_id as _mask_id
    from casework.identity import mask_phone as _mask_phone
except ImportError:  # pragma: no cover - removed once casework.identity exists everywhere
    _mask_id = None
    _mask_phone = None


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
    if current_language() == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def datetime_cn(value: Any) -> str:
    """A date and time as `2026年11月25日 14:05` (the time only if the value has one)."""
    moment = _as_date(value)
    if not isinstance(moment, dt.datetime):
        return date_cn(value)
    return f"{date_cn(moment.date())} {moment.hour:02d}:{moment.minute:02d}"


def mask_id(value: str | None) -> str:
    """`320682199001011234` -> `320682********1234`."""
    if not value:
        return ""
    if _mask_id is not None:
        return _mask_id(value)
    text = str(value)
    return text[:6] + "*" * (len(text) - 10) + text[-4:] if len(text) > 10 else "*" * len(text)


def mask_phone(value: str | None) -> str:
    """`13812345678` -> `138****5678`."""
    if not value:
        return ""
    if _mask_phone is not None:
        return _mask_phone(value)
    text = re.sub(r"\s+", "", str(value))
    return text[:3] + "*" * (len(text) - 7) + text[-4:] if len(text) > 7 else "*" * len(text)


def init_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        yuan=yuan, date_cn=date_cn, datetime_cn=datetime_cn, mask_id=mask_id, mask_phone=mask_phone
    )
