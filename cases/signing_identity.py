"""The platform's signing identity: the PKCS#12 key and certificate that sign outcome reports, and its CA.

`load_signing_identity()` reads the file named by LIAISON_SIGNING_P12; `create_signing_identity()` makes
a local CA and signer for development and tests; `load_trust_roots()` and `ca_certificates_pem()` give
readers the CA to trust. No database.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _


class SigningIdentityError(Exception):
    """No usable signing identity; the message says what to configure."""


@dataclass(frozen=True)
class SigningIdentity:
    signer: Any  # pyhanko.sign.signers.SimpleSigner
    subject: str
    path: str


def _passphrase() -> bytes | None:
    if settings.LIAISON_SIGNING_PASSPHRASE:
        return str(settings.LIAISON_SIGNING_PASSPHRASE).encode()
    dev_file = Path(settings.LIAISON_SIGNING_DEV_PASSPHRASE_FILE)
    if dev_file.is_file():
        return dev_file.read_text().strip().encode()
    return None


def load_signing_identity() -> SigningIdentity:
    """The platform's signing key and certificate from the PKCS#12 file named by LIAISON_SIGNING_P12."""
    from pyhanko.sign.signers import SimpleSigner

    path = Path(settings.LIAISON_SIGNING_P12 or "")
    if not settings.LIAISON_SIGNING_P12 or not path.is_file():
        raise SigningIdentityError(
            _("No signing identity is configured: the PKCS#12 file %(path)s does not exist. Set "
              "LIAISON_SIGNING_P12 and LIAISON_SIGNING_PASSPHRASE (or LIAISON_SIGNING_PASSPHRASE_FILE), or run "
              "`manage.py create_signing_identity` for development.") % {"path": str(path) or "(empty)"}
        )
    try:
        signer = SimpleSigner.load_pkcs12_data(path.read_bytes(), other_certs=[], passphrase=_passphrase())
    except (ValueError, OSError) as exc:
        raise SigningIdentityError(
            _("The signing identity %(path)s could not be opened (wrong passphrase, or not a PKCS#12 file "
              "with a key and certificate): %(error)s") % {"path": str(path), "error": exc}
        ) from exc
    subject = signer.signing_cert.subject.human_friendly
    return SigningIdentity(signer=signer, subject=subject, path=str(path))


@dataclass
class CreatedIdentity:
    p12: Path
    ca_pem: Path
    ca_key: Path
    passphrase_file: Path | None
    subject: str
    ca_fingerprint: str


def create_signing_identity(
    *,
    p12_path: str | Path | None = None,
    ca_path: str | Path | None = None,
    passphrase: str | None = None,
    organization: str = "Liaison (development)",
    country: str = "AE",
    common_name: str = "Liaison outcome reports",
    days: int = 825,
    key_size: int = 3072,
) -> CreatedIdentity:
    """A local CA and a signer certificate it issues, for development and tests.

    Writes the signer's PKCS#12 (key, certificate and CA) to p12_path, the CA certificate (PEM) to ca_path,
    the CA's key (encrypted with the passphrase) beside it, and, when no passphrase is given or configured,
    a random one to LIAISON_SIGNING_DEV_PASSPHRASE_FILE.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    p12 = Path(p12_path or settings.LIAISON_SIGNING_P12)
    ca_pem = Path(ca_path or settings.LIAISON_SIGNING_CA)
    passphrase_file: Path | None = None
    if passphrase is None:
        passphrase = settings.LIAISON_SIGNING_PASSPHRASE or None
    if not passphrase:
        passphrase = secrets.token_urlsafe(24)
        passphrase_file = Path(settings.LIAISON_SIGNING_DEV_PASSPHRASE_FILE)
    now = datetime.now(UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=sign, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                             encipher_only=False, decipher_only=False)

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    ca_name = name(f"{organization} Root CA")
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    cert = (
        x509.CertificateBuilder().subject_name(name(common_name)).issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True, ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(passphrase.encode())
    p12.parent.mkdir(parents=True, exist_ok=True)
    ca_pem.parent.mkdir(parents=True, exist_ok=True)
    _write_private(p12, pkcs12.serialize_key_and_certificates(b"liaison-signer", key, cert, [ca_cert], encryption))
    ca_key_path = ca_pem.with_name(ca_pem.stem + "-key.pem")
    _write_private(ca_key_path, ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     encryption))
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    if passphrase_file is not None:
        passphrase_file.parent.mkdir(parents=True, exist_ok=True)
        _write_private(passphrase_file, (passphrase + "\n").encode())
    return CreatedIdentity(p12=p12, ca_pem=ca_pem, ca_key=ca_key_path, passphrase_file=passphrase_file,
                           subject=cert.subject.rfc4514_string(),
                           ca_fingerprint=ca_cert.fingerprint(hashes.SHA256()).hex())


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_trust_roots() -> list[Any]:
    """The CA certificates (asn1crypto) readers are told to trust: LIAISON_SIGNING_CA."""
    from pyhanko.keys import load_certs_from_pemder

    path = Path(settings.LIAISON_SIGNING_CA or "")
    if not settings.LIAISON_SIGNING_CA or not path.is_file():
        return []
    return list(load_certs_from_pemder([str(path)]))


def ca_certificates_pem() -> bytes:
    """The CA file re-exported certificate by certificate, so nothing but certificates is ever served."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    path = Path(settings.LIAISON_SIGNING_CA or "")
    if not settings.LIAISON_SIGNING_CA or not path.is_file():
        return b""
    certs = x509.load_pem_x509_certificates(path.read_bytes())
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def ca_fingerprint() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    pem = ca_certificates_pem()
    if not pem:
        return ""
    return x509.load_pem_x509_certificates(pem)[0].fingerprint(hashes.SHA256()).hex()
