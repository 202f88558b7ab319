"""Webhook signing secrets at rest: encrypted (Fernet: AES-128-CBC with HMAC-SHA256) under keys kept outside the
database, decrypted only to sign a delivery. No model, no request: the keys come from the settings.

Keys: `settings.LIAISON_WEBHOOK_SECRET_KEYS`, read from `LIAISON_WEBHOOK_SECRET_KEY` (or the file named by
`LIAISON_WEBHOOK_SECRET_KEY_FILE`): one or more Fernet keys separated by commas or white space. The first encrypts,
every one decrypts (MultiFernet), so a key is rotated by putting a new one first, running
`manage.py reencrypt_webhook_secrets` (every stored secret re-encrypted under the first key), then dropping the old
one. Without keys, development and the test run use one key generated on first use into
`LIAISON_WEBHOOK_DEV_KEY_FILE` (under var/, which git ignores); production settings refuse to start without keys.

A dump of the database alone therefore holds no usable signing secret; whoever has the dump and the key has both.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnavailable(ImproperlyConfigured):
    """No key is configured, a configured key is not a Fernet key, or a stored secret was encrypted under a key no
    longer configured. Nothing is signed (or sent) without the real secret: this fails closed."""


def generate_key() -> str:
    """A new Fernet key (44 characters of URL-safe base64), for LIAISON_WEBHOOK_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


def _development_key(name: str) -> bytes:
    """The development key in `name`, made on first use. Written to a private temporary file and linked into place,
    so of two processes starting at once (test workers) the first link wins and both use its key."""
    path = Path(name)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_bytes().strip()


def _keys() -> list[bytes]:
    configured = [str(key).encode("ascii") for key in getattr(settings, "LIAISON_WEBHOOK_SECRET_KEYS", []) if key]
    if configured:
        return configured
    development = getattr(settings, "LIAISON_WEBHOOK_DEV_KEY_FILE", "")
    if development:
        return [_development_key(development)]
    raise SecretUnavailable(
        "No key encrypts webhook signing secrets: set LIAISON_WEBHOOK_SECRET_KEY (or LIAISON_WEBHOOK_SECRET_KEY_FILE) "
        "to a Fernet key, e.g. the output of `python -c \"from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())\"`.")


# The cipher of the keys last read: building one is cheap, but this keeps a send from re-reading the key file.
_ciphers: dict[tuple[bytes, ...], MultiFernet] = {}


def _cipher() -> MultiFernet:
    keys = tuple(_keys())
    cipher = _ciphers.get(keys)
    if cipher is None:
        try:
            cipher = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as exc:
            raise SecretUnavailable(
                "LIAISON_WEBHOOK_SECRET_KEY holds something that is not a Fernet key (32 bytes in URL-safe base64, "
                "44 characters).") from exc
        _ciphers.clear()
        _ciphers[keys] = cipher
    return cipher


def encrypt(secret: str) -> str:
    """What is stored for a signing secret: a Fernet token under the first key."""
    return _cipher().encrypt(secret.encode()).decode("ascii")


def decrypt(stored: str) -> str:
    """The signing secret a stored token holds; SecretUnavailable when no configured key opens it."""
    try:
        return _cipher().decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretUnavailable(
            "A webhook signing secret cannot be decrypted with the configured LIAISON_WEBHOOK_SECRET_KEY: it was "
            "encrypted under a key that is no longer configured (keep the old key after the new one until "
            "`manage.py reencrypt_webhook_secrets` has run).") from exc


def reencrypt(stored: str) -> str:
    """The same secret encrypted under the first key (for a key rotation); SecretUnavailable as decrypt."""
    try:
        return _cipher().rotate(stored.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretUnavailable("A webhook signing secret cannot be decrypted with the configured keys.") from exc
