"""Reply addresses: each notification e-mail's Reply-To names the case and the person written to, signed.

`reply_address(case, user)` makes one; `parse_reply_address(address)` returns (reference, user id) only
when the signature is ours. No database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from accounts.models import User

    from .models import Case

REPLY_PATTERN = re.compile(r"^(?P<prefix>[a-z]+)\+(?P<ref>[A-Z]{2}-\d{4}-\d{6})\.(?P<uid>\d+)\.(?P<sig>[0-9a-f]{16})@",
                           re.IGNORECASE)


def reply_signature(reference: str, user_id: int) -> str:
    key = str(settings.SECRET_KEY).encode()
    return hmac.new(key, f"reply:{reference}:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


def reply_address(case: Case, user: User) -> str:
    """An address that identifies the case (and who was written to) for replies by e-mail."""
    sig = reply_signature(case.reference, user.pk)
    return f"{settings.LIAISON_REPLY_PREFIX}+{case.reference}.{user.pk}.{sig}@{settings.LIAISON_REPLY_DOMAIN}"


def parse_reply_address(address: str) -> tuple[str, int] | None:
    match = REPLY_PATTERN.match(address.strip().lower() if address else "")
    if match is None:
        return None
    reference, uid = match.group("ref").upper(), int(match.group("uid"))
    if not hmac.compare_digest(match.group("sig"), reply_signature(reference, uid)):
        return None
    return reference, uid
