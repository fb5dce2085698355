"""Uploads are size-capped, images reduced and stripped of EXIF, broken files refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from node import scans


def _jpeg(size: tuple[int, int], **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(out, "JPEG", **save)
    return out.getvalue()


def test_a_phone_photo_is_reduced_and_loses_its_exif() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6                     # rotate 90 degrees: the page was photographed sideways
    exif[0x010F] = "PhoneMaker"
    data = scans.reduce(_jpeg((4000, 3000), exif=exif.tobytes()))
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (1200, 1600)  # upright, longest side 1600
        assert not img.getexif()
    assert len(data) < 400_000


def test_a_pdf_is_kept_as_it_is_and_a_cut_one_refused() -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert scans.reduce(pdf) == pdf
    with pytest.raises(scans.ScanError) as err:
        scans.reduce(pdf[:20])
    assert err.value.code == "not_a_scan"


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty"),
    (b"\xff\xd8\xff\xe0 this is not a jpeg", "not_a_scan"),
    (b"x" * (scans.MAX_UPLOAD_BYTES + 1), "too_large"),
])
def test_bad_uploads_are_refused_with_a_reason(data: bytes, code: str) -> None:
    with pytest.raises(scans.ScanError) as err:
        scans.reduce(data)
    assert err.value.code == code


def test_a_decompression_bomb_is_refused() -> None:
    out = io.BytesIO()
    Image.new("L", (9000, 9000)).save(out, "PNG")     # 81 Mpx of nothing: tiny file, huge image
    with pytest.raises(scans.ScanError) as err:
        scans.reduce(out.getvalue())
    assert err.value.code == "too_large"
