from typing import Any

from django.core.management.base import BaseCommand

from cases.actions.evidence import verify_evidence_integrity
from cases.models import Evidence


class Command(BaseCommand):
    help = "Re-hash every stored evidence file; report any whose bytes no longer match. Exit 1 on a mismatch."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = 0, []
        for evidence in Evidence.objects.filter(purged_at__isnull=True).select_related("case").iterator():
            checked += 1
            if not verify_evidence_integrity(evidence=evidence):
                broken.append(evidence)
        for evidence in broken:
            self.stderr.write(self.style.ERROR(
                f"MISMATCH {evidence.case.reference} evidence #{evidence.pk} {evidence.original_name!r}: "
                f"expected SHA-256 {evidence.sha256}"
            ))
        if broken:
            self.stderr.write(self.style.ERROR(f"{len(broken)} of {checked} files no longer match."))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"All {checked} stored evidence files match their fingerprints."))
