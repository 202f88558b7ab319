"""Benchmark: a 1 GiB upload streams through add_evidence, and through Django's request handling with the
evidence upload handler, with flat memory.

Excluded from the default run; run with
    .venv/bin/pytest tests/perf/test_evidence_memory.py -o addopts="" -s

Measured on the 2-core development machine with other jobs running (load average 3-5):

                                              before            after
    1 GiB through add_evidence                199 MB/s          420 MB/s    (a file-like source)
    1 GiB through Django (WSGI, in process)   -                 400-500 MB/s
    1 GiB over HTTP, gunicorn, 2 workers      105-230 MB/s      385-560 MB/s, server RSS +7-8 MiB

Before, an HTTP upload was written three times (Django's temporary file in 64 KiB chunks, a second temporary file
while hashing, the copy into storage); now the upload handler (cases/evidence_upload.py) reads the type from the
first bytes, hashes and writes each file once in 1 MiB chunks, the disk writes in a thread of their own, and the
file is renamed into storage.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.handlers.wsgi import WSGIHandler
from django.utils.crypto import get_random_string

from cases.actions.cases import create_case, submit_case
from cases.actions.evidence import add_evidence
from cases.item_lists import parse_text
from cases.models import Case, Category, Evidence
from tests.factories import World

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

GIB = 1024 * 1024 * 1024
MIB = 1024 * 1024
MEMORY_BUDGET = 64 * MIB


class GeneratedPdf:
    """A file-like 1 GiB 'PDF': a real header, then pseudo-random blocks made on the fly, never held whole.

    The digest of what it produced is kept so the stored fingerprint can be checked.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.produced = 0
        self.digest = hashlib.sha256()
        self.header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
        # One pseudo-random MiB, rotated per read so the stream is not one repeated block.
        self.block = os.urandom(MIB)

    def read(self, size: int = -1) -> bytes:
        remaining = self.total - self.produced
        size = remaining if size < 0 else min(size, remaining)
        if size <= 0:
            return b""
        start = self.produced
        if start < len(self.header):
            chunk = self.header[start:start + size]
        else:
            offset = (start * 7919) % MIB
            chunk = (self.block[offset:] + self.block[:offset])[:size]
        self.produced += len(chunk)
        self.digest.update(chunk)
        return chunk


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSampler:
    """Samples the resident set every few milliseconds while the upload runs: its true peak, not a guess."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


@pytest.fixture
def scratch(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Storage and temp files for the run, removed afterwards (pytest keeps old tmp dirs; 1 GiB must not stay)."""
    upload_tmp = tmp_path / "upload-tmp"
    upload_tmp.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(upload_tmp)
    yield tmp_path
    shutil.rmtree(tmp_path / "files", ignore_errors=True)
    shutil.rmtree(upload_tmp, ignore_errors=True)


def make_case(world: World) -> Case:
    case = create_case(
        actor=world.liaison, title="Large video evidence", category=Category.objects.get(slug="terrorism"),
        responding_org=world.platform, legal_basis="Law 11/2008",
        items=parse_text("https://t.me/example_channel").accepted,
    )
    return submit_case(case=case, actor=world.liaison)


def test_a_1_gib_upload_streams_with_flat_memory(world: World, settings: Any, scratch: Path) -> None:
    settings.LIAISON_EVIDENCE_MAX_BYTES = 2 * GIB
    case = make_case(world)
    source = GeneratedPdf(GIB)
    rss_before = rss_bytes()
    max_rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    with RssSampler() as sampler:
        tracemalloc.start()
        started = time.perf_counter()
        result = add_evidence(actor=world.liaison, case=case, source=source, original_name="rekaman.pdf")
        elapsed = time.perf_counter() - started
        _current, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    peak_rss_growth = sampler.peak - rss_before
    # ru_maxrss is the process's high-water mark; it only moves if the upload went above every earlier peak.
    max_rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - max_rss_before
    evidence = result.evidence
    stored = Path(default_storage.path(evidence.storage_name))
    print(
        f"\n1 GiB through add_evidence: {GIB / 1e6 / elapsed:.0f} MB/s ({GIB / MIB / elapsed:.0f} MiB/s, "
        f"{elapsed:.1f} s); peak traced allocations {traced_peak / MIB:.1f} MiB; "
        f"peak RSS growth (sampled) {peak_rss_growth / MIB:.1f} MiB; ru_maxrss growth {max_rss_growth / MIB:.1f} MiB"
    )
    try:
        assert result.created
        assert evidence.size == GIB
        assert evidence.content_type == "application/pdf"
        assert evidence.sha256 == source.digest.hexdigest()
        assert stored.stat().st_size == GIB
        assert Evidence.objects.get().sha256 == evidence.sha256
        assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).glob("evidence-*")) == []
        assert traced_peak < MEMORY_BUDGET
        assert peak_rss_growth < MEMORY_BUDGET
        assert max_rss_growth < MEMORY_BUDGET
    finally:
        stored.unlink(missing_ok=True)


class GeneratedBody:
    """A multipart request body around a generated 1 GiB PDF, read by Django as gunicorn's wsgi.input would be."""

    def __init__(self, boundary: str, total: int) -> None:
        self.pdf = GeneratedPdf(total)
        self.head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"rekaman.pdf\"\r\n"
                     f"Content-Type: application/pdf\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.length = len(self.head) + total + len(self.tail)
        self._pending = b""
        self._parts = [self.head]

    def read(self, size: int = -1) -> bytes:
        out = []
        want = self.length if size < 0 else size
        while want > 0:
            if not self._pending:
                if self._parts:
                    self._pending = self._parts.pop(0)
                elif (chunk := self.pdf.read(min(want, MIB))):
                    self._pending = chunk
                elif self.tail:
                    self._pending, self.tail = self.tail, b""
                else:
                    break
            piece, self._pending = self._pending[:want], self._pending[want:]
            out.append(piece)
            want -= len(piece)
        return b"".join(out)

    def readline(self, size: int = -1) -> bytes:  # LimitedStream wants it; the multipart parser never calls it
        raise NotImplementedError


def test_a_1_gib_upload_through_django_streams_with_flat_memory(world: World, settings: Any, scratch: Path,
                                                                 client: Any) -> None:
    from allauth.mfa.models import Authenticator

    from tests.conftest import enrol_totp

    settings.LIAISON_EVIDENCE_MAX_BYTES = 2 * GIB
    case = make_case(world)
    if not Authenticator.objects.filter(user=world.liaison).exists():
        enrol_totp(world.liaison)
    client.force_login(world.liaison)
    body = GeneratedBody("liaison-benchmark", GIB)
    token = get_random_string(32)
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": f"/cases/{case.reference}/evidence/upload/",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "multipart/form-data; boundary=liaison-benchmark", "CONTENT_LENGTH": str(body.length),
        "HTTP_COOKIE": f"{django_settings.SESSION_COOKIE_NAME}={client.session.session_key}; "
                       f"{django_settings.CSRF_COOKIE_NAME}={token}",
        "HTTP_X_CSRFTOKEN": token, "HTTP_ACCEPT": "application/json", "wsgi.input": body, "wsgi.errors": sys.stderr,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    handler = WSGIHandler()
    handler.load_middleware()
    rss_before = rss_bytes()
    statuses: list[str] = []

    with RssSampler() as sampler:
        started = time.perf_counter()
        response = handler(environ, lambda status, headers: statuses.append(status))
        answer = b"".join(response)
        response.close()
        elapsed = time.perf_counter() - started

    assert statuses == ["200 OK"], answer[:500]
    peak_rss_growth = sampler.peak - rss_before
    print(f"\n1 GiB through Django's request handling: {GIB / 1e6 / elapsed:.0f} MB/s "
          f"({GIB / MIB / elapsed:.0f} MiB/s, {elapsed:.1f} s); peak RSS growth (sampled) {peak_rss_growth / MIB:.1f} MiB")
    evidence = Evidence.objects.get()
    stored = Path(default_storage.path(evidence.storage_name))
    try:
        assert evidence.size == GIB and evidence.content_type == "application/pdf"
        assert evidence.sha256 == body.pdf.digest.hexdigest() == json.loads(answer)["results"][0]["sha256"]
        assert stored.stat().st_size == GIB
        assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []
        assert peak_rss_growth < MEMORY_BUDGET
    finally:
        stored.unlink(missing_ok=True)
