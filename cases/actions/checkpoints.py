"""Signed checkpoints of the audit chain: made on a schedule, on demand and for each outcome report; every
download audited.

Making one takes two short transactions, not one: the chain lock (which every audited change waits for) is held
only while the `audit.checkpoint` event is appended, never while a timestamp authority answers. A second lock
serialises the makers, so numbers follow each other without gaps and each checkpoint covers at least as much of
the chain as the one before.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import audit, permissions
from ..audit_checkpoints import Checkpoint, sign_checkpoint, timestamp_of, timestamper
from ..models import AuditCheckpoint, AuditEvent
from ..signing_identity import SigningIdentity, load_signing_identity

logger = logging.getLogger(__name__)

# Arbitrary constant naming the advisory lock that serialises checkpoint makers on PostgreSQL ("LIAC").
_MAKER_LOCK_ID = 0x4C494143


def _serialise_makers() -> None:
    """Held until the transaction ends, through the signing (and the timestamp authority's answer); appends to
    the chain do not wait for it. SQLite serialises writers by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_MAKER_LOCK_ID])


def make_checkpoint(*, reason: str, actor: User | None = None, only_if_changed: bool = False,
                    data: dict[str, Any] | None = None,
                    identity: SigningIdentity | None = None) -> AuditCheckpoint | None:
    """Sign the head of the chain. `actor` None is the platform itself (the schedule, a report being issued);
    a person must be allowed to. With `only_if_changed`, nothing is done (None) when no event was appended since
    the newest checkpoint, so the schedule run twice signs once.

    Raises SigningIdentityError when no key is configured, before anything is written."""
    if actor is not None and not permissions.can_make_audit_checkpoint(actor):
        raise PermissionDenied(_("Only a T&S manager of the platform makes an audit checkpoint on demand."))
    identity = identity or load_signing_identity()
    if only_if_changed:
        newest = AuditCheckpoint.objects.order_by("-sequence").values_list("head_event_id", flat=True).first()
        head = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
        if newest is not None and newest == head:
            return None
    # The checkpoint covers its own event: who asked, and why, are under the signature too.
    event = audit.record(action="audit.checkpoint", actor=actor,
                         data={"reason": reason, **(data or {})})
    with transaction.atomic():
        _serialise_makers()
        newest_checkpoint = AuditCheckpoint.objects.order_by("-sequence").first()
        if newest_checkpoint is not None and newest_checkpoint.head_event_id >= event.pk:
            return newest_checkpoint  # another maker signed a head at or after ours meanwhile
        checkpoint = Checkpoint(
            sequence=(newest_checkpoint.sequence if newest_checkpoint else 0) + 1,
            head_event_id=event.pk,
            head_hash=event.hash,
            event_count=AuditEvent.objects.filter(pk__lte=event.pk).count(),
            made_at=timezone.now().replace(microsecond=0),
            issuer=settings.SITE_URL,
        )
        signed = _sign(checkpoint, identity)
        return AuditCheckpoint.objects.create(
            sequence=checkpoint.sequence, made_at=checkpoint.made_at, head_event_id=checkpoint.head_event_id,
            head_hash=checkpoint.head_hash, event_count=checkpoint.event_count, reason=reason,
            requested_by=actor, signer=identity.subject[:255],
            timestamped_at=timestamp_of(signed), signed_file=signed)


def _sign(checkpoint: Checkpoint, identity: SigningIdentity) -> bytes:
    """Signed, and timestamped when LIAISON_TSA_URL is set. An unreachable timestamp authority does not stop the
    checkpoint (the signature is what anchors the chain); it is logged, and the checkpoint says it has no stamp."""
    tsa = timestamper(settings.LIAISON_TSA_URL)
    if tsa is not None:
        try:
            return sign_checkpoint(checkpoint, identity, tsa=tsa)
        except Exception:  # the TSA's network or answer; the signature alone still anchors the chain
            logger.exception("audit checkpoint #%s: the timestamp authority failed; signed without a timestamp",
                             checkpoint.sequence)
    return sign_checkpoint(checkpoint, identity)


def record_checkpoint_download(*, actor: User, checkpoint: AuditCheckpoint) -> None:
    """Every download of a checkpoint is a sensitive read."""
    audit.record(actor=actor, action="audit.checkpoint_downloaded", obj=checkpoint,
                 data={"sequence": checkpoint.sequence, "head_event_id": checkpoint.head_event_id})
