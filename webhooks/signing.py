"""Standard Webhooks signatures (https://www.standardwebhooks.com/): pure functions, no model, no request.

The secret is `whsec_` + base64 of random bytes; the signature of a message is
`v1,` + base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}")). Several signatures (during
a key rotation) are sent space-separated in one `webhook-signature` header; a receiver accepts any it can check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """The webhook-id: unique per message, the same on every attempt of it."""
    return f"msg_{uuid.uuid4().hex}"


def _key(secret: str) -> bytes:
    raw = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def sign(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    digest = hmac.new(_key(secret), f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(*, secrets_in_use: Sequence[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three headers of a delivery, signed with every key in use (the current one first)."""
    signatures = " ".join(sign(secret=s, message_id=message_id, timestamp=timestamp, body=body)
                          for s in secrets_in_use if s)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}
