"""Headers every response carries, and the session-signing key kept out of git.

The CSP allows only this site's own scripts, styles and images (no inline script, no CDN: the
nodes are offline anyway), so an injected `<script>` in a villager's name does nothing. Dynamic
pages say `no-store`: most of them show personal data, and a shared village PC must not keep
copies of them in its cache. Static assets may be cached.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECRET_FILE = "secret_key"


def load_or_create_secret(data_dir: str | Path) -> bytes:
    """The key that signs session cookies, created on first start with 0600 rights.

    It lives in the app's data folder (never in git); replacing it logs everybody out.
    """
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise RuntimeError(f"{path} is too short to be a session key; delete it to make a new one") from None
        return key
    with os.fdopen(fd, "wb") as out:
        key = secrets.token_hex(32).encode()
        out.write(key)
    return key


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not (request.endpoint or "").endswith("static"):
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def init_security(app: Flask, data_dir: str | Path | None) -> None:
    if not app.secret_key:
        app.secret_key = load_or_create_secret(data_dir or app.instance_path)
    # Flask ships defaults for these, so "unless the app chose otherwise" means "unless changed"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("SESSION_COOKIE_NAME") == "session":
        # one name per app: cookies ignore ports, so a node and central on one host would clash
        app.config["SESSION_COOKIE_NAME"] = f"bianmin_{app.name}"
    app.after_request(_headers)
