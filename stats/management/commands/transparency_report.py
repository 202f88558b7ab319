"""Write a year's transparency figures (TCO regulation Art. 7, DSA Art. 15(1)(a)) as JSON and CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from stats.summary import refresh_case_figures
from stats.transparency import yearly_csv_rows, yearly_report


class Command(BaseCommand):
    help = "Write the yearly transparency figures (EU TCO regulation Art. 7, DSA Art. 15(1)(a)) as JSON and CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--output", default="", help="directory (default: var/transparency)")

    def handle(self, *args: Any, **options: Any) -> None:
        year = options["year"]
        if not 2000 <= year <= timezone.now().year:
            raise CommandError(f"--year must be between 2000 and {timezone.now().year}")
        directory = Path(options["output"] or Path(settings.VAR_DIR) / "transparency")
        directory.mkdir(parents=True, exist_ok=True)
        refresh_case_figures()
        report = yearly_report(year)
        json_path = directory / f"transparency-{year}.json"
        json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        csv_path = directory / f"transparency-{year}.csv"
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(yearly_csv_rows(report))
        self.stdout.write(f"{json_path}\n{csv_path}")
