"""The upload handler of the evidence upload page: each file is checked, hashed and written once, as it arrives.

Django's default handlers write an upload to a temporary file in 64 KiB chunks, and storing it then meant reading
it again to hash it into a second file and copying that into storage: three copies of every byte. This handler,
installed by `cases/views/evidence.py: upload` before the body is read, gives each file's bytes to a
`FingerprintingWriter` in large chunks: the type is read from the first bytes and a file of a refused type, or
past the size limit, is refused there and then (nothing more of it is written or hashed); the rest is written once
while its SHA-256 and size are computed. The view gets `FingerprintedUpload`s, which `add_evidence` moves into
storage as they are. A refused file still appears in request.FILES, as a `FingerprintedUpload` with its
`refusal`, so the page can say, file by file and in order, what was stored and what was not and why.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

from .evidence_files import CHUNK, EvidenceRejected, FingerprintedUpload, FingerprintingWriter


class EvidenceUploadHandler(FileUploadHandler):
    chunk_size = CHUNK

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.writer: FingerprintingWriter | None = None
        self.refusal: EvidenceRejected | None = None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.refusal = None
        self.writer = FingerprintingWriter(original_name=self.file_name or "")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.writer is None:  # refused: the rest of this file passes by unread by us
            return
        try:
            self.writer.write(raw_data)
        except EvidenceRejected as exc:
            self.refusal, self.writer = exc, None  # the writer removed what it had written

    def file_complete(self, file_size: int) -> FingerprintedUpload:
        name, content_type = self.file_name or "", self.content_type or ""
        writer, self.writer = self.writer, None
        if writer is not None:
            try:
                return FingerprintedUpload(name=name, content_type=content_type, size=file_size,
                                           streamed=writer.finish(), charset=self.charset,
                                           content_type_extra=self.content_type_extra)
            except EvidenceRejected as exc:
                self.refusal = exc
        # The size the client sent, so the form tells an empty file apart as it always did.
        return FingerprintedUpload(name=name, content_type=content_type, size=file_size, refusal=self.refusal)

    def upload_interrupted(self) -> None:
        """The client went away mid-file: nothing of it stays."""
        if self.writer is not None:
            self.writer.discard()
            self.writer = None
