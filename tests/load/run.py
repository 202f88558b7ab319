"""`make loadtest`: the full bounded load test on a PostgreSQL database of its own (LOADTEST_DATABASE_URL, made
afresh each run): 50 simulated people for three minutes against gunicorn with production settings on loopback and a
Celery worker on Redis (CELERY_BROKER_URL, default redis://127.0.0.1:6379/0), then the checks of the CI test:
no failed request, no 5xx, no message or transition lost or doubled, `verify_audit` intact.

    .venv/bin/python tests/load/run.py [--users 50] [--spawn-rate 10] [--duration 3m]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from tests.load.harness import ROOT, manage, prepare, problems_in_the_record, run_load, server_env  # noqa: E402


def fresh_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", default="3m")
    args = parser.parse_args()
    database_url = os.environ.get("LOADTEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/liaison_load")
    broker_url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    directory = ROOT / "var" / "loadtest"
    directory.mkdir(parents=True, exist_ok=True)
    print(f"load test: fresh database {urlparse(database_url).path.lstrip('/')}, seeding the demo data")
    fresh_database(database_url)
    env = server_env(directory, database_url, broker_url)
    prepare(env, migrate=True)
    print(f"load test: {args.users} people for {args.duration} (spawn rate {args.spawn_rate}/s)")
    result = run_load(directory / "run", env, users=args.users, spawn_rate=args.spawn_rate, duration=args.duration)
    ledger = result.ledger
    print(f"requests {result.requests}, failed {result.failures}, 5xx {len(result.server_errors)}; "
          f"sign-ins {ledger.get('logins')}, reads {ledger.get('reads')}, messages {len(ledger.get('messages', []))}, "
          f"cases opened {len(ledger.get('created', []))}, submitted {len(ledger.get('submitted', []))}, "
          f"acknowledged {len(ledger.get('acknowledged', []))}")
    print((result.directory / "locust.log").read_text()[-4000:])
    os.environ.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "liaison.settings", "DEBUG": "true"})
    import django

    django.setup()
    problems = problems_in_the_record(ledger) if ledger else ["locust wrote no ledger"]
    problems += [f"failed request: {line}" for line in result.failure_lines]
    problems += [f"server error: {line}" for line in result.server_errors[:20]]
    if result.exit_code != 0 or result.failures:
        problems.append(f"locust exited with {result.exit_code}, {result.failures} failed requests")
    print(manage(env, "verify_audit").strip())
    for problem in problems:
        print("PROBLEM:", problem)
    print("load test: " + ("passed" if not problems else "FAILED") + f" (logs in {result.directory})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
