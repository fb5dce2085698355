"""The title and head blocks of every template hold what belongs there: a title is text, the head
holds links and meta, never page content (a section pasted into them once showed its table in the
browser's tab title and ahead of the page)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"{%-?\s*block\s+(title|head)\s*-?%}(.*?){%-?\s*endblock", re.S)
HEAD_TAGS = re.compile(r"<(?!/?(?:link|meta|style|script|noscript)\b)[a-zA-Z/]")


def templates() -> list[Path]:
    return [p for package in ("web", "node", "central") for p in (ROOT / package).rglob("*.html")]


def test_title_and_head_blocks_hold_no_page_content() -> None:
    bad = []
    for path in templates():
        for name, body in BLOCK.findall(path.read_text(encoding="utf-8")):
            if (name == "title" and "<" in body) or (name == "head" and HEAD_TAGS.search(body)):
                bad.append(f"{path.relative_to(ROOT)}: block {name}")
    assert len(templates()) > 50
    assert bad == []
