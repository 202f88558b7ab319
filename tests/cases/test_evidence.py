"""Evidence (issue 4): fingerprints, type from the bytes, safe names, who may download what, the chain of
custody, withdrawal, legal holds, purge after retention and the integrity check."""

from __future__ import annotations

import hashlib
import io
import random
import re
import struct
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import LimitedStream
from django.core.management import call_command
from django.http import Http404, UnreadablePostError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from cases import evidence_files, permissions
from cases.actions.cases import close_case, withdraw_case
from cases.actions.evidence import (
    EvidenceResult,
    add_evidence,
    lift_legal_hold,
    place_legal_hold,
    purge_evidence,
    withdraw_evidence,
)
from cases.audit import verify_chain
from cases.choices import Status
from cases.evidence_files import EvidenceRejected
from cases.evidence_upload import EvidenceUploadHandler
from cases.models import AuditEvent, Case, Category, Evidence, LegalHold
from cases.queries.records import case_evidence
from cases.tasks import verify_evidence_task
from tests.cases.conftest import body, make_case, page_messages, section
from tests.conftest import enrol_totp
from tests.factories import World

MIB = 1024 * 1024


# --- Sample files ----------------------------------------------------------------------------------


def png(width: int = 32, height: int = 16, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real, valid PNG (a flat colour): what a screenshot looks like to libmagic."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf(text: str = "Surat resmi") -> bytes:
    body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"3 0 obj << /Length " + str(len(body)).encode() + b" >> stream\n" + body + b"\nendstream endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def windows_executable() -> bytes:
    """A minimal PE header: 'MZ', e_lfanew pointing at 'PE\\0\\0' for an i386 machine."""
    header = bytearray(512)
    header[0:2] = b"MZ"
    header[0x3C:0x40] = struct.pack("<I", 0x80)
    header[0x80:0x84] = b"PE\x00\x00"
    header[0x84:0x86] = struct.pack("<H", 0x14C)
    return bytes(header)


def chat(n: int = 1) -> bytes:
    return f"[12/03/2026 10:0{n}] Admin: gabung saluran kami\n[12/03/2026 10:05] Anggota: siap\n".encode()


class GeneratedSource:
    """A file-like object that produces `total` bytes (a PNG header, then zeros) without holding them,
    counting what was read; it can break after `fail_after` bytes the way a dropped connection does."""

    def __init__(self, total: int, *, fail_after: int | None = None, error: BaseException | None = None) -> None:
        self.head = png()
        self.total = total
        self.consumed = 0
        self.fail_after = fail_after
        self.error = error

    def read(self, size: int = -1) -> bytes:
        if self.fail_after is not None and self.consumed >= self.fail_after:
            assert self.error is not None
            raise self.error
        size = self.total - self.consumed if size < 0 else min(size, self.total - self.consumed)
        if self.fail_after is not None:
            size = min(size, self.fail_after - self.consumed)
        start = self.consumed
        self.consumed += size
        head = self.head[start:start + size]
        return head + b"\x00" * (size - len(head))


# --- Helpers ---------------------------------------------------------------------------------------


def add(actor: User, case: Case, data: bytes, name: str, **kwargs: Any) -> EvidenceResult:
    return add_evidence(actor=actor, case=case, source=io.BytesIO(data), original_name=name, **kwargs)


def stored_files() -> list[Path]:
    root = Path(default_storage.location)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload_url(case: Case) -> str:
    return reverse("cases:evidence_upload", args=[case.reference])


def download_url(evidence: Evidence) -> str:
    return reverse("cases:evidence_download", args=[evidence.case.reference, evidence.pk])


def preview_url(evidence: Evidence) -> str:
    return reverse("cases:evidence_preview", args=[evidence.case.reference, evidence.pk])


def page_url(evidence: Evidence) -> str:
    return reverse("cases:evidence", args=[evidence.case.reference, evidence.pk])


def events(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


@pytest.fixture(autouse=True)
def upload_tmp(settings: Any, tmp_path: Path) -> Path:
    """Where stream_to_temp writes its `evidence-*` files, so a test can see anything left behind."""
    path = tmp_path / "upload-tmp"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path


def assert_nothing_stored(upload_tmp: Path) -> None:
    assert Evidence.objects.count() == 0
    assert stored_files() == []
    assert list(upload_tmp.glob("evidence-*")) == []
    assert not AuditEvent.objects.filter(action="evidence.uploaded").exists()


@pytest.fixture
def case(world: World) -> Case:
    """A submitted case of the Indonesian ministry; it lands in the ID queue of Rizky the moderator."""
    return make_case(world)



# --- Fingerprint and type -----------------------------------------------------------------------------


def test_sha256_and_size_are_those_of_the_bytes_and_the_file_is_stored_privately(world, case):
    data = png(64, 48)

    result = add(world.liaison, case, data, "tangkapan-layar.png", description="Pinned post")

    evidence = result.evidence
    assert result.created
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert evidence.size == len(data)
    assert evidence.content_type == "image/png"
    with default_storage.open(evidence.storage_name, "rb") as handle:
        assert handle.read() == data
    uploaded = events("evidence.uploaded")
    assert len(uploaded) == 1
    assert uploaded[0].actor == world.liaison
    assert uploaded[0].data["sha256"] == evidence.sha256


def test_type_is_read_from_the_bytes_not_from_the_name(world, case):
    letter = add(world.liaison, case, pdf(), "surat-resmi").evidence
    shot = add(world.liaison, case, png(), "screenshot").evidence

    assert letter.content_type == "application/pdf"
    assert shot.content_type == "image/png"


def test_an_executable_named_png_is_refused_and_leaves_nothing(world, case, upload_tmp):
    with pytest.raises(EvidenceRejected, match="not accepted as evidence"):
        add(world.liaison, case, windows_executable(), "screenshot.png")

    assert_nothing_stored(upload_tmp)


def test_the_uploader_is_told_why_an_executable_was_refused(world, case, login, upload_tmp):
    client = login(world.liaison)

    response = client.post(upload_url(case), {"files": [SimpleUploadedFile("bukti.png", windows_executable())]},
                           HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    [result] = response.json()["results"]
    assert result["ok"] is False
    assert "bukti.png" in result["message"]
    assert "executable" in result["message"]
    assert "not accepted" in result["message"]
    assert_nothing_stored(upload_tmp)


def test_a_png_named_jpg_is_refused_as_a_mismatch(world, case, upload_tmp):
    with pytest.raises(EvidenceRejected) as refused:
        add(world.liaison, case, png(), "photo.jpg")

    message = str(refused.value)
    assert "photo.jpg" in message
    assert "image/jpeg" in message and "image/png" in message
    assert_nothing_stored(upload_tmp)


def test_an_oversized_file_is_refused_before_it_is_read_whole(world, case, settings, upload_tmp):
    settings.LIAISON_EVIDENCE_MAX_BYTES = 1 * MIB
    source = GeneratedSource(64 * MIB)

    with pytest.raises(EvidenceRejected, match="larger than the limit of 1 MiB"):
        add_evidence(actor=world.liaison, case=case, source=source, original_name="big.png")

    assert source.consumed < 3 * MIB
    assert_nothing_stored(upload_tmp)


def test_a_request_larger_than_the_limit_gets_413_and_stores_nothing(world, case, settings, login, upload_tmp):
    settings.LIAISON_EVIDENCE_MAX_BYTES = 1 * MIB
    client = login(world.liaison)
    big = png() + b"\x00" * (3 * MIB)

    response = client.post(upload_url(case), {"files": [SimpleUploadedFile("big.png", big)]},
                           HTTP_ACCEPT="application/json")

    assert response.status_code == 413
    assert "larger than the limit of 1 MiB" in response.json()["results"][0]["message"]
    assert_nothing_stored(upload_tmp)


def test_a_form_post_larger_than_the_limit_is_refused_with_a_message(world, case, settings, login, upload_tmp):
    settings.LIAISON_EVIDENCE_MAX_BYTES = 1 * MIB
    client = login(world.liaison)
    big = png() + b"\x00" * (3 * MIB)

    response = client.post(upload_url(case), {"files": [SimpleUploadedFile("big.png", big)]}, follow=True)

    assert response.redirect_chain[-1][0].endswith(case.get_absolute_url() + "#evidence")
    assert any("larger than the limit of 1 MiB" in m for m in page_messages(response))
    assert_nothing_stored(upload_tmp)


def test_a_file_just_over_the_limit_is_refused_while_streaming(world, case, settings, login, upload_tmp):
    settings.LIAISON_EVIDENCE_MAX_BYTES = 1 * MIB
    client = login(world.liaison)
    over = png() + b"\x00" * (MIB + 10)

    response = client.post(upload_url(case), {"files": [SimpleUploadedFile("over.png", over)]},
                           HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert "larger than the limit of 1 MiB" in response.json()["results"][0]["message"]
    assert_nothing_stored(upload_tmp)


# --- Names ----------------------------------------------------------------------------------------------


HOSTILE_NAMES = [
    "../../etc/passwd.txt",
    "..\\..\\Windows\\System32\\drivers\\etc\\hosts.txt",
    "/etc/cron.d/evil.txt",
    "chat\x00../../../evil.txt",
    "laporan\r\nX-Injected: yes.txt",
    "a" * 996 + ".txt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["dotdot", "backslashes", "absolute", "nul", "crlf", "long"])
def test_a_hostile_name_is_kept_as_data_and_never_used_as_a_path(world, case, login, name, tmp_path):
    evidence = add(world.liaison, case, chat(), name).evidence

    assert re.fullmatch(rf"evidence/{case.pk}/[0-9a-f]{{32}}", evidence.storage_name)
    location = Path(default_storage.location).resolve()
    assert Path(default_storage.path(evidence.storage_name)).resolve().parent == location / "evidence" / str(case.pk)
    assert [p.name for p in stored_files()] == [evidence.storage_name.rsplit("/", 1)[1]]
    assert not (tmp_path / "etc").exists()
    # The name as given is the record (PostgreSQL text cannot hold NUL, so that one byte is dropped).
    assert evidence.original_name == name.replace("\x00", "")[:255]

    response = login(world.liaison).get(download_url(evidence))

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert not set("/\\\x00\r\n") & set(disposition)
    assert ".." not in disposition
    assert "X-Injected" not in response
    assert len(disposition) < 260
    assert body(response) == chat()


# --- Duplicates --------------------------------------------------------------------------------------------


def test_the_same_file_twice_on_a_case_is_one_record_and_one_stored_file(world, case):
    data = png()
    first = add(world.liaison, case, data, "shot.png")
    second = add(world.lead, case, data, "shot-copy.png")

    assert first.created and not second.created
    assert second.evidence.pk == first.evidence.pk
    assert Evidence.objects.filter(case=case).count() == 1
    assert len(stored_files()) == 1


def test_uploading_the_same_file_again_says_it_is_already_attached(world, case, login):
    client = login(world.liaison)
    data = png()
    client.post(upload_url(case), {"files": [SimpleUploadedFile("shot.png", data)]}, HTTP_ACCEPT="application/json")

    response = client.post(upload_url(case), {"files": [SimpleUploadedFile("again.png", data)]}, follow=True)

    assert any("already attached" in m for m in page_messages(response))
    assert Evidence.objects.filter(case=case).count() == 1
    assert len(stored_files()) == 1


def test_the_authoritys_copy_of_a_file_the_platform_holds_internally_is_visible_to_it(world, case, login):
    data = png()
    add(world.moderator, case, data, "internal.png", internal=True)
    client = login(world.liaison)

    response = client.post(upload_url(case), {"files": [SimpleUploadedFile("mine.png", data)]},
                           HTTP_ACCEPT="application/json")

    [result] = response.json()["results"]
    assert "already attached" not in result["message"]
    assert client.get(result["url"]).status_code == 200
    assert "mine.png" in section(client.get(case.get_absolute_url()).content, "evidence-table")


def test_the_same_file_on_two_cases_is_two_records(world, case):
    other = make_case(world)
    data = png()

    add(world.liaison, case, data, "shot.png")
    add(world.liaison, other, data, "shot.png")

    assert Evidence.objects.count() == 2
    assert len(stored_files()) == 2


# --- Cancelled uploads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [ConnectionResetError("peer went away"),
                                   UnreadablePostError("request data read error")],
                         ids=["connection-reset", "unreadable-post"])
def test_a_cancelled_upload_leaves_no_row_no_file_and_no_temp_file(world, case, upload_tmp, error):
    source = GeneratedSource(8 * MIB, fail_after=3 * MIB + 123, error=error)

    with pytest.raises(type(error)):
        add_evidence(actor=world.liaison, case=case, source=source, original_name="video.png")

    assert source.consumed > 1 * MIB  # it broke partway, not before the first byte
    assert_nothing_stored(upload_tmp)


# --- Who may download what ---------------------------------------------------------------------------------

# persona: (shared evidence added by the liaison, platform-internal evidence added by the moderator)
ACCESS = {
    "liaison": (200, 404),
    "lead": (200, 404),
    "authority_auditor": (200, 404),
    "other_liaison": (404, 404),
    "other_lead": (404, 404),
    "moderator": (200, 200),
    "moderator_my": (404, 404),
    "manager": (200, 200),
    "legal": (200, 200),
    "auditor": (200, 200),
}


@pytest.fixture
def shared_and_internal(world: World, case: Case) -> tuple[Evidence, Evidence]:
    shared = add(world.liaison, case, png(), "shared.png").evidence
    internal = add(world.moderator, case, chat(), "internal-note.txt", internal=True).evidence
    assert not shared.internal and internal.internal
    return shared, internal


@pytest.mark.parametrize("persona", list(ACCESS))
def test_download_follows_the_policy_for_every_role(world, login, persona, shared_and_internal):
    user = getattr(world, persona)
    client = login(user)

    for evidence, expected in zip(shared_and_internal, ACCESS[persona], strict=True):
        response = client.get(download_url(evidence))
        assert response.status_code == expected, (persona, evidence.original_name)
        page = client.get(page_url(evidence))
        assert page.status_code == expected, (persona, evidence.original_name)
        if expected == 200:
            with default_storage.open(evidence.storage_name, "rb") as handle:
                assert body(response) == handle.read()
        else:
            assert evidence.original_name.encode() not in response.content
    downloads = AuditEvent.objects.filter(action="evidence.downloaded", actor=user).count()
    assert downloads == sum(1 for status in ACCESS[persona] if status == 200)


@pytest.mark.parametrize("persona", ["liaison", "lead", "authority_auditor"])
def test_authority_users_do_not_see_platform_internal_evidence_listed(world, login, persona, shared_and_internal):
    shared, internal = shared_and_internal

    response = login(getattr(world, persona)).get(shared.case.get_absolute_url())

    assert response.status_code == 200
    assert shared.original_name in response.content.decode()
    assert internal.original_name not in response.content.decode()
    assert internal.sha256 not in response.content.decode()


@pytest.mark.parametrize("persona", list(ACCESS))
def test_the_case_pages_evidence_rows_are_the_files_the_policy_shows(world, case, persona, shared_and_internal):
    """The case page reads its evidence through a statement kept per reader's side (queries.records.case_evidence):
    each person gets exactly the rows of permissions.evidence_visible_to, in the evidence's order."""
    user = getattr(world, persona)
    add(world.moderator, case, png(rgb=(1, 2, 3)), "later.png", item=case.items.first())

    rows = case_evidence(user, case)

    expected = list(permissions.evidence_visible_to(user, case).select_related("uploaded_by", "item"))
    assert [row.pk for row in rows] == [e.pk for e in expected]
    for row, evidence in zip(rows, expected, strict=True):
        assert (row.original_name, row.sha256, row.size, row.internal, row.uploaded_by_name, row.uploaded_at) == (
            evidence.original_name, evidence.sha256, evidence.size, evidence.internal,
            evidence.uploaded_by.full_name, evidence.uploaded_at)
        assert row.item_position == (evidence.item.position if evidence.item is not None else None)
    assert (len(rows) == 3) == (persona in ("moderator", "manager", "legal", "auditor"))


def test_download_headers_make_it_an_inert_attachment(world, case, login):
    evidence = add(world.liaison, case, png(), "tangkapan layar.png").evidence

    response = login(world.moderator).get(download_url(evidence))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="tangkapan layar.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]
    body(response)


def test_each_download_is_in_the_custody_log_and_the_audit_chain(world, case, login):
    evidence = add(world.liaison, case, png(), "shot.png").evidence
    client = login(world.moderator)

    body(client.get(download_url(evidence), REMOTE_ADDR="198.51.100.23"))
    body(client.get(download_url(evidence), REMOTE_ADDR="198.51.100.24"))

    downloads = events("evidence.downloaded")
    assert [(e.actor, e.ip, e.object_id) for e in downloads] == [
        (world.moderator, "198.51.100.23", str(evidence.pk)),
        (world.moderator, "198.51.100.24", str(evidence.pk)),
    ]
    assert all(e.case_id == case.pk and e.data["sha256"] == evidence.sha256 for e in downloads)
    page = login(world.liaison).get(page_url(evidence))
    custody = section(page.content, "custody-log")
    assert custody.count("Rizky Moderator") == 2
    assert custody.count("downloaded") == 2
    assert "198.51.100.23" in custody and "198.51.100.24" in custody
    assert "Dewi Liaison" in custody and "uploaded" in custody
    assert verify_chain().ok
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue()


# --- Preview ---------------------------------------------------------------------------------------------


def test_images_and_pdfs_preview_inline_in_a_sandbox_and_the_view_is_logged(world, case, login):
    image = add(world.liaison, case, png(), "shot.png").evidence
    letter = add(world.liaison, case, pdf(), "surat.pdf").evidence
    client = login(world.moderator)

    for evidence, content_type in ((image, "image/png"), (letter, "application/pdf")):
        response = client.get(preview_url(evidence))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("inline")
        assert response["Content-Type"] == content_type
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        body(response)

    previews = events("evidence.previewed", actor=world.moderator)
    assert [e.object_id for e in previews] == [str(image.pk), str(letter.pk)]
    assert not events("evidence.downloaded")
    custody = section(login(world.liaison).get(page_url(image)).content, "custody-log")
    assert "previewed" in custody


def test_other_files_are_not_previewed_but_can_be_downloaded(world, case, login):
    text = add(world.liaison, case, chat(), "chat.txt").evidence
    client = login(world.liaison)

    assert client.get(preview_url(text)).status_code == 404
    assert preview_url(text) not in client.get(page_url(text)).content.decode()
    assert not events("evidence.previewed")
    assert client.get(download_url(text)).status_code == 200


@pytest.mark.parametrize("persona", ["other_liaison", "moderator_my", "liaison"])
def test_preview_is_only_for_people_allowed_to_download(world, case, login, persona):
    internal = add(world.moderator, case, png(), "internal.png", internal=True).evidence

    response = login(getattr(world, persona)).get(preview_url(internal))

    assert response.status_code == 404
    assert not events("evidence.previewed")


# --- Withdrawal -------------------------------------------------------------------------------------------


@pytest.fixture
def liaison_evidence(world: World, case: Case) -> Evidence:
    return add(world.liaison, case, png(), "shot.png").evidence


def withdraw_url(evidence: Evidence) -> str:
    return reverse("cases:evidence_withdraw", args=[evidence.case.reference, evidence.pk])


@pytest.mark.parametrize("persona", ["moderator", "manager", "legal", "authority_auditor"])
def test_only_the_uploaders_side_withdraws(world, login, liaison_evidence, persona):
    user = getattr(world, persona)

    response = login(user).post(withdraw_url(liaison_evidence), {"reason": "Not relevant"})

    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        withdraw_evidence(actor=user, evidence=liaison_evidence, reason="Not relevant")
    liaison_evidence.refresh_from_db()
    assert liaison_evidence.withdrawn_at is None


def test_another_authority_cannot_even_find_the_evidence_to_withdraw(world, login, liaison_evidence):
    response = login(world.other_liaison).post(withdraw_url(liaison_evidence), {"reason": "x"})

    assert response.status_code == 404
    liaison_evidence.refresh_from_db()
    assert liaison_evidence.withdrawn_at is None


def test_withdrawal_needs_a_reason(world, login, liaison_evidence):
    response = login(world.lead).post(withdraw_url(liaison_evidence), {"reason": "   "}, follow=True)

    assert any("Say why" in m for m in page_messages(response))
    liaison_evidence.refresh_from_db()
    assert liaison_evidence.withdrawn_at is None
    with pytest.raises(ValidationError):
        withdraw_evidence(actor=world.lead, evidence=liaison_evidence, reason="")


def test_withdrawn_evidence_stays_listed_and_downloadable_marked_withdrawn(world, case, login, liaison_evidence):
    response = login(world.lead).post(withdraw_url(liaison_evidence), {"reason": "Wrong screenshot"}, follow=True)

    assert any("withdrawn" in m.lower() for m in page_messages(response))
    liaison_evidence.refresh_from_db()
    assert liaison_evidence.withdrawn_by == world.lead
    assert liaison_evidence.withdrawn_reason == "Wrong screenshot"
    [event] = events("evidence.withdrawn")
    assert event.actor == world.lead and event.data["reason"] == "Wrong screenshot"
    for user in (world.liaison, world.moderator):
        client = login(user)
        page = client.get(page_url(liaison_evidence)).content.decode()
        assert "Withdrawn by Budi Lead" in page and "Wrong screenshot" in page
        table = section(client.get(case.get_absolute_url()).content, "evidence-table")
        assert "shot.png" in table and "withdrawn" in table
        assert client.get(download_url(liaison_evidence)).status_code == 200
    # Withdrawn once is withdrawn for good.
    assert login(world.liaison).post(withdraw_url(liaison_evidence), {"reason": "again"}).status_code == 403


def test_the_platform_withdraws_its_own_evidence(world, case):
    evidence = add(world.moderator, case, png(), "internal.png", internal=True).evidence

    withdraw_evidence(actor=world.manager, evidence=evidence, reason="Duplicate of the report")

    evidence.refresh_from_db()
    assert evidence.withdrawn_at is not None
    with pytest.raises(PermissionDenied):
        withdraw_evidence(actor=world.liaison, evidence=add(world.manager, case, pdf(), "x.pdf").evidence,
                                  reason="not ours")


def test_the_authority_cannot_reach_platform_internal_evidence_to_withdraw_it(world, case, login):
    internal = add(world.moderator, case, png(), "internal.png", internal=True).evidence

    with pytest.raises(Http404):
        withdraw_evidence(actor=world.lead, evidence=internal, reason="x")
    assert login(world.lead).post(withdraw_url(internal), {"reason": "x"}).status_code == 404
    internal.refresh_from_db()
    assert internal.withdrawn_at is None


# --- Legal holds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "moderator", "auditor", "liaison", "lead"])
def test_only_legal_places_a_legal_hold(world, case, login, persona):
    user = getattr(world, persona)

    with pytest.raises(PermissionDenied):
        place_legal_hold(actor=user, case=case, reason="Litigation")
    response = login(user).post(reverse("cases:place_hold", args=[case.reference]), {"reason": "Litigation"})

    assert response.status_code == 403
    assert not LegalHold.objects.exists()


def test_legal_places_and_lifts_a_hold_others_cannot_lift_it(world, case, login):
    client = login(world.legal)
    response = client.post(reverse("cases:place_hold", args=[case.reference]), {"reason": "Court order 12/2026"},
                           follow=True)
    assert any("Legal hold placed" in m for m in page_messages(response))
    hold = LegalHold.objects.get(case=case)
    assert hold.is_active and hold.placed_by == world.legal
    lift = reverse("cases:lift_hold", args=[case.reference, hold.pk])

    shown = login(world.moderator).get(case.get_absolute_url()).content.decode()
    assert "Court order 12/2026" in shown
    assert f"Legal hold placed by {escape(world.legal.full_name)} on " in shown
    assert "Court order 12/2026" not in login(world.liaison).get(case.get_absolute_url()).content.decode()
    for persona in ("manager", "moderator", "auditor"):
        assert login(getattr(world, persona)).post(lift).status_code == 403
    hold.refresh_from_db()
    assert hold.is_active

    assert login(world.legal).post(lift).status_code == 302
    hold.refresh_from_db()
    assert not hold.is_active and hold.lifted_by == world.legal
    assert "Legal hold placed by" not in login(world.moderator).get(case.get_absolute_url()).content.decode()
    assert [e.action for e in AuditEvent.objects.filter(object_type="LegalHold")] == [
        "legal_hold.placed", "legal_hold.lifted"]


def test_a_hold_needs_a_reason(world, case):
    with pytest.raises(ValidationError):
        place_legal_hold(actor=world.legal, case=case, reason=" ")
    assert not LegalHold.objects.exists()


# --- Purge after retention ----------------------------------------------------------------------------------


def finished_case_with_evidence(world: World, *, days_ago: int, data: bytes) -> tuple[Case, Evidence]:
    case = make_case(world, state=Status.RESOLVED)
    evidence = add(world.liaison, case, data, "shot.png").evidence
    case = close_case(case=case, actor=world.liaison)
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=days_ago))
    return case, evidence


def test_purge_deletes_old_files_and_keeps_the_record(world, login, settings, django_capture_on_commit_callbacks):
    settings.LIAISON_EVIDENCE_RETENTION_DAYS = 30
    old_case, old = finished_case_with_evidence(world, days_ago=31, data=png(rgb=(1, 2, 3)))
    _recent_case, recent = finished_case_with_evidence(world, days_ago=29, data=png(rgb=(4, 5, 6)))
    withdrawn = make_case(world)
    withdrawn_evidence = add(world.liaison, withdrawn, chat(), "chat.txt").evidence
    withdraw_case(case=withdrawn, actor=world.liaison, note="Handled elsewhere")
    Case.objects.filter(pk=withdrawn.pk).update(withdrawn_at=timezone.now() - timedelta(days=40))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_evidence", stdout=io.StringIO())

    for evidence in (old, withdrawn_evidence):
        evidence.refresh_from_db()
        assert evidence.purged_at is not None
        assert evidence.sha256 and evidence.size
        assert not default_storage.exists(evidence.storage_name)
    recent.refresh_from_db()
    assert recent.purged_at is None and default_storage.exists(recent.storage_name)
    purged = events("evidence.purged")
    assert sorted(e.object_id for e in purged) == sorted([str(old.pk), str(withdrawn_evidence.pk)])
    assert all(e.actor is None for e in purged)

    client = login(world.liaison)
    gone = client.get(download_url(old))
    assert gone.status_code == 410
    assert old.sha256 in gone.content.decode()
    assert client.get(preview_url(old)).status_code == 410
    page = client.get(page_url(old)).content.decode()
    assert "purged" in page and old.sha256 in page
    assert "purged" in section(client.get(old_case.get_absolute_url()).content, "evidence-table")
    # Running it again purges nothing twice.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_evidence", stdout=io.StringIO())
    assert len(events("evidence.purged")) == 2


def test_a_legal_hold_stops_the_purge_until_it_is_lifted(world, settings, django_capture_on_commit_callbacks):
    settings.LIAISON_EVIDENCE_RETENTION_DAYS = 30
    case, evidence = finished_case_with_evidence(world, days_ago=90, data=png())
    hold = place_legal_hold(actor=world.legal, case=case, reason="Court case pending")
    dry_run = io.StringIO()
    call_command("purge_evidence", dry_run=True, stdout=dry_run)
    assert case.reference not in dry_run.getvalue()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_evidence", stdout=io.StringIO())
        assert purge_evidence(evidence=evidence) is False

    evidence.refresh_from_db()
    assert evidence.purged_at is None
    assert default_storage.exists(evidence.storage_name)
    assert not events("evidence.purged")

    lift_legal_hold(actor=world.legal, hold=hold)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_evidence", stdout=io.StringIO())

    evidence.refresh_from_db()
    assert evidence.purged_at is not None
    assert not default_storage.exists(evidence.storage_name)
    assert len(events("evidence.purged")) == 1


def test_a_dry_run_purges_nothing(world, settings, django_capture_on_commit_callbacks):
    settings.LIAISON_EVIDENCE_RETENTION_DAYS = 30
    case, evidence = finished_case_with_evidence(world, days_ago=31, data=png())
    out = io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_evidence", dry_run=True, stdout=out)

    assert case.reference in out.getvalue()
    evidence.refresh_from_db()
    assert evidence.purged_at is None and default_storage.exists(evidence.storage_name)


# --- Integrity -----------------------------------------------------------------------------------------------


def flip_one_byte(evidence: Evidence, offset: int = 20) -> None:
    path = Path(default_storage.path(evidence.storage_name))
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_evidence_passes_on_intact_files(world, case):
    for n, data in enumerate((png(), pdf(), chat())):
        add(world.liaison, case, data, f"file-{n}")
    out = io.StringIO()

    call_command("verify_evidence", stdout=out)

    assert "All 3 stored evidence files match" in out.getvalue()
    assert set(Evidence.objects.values_list("integrity_ok", flat=True)) == {True}
    assert not events("evidence.integrity_failed")


def test_verify_evidence_names_an_altered_file_and_exits_1(world, case, login):
    intact = add(world.liaison, case, pdf(), "surat.pdf").evidence
    altered = add(world.liaison, case, png(), "tangkapan.png").evidence
    flip_one_byte(altered)
    err = io.StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_evidence", stdout=io.StringIO(), stderr=err)

    assert exit_info.value.code == 1
    assert case.reference in err.getvalue()
    assert f"#{altered.pk}" in err.getvalue() and "tangkapan.png" in err.getvalue()
    assert f"#{intact.pk}" not in err.getvalue()
    [failed] = events("evidence.integrity_failed")
    assert failed.object_id == str(altered.pk)
    assert failed.data["expected"] == altered.sha256
    assert failed.data["found"] != altered.sha256
    altered.refresh_from_db()
    intact.refresh_from_db()
    assert altered.integrity_ok is False and intact.integrity_ok is True
    page = login(world.moderator).get(page_url(altered)).content.decode()
    assert "MISMATCH" in page
    assert "integrity check failed" in section(page, "custody-log")
    assert verify_chain().ok


def test_a_missing_stored_file_is_reported_too(world, case):
    evidence = add(world.liaison, case, png(), "shot.png").evidence
    default_storage.delete(evidence.storage_name)

    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_evidence", stdout=io.StringIO(), stderr=io.StringIO())

    assert exit_info.value.code == 1
    assert len(events("evidence.integrity_failed")) == 1


def test_the_nightly_task_records_an_altered_file(world, case):
    altered = add(world.liaison, case, png(), "shot.png").evidence
    intact = add(world.liaison, case, chat(), "chat.txt").evidence
    flip_one_byte(altered, offset=40)

    verify_evidence_task.delay()

    [failed] = events("evidence.integrity_failed")
    assert failed.object_id == str(altered.pk)
    altered.refresh_from_db()
    intact.refresh_from_db()
    assert altered.integrity_ok is False
    assert intact.integrity_ok is True and intact.last_verified_at is not None


# --- The upload view ---------------------------------------------------------------------------------------------


def test_several_files_in_one_post_each_get_a_message(world, case, login):
    client = login(world.liaison)
    shot, letter = png(), pdf()

    response = client.post(upload_url(case), {
        "files": [SimpleUploadedFile("shot.png", shot), SimpleUploadedFile("surat.pdf", letter)],
        "description": "Channel pinned post",
    }, follow=True)

    assert response.redirect_chain[0][0] == case.get_absolute_url() + "#evidence"
    shown = page_messages(response)
    assert any("shot.png" in m and hashlib.sha256(shot).hexdigest() in m for m in shown)
    assert any("surat.pdf" in m and hashlib.sha256(letter).hexdigest() in m for m in shown)
    table = section(response.content, "evidence-table")
    assert "shot.png" in table and "surat.pdf" in table
    assert set(Evidence.objects.values_list("description", flat=True)) == {"Channel pinned post"}
    assert len(stored_files()) == 2


def test_json_upload_reports_each_file(world, case, login):
    client = login(world.liaison)
    shot = png()

    response = client.post(upload_url(case), {
        "files": [SimpleUploadedFile("shot.png", shot), SimpleUploadedFile("chat.txt", chat()),
                  SimpleUploadedFile("setup.png", windows_executable())],
    }, HTTP_ACCEPT="application/json")

    assert response.status_code == 400  # not every file was accepted
    results = response.json()["results"]
    assert [(r["name"], r["ok"]) for r in results] == [("shot.png", True), ("chat.txt", True), ("setup.png", False)]
    assert results[0]["created"] is True
    assert results[0]["sha256"] == hashlib.sha256(shot).hexdigest()
    evidence = Evidence.objects.get(sha256=results[0]["sha256"])
    assert results[0]["url"] == page_url(evidence)
    assert Evidence.objects.count() == 2

    again = client.post(upload_url(case), {"files": [SimpleUploadedFile("shot.png", shot)]},
                        HTTP_ACCEPT="application/json")
    assert again.status_code == 200
    [result] = again.json()["results"]
    assert result["ok"] is True and result["created"] is False
    assert "already attached" in result["message"]


def test_json_upload_without_files_says_so(world, case, login):
    response = login(world.liaison).post(upload_url(case), {"description": "x"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert "at least one file" in response.json()["results"][0]["message"]


def test_a_moderator_marks_evidence_internal_and_the_authority_does_not_see_it(world, case, login):
    response = login(world.moderator).post(upload_url(case), {
        "files": [SimpleUploadedFile("review-notes.txt", chat())], "internal": "on"},
        HTTP_ACCEPT="application/json")
    assert response.status_code == 200

    evidence = Evidence.objects.get()
    assert evidence.internal
    assert "review-notes.txt" not in login(world.liaison).get(case.get_absolute_url()).content.decode()
    assert login(world.liaison).get(download_url(evidence)).status_code == 404


def test_the_internal_checkbox_is_ignored_for_authority_users(world, case, login):
    client = login(world.liaison)
    detail = client.get(case.get_absolute_url()).content.decode()
    assert "Internal to the platform (hidden from the authority)" not in detail  # the evidence form's checkbox

    response = client.post(upload_url(case), {"files": [SimpleUploadedFile("shot.png", png())], "internal": "on"},
                           HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    evidence = Evidence.objects.get()
    assert not evidence.internal
    assert login(world.moderator).get(download_url(evidence)).status_code == 200


@pytest.mark.parametrize("persona", ["other_liaison", "moderator_my"])
def test_upload_to_a_case_one_cannot_see_is_404(world, case, login, persona, upload_tmp):
    response = login(getattr(world, persona)).post(upload_url(case), {"files": [SimpleUploadedFile("a.png", png())]})

    assert response.status_code == 404
    assert_nothing_stored(upload_tmp)


@pytest.mark.parametrize("persona", ["auditor", "legal", "authority_auditor"])
def test_readers_cannot_upload(world, case, login, persona, upload_tmp):
    user = getattr(world, persona)

    response = login(user).post(upload_url(case), {"files": [SimpleUploadedFile("a.png", png())]})

    assert response.status_code == 403
    assert 'data-testid="upload-evidence"' not in login(user).get(case.get_absolute_url()).content.decode()
    assert_nothing_stored(upload_tmp)


def test_nobody_adds_evidence_to_a_closed_case(world, login, upload_tmp):
    closed = make_case(world, state=Status.CLOSED)

    response = login(world.liaison).post(upload_url(closed), {"files": [SimpleUploadedFile("a.png", png())]})

    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        add(world.moderator, closed, png(), "a.png")
    assert_nothing_stored(upload_tmp)


def test_evidence_about_one_item(world, case, login):
    item = case.items.order_by("position").last()

    response = login(world.liaison).post(upload_url(case), {
        "files": [SimpleUploadedFile("post.png", png())], "item": str(item.position),
        "documents_url": "https://t.me/example/42"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    evidence = Evidence.objects.get()
    assert evidence.item == item
    assert evidence.documents_url == "https://t.me/example/42"
    page = login(world.moderator).get(page_url(evidence)).content.decode()
    assert "About item" in page and item.target in page


def test_an_item_of_another_case_is_refused_and_nothing_is_stored(world, case, login, upload_tmp):
    foreign = make_case(world).items.first()
    missing = case.items.count() + 1

    response = login(world.liaison).post(upload_url(case), {
        "files": [SimpleUploadedFile("post.png", png())], "item": str(missing)}, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert response.json()["results"][0]["ok"] is False
    assert f"This case has no item #{missing}" in response.json()["results"][0]["message"]
    with pytest.raises(ValidationError):
        add(world.liaison, case, png(), "post.png", item=foreign)
    assert_nothing_stored(upload_tmp)


def test_upload_needs_post(world, case, login):
    assert login(world.liaison).get(upload_url(case)).status_code == 405


# --- The upload handler: each file checked, hashed and written once, as it arrives -----------------------------------


def multipart(boundary: str, parts: list[tuple[str, str, bytes]]) -> bytes:
    """A multipart/form-data body of file parts (field, file name, bytes)."""
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                    f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
                    for field, name, data in parts)
    return body + f"--{boundary}--\r\n".encode()


def test_an_http_upload_is_stored_with_the_fingerprint_of_exactly_the_bytes_stored(world, case, login, upload_tmp):
    # Several chunks, not a multiple of the chunk size: the writes run in their own thread, in order.
    data = png(64, 48) + random.Random(4).randbytes(2 * evidence_files.CHUNK + 12345)

    response = login(world.liaison).post(upload_url(case), {"files": [SimpleUploadedFile("rekaman.png", data)]},
                                         HTTP_ACCEPT="application/json")

    assert response.status_code == 200, response.content
    evidence = Evidence.objects.get()
    with default_storage.open(evidence.storage_name, "rb") as handle:
        stored = handle.read()
    assert stored == data
    assert evidence.sha256 == hashlib.sha256(stored).hexdigest() == response.json()["results"][0]["sha256"]
    assert evidence.size == len(data) and evidence.content_type == "image/png"
    assert list(upload_tmp.iterdir()) == []  # moved into storage, not copied and left behind


def test_a_storage_that_is_not_local_files_gets_the_bytes_streamed_and_nothing_stays_behind(world, case, login,
                                                                                            settings, upload_tmp):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    data = pdf() + random.Random(5).randbytes(evidence_files.CHUNK + 99)

    response = login(world.liaison).post(upload_url(case), {"files": [SimpleUploadedFile("surat.pdf", data)]},
                                         HTTP_ACCEPT="application/json")

    assert response.status_code == 200, response.content
    evidence = Evidence.objects.get()
    with default_storage.open(evidence.storage_name, "rb") as handle:
        assert handle.read() == data
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert list(upload_tmp.iterdir()) == []


def test_the_upload_handler_refuses_a_wrong_type_on_its_first_bytes(world, case, upload_tmp):
    """Django's parser hands the handler the file chunk by chunk; after the first one nothing is written or
    hashed, and the refusal reaches the page with the file's name."""
    handler = EvidenceUploadHandler()
    assert handler.chunk_size == evidence_files.CHUNK
    handler.new_file("files", "setup.png", "image/png", None)
    exe = windows_executable() + b"\x00" * (evidence_files.CHUNK - 512)

    handler.receive_data_chunk(exe, 0)

    assert handler.writer is None and "not accepted as evidence" in str(handler.refusal)
    assert list(upload_tmp.iterdir()) == []
    for n in range(1, 50):  # the rest of a 50 MiB file passes by
        handler.receive_data_chunk(b"\x00" * evidence_files.CHUNK, n * evidence_files.CHUNK)
    assert list(upload_tmp.iterdir()) == []
    upload = handler.file_complete(50 * evidence_files.CHUNK)
    with pytest.raises(EvidenceRejected, match="not accepted as evidence"):
        add_evidence(actor=world.liaison, case=case, source=upload, original_name=upload.name)
    assert_nothing_stored(upload_tmp)


def test_a_refused_file_does_not_stop_the_files_after_it(world, case, login, upload_tmp):
    response = login(world.liaison).post(upload_url(case), {
        "files": [SimpleUploadedFile("setup.png", windows_executable() + b"\x00" * MIB),
                  SimpleUploadedFile("photo.jpg", png()), SimpleUploadedFile("shot.png", png())],
    }, HTTP_ACCEPT="application/json")

    results = response.json()["results"]
    assert [(r["name"], r["ok"]) for r in results] == [("setup.png", False), ("photo.jpg", False), ("shot.png", True)]
    assert "named like image/jpeg but its contents are image/png" in results[1]["message"]
    assert list(Evidence.objects.values_list("original_name", flat=True)) == ["shot.png"]
    assert len(stored_files()) == 1
    assert list(upload_tmp.iterdir()) == []


def test_a_body_cut_off_mid_file_leaves_nothing(world, case, login, upload_tmp):
    body = multipart("cut", [("files", "video.png", png() + b"\x00" * (3 * MIB))])

    response = login(world.liaison).generic("POST", upload_url(case), body[:2 * MIB],
                                            content_type="multipart/form-data; boundary=cut",
                                            HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert_nothing_stored(upload_tmp)


def test_a_dropped_connection_mid_file_leaves_nothing(world, case, upload_tmp):
    from cases.views import evidence as evidence_views

    class Dropping(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 2 * MIB:
                raise ConnectionResetError("peer went away")
            return super().read(size)

    body = multipart("drop", [("files", "video.png", png() + b"\x00" * (3 * MIB))])
    request = RequestFactory().generic("POST", upload_url(case), body, content_type="multipart/form-data; boundary=drop",
                                       HTTP_ACCEPT="application/json")
    request._stream = LimitedStream(Dropping(body), len(body))
    request.user, request._dont_enforce_csrf_checks = world.liaison, True

    with pytest.raises(UnreadablePostError):
        evidence_views.upload(request, case.reference)

    assert_nothing_stored(upload_tmp)


def test_the_upload_still_needs_the_csrf_token(world, case, upload_tmp):
    client = Client(enforce_csrf_checks=True)
    enrol_totp(world.liaison)
    client.force_login(world.liaison)
    page = client.get(case.get_absolute_url())
    token = page.cookies["csrftoken"].value

    refused = client.post(upload_url(case), {"files": [SimpleUploadedFile("shot.png", png())]})
    assert refused.status_code == 403
    assert_nothing_stored(upload_tmp)

    accepted = client.post(upload_url(case), {"files": [SimpleUploadedFile("shot.png", png())],
                                              "csrfmiddlewaretoken": token}, HTTP_ACCEPT="application/json")
    assert accepted.status_code == 200
    assert Evidence.objects.count() == 1


# --- The new-case form ----------------------------------------------------------------------------------------------


def test_evidence_chosen_on_the_new_case_form_is_attached_to_the_new_case(world, login):
    client = login(world.liaison)
    fields = {
        "title": "Propaganda channels", "request_type": "removal",
        "category": str(Category.objects.get(slug="terrorism").pk), "priority": "", "tlp": "amber",
        "legal_basis": "Law 11/2008", "legal_article": "Art. 40", "description": "", "language": "id",
        "territorial_scope": "ID", "responding_org": str(world.platform.pk),
        "pasted": "https://t.me/channel_one\nhttps://t.me/channel_two",
    }
    preview = client.post(reverse("cases:new"), {**fields, "step": "preview"})
    assert preview.status_code == 200
    assert 'name="evidence-files"' in preview.content.decode()
    shot, letter = png(), pdf()

    response = client.post(reverse("cases:new"), {
        **fields, "step": "submit", "token": preview.context["token"],
        "evidence-files": [SimpleUploadedFile("shot.png", shot), SimpleUploadedFile("surat.pdf", letter)],
        "evidence-description": "From the ministry's monitoring",
    }, follow=True)

    case = Case.objects.get(title="Propaganda channels")
    assert case.status == Status.SUBMITTED
    assert response.redirect_chain[-1][0] == case.get_absolute_url()
    attached = {e.original_name: e for e in case.evidence.all()}
    assert set(attached) == {"shot.png", "surat.pdf"}
    assert attached["shot.png"].sha256 == hashlib.sha256(shot).hexdigest()
    assert attached["surat.pdf"].description == "From the ministry's monitoring"
    assert any("surat.pdf" in m and "stored" in m for m in page_messages(response))
    assert "shot.png" in section(response.content, "evidence-table")


def test_the_evidence_rows_built_in_python_escape_the_name_and_type(world, case, login):
    """cases/views/evidence_rows.py writes the evidence table: a name is text, never markup."""
    evidence = add(world.liaison, case, chat(), '<img src=x onerror="alert(1)">.txt').evidence
    page = login(world.liaison).get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.txt" in page
    assert f'data-testid="download-{evidence.pk}"' in page and evidence.sha256 in page
    # The message form's evidence choices and the addresses to mention are written in Python too, escaped.
    assert (f'<option value="{evidence.pk}">#E{evidence.pk} &lt;img src=x onerror=&quot;alert(1)&quot;&gt;.txt'
            "</option>") in page
    assert f"<code>@{escape(world.liaison.email)}</code>" in page
