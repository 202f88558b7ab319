"""Outcome reports: render (WeasyPrint), sign (pyHanko, PAdES) and verify.

Pure heavy work, called by actions, tasks, commands and the verification page:

- `render_outcome_report(case, ...) -> bytes` lays the case out as a PDF from templates/reports/;
- `sign_pdf(pdf, identity, ...) -> bytes` adds a PAdES certification signature with a visible block;
- `load_signing_identity()` / `create_signing_identity()` read and make the PKCS#12 identity;
- `verify_report_bytes(data) -> Verification` says whether a file is an intact, trusted, issued report.

Nothing here writes to the database.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import tempfile
import unicodedata
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .choices import TLP, Outcome
from .markdown import plain_text

if TYPE_CHECKING:
    from accounts.models import User

    from .models import Case

logger = logging.getLogger(__name__)

# The named destination (an element id in the report template) where the visible signature goes, and its size.
SIGNATURE_ANCHOR = "liaison-signature"
SIGNATURE_FIELD = "LiaisonApproval"
SIGNATURE_WIDTH_MM = 95
SIGNATURE_HEIGHT_MM = 30
_PT_PER_MM = 72 / 25.4


def _tlp_description(tlp: str) -> str:
    if tlp == TLP.RED:
        return _("For the eyes and ears of individual recipients only, no further disclosure.")
    if tlp == TLP.AMBER:
        return _("Limited disclosure: recipients may share it only on a need-to-know basis within their "
                 "organisation.")
    if tlp == TLP.GREEN:
        return _("Limited disclosure: recipients may share it within their community, not publicly.")
    return _("Disclosure is not limited.")


def verify_url() -> str:
    return settings.SITE_URL + "/reports/verify/"


def ca_url() -> str:
    return settings.SITE_URL + "/reports/ca.pem"


# --- Signing identity ---------------------------------------------------------------------------------------


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


# --- Rendering -----------------------------------------------------------------------------------------------


def _zone(case: Case) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(case.requesting_org.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


class _Clock:
    """Exact times in the requesting authority's zone, each with its UTC offset."""

    def __init__(self, zone: zoneinfo.ZoneInfo) -> None:
        self.zone = zone

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(self.zone)
        offset = local.strftime("%z") or "+0000"
        return f"{local:%Y-%m-%d %H:%M:%S} UTC{offset[:3]}:{offset[3:]}"


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)d d") % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes or not parts:
        parts.append(_("%(n)d min") % {"n": minutes})
    return " ".join(parts)


def css_string(text: str) -> SafeString:
    """A CSS string literal, safe inside <style> (quotes, backslashes, newlines and '<' escaped)."""
    escaped = (str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3C ")
               .replace(">", "\\3E "))
    return mark_safe(f'"{escaped}"')  # noqa: S308 (escaped above for a CSS context)


def _page_numbers_css() -> SafeString:
    """“Page X of Y” as CSS content with counters, from one translatable string."""
    template = _("Page %(page)s of %(pages)s")
    before, _sep, rest = template.partition("%(page)s")
    middle, _sep, after = rest.partition("%(pages)s")
    return mark_safe(" ".join([css_string(before), "counter(page)", css_string(middle), "counter(pages)",  # noqa: S308
                               css_string(after)]))


def _person(user: Any) -> str:
    if user is None:
        return _("System")
    membership = getattr(user, "membership", None)
    org = membership.organization.name if membership is not None else ""
    return f"{user.full_name} ({org})" if org else user.full_name


def _role_of(user: User) -> str:
    membership = getattr(user, "membership", None)
    return str(membership.get_role_display()) if membership is not None else ""


def _timeline(case: Case, clock: _Clock) -> list[dict[str, str]]:
    from .choices import Status

    labels = dict(Status.choices)
    rows = []
    events = (case.events.filter(action__startswith="case.", side="").select_related("actor", "actor_org")
              .order_by("id"))
    for event in events:
        data = event.data or {}
        if event.action == "case.created":
            what = _("Case created")
        elif event.action == "case.updated":
            what = _("Details changed")
        elif "from" in data and "to" in data:
            what = f"{labels.get(data['from'], data['from'])} → {labels.get(data['to'], data['to'])}"
        else:
            continue
        actor = ""
        if event.actor is not None:
            actor = event.actor.full_name + (f" ({event.actor_org.name})" if event.actor_org else "")
        rows.append({"at": clock(event.occurred_at), "what": str(what), "who": actor,
                     "note": str(data.get("note") or "")})
    return rows


def _deadlines(case: Case, clock: _Clock) -> list[dict[str, Any]]:
    from accounts.roles import OrgKind

    from .models import Deadline, DeadlineProposal

    sides = {OrgKind.AUTHORITY: _("The requesting authority"), OrgKind.PLATFORM: _("The platform")}
    moved_from = {}
    for event in case.events.filter(action="deadline.changed").only("data"):
        if event.data.get("proposal"):
            moved_from[event.data["proposal"]] = event.data.get("from")
    rows = []
    deadlines = case.deadlines.prefetch_related("pauses").order_by("started_at", "id")
    proposals = list(case.deadline_proposals.filter(status=DeadlineProposal.State.ACCEPTED)
                     .select_related("proposed_by", "answered_by").order_by("answered_at", "id"))
    for deadline in deadlines:
        state = deadline.status
        if state == Deadline.State.MET:
            outcome = _("Met at %(when)s") % {"when": clock(deadline.met_at)}
        elif state == Deadline.State.BREACHED:
            outcome = _("Breached at %(when)s") % {"when": clock(deadline.breached_at or deadline.due_at)}
            if deadline.met_at:
                outcome += "; " + _("met late at %(when)s") % {"when": clock(deadline.met_at)}
        elif state == Deadline.State.WAIVED:
            outcome = _("Waived by agreement at %(when)s") % {"when": clock(deadline.closed_at)}
        elif state == Deadline.State.CANCELLED:
            outcome = _("Cancelled at %(when)s") % {"when": clock(deadline.closed_at)}
        else:
            outcome = _("Open")
        pauses = []
        for pause in deadline.pauses.all():
            if pause.resumed_at:
                pauses.append(_("Paused %(start)s – %(end)s (%(length)s)") % {
                    "start": clock(pause.paused_at), "end": clock(pause.resumed_at),
                    "length": _duration((pause.resumed_at - pause.paused_at).total_seconds())})
            else:
                pauses.append(_("Paused since %(start)s") % {"start": clock(pause.paused_at)})
        changes = []
        for proposal in proposals:
            if proposal.deadline_id != deadline.pk:
                continue
            who = {"proposer": _person(proposal.proposed_by), "answerer": _person(proposal.answered_by),
                   "when": clock(proposal.answered_at), "reason": proposal.reason}
            if proposal.kind == DeadlineProposal.Kind.CHANGE_DUE:
                previous = moved_from.get(proposal.pk)
                who["due"] = clock(proposal.proposed_due_at)
                who["previous"] = clock(datetime.fromisoformat(previous)) if previous else "—"
                changes.append(_("Due time moved from %(previous)s to %(due)s, proposed by %(proposer)s, agreed by "
                                 "%(answerer)s at %(when)s. Reason: %(reason)s") % who)
            elif proposal.kind == DeadlineProposal.Kind.WAIVE:
                changes.append(_("Waiver proposed by %(proposer)s, agreed by %(answerer)s at %(when)s. "
                                 "Reason: %(reason)s") % who)
            else:
                changes.append(_("Deadline proposed by %(proposer)s, agreed by %(answerer)s at %(when)s. "
                                 "Reason: %(reason)s") % who)
        rows.append({
            "title": deadline.title or str(Deadline.Kind(deadline.kind).label),
            "owner": sides.get(deadline.owner_side, deadline.owner_side),
            "origin": str(Deadline.Origin(deadline.origin).label),
            "started": clock(deadline.started_at), "due": clock(deadline.due_at), "status": state,
            "status_label": str(Deadline.State(state).label), "outcome": outcome, "pauses": pauses,
            "changes": changes,
        })
    return rows


def _items(case: Case, clock: _Clock) -> tuple[list[tuple[Any, ...]], Counter[str]]:
    from .choices import ItemKind

    outcomes = {value: str(label) for value, label in Outcome.choices}
    kinds = {value: str(label) for value, label in ItemKind.choices}
    counts: Counter[str] = Counter()
    rows = []
    values = case.items.order_by("position", "id").values_list("position", "target", "kind", "outcome",
                                                                 "outcome_reason", "decided_at")
    for position, target, kind, outcome, reason, decided_at in values.iterator(chunk_size=2000):
        counts[outcome] += 1
        rows.append((position, target, kinds.get(kind, kind), outcomes.get(outcome, outcome), reason,
                     clock(decided_at), outcome))
    return rows, counts


def _evidence(case: Case, clock: _Clock) -> list[dict[str, Any]]:
    from accounts.roles import OrgKind

    sides = {OrgKind.AUTHORITY: _("Requesting authority"), OrgKind.PLATFORM: _("Platform")}
    rows = []
    # Shared evidence only: a platform-internal file never leaves the platform, not even as a fingerprint.
    for evidence in case.evidence.filter(internal=False).select_related("item").order_by("uploaded_at", "id"):
        notes = []
        if evidence.withdrawn_at:
            notes.append(_("Withdrawn at %(when)s: %(reason)s") % {"when": clock(evidence.withdrawn_at),
                                                                    "reason": evidence.withdrawn_reason})
        if evidence.purged_at:
            notes.append(_("File deleted at %(when)s after the retention period; the fingerprint is kept.")
                         % {"when": clock(evidence.purged_at)})
        rows.append({"name": evidence.original_name, "type": evidence.content_type, "size": evidence.size,
                     "sha256": evidence.sha256, "uploaded": clock(evidence.uploaded_at),
                     "side": sides.get(evidence.side, evidence.side),
                     "item": evidence.item.position if evidence.item_id and evidence.item else None,
                     "notes": notes})
    return rows


def _thread(case: Case, clock: _Clock) -> list[dict[str, str]]:
    from .models import Message

    rows = []
    # Shared messages and shared system entries; internal notes of either side never appear.
    entries = (case.messages.filter(kind__in=[Message.Kind.SHARED, Message.Kind.SYSTEM], side="")
               .select_related("author", "author__membership__organization").order_by("id"))
    for entry in entries:
        rows.append({"at": clock(entry.created_at), "who": _person(entry.author) if entry.author_id else _("System"),
                     "system": entry.kind == Message.Kind.SYSTEM, "body": plain_text(entry.body),
                     "edited": clock(entry.edited_at) if entry.edited_at else ""})
    return rows


def report_context(case: Case, *, language: str, include_thread: bool, approver: User, version: int,
                   issued_at: datetime) -> dict[str, Any]:
    """Everything the template shows, in the active language (the caller overrides it)."""
    from .models import Deadline, OutcomeReport

    zone = _zone(case)
    clock = _Clock(zone)
    items, counts = _items(case, clock)
    deadlines = _deadlines(case, clock)
    evidence = _evidence(case, clock)
    thread = _thread(case, clock) if include_thread else []
    previous = (OutcomeReport.objects.filter(case=case, status=OutcomeReport.Status.READY, version__lt=version)
                .order_by("-version").first())
    decided = sum(n for outcome, n in counts.items() if outcome != Outcome.PENDING)
    summary = [(str(label), counts[value]) for value, label in Outcome.choices if counts.get(value)]
    deadline_states = Counter(d["status"] for d in deadlines)
    membership = getattr(approver, "membership", None)
    return {
        "case": case,
        "language": language,
        "version": version,
        "issued_at": clock(issued_at),
        "issued_iso": issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "time_zone": str(zone),
        "authority": case.requesting_org,
        "platform": case.responding_org,
        "request_type": case.get_request_type_display(),
        "category": str(case.category),
        "priority": case.get_priority_display(),
        "tlp": case.tlp,
        "tlp_label": case.get_tlp_display(),
        "tlp_description": _tlp_description(case.tlp),
        "scope": ", ".join(case.territorial_scope or []) or "—",
        "dates": [(label, clock(value)) for label, value in (
            (_("Submitted"), case.submitted_at), (_("Acknowledged"), case.acknowledged_at),
            (_("Resolved"), case.resolved_at), (_("Closed"), case.closed_at)) if value],
        "timeline": _timeline(case, clock),
        "deadlines": deadlines,
        "deadlines_met": deadline_states.get(Deadline.State.MET, 0),
        "deadlines_breached": deadline_states.get(Deadline.State.BREACHED, 0),
        "items": items,
        "item_count": len(items),
        "decided_count": decided,
        "summary": summary,
        "evidence": evidence,
        "include_thread": include_thread,
        "thread": thread,
        "approver_name": approver.full_name,
        "approver_role": _role_of(approver),
        "approver_org": membership.organization.name if membership is not None else case.responding_org.name,
        "previous": {"version": previous.version, "issued_at": clock(previous.issued_at)} if previous else None,
        "verify_url": verify_url(),
        "ca_url": ca_url(),
        "signature_anchor": SIGNATURE_ANCHOR,
        "signature_width_mm": SIGNATURE_WIDTH_MM,
        "signature_height_mm": SIGNATURE_HEIGHT_MM,
        "css_header": css_string(_("Outcome report %(reference)s · version %(version)d")
                                 % {"reference": case.reference, "version": version}),
        "css_tlp": css_string(case.get_tlp_display()),
        "css_footer": css_string(_("Verify this signed report at %(url)s") % {"url": verify_url()}),
        "css_page_numbers": _page_numbers_css(),
    }


def _no_fetching() -> Any:
    """Reports never load anything from outside: no remote images or styles, no local files."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=set(), fail_on_errors=False)


def render_outcome_report(case: Case, *, language: str, include_thread: bool, approver: User, version: int,
                          issued_at: datetime) -> bytes:
    """The outcome report as an unsigned PDF (fonts embedded, text extractable)."""
    from weasyprint import HTML

    with translation.override(language):
        context = report_context(case, language=language, include_thread=include_thread, approver=approver,
                                 version=version, issued_at=issued_at)
        html = render_to_string("reports/outcome_report.html", context)
    document = HTML(string=html, base_url=settings.SITE_URL + "/", url_fetcher=_no_fetching())
    return document.write_pdf()


# --- Signing -------------------------------------------------------------------------------------------------


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _signature_placement(pdf: bytes) -> tuple[int, tuple[int, int, int, int]]:
    """Page index and box (PDF points) of the signature anchor; bottom right of the last page without one."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    root = reader.root
    pages: list[Any] = []

    def walk(node_ref: Any) -> None:
        node = node_ref.get_object()
        if node.get("/Type") == "/Pages":
            for kid in node.raw_get("/Kids"):
                walk(kid)
        else:
            pages.append(node_ref)

    walk(root.raw_get("/Pages"))
    width, height = SIGNATURE_WIDTH_MM * _PT_PER_MM, SIGNATURE_HEIGHT_MM * _PT_PER_MM
    destination = _named_destination(root, SIGNATURE_ANCHOR)
    if destination is not None:
        page_ref, left, top = destination
        ids = [getattr(p, "idnum", None) for p in pages]
        index = ids.index(page_ref.idnum) if getattr(page_ref, "idnum", None) in ids else len(pages) - 1
        return index, (int(left), int(top - height), int(left + width), int(top))
    last = pages[-1].get_object()
    media = [float(v) for v in last["/MediaBox"]] if "/MediaBox" in last else [0, 0, 595, 842]
    right = media[2] - 20 * _PT_PER_MM
    bottom = media[1] + 25 * _PT_PER_MM
    return len(pages) - 1, (int(right - width), int(bottom), int(right), int(bottom + height))


def _named_destination(root: Any, name: str) -> tuple[Any, float, float] | None:
    names = root.get("/Names")
    if names is None or "/Dests" not in names:
        return None

    def search(node: Any) -> Any:
        node = node.get_object()
        if "/Names" in node:
            entries = node["/Names"]
            for i in range(0, len(entries) - 1, 2):
                if str(entries[i]) == name:
                    return entries[i + 1]
        for kid in node.get("/Kids", []):
            found = search(kid)
            if found is not None:
                return found
        return None

    destination = search(names["/Dests"])
    if destination is None:
        return None
    destination = destination.get_object()
    if hasattr(destination, "keys") and "/D" in destination:
        destination = destination["/D"]
    array = list(destination.get_object()) if not isinstance(destination, list) else destination
    if len(array) < 4 or str(array[1]) != "/XYZ":
        return None
    page_ref = destination.raw_get(0) if hasattr(destination, "raw_get") else array[0]
    return page_ref, float(array[2] or 0), float(array[3] or 0)


def _stamp_pdf(*, approver_name: str, approver_role: str, signer_subject: str, signed_at: datetime,
               zone: zoneinfo.ZoneInfo) -> bytes:
    """The visible signature block, drawn by WeasyPrint so its fonts are embedded like the report's."""
    from weasyprint import HTML

    html = render_to_string("reports/signature_stamp.html", {
        "approver_name": approver_name, "approver_role": approver_role, "signer": signer_subject,
        "signed_at": _Clock(zone)(signed_at), "width_mm": SIGNATURE_WIDTH_MM, "height_mm": SIGNATURE_HEIGHT_MM,
        "verify_url": verify_url(),
    })
    return HTML(string=html, url_fetcher=_no_fetching()).write_pdf()


def _timestamper() -> Any:
    if not settings.LIAISON_TSA_URL:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(settings.LIAISON_TSA_URL, timeout=10)


def sign_pdf(pdf: bytes, identity: SigningIdentity, *, approver_name: str, approver_role: str,
             reason: str = "", location: str = "", time_zone: str = "UTC") -> bytes:
    """A PAdES certification signature (no later changes allowed) with a visible block naming the approver,
    timestamped (RFC 3161) when LIAISON_TSA_URL is set. Labels follow the active language."""
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
    from pyhanko.stamp.static import StaticStampStyle

    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    page, box = _signature_placement(pdf)
    signer_name = identity.signer.signing_cert.subject.native.get("common_name", identity.subject)
    stamp = _stamp_pdf(approver_name=approver_name, approver_role=approver_role, signer_subject=signer_name,
                       signed_at=timezone.now(), zone=zone)
    with tempfile.TemporaryDirectory(prefix="liaison-stamp-") as workdir:
        stamp_path = os.path.join(workdir, "stamp.pdf")
        with open(stamp_path, "wb") as handle:
            handle.write(stamp)
        fill = layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MID,
                                          y_align=layout.AxisAlignment.ALIGN_MID, margins=layout.Margins(),
                                          inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT)
        style = StaticStampStyle.from_pdf_file(stamp_path, border_width=0, background_layout=fill)
        meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES,
            reason=_nfc(reason or _("Outcome report approved by %(name)s, %(role)s")
                               % {"name": approver_name, "role": approver_role}),
            location=_nfc(location) or None,
            contact_info=verify_url(),
        )
        spec = fields.SigFieldSpec(sig_field_name=SIGNATURE_FIELD, on_page=page, box=box)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        signer = signers.PdfSigner(meta, signer=identity.signer, timestamper=_timestamper(), stamp_style=style,
                                   new_field_spec=spec)
        output = signer.sign_pdf(writer)
        return bytes(output.getvalue())


# --- Verification --------------------------------------------------------------------------------------------


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
        if not (self.intact and self.valid):
            return "tampered"
        if not self.trusted:
            return "untrusted"
        if not self.whole_file:
            return "modified"
        if self.report is None:
            return "unknown"
        return "superseded" if self.report.superseded else "genuine"


def _issued_report(sha256: str) -> IssuedReport | None:
    from .models import OutcomeReport

    report = (OutcomeReport.objects.filter(sha256=sha256, status=OutcomeReport.Status.READY)
              .select_related("case").first())
    if report is None:
        return None
    latest = (OutcomeReport.objects.filter(case_id=report.case_id, status=OutcomeReport.Status.READY)
              .order_by("-version").first())
    latest = latest or report
    return IssuedReport(reference=report.case.reference, version=report.version, issued_at=report.issued_at,
                        superseded=report.superseded_at is not None or latest.version > report.version,
                        latest_version=latest.version, latest_issued_at=latest.issued_at)


def verify_report_bytes(data: bytes) -> Verification:
    """Check a file someone holds: signature intact and valid, signer chained to the platform's CA, the whole
    file covered, and its SHA-256 equal to an issued report's (and whether a newer version exists)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    result = Verification(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    result.report = _issued_report(result.sha256)
    if not data.startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        result.problems.append(_("This is not a PDF file."))
        return result
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except Exception as exc:  # untrusted input: any parsing failure means "unreadable"
        logger.info("verify: unreadable PDF (%s)", exc)
        result.problems.append(_("The file could not be read as a PDF."))
        return result
    result.readable = True
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
        status = validate_pdf_signature(signature, context)
    except Exception as exc:  # a malformed signature is a broken one
        logger.info("verify: signature could not be validated (%s)", exc)
        result.problems.append(_("The signature could not be checked: it is malformed."))
        return result
    result.intact, result.valid, result.trusted = bool(status.intact), bool(status.valid), bool(status.trusted)
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
    if result.intact and result.valid and not result.trusted:
        result.problems.append(_("The signing certificate does not chain to the platform's certificate authority."))
    if result.intact and not result.whole_file:
        result.problems.append(_("Content was added to the file after it was signed."))
    if result.report is None and result.signature_ok:
        result.problems.append(_("The signature is genuine, but this exact file is not an issued report."))
    return result
