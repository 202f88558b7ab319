"""Streaming evidence into storage: SHA-256 and size in the same pass, type from the bytes.

Pure of the database: `stream_to_temp` reads any file-like object chunk by chunk
(memory stays flat whatever the size), `detect_type` asks libmagic, and
`check_type` compares it with the allow-list and with the type the name claims.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import magic
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.utils.translation import gettext as _

CHUNK = 1024 * 1024
SNIFF_BYTES = 64 * 1024

# Types that are the same thing as far as a claimed extension goes.
EQUIVALENT = [
    {"text/plain", "text/csv", "message/rfc822", "text/x-mail"},
    {"application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation",
     "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet"},
    {"image/jpeg", "image/pjpeg"},
    {"video/quicktime", "video/mp4"},
    {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
     "application/x-ole-storage", "application/CDFV2"},
]
EXTRA_EXTENSIONS = {".eml": "message/rfc822", ".csv": "text/csv", ".mkv": "video/x-matroska",
                    ".webp": "image/webp", ".heic": "image/heic"}


class EvidenceRejected(ValueError):
    """The file cannot be accepted; the message says why, for the person uploading it."""


@dataclass
class Streamed:
    path: str
    sha256: str
    size: int
    content_type: str


def detect_type(head: bytes) -> str:
    return magic.from_buffer(head, mime=True) or "application/octet-stream"


def claimed_type(name: str) -> str | None:
    ext = os.path.splitext(name.lower())[1]
    return EXTRA_EXTENSIONS.get(ext) or mimetypes.guess_type("x" + ext)[0]


def _same_kind(a: str, b: str) -> bool:
    if a == b:
        return True
    return any(a in group and b in group for group in EQUIVALENT)


def check_type(real: str, original_name: str) -> None:
    allowed = settings.LIAISON_EVIDENCE_ALLOWED_TYPES
    if real not in allowed and not any(_same_kind(real, a) for a in allowed):
        raise EvidenceRejected(
            _("Files of type %(type)s are not accepted as evidence. Accepted: images, PDF, video, text and CSV, "
              "e-mail (.eml), ZIP and Office documents.") % {"type": real}
        )
    claimed = claimed_type(original_name)
    if claimed and not _same_kind(real, claimed):
        raise EvidenceRejected(
            _("“%(name)s” is named like %(claimed)s but its contents are %(real)s. Upload the file with its "
              "real extension.") % {"name": safe_display_name(original_name), "claimed": claimed, "real": real}
        )


@contextmanager
def stream_to_temp(source: IO[bytes], *, original_name: str, max_bytes: int | None = None) -> Iterator[Streamed]:
    """Copy `source` to a temporary file in chunks, hashing and counting as it goes.

    The type is checked on the first chunk, so a refused file is refused before it
    is read whole; the temporary file is removed however the block ends.
    """
    limit = settings.LIAISON_EVIDENCE_MAX_BYTES if max_bytes is None else max_bytes
    digest = hashlib.sha256()
    size = 0
    fd, path = tempfile.mkstemp(prefix="evidence-", dir=settings.FILE_UPLOAD_TEMP_DIR)
    try:
        with os.fdopen(fd, "wb") as out:
            head = _read_head(source)
            content_type = detect_type(head)
            check_type(content_type, original_name)
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise EvidenceRejected(_("The file is larger than the limit of %(mb)d MiB.")
                                           % {"mb": limit // (1024 * 1024)})
                digest.update(chunk)
                out.write(chunk)
                chunk = source.read(CHUNK)
        if size == 0:
            raise EvidenceRejected(_("The file is empty."))
        yield Streamed(path=path, sha256=digest.hexdigest(), size=size, content_type=content_type)
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _read_head(source: IO[bytes]) -> bytes:
    head = b""
    while len(head) < SNIFF_BYTES:
        chunk = source.read(SNIFF_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def storage() -> Storage:
    return default_storage


def storage_name_for(case_id: int) -> str:
    return f"evidence/{case_id}/{uuid.uuid4().hex}"


def save_to_storage(streamed: Streamed, case_id: int) -> str:
    with open(streamed.path, "rb") as handle:
        return storage().save(storage_name_for(case_id), File(handle))


def hash_stored(name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with storage().open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


def safe_display_name(name: str, limit: int = 180) -> str:
    """A name fit for a Content-Disposition header and a page: no paths, no control characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        name = "evidence"
    if len(name) > limit:
        stem, ext = os.path.splitext(name)
        name = stem[: limit - len(ext[:16])] + ext[:16]
    return name
