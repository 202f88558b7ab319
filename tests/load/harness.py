"""Running the load test: a gunicorn server with production settings on loopback (and a Celery worker when a
broker is given) over a seeded demo data set, locust headless against it, and the comparison of what each
simulated person recorded as done with the rows in the database afterwards.

Used by `make loadtest` (tests/load/run.py: its own PostgreSQL database, the full run) and by the CI test
(tests/integration/test_load.py: the test database, a short run). The limits that would otherwise stop fifty people
signing in from one address within a minute are raised through their settings (LIAISON_LOGIN_LIMIT); nothing in the
code is bypassed. The session idle limit stays on, above the run's length.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
DEMO_PASSWORD = "liaison-demo-2026"


@dataclass
class LoadRun:
    """What one run did: locust's exit code and totals, the ledger of successes, the server's 5xx answers."""

    exit_code: int
    requests: int
    failures: int
    ledger: dict[str, Any]
    server_errors: list[str]
    directory: Path
    failure_lines: list[str] = field(default_factory=list)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(directory: Path, database_url: str, broker_url: str = "") -> dict[str, str]:
    """Production settings over plain HTTP on loopback (as `make run`), files and mail under `directory`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "liaison.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "LIAISON_LOCAL_HTTP": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LIAISON_WEBHOOK_SECRET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),  # a Fernet key
        "LIAISON_VAR_DIR": str(directory),
        "STATIC_ROOT": str(directory / "static"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "LIAISON_REQUIRE_MFA": "false",
        "DEMO_PASSWORD": DEMO_PASSWORD,
        # Every simulated person signs in from 127.0.0.1 within the first seconds: allauth's 30 a minute per
        # address is raised for the run. Failed sign-ins keep their limits (there are none in a run).
        "LIAISON_LOGIN_LIMIT": "1000/m/ip",
        # The idle limit stays in force, above the run's length.
        "LIAISON_SESSION_IDLE_MINUTES": "30",
        "LIAISON_TSA_URL": "",
        "LOG_LEVEL": "WARNING",
    })
    for key in ("LIAISON_SIGNING_P12", "LIAISON_SIGNING_PASSPHRASE", "LIAISON_SIGNING_CA",
                "LIAISON_SIGNING_DEV_PASSPHRASE_FILE"):
        env.pop(key, None)  # the demo's own development identity under `directory`
    if broker_url:
        env.update({"CELERY_BROKER_URL": broker_url, "REDIS_URL": broker_url, "CELERY_TASK_ALWAYS_EAGER": "false",
                    "CELERY_TASK_DEFAULT_QUEUE": f"liaison-load-{uuid.uuid4().hex[:8]}"})
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def prepare(env: dict[str, str], *, migrate: bool) -> None:
    """The data set and the static files the production server serves."""
    (Path(env["LIAISON_VAR_DIR"]) / "mail").mkdir(parents=True, exist_ok=True)
    if migrate:
        manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "seed_demo")


def _start(name: str, command: list[str], env: dict[str, str], directory: Path) -> subprocess.Popen[bytes]:
    with open(directory / f"{name}.log", "ab") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health/", timeout=5) as answer:  # noqa: S310 (loopback)
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"gunicorn did not answer within {timeout:.0f} s")


def run_load(directory: Path, env: dict[str, str], *, users: int, spawn_rate: float, duration: str,
             web_workers: int = 4, worker: bool = True) -> LoadRun:
    """Start the server (and a worker when the environment names a broker), run locust to its end, stop them."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    started: list[subprocess.Popen[bytes]] = []
    web_log = directory / "gunicorn.log"
    try:
        web = _start("gunicorn", [
            sys.executable, "-m", "gunicorn", "liaison.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(web_workers), "--worker-class", "gthread", "--threads", "4", "--timeout", "120",
            # Keep-alive longer than a simulated person's pause: a connection the server closes just as the client
            # reuses it is a client's network error, not an answer of the application.
            "--keep-alive", "75", "--graceful-timeout", "10", "--access-logfile", "-",
            "--access-logformat", '%(s)s %(m)s %(U)s %(M)sms'], env, directory)
        started.append(web)
        _wait_healthy(host, web, web_log)
        if worker and env.get("CELERY_BROKER_URL", "").startswith("redis"):
            started.append(_start("worker", [
                sys.executable, "-m", "celery", "-A", "liaison", "worker", "--pool", "threads", "--concurrency", "4",
                "--queues", env["CELERY_TASK_DEFAULT_QUEUE"], "--without-mingle", "--without-gossip",
                "--loglevel", "WARNING"], env, directory))
        results = directory / "ledger.json"
        locust_env = {**env, "LOADTEST_RESULTS": str(results), "LOADTEST_RUN": uuid.uuid4().hex[:10]}
        locust = subprocess.run([
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--users", str(users),
            "--spawn-rate", str(spawn_rate), "--run-time", duration, "--host", host, "--csv", str(directory / "locust"),
            "--only-summary", "--stop-timeout", "10", "--exit-code-on-error", "1", "--loglevel", "WARNING"],
            cwd=ROOT, env=locust_env, capture_output=True, text=True, timeout=_seconds(duration) + 180)
        (directory / "locust.log").write_text(locust.stdout + locust.stderr)
    finally:
        for process in reversed(started):
            _stop(process)
    requests, failures = _totals(directory / "locust_stats.csv")
    access = web_log.read_text(errors="replace").splitlines()
    return LoadRun(
        exit_code=locust.returncode, requests=requests, failures=failures,
        ledger=json.loads(results.read_text()) if results.exists() else {},
        server_errors=[line for line in access if line[:1] == "5" and line[:3].isdigit()],
        directory=directory, failure_lines=_failures(directory / "locust_failures.csv"))


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(duration[:-1]) * units[duration[-1]] if duration[-1] in units else int(duration)


def _totals(stats: Path) -> tuple[int, int]:
    if not stats.exists():
        return 0, 0
    with stats.open() as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") == "Aggregated":
                return int(row["Request Count"]), int(row["Failure Count"])
    return 0, 0


def _failures(path: Path) -> list[str]:
    if not path.exists():
        return []
    with path.open() as handle:
        return [f"{row['Method']} {row['Name']}: {row['Error']} ×{row['Occurrences']}" for row in csv.DictReader(handle)]


def problems_in_the_record(ledger: dict[str, Any]) -> list[str]:
    """What the database says against the ledger: every message, opened case, submit and acknowledge a simulated
    person saw confirmed is there exactly once; nothing is there twice; and nothing is there that nobody sent (a
    request still in flight when the run stopped may have been done without its answer being read, so the database
    may hold what was attempted but not confirmed). Runs with Django set up on the same database."""
    from cases.models import AuditEvent, Case, Message

    run = ledger["run"]
    attempted = ledger["attempted"]
    problems: list[str] = []

    stored = list(Message.objects.filter(body__startswith=f"load {run} ").values_list("id", "body", "case__reference"))
    doubled = [body for body, n in Counter(body for _id, body, _ref in stored).items() if n > 1]
    if doubled:
        problems.append(f"messages stored more than once: {doubled[:5]}")
    lost = {(m["id"], m["body"], m["reference"]) for m in ledger["messages"]} - set(stored)
    if lost:
        problems.append(f"messages confirmed but not stored as answered: {sorted(lost)[:5]}")
    unsent = {body for _id, body, _ref in stored} - set(attempted["messages"])
    if unsent:
        problems.append(f"messages nobody sent: {sorted(unsent)[:5]}")

    cases = list(Case.objects.filter(title__startswith=f"Load {run} case ").values_list("reference", "title"))
    doubled = [title for title, n in Counter(title for _ref, title in cases).items() if n > 1]
    if doubled:
        problems.append(f"cases opened more than once from one preview: {doubled[:5]}")
    missing = set(ledger["created"]) - {ref for ref, _title in cases}
    if missing:
        problems.append(f"cases confirmed as opened but not stored: {sorted(missing)[:5]}")
    unsent = {title for _ref, title in cases} - set(attempted["titles"])
    if unsent:
        problems.append(f"cases nobody opened: {sorted(unsent)[:5]}")

    moved: dict[str, Counter[str]] = {}
    for move, confirmed in (("submit", ledger["submitted"]), ("acknowledge", ledger["acknowledged"])):
        events = Counter(AuditEvent.objects.filter(action=f"case.{move}", case__title__startswith=f"Load {run} case ")
                         .values_list("case__reference", flat=True))
        moved[move] = events
        twice = [ref for ref, n in events.items() if n > 1]
        if twice:
            problems.append(f"{move} recorded more than once: {twice[:5]}")
        lost = [ref for ref in confirmed if events[ref] != 1]
        if lost:
            problems.append(f"{move} confirmed but not in the audit chain once: {lost[:5]}")
        unsent = set(events) - set(attempted[move])
        if unsent:
            problems.append(f"{move} nobody asked for: {sorted(unsent)[:5]}")

    wrong = [ref for ref, status in Case.objects.filter(reference__in=[r for r, _t in cases])
             .values_list("reference", "status")
             if status != ("in_progress" if moved["acknowledge"][ref] else "submitted" if moved["submit"][ref]
                           else "draft")]
    if wrong:
        problems.append(f"cases whose state is not the one their moves made: {wrong[:5]}")
    return problems
