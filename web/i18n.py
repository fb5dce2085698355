"""Languages: Simplified Chinese by default, English on request, remembered per browser.

One catalogue (web/translations/zh) holds the Chinese for every package's English msgids; code
and templates are written in English. The choice comes from `?lang=` (the header's switcher links
use it), then the session, then a long-lived cookie (so it survives logging out), else Chinese.
The browser's Accept-Language is deliberately ignored: a village PC's browser may well be set to
English while its clerk reads Chinese. See web/README.md for adding strings.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, g, request, session
from flask_babel import Babel

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT = "zh"
LANGUAGES = {"zh": "中文", "en": "English"}
"""Locale code -> the language's own name (as shown in the switcher)."""
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def current_language() -> str:
    """The language of this request (a key of LANGUAGES)."""
    lang = getattr(g, "bianmin_lang", None)
    if lang is None:
        lang = _choose()
        g.bianmin_lang = lang
    return lang


def _choose() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        g.bianmin_lang_asked = asked
        return asked
    for value in (session.get("lang"), request.cookies.get(COOKIE)):
        if value in LANGUAGES:
            return value
    return DEFAULT


def _remember(response: Response) -> Response:
    asked = getattr(g, "bianmin_lang_asked", None)
    if asked:
        session["lang"] = asked
        response.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax")
    return response


def lang_url(code: str) -> str:
    """This page's address with `lang=code`, for the switcher (other query arguments kept)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]

    return request.path + "?" + urlencode(args, doseq=True)


def init_i18n(app: Flask) -> Babel:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel = Babel(app, locale_selector=current_language)
    app.after_request(_remember)
    app.jinja_env.globals.update(lang_url=lang_url, LANGUAGES=LANGUAGES, current_language=current_language)
    return babel
