"""Messages the rules give people, kept translatable without casework knowing about Flask.

casework is pure and cannot call flask-babel, yet its rejections ("the birth date 19991340 does
not exist") must reach a village clerk in Chinese and a visitor in English. So a rule raises a
`RuleError` holding an English msgid with %(name)s placeholders plus its parameters; the web layer
translates the msgid with gettext at display time, and `str()` gives the English text for logs
and tests. `N_` marks msgids so that babel's extractor finds them.
"""

from __future__ import annotations

from typing import Any


def N_(msgid: str) -> str:  # noqa: N802 - the conventional name babel's extractor looks for
    """Mark a string for translation without translating it here."""
    return msgid


class RuleError(ValueError):
    """A rule was broken; `code` is stable for programs, `msgid`/`params` are for people."""

    def __init__(self, code: str, msgid: str, **params: Any) -> None:
        self.code = code
        self.msgid = msgid
        self.params = params
        super().__init__(self.english())

    def english(self) -> str:
        return self.msgid % self.params if self.params else self.msgid

    def translated(self, gettext: Any) -> str:
        """The message in the caller's language, given its gettext function."""
        text = gettext(self.msgid)
        return text % self.params if self.params else text
