"""Streaming evidence into storage: SHA-256 and size in the same pass, type from the bytes.

Pure of the database. `FingerprintingWriter` takes a file's bytes in chunks as they arrive (memory stays flat
whatever the size): it reads the type from the first bytes with libmagic and checks it against the allow-list
and the name (`check_type`) before it writes anything, refuses a file past the size limit as soon as it passes
it, and writes the bytes to a temporary file while hashing and counting them. Our upload handler
(`cases/evidence_upload.py`) feeds it from the request body, so an HTTP upload is read, checked, hashed and
written once; `stream_to_temp` feeds it from any file-like object (e-mail attachments, the new-case form).
`save_to_storage` then moves that very file into storage (a rename on the same filesystem), or streams it to
storages that are not local files (an S3-compatible bucket): the fingerprint is always of exactly the bytes stored.
`open_stored` reads a stored file back as it arrives, from local files and object storage alike.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import queue
import re
import tempfile
import threading
import unicodedata
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import IO, Any, cast

# libmagic and its rules come from the pylibmagic wheel, imported first so python-magic loads them: every host reads
# types with the same library and database, and a host without libmagic needs nothing installed.
import pylibmagic  # noqa: F401

# isort: split
import magic
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

# Bytes per read, hash and write. CPU per GiB uploaded through Django and this module, measured: 64 KiB chunks
# 6.3 s, 128 KiB 4.3 s, 256 KiB to 1 MiB 2.1-2.9 s, 2 MiB 3.2 s, 4 MiB 3.5-3.9 s (past L2, and every large
# buffer a fresh mapping). Memory holds a few chunks.
CHUNK = 1024 * 1024
SNIFF_BYTES = 64 * 1024
TEMP_PREFIX = "evidence-"

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
    """A temporary file holding exactly the bytes that were hashed and counted, and their type."""

    path: str
    sha256: str
    size: int
    content_type: str
    gone: bool = False  # moved into storage or removed: the path is no longer ours

    def remove(self) -> None:
        if not self.gone:
            self.gone = True
            _unlink_quietly(self.path)


def detect_type(head: bytes) -> str:
    return magic.from_buffer(head, mime=True) or "application/octet-stream"


def claimed_type(name: str) -> str | None:
    ext = os.path.splitext(name.lower())[1]
    return EXTRA_EXTENSIONS.get(ext) or mimetypes.guess_type("x" + ext)[0]


def _same_kind(a: str, b: str) -> bool:
    if a == b:
        return True
    return any(a in group and b in group for group in EQUIVALENT)


# Programs, by the names libmagic releases give them: refused with words a person recognises, not just the type.
PROGRAM_TYPES = frozenset({
    "application/x-dosexec", "application/vnd.microsoft.portable-executable", "application/x-msdownload",
    "application/x-executable", "application/x-pie-executable", "application/x-sharedlib", "application/x-mach-binary",
})


def check_type(real: str, original_name: str) -> None:
    allowed = settings.LIAISON_EVIDENCE_ALLOWED_TYPES
    if real in PROGRAM_TYPES:
        raise EvidenceRejected(
            _("This file is an executable program (%(type)s); programs are not accepted as evidence. Accepted: "
              "images, PDF, video, text and CSV, e-mail (.eml), ZIP and Office documents.") % {"type": real}
        )
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


def check_size(size: int, limit: int | None = None) -> None:
    limit = settings.LIAISON_EVIDENCE_MAX_BYTES if limit is None else limit
    if size > limit:
        raise EvidenceRejected(_("The file is larger than the limit of %(mb)d MiB.")
                               % {"mb": limit // (1024 * 1024)})
    if size == 0:
        raise EvidenceRejected(_("The file is empty."))


class FingerprintingWriter:
    """Writes one file to a temporary file as its bytes arrive, hashing and counting them in the same pass.

    Nothing is written until the first SNIFF_BYTES (or the whole of a smaller file) have arrived and their type
    is accepted; a file past the limit is refused the moment it passes it. Any refusal or error removes the
    temporary file; `finish()` hands it over as a `Streamed`. The disk writes run in a thread of their own
    (`_BackgroundWrites`), in order, while the next chunk is read and hashed.
    """

    def __init__(self, *, original_name: str, max_bytes: int | None = None) -> None:
        self.original_name = original_name
        self.limit = settings.LIAISON_EVIDENCE_MAX_BYTES if max_bytes is None else max_bytes
        self.size = 0
        self.content_type = ""
        self._digest = hashlib.sha256()
        self._head: list[bytes] = []
        self._head_size = 0
        fd, self.path = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=settings.FILE_UPLOAD_TEMP_DIR)
        self._out: _BackgroundWrites | None = _BackgroundWrites(os.fdopen(fd, "wb"))
        # If the request dies mid-file (a dropped connection raises out of Django's parser, which tells no handler),
        # the half-written file goes with this writer.
        self._cleanup = weakref.finalize(self, _abandon, self._out, self.path)

    def write(self, data: bytes | memoryview) -> None:
        try:
            self.size += len(data)
            if self.size > self.limit:
                check_size(self.size, self.limit)
            if not self.content_type:
                self._head.append(bytes(data))
                self._head_size += len(data)
                if self._head_size < SNIFF_BYTES:
                    return
                data = self._accept_head()
            self._emit(data)
        except BaseException:
            self.discard()
            raise

    def _accept_head(self) -> bytes:
        head = b"".join(self._head)
        self._head = []
        self.content_type = detect_type(head[:SNIFF_BYTES])
        check_type(self.content_type, self.original_name)
        return head

    def _emit(self, data: bytes | memoryview) -> None:
        self._digest.update(data)
        assert self._out is not None
        self._out.write(data)

    def finish(self) -> Streamed:
        """The file, closed and whole; refused if empty (or of a refused type, for a file shorter than the sniff)."""
        try:
            if not self.content_type:
                check_size(self.size, self.limit)
                self._emit(self._accept_head())
            assert self._out is not None
            out, self._out = self._out, None
            out.close()
            if os.stat(self.path).st_size != self.size:  # a short write would leave a file its hash does not describe
                raise OSError(f"evidence temporary file {self.path} is not {self.size} bytes")
        except BaseException:
            self.discard()
            raise
        self._cleanup.detach()  # the Streamed owns the file now
        return Streamed(path=self.path, sha256=self._digest.hexdigest(), size=self.size,
                        content_type=self.content_type)

    def discard(self) -> None:
        self._out = None
        self._cleanup()


class _BackgroundWrites:
    """Writes chunks to a file, in order, in a thread of its own: hashing (and the parser reading the request)
    go on while the disk works, and both let go of the GIL for large chunks. At most IN_FLIGHT chunks wait."""

    IN_FLIGHT = 2

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._chunks: queue.SimpleQueue[bytes | memoryview | None] = queue.SimpleQueue()
        self._room = threading.Semaphore(self.IN_FLIGHT)
        self._cancelled = False
        self._closed = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="evidence-writes", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            try:
                if self.error is None and not self._cancelled:
                    self._out.write(chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the writing thread by write() and close()
                self.error = exc
            finally:
                self._room.release()

    def write(self, chunk: bytes | memoryview) -> None:
        if self.error is not None:
            raise self.error
        self._room.acquire()
        self._chunks.put(chunk)

    def close(self, *, cancel: bool = False) -> None:
        """Wait for the writes (or, cancelled, for the one under way only) and close the file."""
        if self._closed:
            return
        self._closed = True
        self._cancelled = cancel
        self._chunks.put(None)
        self._thread.join()
        try:
            self._out.close()
        except OSError:
            if not cancel:
                raise
        if self.error is not None and not cancel:
            raise self.error


def _abandon(out: _BackgroundWrites, path: str) -> None:
    out.close(cancel=True)
    _unlink_quietly(path)


def _unlink_quietly(path: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)


class FingerprintedUpload(UploadedFile):
    """An uploaded file our upload handler (cases/evidence_upload.py) fingerprinted as it arrived.

    `streamed` describes its temporary file, whose bytes are exactly those hashed; `refusal` is set instead when
    the handler refused the file (its type or size), and then there are no bytes. Only server code makes these:
    a client sends bytes, never objects.
    """

    def __init__(self, *, name: str, content_type: str, size: int, streamed: Streamed | None = None,
                 refusal: EvidenceRejected | None = None, charset: str | None = None,
                 content_type_extra: dict[str, Any] | None = None) -> None:
        handle = open(streamed.path, "rb") if streamed is not None else None  # noqa: SIM115 (closed by close())
        super().__init__(handle, name, content_type, size, charset, content_type_extra)
        self.streamed = streamed
        self.refusal = refusal

    def temporary_file_path(self) -> str:
        if self.streamed is None:
            raise ValueError("a refused upload has no file")
        return self.streamed.path

    def close(self) -> None:
        """At the end of the request: the temporary file goes unless it was moved into storage."""
        if self.file is not None:
            self.file.close()
        if self.streamed is not None:
            self.streamed.remove()


@contextmanager
def stream_to_temp(source: IO[bytes], *, original_name: str, max_bytes: int | None = None) -> Iterator[Streamed]:
    """The file's bytes in a temporary file with their fingerprint, size and type; removed however the block ends
    unless moved into storage (`save_to_storage`).

    An upload our handler already fingerprinted is used as it is, checked again against the limits and the
    allow-list; anything else is read in chunks, refused as soon as its first bytes or its size are.
    """
    if isinstance(source, FingerprintedUpload):
        if source.refusal is not None:
            raise source.refusal
        assert source.streamed is not None
        streamed = source.streamed
        check_size(streamed.size, max_bytes)
        check_type(streamed.content_type, original_name)
    else:
        writer = FingerprintingWriter(original_name=original_name, max_bytes=max_bytes)
        try:
            # The type is judged on the first SNIFF_BYTES, and nothing past the limit + 1 byte is ever read.
            while chunk := source.read(min(CHUNK if writer.size else SNIFF_BYTES, writer.limit + 1 - writer.size)):
                writer.write(chunk)
            streamed = writer.finish()
        except BaseException:
            writer.discard()
            raise
    try:
        yield streamed
    finally:
        streamed.remove()


def storage() -> Storage:
    return default_storage


def storage_name_for(case_id: int) -> str:
    return f"evidence/{case_id}/{uuid.uuid4().hex}"


class _TemporaryFile(File):
    """The streamed file as Django storages take it: a local storage moves it (`temporary_file_path`), any other
    reads it in chunks."""

    def __init__(self, streamed: Streamed, handle: IO[bytes]) -> None:
        super().__init__(handle)
        self.streamed = streamed
        self.size = streamed.size
        self.content_type = streamed.content_type  # object storage keeps it with the object

    def temporary_file_path(self) -> str:
        return self.streamed.path

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return super().chunks(chunk_size or CHUNK)


def save_to_storage(streamed: Streamed, case_id: int) -> str:
    """Store the file under a new name: moved, not copied, when the storage is on the same filesystem."""
    with open(streamed.path, "rb") as handle:
        name = storage().save(storage_name_for(case_id), _TemporaryFile(streamed, handle))
    streamed.gone = not os.path.exists(streamed.path)
    return name


class ObjectStream(io.RawIOBase):
    """An object of S3-compatible storage, read from its start as its bytes come over the network."""

    def __init__(self, body: Any, size: int) -> None:
        super().__init__()
        self._body = body
        self.size = size

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._body.read(None if size is None or size < 0 else size)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def open_stored(name: str) -> IO[bytes]:
    """A stored file open for reading from its start; FileNotFoundError when it is not there.

    A local file opens as it is. From object storage, django-storages' own file object would download the whole
    object to a temporary file before handing out its first byte (a 512 MiB video: a wait, and a second copy on
    the web server's disk); this reads the object's body as it arrives instead, and knows its size (`.size`).
    """
    handle = storage().open(name, "rb")
    stored_object = getattr(handle, "obj", None)  # django-storages' S3File: the object, already found (HEAD)
    if stored_object is None:
        return handle
    handle.close()  # nothing of it was read
    try:
        response = stored_object.get()
    except Exception as exc:  # botocore's ClientError: the object was removed between the two requests
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            raise FileNotFoundError(name) from exc
        raise
    return cast(IO[bytes], ObjectStream(response["Body"], int(response["ContentLength"])))


def stored_size(handle: IO[bytes]) -> int | None:
    """The size of a file `open_stored` opened, when it knows it without reading."""
    size = getattr(handle, "size", None)
    return size if isinstance(size, int) else None


def hash_stored(name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open_stored(name) as handle:
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
