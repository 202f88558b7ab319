"""Outcome reports (issue 7): what the signed PDF says and never says, versions, who may request, list and
download them, the progress fragment, signing failures, signature validation (pyHanko and poppler's pdfsig),
the public verification page and the verify_report command."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import zlib
import zoneinfo
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases import queries, report_signing, signing_identity
from cases.actions.cases import provide_information, request_information, resolve_case
from cases.actions.deadlines import answer_proposal, propose_deadline
from cases.actions.evidence import add_evidence
from cases.actions.reports import generate_report, request_report
from cases.actions.thread import post_message
from cases.choices import Status
from cases.instants import format_instant
from cases.models import (
    AuditCheckpoint,
    AuditEvent,
    Case,
    Deadline,
    DeadlineProposal,
    Message,
    Notification,
    OutcomeReport,
)
from tests.cases.conftest import PERSONAS, body, decide_all, make_case, unique_targets
from tests.factories import World

pytestmark = pytest.mark.django_db

AUTHORITY_NOTE = "AUTHORITY-INTERNAL-NOTE-7f3a"
PLATFORM_NOTE = "PLATFORM-INTERNAL-NOTE-9c1e"
SHARED_MESSAGE = "SHARED-MESSAGE-51b0 please confirm each channel"
INTERNAL_EVIDENCE = "platform-internal-triage-4d2c.png"
SHARED_EVIDENCE = "tangkapan-layar-bersama.png"
ITEM_REASON = "Channel already deleted by its owner"


# --- Helpers ---------------------------------------------------------------------------------------------------


def png(rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def full_case(world: World, *, items: int = 6) -> Case:
    """A resolved case with everything a report shows: a paused and an agreed deadline, shared and internal
    messages on both sides, shared and platform-internal evidence, and decided items."""
    case = make_case(world, targets=unique_targets(items), state=Status.IN_PROGRESS)
    request_information(case=case, actor=world.manager, note="Send the court order, please.")
    provide_information(case=case, actor=world.liaison, note="Court order attached.")
    resolve = case.deadlines.get(kind=Deadline.Kind.RESOLVE)
    proposal = propose_deadline(actor=world.manager, case=case, kind=DeadlineProposal.Kind.CHANGE_DUE,
                                        deadline=resolve, due_at=timezone.now() + timedelta(days=5),
                                        reason="Two channels need a second review")
    answer_proposal(actor=world.liaison, proposal=proposal, accept=True, note="Agreed")
    post_message(actor=world.liaison, case=case, body=SHARED_MESSAGE)
    post_message(actor=world.liaison, case=case, body=AUTHORITY_NOTE, internal=True)
    post_message(actor=world.manager, case=case, body=PLATFORM_NOTE, internal=True)
    shared = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(png((200, 30, 30))),
                                  original_name=SHARED_EVIDENCE)
    internal = add_evidence(actor=world.manager, case=case, source=io.BytesIO(png((30, 30, 200))),
                                    original_name=INTERNAL_EVIDENCE, internal=True)
    case.shared_sha = shared.evidence.sha256  # type: ignore[attr-defined]
    case.internal_sha = internal.evidence.sha256  # type: ignore[attr-defined]
    decide_all(case, world.manager, outcome="no_action_already_removed", reason=ITEM_REASON)
    resolved = resolve_case(case=case, actor=world.manager, outcome_summary="Every channel handled.")
    resolved.shared_sha, resolved.internal_sha = case.shared_sha, case.internal_sha  # type: ignore[attr-defined]
    return resolved


def issue(world: World, case: Case, *, language: str = "en", include_thread: bool = True) -> OutcomeReport:
    """Request and generate synchronously (the task body), as the worker would."""
    report = request_report(actor=world.manager, case=case, language=language,
                                    include_thread=include_thread, enqueue=False)
    generate_report(report_id=report.pk)
    report.refresh_from_db()
    return report


def stored(report: OutcomeReport) -> bytes:
    with default_storage.open(report.storage_name, "rb") as handle:
        return handle.read()


def pdf_pages(data: bytes, tmp_path: Path | None = None) -> list[str]:
    """The text of each page, as pypdf extracts it (no host tool needed; the fonts carry a Unicode map)."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def pdf_fonts(data: bytes) -> dict[str, bool]:
    """Every font the PDF's pages use, by name (subset tag dropped), and whether its program is embedded."""
    from pypdf import PdfReader

    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"].get_object().get("/Font", {}).values():
            font = font.get_object()
            described = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            embedded = all(any(key in d.get("/FontDescriptor", {}) for key in ("/FontFile", "/FontFile2", "/FontFile3"))
                           for d in described)
            fonts[re.sub(r"^[A-Z]{6}\+", "", str(font["/BaseFont"]).lstrip("/"))] = embedded
    return fonts


def flat(text: str) -> str:
    """Text with line breaks and hyphenation-free wrapping removed, for phrases that may wrap."""
    return re.sub(r"\s+", " ", text)




def tampered(data: bytes) -> bytes:
    """One byte changed inside the signed range (a letter of the /Producer string, well before /Contents)."""
    changed = bytearray(data)
    index = changed.index(b"/Producer (") + len(b"/Producer (") + 2
    changed[index] ^= 0x01
    return bytes(changed)


def unrelated_pdf() -> bytes:
    from cases.report_rendering import html_to_pdf

    return html_to_pdf("<p>A letter that is not an outcome report.</p>")


# --- Content -----------------------------------------------------------------------------------------------------


def test_the_report_holds_every_section_and_item_and_nothing_internal(world, tmp_path):
    case = full_case(world, items=12)
    report = issue(world, case, include_thread=True)
    assert report.status == OutcomeReport.Status.READY, report.status_reason
    pages = pdf_pages(stored(report), tmp_path)
    text = flat(" ".join(pages))

    for expected in [
        case.reference, world.ministry.name, world.platform.name, "Removal", "Hate speech",
        "Law 11/2008 on Electronic Information and Transactions", "Territorial scope", "ID",
        "Request", "Summary", "Timeline", "Deadlines", "Reported items and outcomes", "Evidence", "Shared thread",
        "Approval and signature", "Submitted → In progress", "In progress → Awaiting information",
        "Awaiting information → In progress", "In progress → Resolved", "Met at", "Paused",
        "Due time moved from", "Two channels need a second review", SHARED_MESSAGE, ITEM_REASON,
        "No action: already removed", case.shared_sha, SHARED_EVIDENCE,
        "Maria Manager, T&S manager", "Version 1", "http://127.0.0.1:8000/reports/verify/",
        "Reported items 12", "Items decided 12",
    ]:
        assert expected in text, expected
    for item in case.items.all():
        assert item.target in text
    for secret in (AUTHORITY_NOTE, PLATFORM_NOTE, INTERNAL_EVIDENCE, case.internal_sha):
        assert secret not in text
    # The confidentiality marking and the verification footer are on every page.
    for page in pages:
        assert "TLP:AMBER" in page
        assert "Verify this signed report at" in flat(page)


def test_the_report_prints_the_audit_checkpoint_it_was_issued_under(world, tmp_path):
    """Each report signs a checkpoint of the audit chain as it is rendered, covering the case's record up to the
    approval, and prints it: the report its readers keep is also a signed copy of the chain's head."""
    case = full_case(world, items=2)
    first = issue(world, case, include_thread=False)
    second = issue(world, case, include_thread=False)
    for number, report in enumerate((first, second), start=1):
        checkpoint = AuditCheckpoint.objects.get(sequence=number)
        head = AuditEvent.objects.get(pk=checkpoint.head_event_id)
        assert (checkpoint.reason, head.action) == ("report", "audit.checkpoint")
        assert head.data == {"reason": "report", "report": report.pk, "reference": case.reference,
                             "version": report.version}
        requested = AuditEvent.objects.get(action="report.requested", case=case, data__version=report.version)
        issued = AuditEvent.objects.get(action="report.issued", case=case, data__version=report.version)
        assert requested.pk < checkpoint.head_event_id < issued.pk
        assert checkpoint.event_count == AuditEvent.objects.filter(pk__lte=head.pk).count()
        text = flat(" ".join(pdf_pages(stored(report), tmp_path)))
        made_at = format_instant(checkpoint.made_at, zoneinfo.ZoneInfo("Asia/Jakarta"), seconds=True)
        assert made_at.endswith(" WIB (UTC+07:00)")
        assert (f"Audit checkpoint No. {number}, signed {made_at}: "
                f"{checkpoint.event_count} audit events, the last no. {checkpoint.head_event_id}") in text
        assert f"SHA-256 {checkpoint.head_hash}" in text
        assert f"check the log against checkpoint no. {number} and this hash" in text
    status = StringIO()
    call_command("verify_audit", stdout=status)
    assert "Held against 2 signed checkpoint(s)" in status.getvalue()


def test_the_thread_is_left_out_unless_chosen(world, tmp_path):
    case = full_case(world, items=2)
    report = issue(world, case, include_thread=False)
    text = flat(" ".join(pdf_pages(stored(report), tmp_path)))
    assert "Shared thread" not in text
    assert SHARED_MESSAGE not in text
    assert AUTHORITY_NOTE not in text and PLATFORM_NOTE not in text
    assert ITEM_REASON in text


def test_pages_are_numbered_page_x_of_y(world, tmp_path):
    from pypdf import PdfReader

    case = make_case(world, targets=unique_targets(120), state=Status.RESOLVED)
    data = stored(issue(world, case, include_thread=False))
    total = len(PdfReader(io.BytesIO(data)).pages)
    assert total >= 3
    pages = pdf_pages(data, tmp_path)
    assert len(pages) == total
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in page
    assert case.items.order_by("-position").first().target in flat(" ".join(pages))


def test_an_indonesian_report_has_indonesian_labels(world, tmp_path):
    case = full_case(world, items=3)
    report = issue(world, case, language="id")
    pages = pdf_pages(stored(report), tmp_path)
    text = flat(" ".join(pages))
    for label in ["Laporan hasil", "Permintaan", "Ringkasan", "Lini masa", "Tenggat",
                  "Item yang dilaporkan dan hasilnya", "Bukti", "Utas bersama", "Persetujuan dan tanda tangan",
                  "Disetujui oleh", "Cara memverifikasi laporan ini", "Verifikasi laporan bertanda tangan ini di",
                  "Otoritas pemohon", "Platform penanggap", "Dasar hukum", "Terpenuhi pada"]:
        assert label.lower() in text.lower(), label
    for english in ["Reported items and outcomes", "Approval and signature", "How to verify this report"]:
        assert english not in text
    for number, page in enumerate(pages, start=1):
        assert f"Halaman {number} dari {len(pages)}" in page
    assert report.language == "id"


def test_fonts_are_embedded(world, tmp_path):
    case = make_case(world, state=Status.RESOLVED)
    fonts = pdf_fonts(stored(issue(world, case)))
    assert fonts and all(fonts.values()), fonts


def test_the_report_is_set_only_in_the_fonts_shipped_with_it(world, tmp_path):
    """Whatever fonts the host has, the report and its signature block use the fonts in cases/report_fonts/ (the
    host has Noto and DejaVu too: the names tell them apart), for every label and for Latin, Greek, Cyrillic and
    Arabic text people typed, arrows and ticks included."""
    case = full_case(world, items=3)
    post_message(actor=world.liaison, case=case, body="Saluran → @kanal_contoh ✓ · Ελληνικά · Кириллица · العربية")
    names = set(pdf_fonts(stored(issue(world, case, language="id"))))
    assert names == {"Liaison-Sans", "Liaison-Sans-Bold", "Liaison-Serif", "Liaison-Serif-Bold", "Liaison-Symbols",
                     "Liaison-Symbols-Bold", "Liaison-Mono"}


# --- Versions, audit, thread, notifications ------------------------------------------------------------------


def test_a_new_version_supersedes_the_previous_one_and_both_stay_downloadable(world, login, tmp_path):
    case = full_case(world, items=2)
    first = issue(world, case)
    first_bytes = stored(first)
    second = issue(world, case, language="id")
    first.refresh_from_db()

    assert (first.version, second.version) == (1, 2)
    assert first.superseded_by_id == second.pk and first.superseded_at == second.issued_at
    assert second.superseded_at is None
    import hashlib

    assert first.sha256 == hashlib.sha256(first_bytes).hexdigest() and first.size == len(first_bytes)
    assert stored(first) == first_bytes  # issued files never change
    assert second.sha256 != first.sha256
    assert "menggantikan versi 1" in flat(" ".join(pdf_pages(stored(second), tmp_path)))

    client = login(world.liaison)
    for report in (first, second):
        response = client.get(reverse("cases:download_report", args=[case.reference, report.version]))
        assert response.status_code == 200
        data = body(response)
        assert hashlib.sha256(data).hexdigest() == report.sha256
        assert response["Content-Type"] == "application/pdf"
        assert "attachment" in response["Content-Disposition"]
    issued = AuditEvent.objects.filter(action="report.issued", case=case).order_by("id")
    assert [e.data["version"] for e in issued] == [1, 2]
    assert issued[1].data["supersedes"] == [1]
    downloads = AuditEvent.objects.filter(action="report.downloaded", case=case)
    assert [(e.actor, e.data["version"]) for e in downloads] == [(world.liaison, 1), (world.liaison, 2)]
    entries = Message.objects.filter(case=case, kind=Message.Kind.SYSTEM, system_action="report.issued")
    assert entries.count() == 2 and all(e.side == "" for e in entries)


def test_issuing_notifies_the_requesting_authoritys_people(world, django_capture_on_commit_callbacks):
    case = make_case(world, state=Status.RESOLVED)
    with django_capture_on_commit_callbacks(execute=True):
        report = request_report(actor=world.manager, case=case, language="en", include_thread=False)
    report.refresh_from_db()
    assert report.status == OutcomeReport.Status.READY  # the task ran on commit (eagerly in tests)
    notified = set(Notification.objects.filter(kind="report", source_key=f"report:{report.pk}")
                   .values_list("user__email", flat=True))
    assert notified == {world.liaison.email, world.lead.email, world.authority_auditor.email}


def test_only_one_report_of_a_case_is_in_flight(world):
    from django.core.exceptions import ValidationError

    case = make_case(world, state=Status.RESOLVED)
    request_report(actor=world.manager, case=case, language="en", include_thread=False, enqueue=False)
    with pytest.raises(ValidationError):
        request_report(actor=world.manager, case=case, language="en", include_thread=False, enqueue=False)
    with pytest.raises(ValidationError):
        other = make_case(world, state=Status.RESOLVED)
        request_report(actor=world.manager, case=other, language="fr", include_thread=False, enqueue=False)


def test_the_task_delivered_twice_issues_once(world):
    case = make_case(world, state=Status.RESOLVED)
    report = request_report(actor=world.manager, case=case, language="en", include_thread=False,
                                    enqueue=False)
    from cases.tasks import generate_report_task

    assert generate_report_task.apply(args=[report.pk]).get() == "ready"
    assert generate_report_task.apply(args=[report.pk]).get() == "skipped"
    assert AuditEvent.objects.filter(action="report.issued", case=case).count() == 1
    assert OutcomeReport.objects.filter(case=case).count() == 1
    assert len(list(Path(default_storage.location, "reports").rglob("*.pdf"))) == 1


def test_a_stale_claim_is_taken_over_and_the_slow_worker_discards_its_file(world):
    case = make_case(world, state=Status.RESOLVED)
    report = request_report(actor=world.manager, case=case, language="en", include_thread=False,
                                    enqueue=False)
    OutcomeReport.objects.filter(pk=report.pk).update(status=OutcomeReport.Status.RENDERING,
                                                      started_at=timezone.now() - timedelta(hours=1))
    issued = generate_report(report_id=report.pk)
    assert issued is not None and issued.status == OutcomeReport.Status.READY
    assert generate_report(report_id=report.pk) is None


# --- Failures ------------------------------------------------------------------------------------------------------


def test_signing_without_an_identity_fails_with_a_clear_reason(world, settings, tmp_path, login):
    settings.LIAISON_SIGNING_P12 = str(tmp_path / "nowhere" / "signer.p12")
    case = make_case(world, state=Status.RESOLVED)
    report = issue(world, case)
    assert report.status == OutcomeReport.Status.FAILED
    assert "No signing identity is configured" in report.status_reason
    assert "LIAISON_SIGNING_P12" in report.status_reason and "create_signing_identity" in report.status_reason
    assert not report.storage_name and not report.sha256
    failed = AuditEvent.objects.get(action="report.failed", case=case)
    assert failed.side == "platform"
    assert not AuditEvent.objects.filter(action="report.issued").exists()

    page = login(world.manager).get(reverse("cases:reports", args=[case.reference])).content.decode()
    assert 'data-status="failed"' in page and "No signing identity is configured" in page
    # The authority sees no failed attempt (and no reason).
    page = login(world.liaison).get(reverse("cases:reports", args=[case.reference])).content.decode()
    assert "No signing identity" not in page and 'data-status="none"' in page

    # A failed attempt does not use up the version number.
    settings.LIAISON_SIGNING_P12 = str(Path(settings.LIAISON_SIGNING_CA).with_name("signer.p12"))
    retried = issue(world, case)
    assert retried.status == OutcomeReport.Status.READY and retried.version == 1


def test_a_wrong_passphrase_fails_with_a_clear_reason(world, settings):
    settings.LIAISON_SIGNING_PASSPHRASE = "not-the-passphrase"
    case = make_case(world, state=Status.RESOLVED)
    report = issue(world, case)
    assert report.status == OutcomeReport.Status.FAILED
    assert "could not be opened" in report.status_reason and "wrong passphrase" in report.status_reason


# --- Who may do what -------------------------------------------------------------------------------------------

REQUEST = {"liaison": 403, "lead": 403, "authority_auditor": 403, "other_liaison": 404, "other_lead": 404,
           "moderator": 403, "moderator_my": 404, "manager": 302, "legal": 403, "auditor": 403}
READ = {"liaison": 200, "lead": 200, "authority_auditor": 200, "other_liaison": 404, "other_lead": 404,
        "moderator": 403, "moderator_my": 404, "manager": 200, "legal": 200, "auditor": 200}


def test_who_may_request_a_report(world, login):
    case = make_case(world, state=Status.RESOLVED)
    url = reverse("cases:request_report", args=[case.reference])
    for persona in PERSONAS:
        if persona == "manager":
            continue
        response = login(getattr(world, persona)).post(url, {"language": "en"})
        assert response.status_code == REQUEST[persona], persona
    assert not OutcomeReport.objects.exists()
    response = login(world.manager).post(url, {"language": "id", "include_thread": "1"})
    assert response.status_code == REQUEST["manager"]
    report = OutcomeReport.objects.get()
    assert (report.language, report.include_thread, report.requested_by, report.approved_by) == (
        "id", True, world.manager, world.manager)


def test_a_report_is_requested_only_once_the_case_is_resolved_or_closed(world, login):
    case = make_case(world, state=Status.IN_PROGRESS)
    response = login(world.manager).post(reverse("cases:request_report", args=[case.reference]), {"language": "en"})
    assert response.status_code == 403
    closed = make_case(world, state=Status.CLOSED)
    response = login(world.manager).post(reverse("cases:request_report", args=[closed.reference]), {"language": "en"})
    assert response.status_code == 302


def test_who_may_list_and_download_reports(world, login):
    case = make_case(world, state=Status.RESOLVED)
    report = issue(world, case)
    panel = reverse("cases:reports", args=[case.reference])
    download = reverse("cases:download_report", args=[case.reference, report.version])
    for persona in PERSONAS:
        client = login(getattr(world, persona))
        listed = client.get(panel)
        assert listed.status_code == READ[persona], persona
        if listed.status_code == 200:
            assert f'data-testid="report-download-{report.version}"' in listed.content.decode()
        fetched = client.get(download)
        assert fetched.status_code == READ[persona], persona
        body(fetched)
    downloaders = set(AuditEvent.objects.filter(action="report.downloaded").values_list("actor__email", flat=True))
    assert downloaders == {getattr(world, p).email for p, code in READ.items() if code == 200}
    assert login(world.liaison).get(reverse("cases:download_report", args=[case.reference, 9])).status_code == 404


def test_the_case_page_shows_the_panel_to_those_allowed(world, login):
    case = make_case(world, state=Status.RESOLVED)
    page = login(world.manager).get(case.get_absolute_url()).content.decode()
    assert 'data-testid="request-report"' in page and 'data-testid="report-status"' in page
    page = login(world.liaison).get(case.get_absolute_url()).content.decode()
    assert 'data-testid="request-report"' not in page and 'data-testid="report-status"' in page
    page = login(world.moderator).get(case.get_absolute_url()).content.decode()
    assert 'id="reports"' not in page


def test_the_progress_fragment_polls_until_the_report_is_ready(world, login):
    case = make_case(world, state=Status.RESOLVED)
    report = request_report(actor=world.manager, case=case, language="en", include_thread=False,
                                    enqueue=False)
    client = login(world.manager)
    url = reverse("cases:reports", args=[case.reference])
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="report-status"' in fragment and 'data-status="queued"' in fragment
    assert 'hx-trigger="every 2s"' in fragment and "Queued" in fragment
    assert "<html" not in fragment

    OutcomeReport.objects.filter(pk=report.pk).update(status=OutcomeReport.Status.SIGNING)
    assert 'data-status="signing"' in client.get(url).content.decode()
    OutcomeReport.objects.filter(pk=report.pk).update(status=OutcomeReport.Status.QUEUED)
    # While one is in flight the authority sees nothing new yet.
    assert 'data-status="none"' in login(world.liaison).get(url).content.decode()

    generate_report(report_id=report.pk)
    fragment = login(world.manager).get(url).content.decode()
    assert 'data-status="ready"' in fragment and "hx-trigger" not in fragment
    assert 'data-testid="report-download-1"' in fragment


def test_requesting_through_htmx_returns_the_polling_fragment(world, login):
    case = make_case(world, state=Status.RESOLVED)
    client = login(world.manager)
    url = reverse("cases:request_report", args=[case.reference])
    # The task is queued on commit, which this (non-transactional) test never reaches: it stays queued.
    fragment = client.post(url, {"language": "en"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="report-status"' in fragment and 'data-status="queued"' in fragment
    assert 'hx-trigger="every 2s"' in fragment
    again = client.post(url, {"language": "en"}, HTTP_HX_REQUEST="true").content.decode()
    assert "being prepared" in again and OutcomeReport.objects.filter(case=case).count() == 1


# --- Signatures --------------------------------------------------------------------------------------------------


def test_pyhanko_finds_the_signature_intact_valid_and_trusted_and_a_changed_byte_breaks_it(world, settings):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    case = make_case(world, state=Status.RESOLVED)
    data = stored(issue(world, case))

    def status(pdf: bytes) -> Any:
        signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
        context = ValidationContext(trust_roots=[load_cert_from_pemder(settings.LIAISON_SIGNING_CA)])
        return validate_pdf_signature(signature, context)

    good = status(data)
    assert good.intact and good.valid and good.trusted and good.bottom_line
    assert good.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert good.signing_cert.subject.native["common_name"] == "Liaison outcome reports"
    bad = status(tampered(data))
    assert not bad.intact and not bad.bottom_line


def test_the_visible_signature_names_the_approver(world):
    from pyhanko.pdf_utils.reader import PdfFileReader

    case = make_case(world, state=Status.RESOLVED)
    data = stored(issue(world, case))
    reader = PdfFileReader(io.BytesIO(data))
    signature = reader.embedded_signatures[0]
    field = signature.sig_field
    rect = [float(v) for v in field["/Rect"]]
    assert rect[2] - rect[0] > 200 and rect[3] - rect[1] > 60  # a visible block, not an invisible field
    assert "/AP" in field
    assert "Maria Manager" in str(signature.sig_object.get("/Reason"))


def _nss_database(tmp_path: Path, ca_pem: str) -> str:
    directory = tmp_path / "nss"
    directory.mkdir()
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{directory}"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-n", "liaison-ca", "-t", "CT,C,C", "-i", ca_pem, "-d", f"sql:{directory}"],
                   check=True, capture_output=True)
    return f"sql:{directory}"


def _pdfsig(nssdir: str, path: Path) -> str:
    # pdfsig exits 0 whether or not the signature is valid: read what it says.
    run = subprocess.run(["pdfsig", "-nssdir", nssdir, str(path)], capture_output=True, text=True)
    return run.stdout + run.stderr


def test_pdfsig_reports_a_valid_trusted_signature_and_rejects_a_changed_byte(world, settings, tmp_path):
    if shutil.which("pdfsig") is None or shutil.which("certutil") is None:
        pytest.skip("poppler-utils (pdfsig) and libnss3-tools (certutil) are needed; CI installs them")
    case = make_case(world, state=Status.RESOLVED)
    data = stored(issue(world, case))
    nssdir = _nss_database(tmp_path, settings.LIAISON_SIGNING_CA)
    genuine, broken = tmp_path / "genuine.pdf", tmp_path / "broken.pdf"
    genuine.write_bytes(data)
    broken.write_bytes(tampered(data))

    out = _pdfsig(nssdir, genuine)
    assert "Signature is Valid" in out and "Certificate is Trusted" in out, out
    assert "Total document signed" in out
    out = _pdfsig(nssdir, broken)
    assert "Signature is Valid" not in out and "Certificate is Trusted" not in out, out


# --- Verification page and command --------------------------------------------------------------------------------


def verify(client: Client, data: bytes, name: str = "report.pdf") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("reports:verify"), {"file": SimpleUploadedFile(name, data, "application/pdf")})


def verdict(response: Any) -> str:
    match = re.search(r'data-testid="verify-result" data-verdict="([a-z]+)"', response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


def test_the_verification_page_tells_genuine_superseded_tampered_and_unrelated_apart(world, client):
    case = make_case(world, title="A title the verify page must not reveal", state=Status.RESOLVED)
    first = issue(world, case)
    first_bytes = stored(first)
    assert client.get(reverse("reports:verify")).status_code == 200  # no login needed

    response = verify(client, first_bytes)
    assert verdict(response) == "genuine"
    page = response.content.decode()
    assert case.reference in page and 'data-testid="verify-version">1<' in page
    assert "Liaison outcome reports" in page and "This is the latest version" in page
    for hidden in [case.title, world.ministry.name, case.items.first().target, world.manager.full_name]:
        assert hidden not in page

    second = issue(world, case)
    response = verify(client, first_bytes)
    assert verdict(response) == "superseded"
    assert 'data-testid="verify-newer"' in response.content.decode()
    assert "version 2" in response.content.decode()
    assert verdict(verify(client, stored(second))) == "genuine"

    response = verify(client, tampered(first_bytes))
    assert verdict(response) == "tampered"
    assert "does not match any report" in response.content.decode()

    response = verify(client, unrelated_pdf(), "letter.pdf")
    assert verdict(response) == "unsigned"
    assert verdict(verify(client, b"not a pdf at all", "x.pdf")) == "unreadable"


def test_a_validly_signed_file_we_did_not_issue_is_not_taken_for_a_report(world, client):
    identity = signing_identity.load_signing_identity()
    signed = report_signing.sign_pdf(unrelated_pdf(), identity, approver_name="Someone", approver_role="Tester")
    result = queries.verify_report(signed)
    assert result.signature_ok and result.report is None and result.verdict == "unknown" and not result.ok
    assert verdict(verify(client, signed)) == "unknown"


def test_a_signature_from_another_ca_is_not_trusted(world, tmp_path, settings):
    other = signing_identity.create_signing_identity(p12_path=tmp_path / "other.p12", ca_path=tmp_path / "other-ca.pem",
                                            passphrase="other", organization="Somebody else", key_size=2048)
    settings.LIAISON_SIGNING_P12, settings.LIAISON_SIGNING_PASSPHRASE = str(other.p12), "other"
    signed = report_signing.sign_pdf(unrelated_pdf(), signing_identity.load_signing_identity(), approver_name="X", approver_role="Y")
    settings.LIAISON_SIGNING_P12 = str(tmp_path / "unused.p12")
    result = queries.verify_report(signed)
    assert result.intact and result.valid and not result.trusted and result.verdict == "untrusted"


def test_the_verification_page_is_csrf_protected_size_limited_and_rate_limited(world, settings):
    from django.core.cache import cache

    cache.clear()
    strict = Client(enforce_csrf_checks=True)
    assert verify(strict, b"%PDF-1.7").status_code == 403
    page = strict.get(reverse("reports:verify")).content.decode()
    assert "csrfmiddlewaretoken" in page

    settings.LIAISON_VERIFY_MAX_BYTES = 1024
    client = Client()
    response = verify(client, b"%PDF-1.7\n" + b"0" * 4096)
    assert response.status_code == 413
    settings.LIAISON_VERIFY_MAX_BYTES = 20 * 1024 * 1024

    cache.clear()
    settings.LIAISON_VERIFY_RATE = "3/m"
    codes = [verify(client, b"%PDF-1.7 nothing").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other_ip = Client(REMOTE_ADDR="203.0.113.9")
    assert verify(other_ip, b"%PDF-1.7 nothing").status_code == 200
    cache.clear()


def test_the_ca_certificate_is_served_to_anyone(client, settings):
    response = client.get(reverse("reports:ca"))
    assert response.status_code == 200
    assert response.content.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" not in response.content
    assert response.content.strip() == Path(settings.LIAISON_SIGNING_CA).read_bytes().strip()


def test_the_verify_report_command(world, tmp_path):
    case = make_case(world, state=Status.RESOLVED)
    first = issue(world, case)
    good, bad, other = tmp_path / "good.pdf", tmp_path / "bad.pdf", tmp_path / "other.pdf"
    good.write_bytes(stored(first))
    bad.write_bytes(tampered(stored(first)))
    other.write_bytes(unrelated_pdf())

    out = io.StringIO()
    call_command("verify_report", str(good), stdout=out)
    assert "VALID (GENUINE)" in out.getvalue() and case.reference in out.getvalue()
    for path in (bad, other):
        with pytest.raises(SystemExit) as exit_info:
            call_command("verify_report", str(path), stdout=io.StringIO(), stderr=io.StringIO())
        assert exit_info.value.code == 1
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("verify_report", str(bad), stdout=out, stderr=io.StringIO())
    # Each finding on its own: the document changed, the signer is still the platform's own certificate.
    assert "Intact:     NO - the document was changed after signing" in out.getvalue()
    assert "Trusted:    yes" in out.getvalue()
    assert "Issued:     NO" in out.getvalue()
    issue(world, case)
    out = io.StringIO()
    call_command("verify_report", str(good), stdout=out)  # superseded but genuine: exit 0, with a warning
    assert "Superseded: version 2" in out.getvalue()


def test_the_signing_identity_is_opened_again_when_its_file_changes(tmp_path, settings):
    """Opened once and kept (opening costs a decryption and a key check), under its file's bytes and passphrase."""
    settings.LIAISON_SIGNING_P12, settings.LIAISON_SIGNING_CA = str(tmp_path / "signer.p12"), str(tmp_path / "ca.pem")
    settings.LIAISON_SIGNING_PASSPHRASE = "first"
    signing_identity.create_signing_identity(p12_path=tmp_path / "signer.p12", ca_path=tmp_path / "ca.pem",
                                             passphrase="first", key_size=2048)
    first = signing_identity.load_signing_identity()
    assert signing_identity.load_signing_identity() is first

    signing_identity.create_signing_identity(p12_path=tmp_path / "signer.p12", ca_path=tmp_path / "ca.pem",
                                             passphrase="first", key_size=2048)  # a new key, same path and size
    second = signing_identity.load_signing_identity()
    assert second is not first
    assert second.signer.signing_cert.serial_number != first.signer.signing_cert.serial_number

    settings.LIAISON_SIGNING_PASSPHRASE = "not-the-passphrase"
    with pytest.raises(signing_identity.SigningIdentityError, match="could not be opened"):
        signing_identity.load_signing_identity()
    signed = report_signing.sign_pdf(unrelated_pdf(), second, approver_name="X", approver_role="Y")
    assert queries.verify_report(signed).signature_ok


def test_create_signing_identity_makes_a_working_identity_once(tmp_path, settings):
    settings.LIAISON_SIGNING_P12 = str(tmp_path / "signing" / "signer.p12")
    settings.LIAISON_SIGNING_CA = str(tmp_path / "signing" / "ca.pem")
    settings.LIAISON_SIGNING_PASSPHRASE = ""
    settings.LIAISON_SIGNING_DEV_PASSPHRASE_FILE = str(tmp_path / "signing" / "passphrase.txt")
    out = io.StringIO()
    call_command("create_signing_identity", stdout=out)
    assert "Signing identity created" in out.getvalue()
    passphrase = Path(settings.LIAISON_SIGNING_DEV_PASSPHRASE_FILE)
    assert passphrase.is_file() and oct(passphrase.stat().st_mode & 0o777) == "0o600"
    assert oct(Path(settings.LIAISON_SIGNING_P12).stat().st_mode & 0o777) == "0o600"
    identity = signing_identity.load_signing_identity()
    assert identity.subject.startswith("Common Name: Liaison outcome reports")
    before = Path(settings.LIAISON_SIGNING_P12).read_bytes()
    call_command("create_signing_identity", stdout=io.StringIO())
    assert Path(settings.LIAISON_SIGNING_P12).read_bytes() == before
    assert signing_identity.ca_certificates_pem().startswith(b"-----BEGIN CERTIFICATE-----")


def test_seed_reports_issues_a_signed_demo_report_once(db, pdf_renderer):
    call_command("seed_demo", force=True, stdout=io.StringIO())
    issued = list(OutcomeReport.objects.filter(status=OutcomeReport.Status.READY))
    assert issued and all(r.case.status in (Status.RESOLVED, Status.CLOSED) for r in issued)
    assert {r.language for r in issued} == {"en", "id"}
    for report in issued:
        assert queries.verify_report(stored(report)).verdict == "genuine"
    call_command("seed_demo", force=True, stdout=io.StringIO())
    assert OutcomeReport.objects.count() == len(issued)


# --- RFC 3161 timestamps -----------------------------------------------------------------------------------------


@pytest.fixture
def local_tsa(settings: Any, signing_identity_files: dict[str, str]) -> Any:
    """A time-stamping authority on 127.0.0.1 (pyHanko's test responder behind a tiny HTTP server), its
    certificate issued by the test CA, so LIAISON_TSA_URL exercises the real HTTP client."""
    import http.server
    import threading
    from datetime import UTC, datetime

    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    ca_dir = Path(signing_identity_files["ca"])
    ca_cert = x509.load_pem_x509_certificate(ca_dir.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_dir.with_name(ca_dir.stem + "-key.pem").read_bytes(),
                                                signing_identity_files["passphrase"].encode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    responder = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER,
                                                                serialization.PrivateFormat.PKCS8,
                                                                serialization.NoEncryption())))
    requests: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(body)
            reply = responder.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.LIAISON_TSA_URL = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    yield requests
    server.shutdown()
    server.server_close()


def test_a_configured_tsa_timestamps_the_signature(world, local_tsa):
    case = make_case(world, state=Status.RESOLVED)
    report = issue(world, case)
    assert report.status == OutcomeReport.Status.READY, report.status_reason
    assert local_tsa  # pyHanko asks once to size the signature, then for the real token
    result = queries.verify_report(stored(report))
    assert result.ok and result.verdict == "genuine"
    assert result.timestamped_at is not None
    assert abs((result.timestamped_at - timezone.now()).total_seconds()) < 600


def test_an_unreachable_tsa_fails_the_report_with_the_reason(world, settings):
    settings.LIAISON_TSA_URL = "http://127.0.0.1:9/tsa"
    case = make_case(world, state=Status.RESOLVED)
    report = issue(world, case)
    assert report.status == OutcomeReport.Status.FAILED
    assert "Rendering or signing failed" in report.status_reason


def test_a_tampered_report_is_reported_as_changed_not_as_an_untrusted_signer(world, client):
    case = make_case(world, state=Status.RESOLVED)
    data = stored(issue(world, case))

    result = queries.verify_report(tampered(data))

    assert result.verdict == "tampered"
    assert not result.intact
    assert result.trusted, "the certificate is the platform's own; only the document changed"
    page = verify(client, tampered(data)).content.decode()
    assert "The signed content was changed after signing" in page
    assert "does not chain to the platform" not in page
    assert "The signing certificate chains to the platform" in page


def test_a_damaged_signature_is_reported_as_damaged(world, client):
    case = make_case(world, state=Status.RESOLVED)
    data = bytearray(stored(issue(world, case)))
    start = data.index(b"/Contents <") + len(b"/Contents <")
    data[start:start + 64] = b"00" * 32  # still hexadecimal, but no longer a CMS structure

    result = queries.verify_report(bytes(data))

    assert result.verdict == "damaged" and not result.ok
    page = verify(client, bytes(data)).content.decode()
    assert "Not valid: the signature is damaged" in page
    assert "does not chain to the platform" not in page


def test_a_signature_is_checked_the_same_from_a_thread_running_an_event_loop(world):
    """pyHanko's validation runs its own asyncio loop; called from a thread already running one (a browser driver's,
    an async view) it was refused and the signature read as damaged."""
    import asyncio

    identity = signing_identity.load_signing_identity()
    signed = report_signing.sign_pdf(unrelated_pdf(), identity, approver_name="Someone", approver_role="Tester")

    from cases.report_verification import verify_report_bytes

    async def inside_a_loop() -> Any:
        return verify_report_bytes(signed, find_issued=lambda sha256: None)

    result = asyncio.run(inside_a_loop())
    assert not result.damaged and result.intact and result.valid and result.trusted, result.problems
