"""The Chinese catalogue: complete, consistent with its sources, and the committed .mo current."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from web import translate

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalogue() -> dict[str, str]:
    with translate.PO.open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="zh") if m.id}


def test_every_msgid_has_a_chinese_translation() -> None:
    assert translate.untranslated() == []


def test_translations_keep_every_placeholder() -> None:
    wrong = {msgid: text for msgid, text in catalogue().items()
             if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))}
    assert wrong == {}


def test_committed_mo_matches_the_po() -> None:
    assert translate.MO.read_bytes() == translate.compiled(), "run `python -m web.translate compile`"


# The shared page pieces; other parts of web/ and the apps add their strings as web/README.md says.
PIECES = tuple(f"web/{name}" for name in (
    "auth.py", "errors.py", "filters.py", "i18n.py", "navigation.py", "notices.py", "roles.py",
    "templates/base.html", "templates/macros.html", "templates/login.html", "templates/resume.html",
    "templates/error.html", "templates/notice.html",
))


def test_every_string_of_the_page_pieces_is_in_the_catalogue() -> None:
    known = catalogue()
    found = [m.id for m in translate.extract(PIECES) if m.id]
    assert "Sign in" in found and "Village clerk" in found  # the extraction itself works
    missing = sorted(msgid for msgid in found if msgid not in known)
    assert missing == [], "run `python -m web.translate update` and translate the new strings"


def test_the_check_can_fail(tmp_path) -> None:  # type: ignore[no-untyped-def]
    po = tmp_path / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Sign in"\nmsgstr ""\n\n#, fuzzy\nmsgid "Print"\nmsgstr "打印"\n', encoding="utf-8")
    assert translate.untranslated(po) == ["Sign in", "Print"]


def test_every_marked_string_of_every_package_is_in_the_catalogue() -> None:
    """Strings marked in any package (casework's N_() included) reach the catalogue: without this, a
    rule's message added without `update` shows in English on a Chinese screen."""
    known = catalogue()
    found = [m.id for m in translate.extract() if m.id]
    assert len(found) > 500  # the extraction itself works
    missing = sorted(msgid if isinstance(msgid, str) else msgid[0] for msgid in found if msgid not in known)
    assert missing == [], "run `python -m web.translate fill FRAGMENT.po` (or update) and translate them"
