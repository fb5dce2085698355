"""Scans and photos taken in at the counter: size-capped, images reduced before they travel.

A village link may carry a few hundred kilobytes a minute, and a phone photo of an ID card is
4-8 MB. So an image is reduced here, once, before it becomes a blob: longest side at most
MAX_SIDE pixels, re-encoded as JPEG (quality 80), EXIF dropped (it can carry the GPS position of
the villager's home), orientation applied first so the page is upright. A PDF is kept as it is
(it may be signed). Anything else, or a file that does not decode, is refused with a message.
"""

from __future__ import annotations

from typing import Any

from web.photos import PhotoError, reduce_photo

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_SIDE = 1600
JPEG_QUALITY = 80


class ScanError(ValueError):
    """The upload cannot be kept; `code` says why (too_large, empty, not_a_scan)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def reduce(data: bytes) -> bytes:
    """The bytes to store for an uploaded file (see the module docstring)."""
    if not data:
        raise ScanError("empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScanError("too_large")
    if data[:5] == b"%PDF-":
        if b"%%EOF" not in data[-1024:]:
            raise ScanError("not_a_scan")  # a truncated PDF
        return data
    try:
        return reduce_photo(data, max_side=MAX_SIDE, quality=JPEG_QUALITY)
    except PhotoError as err:
        raise ScanError("too_large" if err.code == "too_large" else "not_a_scan") from err


def read_upload(upload: Any) -> bytes:
    """The bytes of a werkzeug FileStorage, reading at most one byte past the cap."""
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScanError("too_large")
    return data
