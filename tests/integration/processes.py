"""Real processes for fault tests: a throwaway Redis the test can stop and start, Celery workers and beat, web
servers and management commands, each a separate OS process reading the test database.

The processes share the test's database, so these tests need PostgreSQL (CI's database): an in-memory SQLite test
database cannot be opened by another process. They need the `redis-server` binary (CI installs it).
"""

from __future__ import annotations

import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from kombu import pools

from liaison.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent.parent
WORKER_READY = " ready."
BEAT_READY = "beat: Starting"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "", every: float = 0.1) -> Any:
    """Poll `condition` until it returns something true (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(every)


def require_shared_database() -> None:
    """Skip (locally) unless the test database is one other processes can open."""
    if connection.vendor != "postgresql":
        pytest.skip("the worker and web processes share the test database: PostgreSQL only (set DATABASE_URL, "
                    "as CI does)")


def database_url() -> str:
    """The test database (test_…, per xdist worker) as a DATABASE_URL for another process."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence: stopped, it forgets everything, as a
    broker that crashed and came back empty."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("the redis-server binary is not installed (apt-get install redis-server)")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        log = open(self.directory / f"redis-{self.port}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()  # as a crash: no goodbye to its clients
        self.process.wait(timeout=10)
        self.process = None
        assert not self.answers()

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def celery_on(broker_url: str, queue: str) -> Iterator[None]:
    """This process's Celery app sends to `broker_url` and `queue`, not eagerly; restored afterwards."""
    keys = ("broker_url", "task_always_eager", "task_default_queue", "broker_transport_options")
    saved = {key: celery_app.conf[key] for key in keys}
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (CI sets it).
    saved_environment = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    celery_app.conf.broker_url = broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    celery_app.conf.broker_transport_options = {"socket_connect_timeout": 2}
    _forget_connections()
    try:
        yield
    finally:
        if saved_environment is None:
            del os.environ["CELERY_BROKER_URL"]
        else:
            os.environ["CELERY_BROKER_URL"] = saved_environment
        for key, value in saved.items():
            celery_app.conf[key] = value
        _forget_connections()


def _forget_connections() -> None:
    # kombu's pools are global and keyed by URL; the app caches its pools and queue selection.
    celery_app.amqp.queues._consume_from = None
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@dataclass
class Processes:
    """Starts processes with the test's database, files, mail directory, signing identity and broker."""

    directory: Path
    broker_url: str
    queue: str = field(default_factory=lambda: f"liaison-fault-{uuid.uuid4().hex[:12]}")
    # Settings of every process started here (environment variables), beside those of each start.
    extra: dict[str, str] = field(default_factory=dict)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def mail_dir(self) -> Path:
        return self.directory / "mail"

    @property
    def files_dir(self) -> Path:
        return self.directory / "files"

    def env(self, **extra: str) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
        environment.update({
            "DJANGO_SETTINGS_MODULE": "liaison.settings",
            "DATABASE_URL": database_url(),
            # DEBUG: the development defaults (secret key, hosts, plain static files); nothing else differs.
            "DEBUG": "true",
            "LIAISON_VAR_DIR": str(self.directory),  # files/ (the test's storage) and mail/ live here
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "CELERY_BROKER_URL": self.broker_url,
            "REDIS_URL": self.broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "SITE_URL": settings.SITE_URL,
            "LIAISON_SIGNING_P12": settings.LIAISON_SIGNING_P12,
            "LIAISON_SIGNING_PASSPHRASE": settings.LIAISON_SIGNING_PASSPHRASE,
            "LIAISON_SIGNING_CA": settings.LIAISON_SIGNING_CA,
            "LIAISON_SIGNING_DEV_PASSPHRASE_FILE": settings.LIAISON_SIGNING_DEV_PASSPHRASE_FILE,
            "LIAISON_TSA_URL": "",
            "LIAISON_REQUIRE_MFA": "false",
            "LOG_LEVEL": "INFO",
        })
        environment.update(self.extra)
        environment.update(extra)
        return environment

    def start(self, name: str, command: list[str], *, ready: str | None = None, wait: bool = True,
              **env: str) -> subprocess.Popen[bytes]:
        """Start `command` in the project's directory, its output in <directory>/<name>.log; with `ready` (and
        `wait`), wait until that text appears in the log."""
        with open(self.directory / f"{name}.log", "ab") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env(**env), stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        if ready is not None and wait:
            self.wait_ready(name, process, ready)
        return process

    def wait_ready(self, name: str, process: subprocess.Popen[bytes], ready: str, timeout: float = 45) -> None:
        def is_ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")
            return ready in self.log(name)

        wait_for(is_ready, timeout=timeout, what=f"{name} to start", every=0.2)

    def worker(self, name: str = "worker", *, wait: bool = True, **env: str) -> subprocess.Popen[bytes]:
        """A Celery worker (one process: the solo pool, so the process killed is the one at work)."""
        return self.start(name, [sys.executable, "-m", "celery", "-A", "liaison", "worker", "--pool", "solo",
                                 "--queues", self.queue, "--hostname", f"{name}-{self.queue}@%h",
                                 "--without-mingle", "--without-gossip", "--without-heartbeat",
                                 "--loglevel", "INFO"], ready=WORKER_READY, wait=wait, **env)

    def beat(self, name: str = "beat", *, wait: bool = True, **env: str) -> subprocess.Popen[bytes]:
        return self.start(name, [sys.executable, "-m", "celery", "-A", "liaison", "beat", "--loglevel", "INFO",
                                 "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                                 "--max-interval", "1"], ready=BEAT_READY, wait=wait, **env)

    def manage(self, *args: str, **env: str) -> str:
        """Run a management command to its end; its output."""
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(**env),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.started.clear()

    def sent_mail(self) -> list[Message]:
        """Every e-mail the processes wrote with Django's file-based backend (one file per connection, messages
        separated by a line of 79 dashes)."""
        messages = []
        for path in sorted(self.mail_dir.glob("*.log")) if self.mail_dir.exists() else []:
            for chunk in path.read_text().split("\n" + "-" * 79 + "\n"):
                if chunk.strip():
                    messages.append(email.message_from_string(chunk))
        return messages


@contextmanager
def processes(directory: Path, broker_url: str, **extra: str) -> Iterator[Processes]:
    running = Processes(directory=directory, broker_url=broker_url, extra=extra)
    try:
        yield running
    finally:
        running.stop_all()
