"""Photos taken in by either app, reduced once before they are kept: a village clerk's phone photo of
an ID card (node/scans.py) and an inspector's photo of a counter (central/evidence.py) alike.

Why reduce: a phone photo is 4-8 MB, a village link carries a few hundred kilobytes a minute, and a
page of evidence needs no 48-megapixel detail. Why re-encode: EXIF can carry the GPS position where
the photo was taken (a villager's home). So: decoded (a decompression bomb, a tiny file that decodes
to gigabytes, is refused before a pixel is read), turned upright by its EXIF orientation, converted
to RGB or grey, reduced to at most `max_side` pixels on its longest side, saved as JPEG without EXIF.
"""

from __future__ import annotations

import io

MAX_PIXELS = 50_000_000
"""A 50-megapixel camera's photo; more is refused unread."""
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "MPO")


class PhotoError(ValueError):
    """The bytes are not a photo we keep; `code` is `too_large` (over MAX_PIXELS), `unsupported`
    (an image format not in FORMATS) or `unreadable`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def reduce_photo(data: bytes, *, max_side: int, quality: int, formats: tuple[str, ...] | None = None) -> bytes:
    """The JPEG bytes to keep for photo `data` (see the module docstring); PhotoError if refused.
    `formats` limits the decoders accepted (None: any Pillow reads)."""
    # Pillow costs a few MB a node needs only when a scan is taken in: loaded on first use
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if formats is not None and img.format not in formats:
                raise PhotoError("unsupported")
            if img.width * img.height > MAX_PIXELS:
                raise PhotoError("too_large")
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            img.thumbnail((max_side, max_side))
            out = io.BytesIO()
            img.save(out, "JPEG", quality=quality, optimize=True)
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError, SyntaxError) as err:
        raise PhotoError("unreadable") from err
    return out.getvalue()
