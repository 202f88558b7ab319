"""Reply addresses: the Reply-To of each notification e-mail is a token for one person and one case.

`reply+ID-2026-000123.42.20261202.<signature>@reply.liaison.example` names the case, the person written to
and the day it was issued, signed with a key derived from SECRET_KEY. `read_reply_address` says whether an
address is such a token and whether it is valid (our signature, not older than LIAISON_REPLY_TOKEN_DAYS).
A valid token alone posts nothing: the authenticated sender must also be the person it was issued to.
No database.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

if TYPE_CHECKING:
    from accounts.models import User

    from .models import Case

REPLY_PATTERN = re.compile(
    r"^(?P<prefix>[a-z0-9._-]+)\+(?P<ref>[A-Z]{2}-\d{4}-\d{6})\.(?P<uid>\d{1,12})\.(?P<issued>\d{8})"
    r"\.(?P<sig>[0-9a-f]{20})@(?P<domain>[^@\s]+)$",
    re.IGNORECASE,
)
# Anything at the reply domain that starts like a token: a token we cannot read is forged, not ignored.
_TOKEN_LIKE = re.compile(r"^[a-z0-9._-]+\+", re.IGNORECASE)


@dataclass(frozen=True)
class ReplyToken:
    """What an address at the reply domain says. `status`: valid, expired or forged."""

    status: str
    address: str
    reference: str = ""
    user_id: int = 0
    issued: date | None = None

    @property
    def is_valid(self) -> bool:
        return self.status == "valid"


def _signature(reference: str, user_id: int, issued: str) -> str:
    message = f"reply:{reference}:{user_id}:{issued}"
    return salted_hmac("liaison.reply-address", message, algorithm="sha256").hexdigest()[:20]


def reply_address(case: Case, user: User, *, issued: date | None = None) -> str:
    """An address that identifies the case and the person written to, valid for LIAISON_REPLY_TOKEN_DAYS."""
    day = (issued or timezone.now().date()).strftime("%Y%m%d")
    signature = _signature(case.reference, user.pk, day)
    return (f"{settings.LIAISON_REPLY_PREFIX}+{case.reference}.{user.pk}.{day}.{signature}"
            f"@{settings.LIAISON_REPLY_DOMAIN}")


def is_reply_domain(address: str) -> bool:
    return address.strip().lower().rpartition("@")[2] == str(settings.LIAISON_REPLY_DOMAIN).lower()


def read_reply_address(address: str, *, today: date | None = None) -> ReplyToken | None:
    """None for an address that is not a reply token at all (another mailbox, another domain)."""
    address = (address or "").strip()
    if not is_reply_domain(address) or not _TOKEN_LIKE.match(address):
        return None
    match = REPLY_PATTERN.match(address)
    if match is None:
        return ReplyToken("forged", address)
    reference, user_id, issued_text = match.group("ref").upper(), int(match.group("uid")), match.group("issued")
    if not hmac.compare_digest(match.group("sig").lower(), _signature(reference, user_id, issued_text)):
        return ReplyToken("forged", address)
    try:
        issued = date(int(issued_text[:4]), int(issued_text[4:6]), int(issued_text[6:]))
    except ValueError:
        return ReplyToken("forged", address)
    today = today or timezone.now().date()
    if issued > today or today - issued > timedelta(days=settings.LIAISON_REPLY_TOKEN_DAYS):
        return ReplyToken("expired", address, reference, user_id, issued)
    return ReplyToken("valid", address, reference, user_id, issued)
