"""`manage.py create_api_token EMAIL [--read-only] [--name N] [--days D]`: print a new personal API token (for
scripts and demos). The token is printed once; only its hash is kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from api import actions


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--read-only", action="store_true", help="The token may only read.")
        parser.add_argument("--name", default="Command line", help="What the token is for.")
        parser.add_argument("--days", type=int, default=None, help="Days until it expires (default: the setting).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.select_related("membership").filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"No user with the e-mail address {options['email']}.")
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            _token, secret = actions.create_api_token(
                actor=user, name=options["name"], read_only=options["read_only"],
                expires_at=timezone.now() + timedelta(days=days) if days else None)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", None) or [str(exc)])) from exc
        self.stdout.write(secret)
