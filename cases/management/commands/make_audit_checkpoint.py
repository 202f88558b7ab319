from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from cases.actions.checkpoints import make_checkpoint
from cases.audit_checkpoints import filename
from cases.models import AuditCheckpoint
from cases.signing_identity import SigningIdentityError


class Command(BaseCommand):
    help = ("Sign a checkpoint of the audit chain's head now (the schedule does so every "
            "LIAISON_CHECKPOINT_MINUTES), and optionally write the signed file to keep elsewhere.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", metavar="PATH",
                            help="Write the signed checkpoint file here (a directory: its standard name in it).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = make_checkpoint(reason=AuditCheckpoint.Reason.ON_DEMAND)
        except SigningIdentityError as exc:
            raise CommandError(str(exc)) from exc
        assert checkpoint is not None  # only_if_changed was not asked for
        self.stdout.write(_("Checkpoint #%(n)d: %(events)d events up to event #%(head)d, hash %(hash)s.") % {
            "n": checkpoint.sequence, "events": checkpoint.event_count, "head": checkpoint.head_event_id,
            "hash": checkpoint.head_hash})
        if options["output"]:
            path = Path(options["output"])
            if path.is_dir():
                path = path / filename(checkpoint.sequence)
            path.write_bytes(bytes(checkpoint.signed_file))
            self.stdout.write(_("Written to %(path)s.") % {"path": path})
