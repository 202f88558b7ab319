"""Signed checkpoints of the audit chain: the head (event id, hash, count, time) signed with the platform's key.

A hash chain cannot catch a rewrite of its own tail; a checkpoint signed with a key kept outside the database,
and copies of it kept outside the platform, can. A checkpoint file is one CMS SignedData (RFC 5652, DER, the
S/MIME ``.p7m`` form) that carries its payload, a small JSON object, and the signer's certificate chain; when
LIAISON_TSA_URL is set, an RFC 3161 timestamp of the signature rides along as an unsigned attribute. Anyone
checks one with standard tools::

    openssl cms -verify -inform DER -in liaison-audit-checkpoint-000042.p7m -CAfile liaison-ca.pem \\
        -binary -out checkpoint.json

`sign_checkpoint` makes a file; `read_checkpoint_file` (one) and `CheckpointReader` (many) check files against the
trust roots. No database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from .signing_identity import SigningIdentity

logger = logging.getLogger(__name__)

FORMAT = "liaison-audit-checkpoint/1"
MEDIA_TYPE = "application/pkcs7-mime"
# What the payload's fields say, so a reader of the JSON alone knows what was signed.
HASH_DESCRIPTION = ("sha256 of each event's canonical JSON, which includes the previous event's hash "
                    "(cases/audit_hash.py)")


class CheckpointError(Exception):
    """A checkpoint file that cannot be trusted; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint asserts: the chain held `event_count` events, the last one `head_event_id` with
    hash `head_hash`, at `made_at` (whole seconds, UTC)."""

    sequence: int
    head_event_id: int
    head_hash: str
    event_count: int
    made_at: datetime
    issuer: str = ""

    def payload(self) -> bytes:
        """The signed bytes: sorted, compact JSON (UTF-8)."""
        fields = {
            "format": FORMAT,
            "issuer": self.issuer,
            "sequence": self.sequence,
            "head_event_id": self.head_event_id,
            "head_hash": self.head_hash,
            "event_count": self.event_count,
            "made_at": self.made_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hash": HASH_DESCRIPTION,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_payload(cls, data: bytes) -> Checkpoint:
        try:
            fields = json.loads(data.decode())
            if fields.get("format") != FORMAT:
                raise ValueError(f"format {fields.get('format')!r}")
            head_hash = str(fields["head_hash"])
            if len(head_hash) != 64 or any(c not in "0123456789abcdef" for c in head_hash):
                raise ValueError("head_hash is not a SHA-256")
            made_at = datetime.strptime(fields["made_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            return cls(sequence=_count(fields["sequence"]), head_event_id=_count(fields["head_event_id"]),
                       head_hash=head_hash, event_count=_count(fields["event_count"]), made_at=made_at,
                       issuer=str(fields.get("issuer", "")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(_("The signed content is not a Liaison audit checkpoint (%(error)s).")
                                  % {"error": exc}) from exc


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def filename(sequence: int) -> str:
    return f"liaison-audit-checkpoint-{sequence:06d}.p7m"


def timestamper(url: str) -> Any:
    """The RFC 3161 time-stamping client for LIAISON_TSA_URL, or None when it is empty."""
    if not url:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(url, timeout=10)


def sign_checkpoint(checkpoint: Checkpoint, identity: SigningIdentity, *, tsa: Any = None) -> bytes:
    """The checkpoint as a CMS SignedData (DER) with the payload inside and `checkpoint.made_at` as its signing
    time; `tsa` (a pyHanko TimeStamper) adds a signature timestamp."""
    from asn1crypto import cms
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    content = cms.ContentInfo({"content_type": "data", "content": checkpoint.payload()})
    signed = asyncio.run(identity.signer.async_sign_general_data(
        content, "sha256", detached=False, timestamper=tsa,
        signed_attr_settings=PdfCMSSignedAttributes(signing_time=checkpoint.made_at)))
    return bytes(signed.dump())


def timestamp_of(signed: bytes) -> datetime | None:
    """The time an RFC 3161 timestamp in a file we signed gives (unverified: for display), or None."""
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    signer_info = _signed_data(signed)["signer_infos"][0]
    for token in extract_tst_data_iter(signer_info, signed=False):
        gen_time: datetime = token["encap_content_info"]["content"].parsed["gen_time"].native
        return gen_time
    return None


@dataclass(frozen=True)
class CheckedFile:
    """A checkpoint file whose signature is intact and chains to a trusted root."""

    checkpoint: Checkpoint
    signer: str
    signer_fingerprint: str
    signed_at: datetime | None
    timestamped_at: datetime | None
    timestamp_trusted: bool


def _signed_data(data: bytes) -> Any:
    from asn1crypto import cms, pem

    if pem.detect(data):
        _kind, _headers, data = pem.unarmor(data)
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError(info["content_type"].native)
        signed_data = info["content"]
        len(signed_data["signer_infos"])  # parses the outer structure; the rest is parsed as it is read
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(_("The file is not a CMS signed file (.p7m).")) from exc
    return signed_data


class CheckpointReader:
    """Checks checkpoint files against the trust roots. A signer certificate found trusted once is not
    path-validated again: the stored checkpoints share a handful of signers, and `verify_audit` reads them all."""

    def __init__(self, trust_roots: list[Any]) -> None:
        self.trust_roots = trust_roots
        self._trusted: set[str] = set()

    def read(self, data: bytes) -> CheckedFile:
        """One signer, signature intact over the payload, signer chained to the trust roots; then the payload.
        Raises CheckpointError saying what is wrong."""
        from cryptography.hazmat.primitives import hashes
        from pyhanko.sign.validation.generic_cms import extract_certs_for_validation, validate_sig_integrity
        from pyhanko_certvalidator.util import get_pyca_cryptography_hash

        signed_data = _signed_data(data)
        if len(signed_data["signer_infos"]) != 1:
            raise CheckpointError(_("A checkpoint file carries exactly one signature; this one carries %(n)d.")
                                  % {"n": len(signed_data["signer_infos"])})
        try:
            content = signed_data["encap_content_info"]["content"].native
            content_type = signed_data["encap_content_info"]["content_type"].native
        except (ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(_("The file is not a CMS signed file (.p7m).")) from exc
        if content_type != "data" or not isinstance(content, bytes):
            raise CheckpointError(_("The file carries no signed checkpoint."))
        if not self.trust_roots:
            raise CheckpointError(_("No trusted certificate authority is configured (LIAISON_SIGNING_CA)."))
        try:
            cert = extract_certs_for_validation(signed_data).signer_cert
        except Exception as exc:  # untrusted input
            raise CheckpointError(_("The signature could not be checked: it is malformed.")) from exc
        fingerprint = hashlib.sha256(cert.dump()).hexdigest()
        if fingerprint not in self._trusted:
            return self._read_fully(signed_data, content, fingerprint)
        signer_info = signed_data["signer_infos"][0]
        try:
            hasher = hashes.Hash(get_pyca_cryptography_hash(signer_info["digest_algorithm"]["algorithm"].native))
            hasher.update(content)
            digest = hasher.finalize()
            intact, valid = validate_sig_integrity(signer_info, cert, "data", digest)
        except Exception as exc:  # untrusted input
            raise CheckpointError(_("The signature could not be checked: it is malformed.")) from exc
        if not (intact and valid):
            raise CheckpointError(_("The signature does not match the content: the file was changed after "
                                    "signing."))
        return CheckedFile(checkpoint=Checkpoint.from_payload(content), signer=cert.subject.human_friendly,
                           signer_fingerprint=fingerprint, signed_at=None, timestamped_at=None,
                           timestamp_trusted=False)

    def _read_fully(self, signed_data: Any, content: bytes, fingerprint: str) -> CheckedFile:
        from asn1crypto import cms
        from pyhanko.sign.validation.generic_cms import async_validate_detached_cms, extract_self_reported_ts
        from pyhanko_certvalidator import ValidationContext

        # pyHanko validates a signature over content given apart from it; the signed attributes (which hold the
        # content's digest) are what the signature covers, so moving the content out changes nothing signed.
        detached = cms.SignedData({**{key: signed_data[key] for key in ("version", "digest_algorithms",
                                                                        "certificates", "signer_infos")},
                                   "encap_content_info": {"content_type": "data"}})
        # The signer's certificate is checked as of the signing time it states, so a checkpoint stays valid after
        # the certificate expires (as a signed letter does); a timestamp, where configured, vouches for that time.
        claimed = extract_self_reported_ts(signed_data["signer_infos"][0])
        try:
            context = ValidationContext(trust_roots=self.trust_roots, allow_fetching=False, moment=claimed)
            status = asyncio.run(async_validate_detached_cms(content, detached, signer_validation_context=context))
        except Exception as exc:  # untrusted input: any failure to validate means "not valid"
            logger.info("checkpoint: signature could not be validated (%s)", exc)
            raise CheckpointError(_("The signature could not be checked: it is malformed.")) from exc
        if not (status.intact and status.valid):
            raise CheckpointError(_("The signature does not match the content: the file was changed after "
                                    "signing."))
        if not status.trusted:
            raise CheckpointError(_("The signer's certificate does not chain to the platform's certificate "
                                    "authority."))
        timestamp = status.timestamp_validity
        if timestamp is not None and not (timestamp.intact and timestamp.valid):
            raise CheckpointError(_("The timestamp in the file does not match its signature."))
        checkpoint = Checkpoint.from_payload(content)
        self._trusted.add(fingerprint)
        return CheckedFile(
            checkpoint=checkpoint,
            signer=status.signing_cert.subject.human_friendly,
            signer_fingerprint=fingerprint,
            signed_at=status.signer_reported_dt,
            timestamped_at=timestamp.timestamp if timestamp is not None else None,
            timestamp_trusted=bool(timestamp is not None and timestamp.trusted),
        )


def read_checkpoint_file(data: bytes, *, trust_roots: list[Any]) -> CheckedFile:
    """Check one checkpoint file fully (signature, trust, timestamp); raises CheckpointError saying what is
    wrong."""
    return CheckpointReader(trust_roots).read(data)
