"""`manage.py generate_load_data`: fill a benchmark database with a national-scale, reproducible world."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from cases.load_data import (
    DEFAULT_PASSWORD,
    PERSONAS,
    LoadDataError,
    database_name,
    generate,
    is_disposable_database,
    vacuum_analyze,
)
from cases.load_data.people import TOTP_SECRET


class Command(BaseCommand):
    help = ("Generate benchmark data: by default 100,000 cases, 1,000,000 items, 1,000,000 messages, 200,000 "
            "evidence records, 300,000 deadlines and their audit chain (--scale to change). Only into a database "
            "whose name contains 'bench' (or a test database), unless --i-know-this-is-not-production.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply every count (default 1.0).")
        parser.add_argument("--now", help="The generated world's present, ISO 8601 (default: now, to the minute).")
        parser.add_argument("--flush", action="store_true",
                            help="PostgreSQL: drop everything in the database, migrate, then generate.")
        parser.add_argument("--i-know-this-is-not-production", action="store_true", dest="not_production",
                            help="Allow a database whose name does not say it is a benchmark database.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = database_name()
        bench = "bench" in os.path.basename(name).lower()
        if options["flush"] and not (bench or options["not_production"]):
            raise CommandError(f"--flush wipes the database {name!r}; its name does not contain 'bench'. Refusing "
                               "(use a benchmark database, or --i-know-this-is-not-production).")
        if not (is_disposable_database() or options["not_production"]):
            raise CommandError(f"The database {name!r} does not look like a benchmark or test database (its name "
                               "does not contain 'bench'); generated accounts share a known password. Refusing.")
        now = self._now(options["now"])
        if options["flush"]:
            self._flush()
        password = os.environ.get("LOADGEN_PASSWORD", DEFAULT_PASSWORD)
        try:
            summary = generate(seed=options["seed"], scale=options["scale"], now=now, password=password,
                               progress=self.stdout.write)
        except LoadDataError as exc:
            raise CommandError(str(exc)) from exc
        for label, count in sorted(summary.rows.items()):
            self.stdout.write(f"  {label:<36} {count:>10,}")
        vacuum = vacuum_analyze()
        self.stdout.write(self.style.SUCCESS(
            f"Generated in {summary.seconds:.0f} s (+ {vacuum:.0f} s VACUUM ANALYZE); audit chain head "
            f"{summary.head_hash[:16]}…"))
        self.stdout.write(f"Sign in as {', '.join(PERSONAS.values())} (and every other generated account) with the "
                          f"password from LOADGEN_PASSWORD (default {DEFAULT_PASSWORD}) and TOTP secret "
                          f"{TOTP_SECRET}.")

    def _now(self, text: str | None) -> datetime | None:
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise CommandError(f"--now: not an ISO 8601 time: {text!r}") from exc
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)

    def _flush(self) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("--flush works on PostgreSQL; for SQLite, delete the database file.")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Flushed and migrated {database_name()!r} in {time.perf_counter() - started:.0f} s")
