from typing import Any

from django.core.management.base import BaseCommand

from cases.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit chain; name the first broken link and exit 1 if any."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified."))
            return
        self.stderr.write(self.style.ERROR(
            f"Audit chain BROKEN at event #{report.broken_at} ({report.reason}); "
            f"{report.checked} events before it verified."
        ))
        raise SystemExit(1)
