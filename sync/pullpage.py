"""Central's signature over each pull page: nothing on the link can drop, add or swap what it carries.

Elisions make every withheld range a signed link of its origin's chain, so a record cut out of a
page leaves the next entry of its origin unchained. But a page is also a list, and some entries
have no successor to give them away: the last record of an origin in the page, or a re-cut that
brings a case's earlier records to a town (no later entry depends on it). Someone between
central and the node (the link is often plain HTTP) could drop those silently, or answer a pull
with another cursor's page, or change the cursor header so the node skips entries. So central
signs every page:

    {"after": C, "count": n, "cursor": C', "more": bool, "net": ..., "node": N, "sha256": hex}

canonical JSON under `PAGE_DOMAIN`: the node and cursor asked for, how many frames, the hex
SHA-256 of the frames exactly as framed (before any gzip), and the next cursor and whether more
follow. It travels in the `X-Bianmin-Page` header as `<base64 raw>.<base64 sig>` (standard base64).
The node checks it with central's pinned key before it ingests a byte of the page, and takes the
cursor and `more` from it, never from the unsigned headers. Bundle replies need nothing more: their
signed manifest already lists each file's hash. Normative text: sync/PROTOCOL.md section 12.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.canonical import Refusal, decode, encode
from sync.keys import NodeKey, verify_statement

PAGE_DOMAIN = b"bianmin/pull/v1\x00"
HEADER = "X-Bianmin-Page"
FIELDS = frozenset({"after", "count", "cursor", "more", "net", "node", "sha256"})


def sign_page(key: NodeKey, *, net: str, node: str, after: int, cursor: int, more: bool, count: int,
              body: bytes) -> str:
    """The header value for a page of `count` frames `body` served to `node` after `after`."""
    raw = encode({"after": after, "count": count, "cursor": cursor, "more": more, "net": net, "node": node,
                  "sha256": hashlib.sha256(body).hexdigest()})
    sig = key.sign(PAGE_DOMAIN + raw)
    return f"{base64.b64encode(raw).decode('ascii')}.{base64.b64encode(sig).decode('ascii')}"


def check_page(header: str | None, body: bytes, *, central: Ed25519PublicKey | bytes, network: str, node: str,
               after: int, count: int) -> dict[str, Any]:
    """The signed page statement, after checking that it is central's, for this network, node and
    cursor, and that `body` (the frames as received, gunzipped) and their `count` are what it signs.
    Any failure is Refusal `bad_page`."""
    if not header or header.count(".") != 1:
        raise Refusal("bad_page", f"the page carries no {HEADER} signature")
    try:
        raw, sig = (base64.b64decode(part, validate=True) for part in header.split("."))
    except (binascii.Error, ValueError):
        raise Refusal("bad_page", f"{HEADER} is not base64") from None
    try:
        verify_statement(central, PAGE_DOMAIN, raw, sig)
        page = decode(raw)
    except Refusal as refusal:
        raise Refusal("bad_page", f"the page signature: {refusal.code}") from None
    if not isinstance(page, dict) or page.keys() != FIELDS:
        raise Refusal("bad_page", "the page statement's fields are not the protocol's")
    expected = {"net": network, "node": node, "after": after, "count": count,
                "sha256": hashlib.sha256(body).hexdigest()}
    wrong = sorted(name for name, value in expected.items() if page[name] != value)
    if wrong or type(page["cursor"]) is not int or page["cursor"] < after or type(page["more"]) is not bool:
        raise Refusal("bad_page", f"the page is not the one central signed ({', '.join(wrong) or 'cursor'})")
    return page
