from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from stats.summary import refresh_case_figures


class Command(BaseCommand):
    help = "Bring the figures' summary up to date with the record (--full: rebuild every row)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="rebuild every case's row")

    def handle(self, *args: Any, **options: Any) -> None:
        written = refresh_case_figures(full=options["full"])
        self.stdout.write(f"{written} rows written")
