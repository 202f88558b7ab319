"""Whether a file someone holds is a genuine outcome report: signature intact and valid, signer chained to the
platform's CA, the whole file covered, and its SHA-256 that of an issued report (and whether a newer one exists).

`verify_report_bytes(data, find_issued=...)` checks the file; the caller supplies the lookup of issued reports
by SHA-256 (cases.queries.issued_report), so this module never touches the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from .signing_identity import load_trust_roots

logger = logging.getLogger(__name__)


@dataclass
class IssuedReport:
    reference: str
    version: int
    issued_at: datetime | None
    superseded: bool
    latest_version: int
    latest_issued_at: datetime | None


@dataclass
class Verification:
    """What anyone may learn about a file: its signature, its signer, and whether we issued exactly it."""

    sha256: str
    size: int
    readable: bool = False
    signed: bool = False
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    whole_file: bool = False
    signer: str = ""
    signer_issuer: str = ""
    signer_serial: str = ""
    signer_fingerprint: str = ""
    signer_valid_until: datetime | None = None
    signed_at: datetime | None = None
    timestamped_at: datetime | None = None
    # The signature could not even be read (its structure is broken), as opposed to read and found wrong.
    damaged: bool = False
    problems: list[str] = field(default_factory=list)
    report: IssuedReport | None = None

    @property
    def signature_ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted and self.whole_file

    @property
    def ok(self) -> bool:
        """A genuine report as issued (it may have been superseded since)."""
        return self.signature_ok and self.report is not None

    @property
    def verdict(self) -> str:
        if not self.readable:
            return "unreadable"
        if not self.signed:
            return "unsigned" if self.report is None else "tampered"
        if self.damaged:
            return "damaged"
        if not (self.intact and self.valid):
            return "tampered"
        if not self.trusted:
            return "untrusted"
        if not self.whole_file:
            return "modified"
        if self.report is None:
            return "unknown"
        return "superseded" if self.report.superseded else "genuine"


def verify_report_bytes(data: bytes, *, find_issued: Callable[[str], IssuedReport | None]) -> Verification:
    """Check a file someone holds: signature intact and valid, signer chained to the platform's CA, the whole
    file covered, and its SHA-256 equal to an issued report's (and whether a newer version exists)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    result = Verification(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    result.report = find_issued(result.sha256)
    if not data.startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        result.problems.append(_("This is not a PDF file."))
        return result
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        fields = reader.root.get("/AcroForm")  # touch the document catalogue: a PDF we can read
    except Exception as exc:  # untrusted input: any parsing failure means "unreadable"
        logger.info("verify: unreadable PDF (%s)", exc)
        result.problems.append(_("The file could not be read as a PDF."))
        return result
    result.readable = True
    try:
        signatures = list(reader.embedded_regular_signatures)
    except Exception as exc:  # the signature field is there but its CMS structure cannot be parsed
        logger.info("verify: damaged signature (%s)", exc)
        result.signed = fields is not None
        if not result.signed:
            result.problems.append(_("The file could not be read as a PDF."))
            result.readable = False
            return result
        result.damaged = True
        result.problems.append(_("The signature's structure is damaged, so it could not be checked."))
        return result
    if not signatures:
        result.problems.append(_("The file carries no digital signature."))
        return result
    result.signed = True
    signature = signatures[0]
    if len(signatures) > 1:
        result.problems.append(_("The file carries more than one signature; only the first was checked."))
    roots = load_trust_roots()
    if not roots:
        result.problems.append(_("This service has no trusted certificate authority configured."))
    try:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = _outside_any_event_loop(validate_pdf_signature, signature, context)
    except Exception as exc:  # a malformed signature is a broken one
        logger.info("verify: signature could not be validated (%s)", exc)
        result.damaged = True
        result.problems.append(_("The signature's structure is damaged, so it could not be checked."))
        return result
    result.intact, result.valid, result.trusted = bool(status.intact), bool(status.valid), bool(status.trusted)
    if not (result.intact and result.valid):
        # pyHanko skips the certificate path once the digest fails; whether the signer is the platform's is a
        # separate finding, so it is checked on its own.
        result.trusted = _certificate_chains_to(signature, roots)
    result.whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    cert = status.signing_cert
    result.signer = cert.subject.human_friendly
    result.signer_issuer = cert.issuer.human_friendly
    result.signer_serial = format(cert.serial_number, "x")
    result.signer_fingerprint = hashlib.sha256(cert.dump()).hexdigest()
    result.signer_valid_until = cert["tbs_certificate"]["validity"]["not_after"].native
    result.signed_at = status.signer_reported_dt
    if status.timestamp_validity is not None:
        result.timestamped_at = status.timestamp_validity.timestamp
    if not result.intact:
        result.problems.append(_("The signed content was changed after signing."))
    elif not result.valid:
        result.problems.append(_("The signature does not match the signer's certificate."))
    if not result.trusted:
        result.problems.append(_("The signing certificate does not chain to the platform's certificate authority."))
    if result.intact and not result.whole_file:
        result.problems.append(_("Content was added to the file after it was signed."))
    if result.report is None and result.signature_ok:
        result.problems.append(_("The signature is genuine, but this exact file is not an issued report."))
    return result


def _certificate_chains_to(signature: Any, roots: list[Any]) -> bool:
    """Whether the signer's certificate (with the certificates embedded beside it) chains to a trusted root."""
    import asyncio

    from pyhanko_certvalidator import CertificateValidator, ValidationContext

    if not roots:
        return False
    try:
        context = ValidationContext(trust_roots=roots, allow_fetching=False,
                                    other_certs=list(signature.other_embedded_certs))
        validator = CertificateValidator(signature.signer_cert, validation_context=context)
        asyncio.run(validator.async_validate_path())
    except Exception:  # any failure to build or validate the path means "not trusted"
        return False
    return True


def _outside_any_event_loop(function: Callable[..., Any], *args: Any) -> Any:
    """function(*args) in this thread, or in a thread of its own when this one runs an asyncio event loop: pyHanko's
    validation starts a loop of its own (asyncio.run), which a thread already running one refuses, and the refusal
    read as a damaged signature (seen in a test process where a browser driver's loop ran)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()
