"""E-mail in: one message on standard input (an MTA pipe), or every new message of a Maildir.

    manage.py ingest_email < message.eml          # e.g. Postfix: reply  unix - n n - - pipe ...
    manage.py ingest_email --maildir [PATH]       # default: LIAISON_INBOUND_MAILDIR

Bad mail is never refused: it is stored and quarantined for review. A failure of the system itself
(storage, database) exits with 75 (EX_TEMPFAIL), so the MTA keeps the message and retries.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.actions.inbound import ingest
from cases.maildir import poll_maildir
from cases.models import InboundEmail

EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Ingest one e-mail from standard input, or poll a Maildir with --maildir [PATH]."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--maildir", nargs="?", const="", default=None, metavar="PATH",
                            help="Poll this Maildir (default: settings.LIAISON_INBOUND_MAILDIR) instead of reading "
                                 "standard input.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["maildir"] is not None:
            self.poll(options["maildir"] or None)
            return
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            raise CommandError("No message on standard input.", returncode=EX_DATAERR)
        try:
            inbound = ingest(raw)
        except Exception as exc:
            raise CommandError(f"Temporary failure, the message was not stored: {exc}",
                               returncode=EX_TEMPFAIL) from exc
        self.stdout.write(describe(inbound))

    def poll(self, path: str | None) -> None:
        result = poll_maildir(path)
        for inbound in result.ingested:
            self.stdout.write(describe(inbound))
        self.stdout.write(f"{len(result.ingested)} message(s) ingested from {result.path}.")
        if result.failed:
            raise CommandError(f"{len(result.failed)} message(s) could not be stored and stay in the Maildir: "
                               + ", ".join(result.failed), returncode=EX_TEMPFAIL)


def describe(inbound: InboundEmail) -> str:
    """One line per message: its Message-ID, what became of it, and why."""
    line = f"{inbound.message_id}: {inbound.status}"
    if inbound.case is not None:
        line += f" {inbound.case.reference}"
    if inbound.reason:
        line += " — " + " ".join(inbound.reason.split())
    return line
