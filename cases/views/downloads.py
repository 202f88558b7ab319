"""Stored files as responses, from local files or object storage alike: streamed in large blocks, with their length.

Every caller has checked the policy and recorded the access before it builds one: the bytes come through the
portal (never from a public or presigned storage address), with the portal's own headers.
"""

from __future__ import annotations

from typing import IO, Any

from django.http import FileResponse

from ..evidence_files import stored_size

# Bytes per read from storage and per write to the client (Django's default is 4 KiB).
BLOCK_SIZE = 256 * 1024


def stored_file_response(handle: IO[bytes], **kwargs: Any) -> FileResponse:
    """A FileResponse over a file opened with `evidence_files.open_stored` (FileResponse's own arguments)."""
    response = FileResponse(handle, **kwargs)
    response.block_size = BLOCK_SIZE
    if not response.has_header("Content-Length") and (size := stored_size(handle)) is not None:
        response["Content-Length"] = str(size)
    return response
