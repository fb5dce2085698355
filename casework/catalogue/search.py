"""Finding a service item the way a villager or a clerk asks for it.

People type a fragment of the name (营业执照, 低保), the pinyin initials on a kiosk keyboard
("qysldj" for 企业设立登记), full pinyin ("dibao"), or the item code a notice shows. The index is
built once per catalogue (pypinyin is slow-ish, the catalogue is small and fixed), then each
query is a scan of ~150 short strings: well under a millisecond.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casework.catalogue.model import ServiceItem

_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def _fold(text: str) -> str:
    """Lower case, full-width to half-width (ＡＢＣ, １２３ from Chinese input methods), NFKC."""
    return unicodedata.normalize("NFKC", text).lower().strip()


def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of `text`, letters and digits only: 企业设立登记 -> (qiyesheli..., qysldj)."""
    from pypinyin import Style, lazy_pinyin  # 0.4 s to import: paid only by the first search

    folded = _fold(text)
    full = "".join(_NOT_ALNUM.sub("", p) for p in lazy_pinyin(folded))
    initials = "".join(_NOT_ALNUM.sub("", p) for p in lazy_pinyin(folded, style=Style.FIRST_LETTER))
    return full, initials


@dataclass(frozen=True)
class _Entry:
    item: ServiceItem
    code: str
    name: str
    keywords: tuple[str, ...]
    full: str
    initials: str
    keyword_pinyin: tuple[tuple[str, str], ...]


class SearchIndex:
    """Names, codes, keywords and their pinyin for every item, precomputed."""

    def __init__(self, items: Iterable[ServiceItem]) -> None:
        self._entries = [
            _Entry(
                item=item,
                code=item.code.lower(),
                name=_fold(item.name),
                keywords=tuple(_fold(k) for k in item.keywords),
                full=(keys := pinyin_keys(item.name))[0],
                initials=keys[1],
                keyword_pinyin=tuple(pinyin_keys(k) for k in item.keywords),
            )
            for item in items
        ]

    def search(self, query: str) -> list[ServiceItem]:
        """Every item matching ALL words of `query`, best first (ties: catalogue order)."""
        words = _fold(query).split()
        if not words:
            return []
        scored = []
        for position, entry in enumerate(self._entries):
            total = 0
            for word in words:
                score = _score(entry, word)
                if not score:
                    break
                total += score
            else:
                scored.append((-total, position, entry.item))
        scored.sort(key=lambda row: row[:2])
        return [row[2] for row in scored]


def _score(entry: _Entry, word: str) -> int:
    """How well one word matches one item; 0 = not at all. Exact beats prefix beats substring."""
    best = 0
    if word == entry.code:
        return 1000
    if entry.code.startswith(word):
        best = 400
    if word == entry.name:
        return 900
    if entry.name.startswith(word):
        best = max(best, 800)
    elif word in entry.name:
        best = max(best, 700)
    if any(word in k for k in entry.keywords):
        best = max(best, 600)
    plain = _NOT_ALNUM.sub("", word)
    if not plain or plain != word:  # Chinese or punctuation: pinyin cannot match
        return best
    if plain == entry.initials:
        best = max(best, 850)
    elif entry.initials.startswith(plain):
        best = max(best, 750)
    elif len(plain) >= 2 and plain in entry.initials:
        best = max(best, 500)
    if entry.full.startswith(plain):
        best = max(best, 650)
    elif len(plain) >= 3 and plain in entry.full:
        best = max(best, 450)
    for full, initials in entry.keyword_pinyin:
        if plain == initials or (len(plain) >= 3 and plain in full):
            best = max(best, 550)
    return best
