"""Canonical JSON: one byte string per value, so a record's hash is its identity.

The profile (sync/PROTOCOL.md, "Canonical JSON", is the normative text):

- UTF-8, no byte order mark, no whitespace between tokens (separators `,` and `:`).
- Object keys sorted by code point; keys are printable ASCII (so code-point order, UTF-16 order and
  byte order agree and no implementation can sort them differently); no duplicate keys.
- Strings: only `"`, `\\` and the control characters U+0000..U+001F are escaped; `\\b \\t \\n \\f
  \\r` use their short forms, the other control characters `\\u00xx` with lower-case hex. Every
  other character, U+007F and U+2028 included, is written as raw UTF-8. This is the string form of
  RFC 8785 (JCS) and of Python's `json.dumps(..., ensure_ascii=False)`.
- Text must already be in Unicode Normalisation Form C. The encoder does NOT normalise (silently
  changing what someone typed is not the encoder's business, and a signer and a verifier that
  normalised differently would disagree); data entry points call `nfc()` first, and both `encode`
  and `decode` refuse non-NFC text (`not_nfc`), so nothing non-NFC is ever signed or accepted.
- Values: objects, arrays, strings, integers in (-2^53, 2^53), true, false, null. No floats at
  all (`float`), not even `1.0` or `1e3`: amounts are integer fen.
- Nesting at most `MAX_DEPTH` (32) containers deep; at most `MAX_SIZE` (256 KiB) bytes.

`decode(raw)` accepts bytes only if they are exactly `encode(decode(raw))`: pretty-printed,
reordered, needlessly escaped (`\\u5f20` for 张, `\\/`), `-0`, `1.0`, or trailing whitespace are all
refused as `non_canonical`. Every refusal is a `Refusal` whose `.code` is stable (tests, programs
and the peer on the other end of the wire match on it) and whose `.detail` is for people.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

MAX_DEPTH = 32
MAX_SIZE = 256 * 1024
MAX_INT = 2**53 - 1  # integers must lie in (-2^53, 2^53): exactly representable everywhere

class Refusal(ValueError):  # noqa: N818 - a refusal is the expected outcome, not an error
    """Bytes or a record refused for a stated reason.

    `code` is one of the stable codes listed in sync/PROTOCOL.md ("Refusal codes"); `detail` is an
    English sentence for logs and people. The whole of sync raises only this for bad input.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def _check(value: Any, depth: int) -> None:
    """Walk a value and refuse anything outside the profile (types, ints, text, keys, depth).

    Exact type tests first (the hot path when verifying records), `isinstance` for subclasses.
    """
    t = type(value)
    if t is str:
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            raise Refusal("not_nfc", f"text is not in NFC: {value[:40]!r}")
        return
    if t is int:
        if not -MAX_INT <= value <= MAX_INT:
            raise Refusal("int_range", f"integer {value} is outside (-2^53, 2^53)")
        return
    if value is None or t is bool:
        return
    if t is dict or t is list:
        if depth >= MAX_DEPTH:
            raise Refusal("too_deep", f"nested deeper than {MAX_DEPTH}")
        if t is dict:
            for key, item in value.items():
                if type(key) is not str:
                    raise Refusal("bad_type", f"object key {key!r} is not a string")
                if not (key.isascii() and key.isprintable()):
                    raise Refusal("bad_object_key", f"object key {key!r} is not printable ASCII")
                _check(item, depth + 1)
        else:
            for item in value:
                _check(item, depth + 1)
        return
    if isinstance(value, float):
        raise Refusal("float", f"floating-point number {value!r}; use integers (e.g. fen)")
    if isinstance(value, str | int | dict | list):   # subclasses: checked as their base type
        base = next(b for b in (str, bool, int, dict, list) if isinstance(value, b))
        _check(value if base is bool else base(value), depth)
        return
    raise Refusal("bad_type", f"{type(value).__name__} cannot be encoded")


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _dump(value: Any) -> bytes:
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError as err:  # a lone surrogate in a str
        raise Refusal("bad_text", "text holds a lone surrogate") from err


def encode(value: Any, *, max_size: int = MAX_SIZE) -> bytes:
    """The canonical bytes of `value`; refuses (`Refusal`) anything outside the profile."""
    _check(value, 0)
    raw = _dump(value)
    if len(raw) > max_size:
        raise Refusal("too_large", f"{len(raw)} bytes, more than {max_size}")
    return raw


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise Refusal("duplicate_key", f"key {key!r} appears twice in one object")
            seen.add(key)
    return result


def _no_float(text: str) -> Any:
    raise Refusal("float", f"floating-point number {text}; use integers (e.g. fen)")


def decode(raw: bytes, *, max_size: int = MAX_SIZE) -> Any:
    """Parse canonical bytes strictly: the value, or a `Refusal` saying why the bytes are not canonical."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise Refusal("bad_type", "canonical input must be bytes")
    raw = bytes(raw)
    if len(raw) > max_size:
        raise Refusal("too_large", f"{len(raw)} bytes, more than {max_size}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Refusal("bad_utf8", f"invalid UTF-8 at byte {err.start}") from err
    value = _loads(text, None)
    _check(value, 0)
    if _dump(value) != raw:
        # Say precisely why: a duplicate key is lost by the fast parse above, so look again.
        _loads(text, _pairs)
        raise Refusal("non_canonical", "bytes differ from their canonical encoding")
    return value


def _loads(text: str, pairs: Any) -> Any:
    try:
        return json.loads(text, object_pairs_hook=pairs, parse_float=_no_float, parse_constant=_no_float)
    except Refusal:
        raise
    except RecursionError as err:
        raise Refusal("too_deep", f"nested deeper than {MAX_DEPTH}") from err
    except ValueError as err:  # json.JSONDecodeError, or an integer too long to convert
        raise Refusal("bad_json", str(err)) from err


def nfc(value: Any) -> Any:
    """`value` with every string (keys included) in NFC: call it where text enters the system.

    Forms, imports and catalogue loaders call this on what people typed; the encoder itself never
    normalises, it refuses (see the module docstring).
    """
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nfc(v) for v in value]
    return value
