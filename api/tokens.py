"""Personal API token secrets: made, split into a lookup prefix and a secret, hashed. Pure: no database.

A token reads `lx_<prefix>_<secret>`: the prefix (8 characters, stored in clear, indexed) finds the row, the
secret (43 characters of `secrets.token_urlsafe`, 256 bits) is checked against the stored SHA-256 of the whole
token. A fast hash is right here: the secret is random and long, so there is nothing to guess from its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

TOKEN_SCHEME = "lx"  # noqa: S105 (the tokens' visible prefix, not a secret)
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class NewSecret:
    token: str  # shown once to its owner, never stored
    prefix: str
    digest: str


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> NewSecret:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    token = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewSecret(token=token, prefix=prefix, digest=hash_secret(token))


def prefix_of(token: str) -> str | None:
    """The lookup prefix of a token of our shape, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_SCHEME or len(parts[1]) != PREFIX_LENGTH or len(parts[2]) < 32:
        return None
    return parts[1]


def matches(token: str, digest: str) -> bool:
    return hmac.compare_digest(hash_secret(token), digest)
