"""After putting a new key first in LIAISON_WEBHOOK_SECRET_KEY: every stored signing secret encrypted under it, so
the old key can then be dropped. Safe to run again; the receivers notice nothing (the secrets themselves stay)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webhooks.actions import reencrypt_secrets


class Command(BaseCommand):
    help = "Re-encrypt every webhook signing secret under the first LIAISON_WEBHOOK_SECRET_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        count = reencrypt_secrets()
        self.stdout.write(f"{count} endpoint(s) re-encrypted under the first key.")
