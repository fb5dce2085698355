"""Templates keep to the Content-Security-Policy web sends (web/security.py).

The CSP refuses inline scripts, event-handler attributes and style attributes, and a browser
drops them silently: a page would look fine in review and be broken for the clerk. So every
template of web/, node/ and central/ is checked here as text.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "event-handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "resource from another site": re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//""", re.I),
}


def templates() -> list[Path]:
    return sorted(p for package in ("web", "node", "central") for p in (ROOT / package).rglob("*.html"))


def test_templates_keep_to_the_csp() -> None:
    found = templates()
    assert any(p.name == "base.html" for p in found)
    problems = [
        f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}: {what}"
        for path in found
        for text in [path.read_text(encoding="utf-8")]
        for what, pattern in FORBIDDEN.items()
        for match in pattern.finditer(text)
    ]
    assert problems == []


def test_the_check_can_fail() -> None:
    bad = '<p style="color:red" onclick="x()"><script>alert(1)</script><img src="https://cdn.example/a.png">'
    hits = {what for what, pattern in FORBIDDEN.items() if pattern.search(bad)}
    assert hits == {"inline <script>", "event-handler attribute", "style attribute", "resource from another site"}
    assert not any(p.search('<script src="/static/web/js/bianmin.js" defer></script>') for p in FORBIDDEN.values())
