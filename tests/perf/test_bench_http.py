"""Scenarios over HTTP, served as in production: gunicorn with 2 sync workers, DEBUG off, static files collected
(WhiteNoise, manifest storage), behind a TLS proxy (X-Forwarded-Proto), sessions in the database. The load comes
from wrk (20 connections, 2 threads; a Python load generator when wrk is missing) with a session cookie made here;
the 1 GiB upload is streamed by a client that never holds the file. BENCH_LOAD=python uses the Python load
generator even where wrk is installed.

The load generator, gunicorn and PostgreSQL share the machine's cores: the figures are those of the whole.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.utils.crypto import get_random_string

from accounts.models import User

from . import bench
from .conftest import BenchData

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

GIB = 1024 * 1024 * 1024
VENV_BIN = Path(sys.executable).parent
SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "20"))
CLIENTS = 20
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status))
end
"""


@dataclass
class Server:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        return bench.children_of(self.process.pid)

    def headers(self, session_key: str, path: str = "/") -> dict[str, str]:
        return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}", "X-Forwarded-Proto": "https",
                "Host": f"{self.host}:{self.port}", "Referer": f"https://{self.host}:{self.port}{path}"}

    def get(self, path: str, session_key: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request("GET", path, headers=self.headers(session_key, path))
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(bench_data: BenchData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn shares the database with the tests: PostgreSQL only")
    work = tmp_path_factory.mktemp("gunicorn")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "LIAISON_BENCH"))}
    env.update({
        "DATABASE_URL": _database_url(), "DEBUG": "false", "SECRET_KEY": settings.SECRET_KEY,
        "LIAISON_WEBHOOK_SECRET_KEY": "ZHJpbGwtd2ViaG9vay1rZXktbm90LWEtc2VjcmV0ISE=",  # a Fernet key
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "BEHIND_TLS_PROXY": "true", "LIAISON_VAR_DIR": str(work / "var"),
        "STATIC_ROOT": str(bench.BENCH_DIR / "static"), "LIAISON_EVIDENCE_MAX_BYTES": str(2 * GIB),
        "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "tests.perf.bench_settings",
    })
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=bench.ROOT, env=env,
                   check=True)
    port = _free_port()
    log = work / "gunicorn.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([str(VENV_BIN / "gunicorn"), "liaison.wsgi", "--workers", "2", "--bind",
                                    f"127.0.0.1:{port}", "--timeout", "600", "--graceful-timeout", "5"],
                                   cwd=bench.ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    running = Server("127.0.0.1", port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _body = running.get("/health/", "")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(work / "var", ignore_errors=True)


@pytest.fixture(scope="module")
def sessions(server: Server, bench_data: BenchData, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """Signed-in sessions, committed so gunicorn's workers find them (made outside the tests' transactions)."""
    engine = import_module(settings.SESSION_ENGINE)
    keys: dict[str, str] = {}
    with django_db_blocker.unblock():
        for name in ("moderator", "liaison"):
            user: User = bench_data.person(name)
            store = engine.SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # as login() would store it
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            keys[name] = str(store.session_key)
    yield keys
    with django_db_blocker.unblock():
        for key in keys.values():
            engine.SessionStore(session_key=key).delete()


def _wrk(server: Server, path: str, session_key: str, seconds: int, script: Path) -> dict[str, Any]:
    headers = server.headers(session_key, path)
    command = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script)]
    for name in ("Cookie", "X-Forwarded-Proto"):
        command += ["-H", f"{name}: {headers[name]}"]
    output = subprocess.run([*command, f"http://{server.host}:{server.port}{path}"], capture_output=True, text=True,
                            check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    requests, duration, errors, p50, p95, p99, status_errors = (int(x) for x in line.split()[1:])
    return {"rps": requests / (duration / 1e6), "median_ms": p50 / 1000, "p95_ms": p95 / 1000,
            "p99_ms": p99 / 1000, "errors": errors, "requests": requests, "tool": "wrk"}


def _python_load(server: Server, path: str, session_key: str, seconds: int) -> dict[str, Any]:
    """wrk's job with threads and keep-alive connections, when wrk is not installed."""
    headers = server.headers(session_key, path)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        mine: list[float] = []
        failed = 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except OSError:
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"rps": len(latencies) / elapsed, "median_ms": bench.percentile(latencies, 50) * 1000,
            "p95_ms": bench.percentile(latencies, 95) * 1000, "p99_ms": bench.percentile(latencies, 99) * 1000,
            "errors": errors[0], "requests": len(latencies), "tool": "python"}


def load(server: Server, path: str, session_key: str, tmp_path: Path) -> dict[str, Any]:
    status, body = server.get(path, session_key)
    assert status == 200, f"{path} answered {status} through gunicorn: {body[:300]!r}"
    if shutil.which("wrk") and os.environ.get("BENCH_LOAD") != "python":
        script = tmp_path / "report.lua"
        script.write_text(WRK_SCRIPT)
        _wrk(server, path, session_key, 3, script)  # warm both workers
        return _wrk(server, path, session_key, SECONDS, script)
    _python_load(server, path, session_key, 3)
    return _python_load(server, path, session_key, SECONDS)


def test_http_bare_view_under_load(server: Server, sessions: dict[str, str], recorder: bench.Recorder,
                                   tmp_path: Path) -> None:
    """The floor over HTTP: the bare view (50 case rows, one indexed query) through the same server and load."""
    with recorder.failure("http.bare"):
        recorder.record("http.bare", **load(server, "/bench/bare/", sessions["moderator"], tmp_path))


def test_http_inbox_under_load(server: Server, sessions: dict[str, str], recorder: bench.Recorder,
                               tmp_path: Path) -> None:
    with recorder.failure("http.inbox"):
        recorder.record("http.inbox", **load(server, "/cases/", sessions["moderator"], tmp_path))


def test_http_case_page_under_load(server: Server, sessions: dict[str, str], bench_data: BenchData,
                                   recorder: bench.Recorder, tmp_path: Path) -> None:
    path = f"/cases/{bench_data.normal.reference}/"
    with recorder.failure("http.case"):
        recorder.record("http.case", **load(server, path, sessions["moderator"], tmp_path))


class UploadBody:
    """A 1 GiB PDF made on the fly from an 8 MiB random block (a fresh header each run, so it is never a
    duplicate), inside a multipart envelope."""

    def __init__(self, boundary: str, nonce: str, size: int = GIB) -> None:
        self.size = size
        self.header = f"%PDF-1.7\n% liaison benchmark {nonce}\n".encode()
        self.block = memoryview(os.urandom(8 * 1024 * 1024))
        self.head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nBenchmark upload"
                     f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
                     f"filename=\"benchmark-{nonce}.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def chunks(self) -> Iterator[bytes | memoryview]:
        yield self.head + self.header
        left = self.size - len(self.header)
        while left > 0:
            chunk = self.block[:min(left, len(self.block))]
            left -= len(chunk)
            yield chunk
        yield self.tail


def test_upload_of_1_gib_evidence_over_http(server: Server, sessions: dict[str, str], bench_data: BenchData,
                                            recorder: bench.Recorder) -> None:
    case = bench_data.normal
    path = f"/cases/{case.reference}/evidence/upload/"
    token = get_random_string(32)
    boundary = f"----liaison-benchmark-{token}"
    body = UploadBody(boundary, token)
    headers = server.headers(sessions["moderator"], f"/cases/{case.reference}/")
    headers.update({"Cookie": headers["Cookie"] + f"; {settings.CSRF_COOKIE_NAME}={token}", "X-CSRFToken": token,
                    "Accept": "application/json", "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Content-Length": str(len(body))})
    with recorder.failure("upload"):
        conn = http.client.HTTPConnection(server.host, server.port, timeout=600)
        with bench.RssSampler(server.workers) as sampler:
            started = time.perf_counter()
            conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            for chunk in body.chunks():
                conn.send(chunk)
            response = conn.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - started
        conn.close()
        assert response.status == 200, f"upload answered {response.status}: {answer[:500]!r}"
        result = json.loads(answer)["results"][0]
        assert result["ok"] and result.get("created", True), result
        recorder.record("upload", mb_per_s=GIB / 1e6 / elapsed, seconds=elapsed, rss_growth_mib=sampler.growth_mib,
                        detail=f"{GIB / 2**20 / elapsed:,.0f} MiB/s")
