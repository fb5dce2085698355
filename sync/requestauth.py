"""Request signing: every node request carries a signature by the node's own key.

Records are signed already, so why sign requests too? Because a pull, a head query or a blob
download carries no record: central must know WHO is asking before it answers, and must never
take a node's word for it (DESIGN.md). The signature covers the method, the path with its query,
the SHA-256 of the body, the time and a random nonce, behind a domain-separating prefix so that a
request signature can never be mistaken for a record signature (or the reverse).

Only request authentication needs the clock: a replay window (default +-5 minutes) bounds how
long central must remember nonces. Village clocks are often wrong, so the refusal says by how many
minutes, and the client learns central's time from `GET /sync/v1/time` and corrects its request
times by that offset. Records themselves are accepted whatever their origin time says.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.keys import Directory, NodeKey, public_key

PREFIX = b"bianmin/sync/request/v1\n"
HEADER_NODE = "X-Bianmin-Node"
HEADER_KEY = "X-Bianmin-Key"
HEADER_TIME = "X-Bianmin-Time"
HEADER_NONCE = "X-Bianmin-Nonce"
HEADER_SIGNATURE = "X-Bianmin-Signature"
DEFAULT_WINDOW = 300  # seconds either side of central's clock


class AuthError(Exception):
    """A request central refuses to answer: a stable reason code, an HTTP status, plain English."""

    def __init__(self, code: str, message: str, status: int = 401, **detail: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def message(
    method: str, path: str, body_sha256: str, when: int, nonce: str, node: str, key_id: str
) -> bytes:
    """The exact bytes signed: one field per line after the prefix, so no field can bleed into
    the next (none of them may hold a newline; `verify_request` refuses one that does)."""
    fields = [method.upper(), path, body_sha256, str(when), nonce, node, key_id]
    return PREFIX + "\n".join(fields).encode("utf-8")


def sign_request(
    private_key: Ed25519PrivateKey | NodeKey,
    node: str,
    key_id: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers that authenticate one request. `path` includes the query string exactly as sent;
    `body` is the bytes on the wire (after gzip, when gzipped). `now` is the corrected time."""
    when = int(time.time() if now is None else now)
    nonce = nonce or secrets.token_hex(16)
    digest = hashlib.sha256(body).hexdigest()
    signature = private_key.sign(message(method, path, digest, when, nonce, node, key_id))
    return {
        HEADER_NODE: node,
        HEADER_KEY: key_id,
        HEADER_TIME: str(when),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: b64(signature),
    }


def clock_message(skew_seconds: float) -> str:
    """'your clock is off by N minutes', the words a village clerk needs to fix it."""
    minutes = round(abs(skew_seconds) / 60)
    way = "behind" if skew_seconds < 0 else "ahead of"
    if minutes >= 60 * 24 * 2:
        amount = f"{minutes} minutes (about {round(minutes / 1440)} days)"
    else:
        amount = f"{minutes} minutes"
    return (
        f"Your clock is off by {amount}: it is {way} the city server's clock. "
        "Set the computer's date and time, then sync again. Records already made are safe."
    )


class NonceStore:
    """Nonces seen within the replay window, remembered in SQLite so a restart of central does
    not reopen the window for replays. Thread-safe: waitress serves from several threads."""

    def __init__(self, path: Path | str = ":memory:", window: int = DEFAULT_WINDOW) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS request_nonces ("
            " node TEXT NOT NULL, nonce TEXT NOT NULL, seen INTEGER NOT NULL,"
            " PRIMARY KEY (node, nonce))"
        )
        self._last_sweep = 0.0

    def remember(self, node: str, nonce: str, now: float) -> bool:
        """True the first time (node, nonce) is seen within the window, False for a replay."""
        with self._lock:
            if now - self._last_sweep > 30:
                self._db.execute("DELETE FROM request_nonces WHERE seen < ?", (int(now) - 2 * self.window,))
                self._last_sweep = now
            try:
                self._db.execute(
                    "INSERT INTO request_nonces (node, nonce, seen) VALUES (?, ?, ?)",
                    (node, nonce, int(now)),
                )
            except sqlite3.IntegrityError:
                return False
            return True

    def close(self) -> None:
        self._db.close()


KeyLookup = Callable[[str, str], Ed25519PublicKey]
"""(node, key_id) -> the node's enrolled public key; raises AuthError when unknown or revoked."""


@dataclass(frozen=True)
class Caller:
    """Who a verified request came from."""

    node: str
    key_id: str
    skew: float  # the node's clock minus central's, seconds


def verify_request(
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    lookup: KeyLookup,
    nonces: NonceStore,
    now: float | None = None,
    window: int = DEFAULT_WINDOW,
) -> Caller:
    """Check one request's signature, key, time and nonce; return the authenticated caller.

    Order matters: the cheap structural checks first, then the key (unknown or revoked), then the
    signature, and only a correctly signed request may consume a nonce, so nobody can burn another
    node's nonces with forged requests."""
    now = time.time() if now is None else now
    try:
        node = headers[HEADER_NODE]
        key_id = headers[HEADER_KEY]
        when_text = headers[HEADER_TIME]
        nonce = headers[HEADER_NONCE]
        signature_text = headers[HEADER_SIGNATURE]
    except KeyError as missing:
        raise AuthError(
            "auth.missing", f"The request is not signed (header {missing.args[0]} is missing)."
        ) from None
    for value in (node, key_id, when_text, nonce, path):
        if "\n" in value or "\r" in value:
            raise AuthError("auth.malformed", "A signed header holds a line break.")
    if not (8 <= len(nonce) <= 64):
        raise AuthError("auth.malformed", "The request nonce must be 8 to 64 characters.")
    try:
        when = int(when_text)
        signature = unb64(signature_text)
    except (ValueError, binascii.Error):
        raise AuthError("auth.malformed", "The request time or signature is not well formed.") from None
    public_key = lookup(node, key_id)
    digest = hashlib.sha256(body).hexdigest()
    try:
        public_key.verify(signature, message(method, path, digest, when, nonce, node, key_id))
    except InvalidSignature:
        raise AuthError(
            "auth.bad_signature",
            "The request signature does not match this node's key (or the request was changed).",
        ) from None
    skew = when - now
    if abs(skew) > window:
        raise AuthError(
            "auth.clock_skew", clock_message(skew), status=401, skew_seconds=int(skew),
            server_time=int(now),
        )
    if not nonces.remember(node, nonce, now):
        raise AuthError("auth.replay", "This request was already received once (a replay); it is refused.")
    return Caller(node=node, key_id=key_id, skew=skew)


def directory_lookup(directory: Callable[[], Directory]) -> KeyLookup:
    """A KeyLookup over the node directory (called per request: the directory changes as central
    enrols, rotates and revokes). Only a node's CURRENT, unrevoked key may sign requests: a key
    rotated out may still have signed old records, but it no longer speaks for the node."""

    def lookup(node: str, key_id: str) -> Ed25519PublicKey:
        d = directory()
        entry = d.keys.get(key_id)
        if entry is None:
            raise AuthError("auth.unknown_key", f"Key {key_id} is not enrolled at the city server.")
        if entry.node != node:
            raise AuthError("auth.wrong_key", f"Key {key_id} belongs to {entry.node}, not to {node}.",
                            status=403)
        if entry.revoked:
            raise AuthError("auth.revoked", f"Key {key_id} of {node} has been revoked.", status=403)
        current = d.current(node)
        if current is None or current.key_id != key_id:
            raise AuthError("auth.old_key", f"Key {key_id} is no longer {node}'s current key.", status=403)
        return public_key(entry.public)

    return lookup
