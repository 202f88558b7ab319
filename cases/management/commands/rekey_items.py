"""Recompute the normalised key and warning of every reported item after the link rules change (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from cases.actions.items import rekey_items


class Command(BaseCommand):
    help = ("Recompute every reported item's normalised key and look-alike warning from its target, so duplicate "
            "detection and deconfliction follow the current link rules. Safe to run again.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = rekey_items()
        self.stdout.write(self.style.SUCCESS(f"{result.changed} item(s) of {result.cases} case(s) re-keyed."))
        for reference, position in result.kept_apart:
            self.stdout.write(f"{reference} item #{position}: now the same target as an earlier item; kept apart.")
        for reference, position in result.refused:
            self.stdout.write(f"{reference} item #{position}: the current rules refuse its target; key kept.")
