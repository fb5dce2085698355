"""Evidence for the quarterly assessment: photos and documents kept as blobs, named in records.

An inspector's finding or a bonus deed counts only with evidence (casework.assessment refuses it
without), and a sub-centre may contest a deduction months later, so the evidence must outlive the
page it was uploaded on: its bytes become a content-addressed blob in central's BlobStore (the same
store as the scans, sync/blobs.py) and the signed record names it by sha256 with its file name,
type and size. A record can then never point at a different photo than the one first shown.

What is accepted (checked by content, never by the file name or the browser's claim):
- photos (JPEG, PNG, GIF, WebP, BMP): decoded, turned upright, EXIF dropped (a phone photo carries
  the place it was taken), reduced to at most MAX_SIDE pixels and re-encoded as JPEG, as the
  nodes do with scans (both through web.photos), so an 8 MB phone photo costs a few hundred kilobytes;
- PDF (a scanned inspection sheet, a praise letter) and Word/Excel files, kept byte for byte.
Anything else, an empty file, a file over MAX_UPLOAD_BYTES or more than MAX_FILES files is refused
with a message the inspector can act on.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from casework.messages import N_, RuleError
from sync.blobs import SHA256_RE, BlobStore
from web.photos import FORMATS, PhotoError, reduce_photo

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FILES = 8
MAX_SIDE = 2000
JPEG_QUALITY = 85
MAX_NAME = 120

JPEG = "image/jpeg"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
TYPES = (JPEG, PDF, DOCX, XLSX, DOC, XLS)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence as a record names it."""

    sha256: str
    name: str
    type: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.type.startswith("image/")

    def to_body(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "name": self.name, "type": self.type, "size": self.size}

    @classmethod
    def from_body(cls, data: Any) -> Evidence | None:
        """The evidence a record names, or None for an entry that is not well formed."""
        if not isinstance(data, Mapping):
            return None
        sha, name, kind, size = data.get("sha256"), data.get("name"), data.get("type"), data.get("size")
        if not (isinstance(sha, str) and SHA256_RE.match(sha) and isinstance(name, str) and kind in TYPES
                and isinstance(size, int) and not isinstance(size, bool) and size >= 0):
            return None
        return cls(sha, name, kind, size)


def _error(code: str, msgid: str, **params: Any) -> RuleError:
    return RuleError(f"evidence.{code}", msgid, **params)


def clean_name(filename: str | None, kind: str) -> str:
    """A file name safe to show and to offer for download (NFC, no path, no control characters),
    with the extension its content really has."""
    name = unicodedata.normalize("NFC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).strip(" .") or "evidence"
    stem = name.rsplit(".", 1)[0] if "." in name else name
    ext = {JPEG: "jpg", PDF: "pdf", DOCX: "docx", XLSX: "xlsx", DOC: "doc", XLS: "xls"}[kind]
    return f"{stem[:MAX_NAME - len(ext) - 1]}.{ext}"


def _office(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return None


def _photo(data: bytes) -> bytes:
    try:
        return reduce_photo(data, max_side=MAX_SIDE, quality=JPEG_QUALITY, formats=FORMATS)
    except PhotoError as err:
        if err.code == "unsupported":
            raise _error("unsupported", N_("%(name)s: only photos (JPEG, PNG), PDF, Word or Excel files are "
                                           "accepted as evidence."), name="") from err
        if err.code == "too_large":
            raise _error("too_large", N_("%(name)s is larger than %(mb)s MB."), name="",
                         mb=MAX_UPLOAD_BYTES // (1024 * 1024)) from err
        raise _error("unreadable", N_("%(name)s cannot be read as a photo or document."), name="") from err


def prepare(data: bytes, filename: str | None) -> tuple[bytes, str, str]:
    """(bytes to keep, type, clean file name) for one upload; RuleError `evidence.*` if refused."""
    shown = clean_name(filename, JPEG).rsplit(".", 1)[0] if filename else "evidence"
    try:
        if not data:
            raise _error("empty", N_("%(name)s is empty."), name="")
        if len(data) > MAX_UPLOAD_BYTES:
            raise _error("too_large", N_("%(name)s is larger than %(mb)s MB."), name="",
                         mb=MAX_UPLOAD_BYTES // (1024 * 1024))
        if data[:5] == b"%PDF-":
            if b"%%EOF" not in data[-2048:]:
                raise _error("unreadable", N_("%(name)s cannot be read as a photo or document."), name="")
            kind, kept = PDF, data
        elif data[:4] == b"PK\x03\x04":
            office = _office(data)
            if office is None:
                raise _error("unsupported", N_("%(name)s: only photos (JPEG, PNG), PDF, Word or Excel files are "
                                               "accepted as evidence."), name="")
            kind, kept = office, data
        elif data[:8] == _OLE:
            lower = (filename or "").lower()
            kind, kept = (XLS if lower.endswith(".xls") else DOC), data
        else:
            kind, kept = JPEG, _photo(data)
    except RuleError as err:
        raise RuleError(err.code, err.msgid, **{**err.params, "name": filename or shown}) from err
    return kept, kind, clean_name(filename, kind)


def read_upload(upload: Any) -> bytes:
    """The bytes of a werkzeug FileStorage, reading at most one byte past the cap."""
    return upload.stream.read(MAX_UPLOAD_BYTES + 1)


def store_uploads(blobs: BlobStore, uploads: Iterable[Any]) -> tuple[list[Evidence], list[RuleError]]:
    """Keep every acceptable upload as a blob; return what was kept and what was refused (each
    refusal names its file), so a form can keep the good files and ask again only for the bad."""
    kept: list[Evidence] = []
    problems: list[RuleError] = []
    for upload in uploads:
        if upload is None or not getattr(upload, "filename", ""):
            continue
        try:
            data, kind, name = prepare(read_upload(upload), upload.filename)
        except RuleError as err:
            problems.append(err)
            continue
        kept.append(Evidence(blobs.put(data), name, kind, len(data)))
    return kept, problems


def kept_evidence(blobs: BlobStore, values: Iterable[str], allowed: Iterable[str]) -> list[Evidence]:
    """Evidence a re-shown form carries in hidden fields (`sha256` + tab + name), from an earlier
    attempt whose other fields needed correcting. A hidden field is typed by the browser, so only
    hashes in `allowed` (what this session uploaded) that the store holds are taken, and the type is
    read again from the stored bytes."""
    allowed = set(allowed)
    found: list[Evidence] = []
    for value in values:
        sha, _, name = str(value).partition("\t")
        if sha not in allowed or not SHA256_RE.match(sha) or not blobs.has(sha) or any(
                e.sha256 == sha for e in found):
            continue
        data = blobs.read(sha)
        kind = mimetype_of(data, name)
        if kind not in TYPES:
            continue
        found.append(Evidence(sha, clean_name(name, kind), kind, len(data)))
    return found


def mimetype_of(data: bytes, name: str = "") -> str:
    """The type to serve stored evidence bytes as (they were checked when they were kept)."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:5] == b"%PDF-":
        return PDF
    if data[:4] == b"PK\x03\x04":
        return _office(data) or "application/octet-stream"
    if data[:8] == _OLE:
        return XLS if name.lower().endswith(".xls") else DOC
    return "application/octet-stream"
