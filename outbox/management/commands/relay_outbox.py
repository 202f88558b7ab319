from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from outbox.relay import relay_all_due


class Command(BaseCommand):
    help = "Offer the broker every outbox row that is due now (what the beat job does every few seconds)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = relay_all_due()
        self.stdout.write(f"sent {result.sent}, failed {result.failed}")
