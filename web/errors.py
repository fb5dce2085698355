"""Error pages in the user's language, CSRF refusals included.

A refused form must say what happened and that nothing was saved, in words a village clerk
understands, and leave the way back open: the page never shows a stack trace or raw status text.
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def _page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, message=message), status


def _texts(status: int) -> tuple[str, str]:
    texts = {
        400: (gettext("The request could not be understood"),
              gettext("Something in the request was wrong. Go back and try again.")),
        403: (gettext("Not allowed"),
              gettext("Your role does not allow this page. Ask your administrator if you need it.")),
        404: (gettext("Page not found"),
              gettext("There is no page at this address. Check the address or use the menu.")),
        405: (gettext("Not allowed"),
              gettext("This page cannot be used this way. Go back and use the buttons on the page.")),
        413: (gettext("Upload too large"),
              gettext("The file is too large to upload. Reduce it and try again; nothing was saved.")),
        429: (gettext("Too many requests"),
              gettext("Too many requests in a short time. Wait a moment and try again.")),
    }
    return texts.get(status, (gettext("Something went wrong"),
                              gettext("The server could not finish this request. Nothing was saved; "
                                      "try again, and tell your administrator if it happens again.")))


def handle_csrf(_error: CSRFError) -> tuple[str, int]:
    return _page(
        400,
        gettext("The form has expired"),
        gettext("The form could not be sent because its security token is missing or has expired "
                "(for example after signing out in another tab). Nothing was saved. Go back, reload "
                "the page and send the form again."),
    )


def handle_http(error: HTTPException) -> tuple[str, int] | HTTPException:
    status = error.code or 500
    if status < 400:
        return error
    title, message = _texts(status)
    return _page(status, title, message)


def init_errors(app: Flask) -> None:
    """Unexpected exceptions reach the 500 page through Flask's InternalServerError (which logs
    them); under app.testing they propagate instead, so tests see the traceback."""
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
