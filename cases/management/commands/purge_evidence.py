from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from cases.actions.evidence import purge_evidence
from cases.queries import expired_evidence


class Command(BaseCommand):
    help = ("Purge evidence files of cases closed or withdrawn longer ago than LIAISON_EVIDENCE_RETENTION_DAYS, "
            "unless a legal hold is in place. The record and fingerprint stay.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List what would be purged.")

    def handle(self, *args: Any, **options: Any) -> None:
        due = list(expired_evidence())
        if options["dry_run"]:
            for evidence in due:
                self.stdout.write(f"would purge {evidence.case.reference} #{evidence.pk} {evidence.sha256}")
            self.stdout.write(f"{len(due)} file(s) past {settings.LIAISON_EVIDENCE_RETENTION_DAYS} days.")
            return
        purged = sum(1 for evidence in due if purge_evidence(evidence=evidence))
        self.stdout.write(self.style.SUCCESS(f"Purged {purged} evidence file(s); their records remain."))
