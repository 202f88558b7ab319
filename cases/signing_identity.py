"""The platform's signing identity: the PKCS#12 key and certificate that sign outcome reports, and its CA.

`load_signing_identity()` reads the file named by LIAISON_SIGNING_P12; `create_signing_identity()` makes
a local CA and signer for development and tests; `load_trust_roots()` and `ca_certificates_pem()` give
readers the CA to trust. No database.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import threading
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


# The identity last opened, under a digest of the file's path, bytes and passphrase: any change to the file or
# the settings misses the cache and opens the file again. Opening costs a PKCS#12 decryption and an RSA key check
# (about 0.1 s each for RSA-3072); a worker signs a checkpoint and a report with the same key for every report.
_opened: dict[bytes, SigningIdentity] = {}
_opened_lock = threading.Lock()


def load_signing_identity() -> SigningIdentity:
    """The platform's signing key and certificate from the PKCS#12 file named by LIAISON_SIGNING_P12."""
    path = Path(settings.LIAISON_SIGNING_P12 or "")
    if not settings.LIAISON_SIGNING_P12 or not path.is_file():
        raise SigningIdentityError(
            _("No signing identity is configured: the PKCS#12 file %(path)s does not exist. Set "
              "LIAISON_SIGNING_P12 and LIAISON_SIGNING_PASSPHRASE (or LIAISON_SIGNING_PASSPHRASE_FILE), or run "
              "`manage.py create_signing_identity` for development.") % {"path": str(path) or "(empty)"}
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    passphrase = _passphrase()
    key = hashlib.sha256(b"\0".join([os.fsencode(path), passphrase or b"", data])).digest()
    with _opened_lock:
        identity = _opened.get(key)
        if identity is None:
            identity = _open_pkcs12(path, data, passphrase)
            _opened.clear()
            _opened[key] = identity
    return identity


def _unreadable(path: Path, exc: Exception) -> SigningIdentityError:
    return SigningIdentityError(
        _("The signing identity %(path)s could not be opened (wrong passphrase, or not a PKCS#12 file "
          "with a key and certificate): %(error)s") % {"path": str(path), "error": exc}
    )


def _open_pkcs12(path: Path, data: bytes, passphrase: bytes | None) -> SigningIdentity:
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.signers import SimpleSigner

    try:
        loaded = SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=passphrase)
        # Checked by the PKCS#12 load just above; checking the same key again would only cost time.
        private_key = serialization.load_der_private_key(loaded.signing_key.dump(), password=None,
                                                         unsafe_skip_rsa_key_validation=True)
    except (ValueError, OSError) as exc:
        raise _unreadable(path, exc) from exc
    signer = _prepared_key_signer()(
        signing_cert=loaded.signing_cert, signing_key=loaded.signing_key, cert_registry=loaded.cert_registry,
        signature_mechanism=loaded.signature_mechanism, private_key=private_key,
    )
    return SigningIdentity(signer=signer, subject=signer.signing_cert.subject.human_friendly, path=str(path))


@functools.cache
def _prepared_key_signer() -> type:
    """pyHanko's SimpleSigner with its private key parsed once.

    SimpleSigner parses and checks the key again for every signature it makes, about 0.1 s for RSA-3072 with
    OpenSSL 3, and signing a PDF makes two (a dry run sizes the signature container first)."""
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

    class PreparedKeySigner(SimpleSigner):
        def __init__(self, *, private_key: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.private_key = private_key

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                algorithm = mechanism.signature_algo
            except ValueError:  # as pyHanko does: a mechanism asn1crypto does not name
                algorithm = mechanism["algorithm"].native
            if algorithm == "rsassa_pkcs1v15":
                signature: bytes = self.private_key.sign(data, padding.PKCS1v15(),
                                                         get_pyca_cryptography_hash(digest_algorithm))
            elif algorithm == "rsassa_pss":
                pss, hash_algorithm = process_pss_params(mechanism["parameters"])
                signature = self.private_key.sign(data, pss, hash_algorithm)
            elif algorithm == "ecdsa":
                signature = self.private_key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
            else:
                signature = super().sign_raw(data, digest_algorithm)
            return signature

    return PreparedKeySigner


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
