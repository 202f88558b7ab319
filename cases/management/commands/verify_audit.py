from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from cases.audit import Anchor, verify_chain
from cases.audit_checkpoints import CheckpointError, read_checkpoint_file
from cases.signing_identity import load_trust_roots


class Command(BaseCommand):
    help = ("Verify the audit chain: every hash, and the chain against every signed checkpoint in the database and "
            "the checkpoint file given with --checkpoint. Names the first event that disagrees and exits 1 if any.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkpoint", metavar="FILE",
                            help="A signed checkpoint file (.p7m) kept outside the platform, e.g. by an authority.")
        parser.add_argument("--workers", type=int, default=None, metavar="N",
                            help="Processes that hash a long chain on PostgreSQL (default: one per core; 0 or 1: "
                                 "hash in this process).")

    def handle(self, *args: Any, **options: Any) -> None:
        extra: list[Anchor] = []
        if options["checkpoint"]:
            extra.append(self._read_file(Path(options["checkpoint"])))
        report = verify_chain(extra=extra, workers=options["workers"])
        if report.broken_at is not None:
            self.stderr.write(self.style.ERROR(
                f"Audit chain BROKEN at event #{report.broken_at} ({report.reason}); "
                f"{report.checked} events before it verified."
            ))
        for problem in report.problems:
            self.stderr.write(self.style.ERROR(_("Checkpoints: %(problem)s") % {"problem": problem}))
        if not report.ok:
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified."))
        if report.latest is None:
            self.stdout.write(self.style.WARNING(_(
                "No signed checkpoint anchors this chain: its newest events could be removed or rewritten unnoticed. "
                "Checkpoints are made every LIAISON_CHECKPOINT_MINUTES; check against a kept copy with --checkpoint "
                "FILE.")))
            return
        self.stdout.write(_("Held against %(count)d signed checkpoint(s); the newest, %(label)s, covers %(events)d "
                            "events up to event #%(head)d. %(after)d event(s) after it are not covered yet.") % {
            "count": report.anchors, "label": report.latest.label, "events": report.latest.event_count,
            "head": report.latest.head_event_id, "after": report.uncovered})

    def _read_file(self, path: Path) -> Anchor:
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        try:
            checked = read_checkpoint_file(path.read_bytes(), trust_roots=load_trust_roots())
        except CheckpointError as exc:
            self.stderr.write(self.style.ERROR(_("The checkpoint file %(path)s cannot be trusted: %(error)s")
                                               % {"path": path, "error": exc}))
            raise SystemExit(1) from exc
        checkpoint = checked.checkpoint
        stamp = (_(", timestamped %(when)s") % {"when": checked.timestamped_at.isoformat()}
                 if checked.timestamped_at else "")
        self.stdout.write(_("Checkpoint file %(path)s: #%(n)d, %(events)d events up to event #%(head)d, signed by "
                            "%(signer)s at %(when)s%(stamp)s.") % {
            "path": path, "n": checkpoint.sequence, "events": checkpoint.event_count,
            "head": checkpoint.head_event_id, "signer": checked.signer, "when": checkpoint.made_at.isoformat(),
            "stamp": stamp})
        label = _("the checkpoint file's #%(n)d of %(when)s") % {
            "n": checkpoint.sequence, "when": checkpoint.made_at.strftime("%Y-%m-%d %H:%M:%S UTC")}
        return Anchor(label, checkpoint.sequence, checkpoint.head_event_id, checkpoint.head_hash,
                      checkpoint.event_count)
