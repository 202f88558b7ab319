"""The inbound Maildir: every message not yet seen is handed to the inbound actions, then marked seen.

Polled every minute by a task and by `manage.py ingest_email --maildir`. A message is moved to cur/ with the
S flag only after it is stored, so one that fails for a system reason stays for the next poll.
"""

from __future__ import annotations

import logging
import mailbox
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from .actions.inbound import ingest
from .models import InboundEmail

logger = logging.getLogger(__name__)


@dataclass
class PollResult:
    path: str
    ingested: list[InboundEmail] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _flags(name: str, colon: str) -> str:
    info = name.split(colon, 1)[1] if colon in name else ""
    return info[2:] if info.startswith("2,") else ""


def poll_maildir(path: str | None = None) -> PollResult:
    """Ingest every message not yet seen (new/, and cur/ without the S flag), then move it to cur/ with S.

    A message is moved only after it is stored; one that fails for a system reason stays for the next poll.
    Seen messages are recognised by their file name, so old mail is never read again.
    """
    root = Path(path or settings.LIAISON_INBOUND_MAILDIR)
    for subdir in ("tmp", "new", "cur"):
        (root / subdir).mkdir(parents=True, exist_ok=True)
    colon = mailbox.Maildir(str(root), factory=None, create=True).colon
    result = PollResult(path=str(root))
    for subdir in ("new", "cur"):
        for name in sorted(os.listdir(root / subdir)):
            if name.startswith(".") or "S" in _flags(name, colon):
                continue
            source = root / subdir / name
            try:
                raw = source.read_bytes()
            except FileNotFoundError:
                continue  # another poller took it
            try:
                result.ingested.append(ingest(raw))
            except Exception:
                logger.exception("could not ingest %s; it stays in the Maildir for the next poll", source)
                result.failed.append(name)
                continue
            key = name.split(colon, 1)[0]
            flags = "".join(sorted(set(_flags(name, colon)) | {"S"}))
            try:
                os.replace(source, root / "cur" / f"{key}{colon}2,{flags}")
            except FileNotFoundError:
                pass
    return result
