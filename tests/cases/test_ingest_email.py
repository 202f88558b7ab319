"""E-mail in (issue 5): replies to notifications land in the thread, an authority's e-mailed list becomes a
draft case, everything else is quarantined for a T&S manager to release or reject; nothing is lost and
nothing is done twice."""

from __future__ import annotations

import hashlib
import io
import mailbox
import random
import sys
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from cases import queries
from cases.actions.inbound import ingest
from cases.audit import verify_chain
from cases.choices import Status
from cases.demo import seed_inbound
from cases.email_parsing import parse_email
from cases.models import AuditEvent, Case, Evidence, InboundEmail, Message, Notification, NotificationKind
from cases.reply_addresses import reply_address
from cases.tasks import poll_inbound_maildir_task
from tests.factories import World

from .conftest import make_case

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "email"
MIB = 1024 * 1024


def eml(name: str, **values: str) -> bytes:
    """A fixture with its {{ placeholders }} filled (reply addresses depend on SECRET_KEY and ids)."""
    data = (FIXTURES / name).read_bytes()
    for key, value in values.items():
        data = data.replace(b"{{ " + key.encode() + b" }}", value.encode())
    assert b"{{ " not in data, f"unfilled placeholder in {name}"
    return data


def passed(domain: str = "ministry.test", server: str = "mx.liaison.example") -> str:
    """The Authentication-Results a receiving server writes for mail that passes DMARC for `domain`."""
    return (f"{server}; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}; "
            f"dmarc=pass (p=reject) header.from={domain}")


def build(*, sender: str = "Dewi Liaison <dewi@ministry.test>", to: str = "laporan@reply.liaison.localhost",
          subject: str = "Daftar kanal", body: str = "", html: str = "", message_id: str | None = "<built@test>",
          attachments: tuple[tuple[str, str, bytes], ...] = (), headers: dict[str, str] | None = None,
          authentication: str | None = "") -> bytes:
    """A message as the receiving server hands it over: by default with its DMARC pass for the From domain
    (`authentication=None` for none at all, or the header value to use)."""
    message = EmailMessage()
    if authentication is not None:
        domain = sender.rpartition("@")[2].strip(" >").lower()
        message["Authentication-Results"] = authentication or passed(domain)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    if body:
        message.set_content(body)
    if html:
        if body:
            message.add_alternative(html, subtype="html")
        else:
            message.set_content(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def png(seed: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixel = bytes([0, seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixel)) + chunk(b"IEND", b""))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def actions_of(inbound: InboundEmail) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="InboundEmail", object_id=str(inbound.pk))
                .order_by("id").values_list("action", flat=True))


def mails_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]


@pytest.fixture
def deliver(django_capture_on_commit_callbacks: Any) -> Callable[[bytes], InboundEmail]:
    """ingest() as the MTA pipe runs it: side effects (e-mails) happen once the decision is committed."""

    def _deliver(raw: bytes) -> InboundEmail:
        with django_capture_on_commit_callbacks(execute=True):
            return ingest(raw)

    return _deliver


# --- New messages from an authority become drafts ------------------------------------------------------


def test_ministry_letter_becomes_a_draft_of_the_senders_authority_with_its_channels(world: World, deliver: Any):
    raw = eml("ministry_letter.eml")
    inbound = deliver(raw)

    assert inbound.status == InboundEmail.Status.DRAFT
    case = inbound.case
    assert case is not None
    assert case.status == Status.DRAFT
    assert case.requesting_org == world.ministry
    assert case.responding_org == world.platform
    assert case.created_by == world.liaison
    assert case.title == "Permohonan pemblokiran kanal propaganda terorisme"
    targets = list(case.items.order_by("position").values_list("target", flat=True))
    # Seven lines, six channels: t.me/s/kabar_daulah_id is the same channel as item 1. The sender's own
    # website and e-mail address in the signature are not items.
    assert targets == [
        "https://t.me/kabar_daulah_id", "t.me/s/seruan_jihad_nusantara", "https://telegram.me/Ansharul_Media",
        "@dakwah_khilafah_baru", "https://t.me/rekrutmen_mujahid/1042", "https://t.me/+Qx7bH2kLmNoPq",
    ]
    assert not case.items.filter(key__contains="ministry.test").exists()
    assert "Pasal 40 ayat (2b)" in case.description
    assert inbound.sender == "dewi@ministry.test"
    assert inbound.message_id == "<20260303091500.4411@mail.ministry.test>"


def test_the_raw_message_is_stored_privately_with_its_fingerprint(world: World, deliver: Any):
    raw = eml("ministry_letter.eml")
    inbound = deliver(raw)

    assert inbound.raw_storage_name.startswith("inbound/")
    assert inbound.raw_sha256 == sha256(raw)
    assert inbound.size == len(raw)
    with default_storage.open(inbound.raw_storage_name, "rb") as handle:
        assert handle.read() == raw


def test_the_sender_is_told_by_email_that_the_draft_awaits_confirmation(world: World, deliver: Any):
    inbound = deliver(eml("ministry_letter.eml"))
    case = inbound.case

    [confirmation] = mails_to("dewi@ministry.test")
    assert case.reference in confirmation.subject
    assert settings.SITE_URL + case.get_absolute_url() in confirmation.body
    assert "6" in confirmation.body  # items listed
    assert confirmation.extra_headers["Auto-Submitted"] == "auto-replied"  # never answered by an autoresponder
    assert confirmation.extra_headers["In-Reply-To"] == inbound.message_id
    assert Notification.objects.filter(user=world.liaison, kind=NotificationKind.EMAIL_DRAFT, case=case).exists()


def test_each_decision_is_an_audit_event(world: World, deliver: Any):
    inbound = deliver(eml("ministry_letter.eml"))

    assert actions_of(inbound) == ["email.received", "email.draft_created"]
    created = AuditEvent.objects.get(action="email.draft_created")
    assert created.actor == world.liaison
    assert created.case == inbound.case
    assert created.data["items"] == 6
    assert AuditEvent.objects.filter(action="case.created", case=inbound.case).exists()
    assert verify_chain().ok


def test_the_same_bytes_delivered_twice_are_recorded_once_and_acted_on_once(world: World, deliver: Any):
    raw = eml("ministry_letter.eml")
    first = deliver(raw)
    second = deliver(raw)

    assert second.pk == first.pk
    assert InboundEmail.objects.count() == 1
    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(action="email.received").count() == 1


def test_a_copy_by_another_route_is_kept_and_quarantined_as_a_redelivery_not_acted_on(world: World, deliver: Any):
    raw = eml("ministry_letter.eml")
    first = deliver(raw)
    # The second copy took another route: other trace headers, same Message-ID, same content.
    second = deliver(b"Received: from backup-mx.example\n" + raw)

    assert second.pk != first.pk
    assert second.status == InboundEmail.Status.QUARANTINED
    assert second.reason_code == "redelivered"
    assert f"#{first.pk}" in second.reason
    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(action="email.received").count() == 2
    assert len(mails_to("dewi@ministry.test")) == 1


def test_without_a_message_id_the_hash_of_the_bytes_identifies_the_message(world: World, deliver: Any):
    raw = build(body="Mohon blokir https://t.me/kanal_tanpa_id", message_id=None)
    first = deliver(raw)
    second = deliver(raw)

    assert first.message_id == "sha256:" + sha256(raw)
    assert second.pk == first.pk
    assert Case.objects.count() == 1


def test_an_html_only_body_is_read_with_its_link_addresses(world: World, deliver: Any):
    inbound = deliver(eml("html_only.eml"))

    case = inbound.case
    assert inbound.status == InboundEmail.Status.DRAFT
    assert case.created_by == world.lead
    # One link only in its href; one shown with and linked without tracking parameters (one channel).
    assert sorted(case.items.values_list("key", flat=True)) == ["t.me/judi_slot_gacor88", "t.me/togel_online_resmi"]
    assert "not_an_item_script" not in case.description  # scripts are not text
    assert "Kementerian Komunikasi dan Digital \u2013 Direktorat" in case.description  # windows-1252 decoded


def test_an_inline_image_becomes_evidence(world: World, deliver: Any):
    raw = eml("inline_image.eml")
    inbound = deliver(raw)

    case = inbound.case
    assert list(case.items.values_list("key", flat=True)) == ["t.me/hoaks_kesehatan_id"]
    [evidence] = case.evidence.all()
    image = parse_email(raw).attachments[0].data
    assert evidence.sha256 == sha256(image)
    assert evidence.original_name == "image001.png"
    assert evidence.content_type == "image/png"
    assert evidence.uploaded_by == world.liaison


def test_an_rfc2047_subject_and_a_latin1_body_are_decoded(world: World, deliver: Any):
    inbound = deliver(eml("encoded_subject.eml"))

    assert inbound.subject == "Permohonan pemblokiran \u2014 kanal propaganda ISIS"
    assert inbound.case.title == "Permohonan pemblokiran \u2014 kanal propaganda ISIS"
    assert "Caf\u00e9 Siber" in inbound.case.description
    assert list(inbound.case.items.values_list("target", flat=True)) == ["https://t.me/propaganda_isis_id"]


def test_a_csv_attachment_is_read_as_the_list_and_bad_rows_are_reported(world: World, deliver: Any):
    inbound = deliver(eml("csv_attachment.eml"))

    case = inbound.case
    assert sorted(case.items.values_list("key", flat=True)) == [
        "t.me/arisan_online_palsu", "t.me/investasi_bodong_99", "t.me/pinjol_cepat_cair"]
    assert case.items.get(key="t.me/pinjol_cepat_cair").note == "pinjaman ilegal"
    assert not case.evidence.exists()  # the list is read, not filed
    assert "1 row(s) of lampiran.csv could not be read" in inbound.reason


def test_an_xlsx_attachment_is_read_as_the_list(world: World, deliver: Any):
    from openpyxl import Workbook  # type: ignore[import-untyped]

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Daftar akun judi daring"])
    sheet.append(["No", "Link akun", "Keterangan"])
    sheet.append([1, "https://t.me/casino_vip_indo", "kasino"])
    sheet.append([2, "@slot_gacor_maxwin", "slot"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    raw = build(body="Terlampir daftar (xlsx).", attachments=(
        ("daftar.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer.getvalue()),))

    inbound = deliver(raw)

    assert sorted(inbound.case.items.values_list("key", flat=True)) == ["t.me/casino_vip_indo",
                                                                        "t.me/slot_gacor_maxwin"]
    assert not inbound.case.evidence.exists()


def test_a_forwarded_message_counts_with_its_body_and_attachments(world: World, deliver: Any):
    raw = eml("forwarded.eml")
    inbound = deliver(raw)

    case = inbound.case
    assert case.title == "Laporan kanal rekrutmen dari Densus"  # "Fwd:" dropped
    assert sorted(case.items.values_list("key", flat=True)) == ["t.me/pendanaan_jihad_id/77",
                                                                "t.me/rekrutmen_khilafah_2026"]
    [evidence] = case.evidence.all()
    pdf = next(a for a in parse_email(raw).attachments if a.name == "laporan-analisis.pdf")
    assert evidence.sha256 == sha256(pdf.data)
    assert evidence.content_type == "application/pdf"


def test_a_large_attachment_is_kept_whole_as_evidence(world: World, deliver: Any):
    video = b"%PDF-1.7\n" + random.Random(5).randbytes(5 * MIB) + b"\n%%EOF\n"
    raw = build(body="Rekaman layar kanal https://t.me/kanal_video_teror terlampir.",
                attachments=(("rekaman-layar.pdf", "application/pdf", video),))

    inbound = deliver(raw)

    [evidence] = inbound.case.evidence.all()
    assert evidence.size == len(video)
    assert evidence.sha256 == sha256(video)
    assert inbound.size == len(raw) > 5 * MIB


def test_a_refused_attachment_does_not_stop_the_draft(world: World, deliver: Any):
    raw = build(body="Kanal: https://t.me/kanal_dengan_lampiran_aneh",
                attachments=(("alat.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 200),))
    inbound = deliver(raw)

    assert inbound.status == InboundEmail.Status.DRAFT
    assert inbound.case.items.count() == 1
    assert not Evidence.objects.exists()
    assert "alat.exe" in inbound.reason


# --- Replies land in the thread ---------------------------------------------------------------------------


def test_a_reply_to_the_notification_address_lands_in_the_thread_with_its_attachment(world: World, deliver: Any):
    case = make_case(world)
    raw = eml("reply_via_address.eml", reply_address=reply_address(case, world.liaison))
    inbound = deliver(raw)

    assert inbound.status == InboundEmail.Status.REPLY
    assert inbound.case == case
    message = Message.objects.get(case=case, kind=Message.Kind.SHARED)
    assert message.author == world.liaison
    assert message.body == "Terlampir tangkapan layar kanal nomor 2 sebelum dihapus."
    assert message.email_message_id == "<reply-address-1@mail.ministry.test>"
    [evidence] = message.evidence.all()
    assert evidence.sha256 == sha256(parse_email(raw).attachments[0].data)
    assert evidence.case == case
    assert actions_of(inbound) == ["email.received", "email.reply_added"]
    assert AuditEvent.objects.get(action="email.reply_added").data["via"] == "reply_address"


def test_quoted_text_is_stripped_from_a_reply(world: World, deliver: Any):
    case = make_case(world)  # submitted: Rizky's ID queue sees it
    inbound = deliver(eml("reply_quoted.eml", reference=case.reference,
                          reply_address=reply_address(case, world.moderator)))

    assert inbound.status == InboundEmail.Status.REPLY
    message = Message.objects.get(case=case, kind=Message.Kind.SHARED)
    assert message.author == world.moderator
    assert message.body == "Kami sudah memeriksa kanal tersebut.\nSatu kanal sudah dihapus."


def test_an_html_reply_loses_the_quoted_history_too(world: World, deliver: Any):
    case = make_case(world)
    html = ("<div dir=ltr>Terima kasih, <b>sudah kami cek</b>.</div><br><div class=gmail_quote>"
            "<div>On Mon, 9 Mar 2026 at 07:30 Liaison &lt;x@y&gt; wrote:<br></div>"
            "<blockquote>Pesan lama dengan https://t.me/lama_sekali</blockquote></div>")
    deliver(build(to=reply_address(case, world.liaison), subject="Re: update", html=html,
                  message_id="<html-reply@test>"))

    assert Message.objects.get(case=case, kind=Message.Kind.SHARED).body == "Terima kasih, sudah kami cek."


def test_a_reply_delivered_twice_is_posted_once(world: World, deliver: Any):
    case = make_case(world)
    raw = eml("reply_via_address.eml", reply_address=reply_address(case, world.liaison))
    deliver(raw)
    deliver(raw)

    assert Message.objects.filter(case=case, kind=Message.Kind.SHARED).count() == 1
    assert Evidence.objects.filter(case=case).count() == 1


# --- Quarantine -----------------------------------------------------------------------------------------


def quarantined_because(inbound: InboundEmail, code: str) -> bool:
    event = AuditEvent.objects.filter(action="email.quarantined", object_id=str(inbound.pk)).get()
    return inbound.status == InboundEmail.Status.QUARANTINED and event.data["code"] == code


def test_an_unknown_sender_is_quarantined(world: World, deliver: Any):
    inbound = deliver(eml("unknown_sender.eml"))

    assert quarantined_because(inbound, "unknown_sender")
    assert "Unknown sender" in inbound.reason and "someone@gmail.example" in inbound.reason
    assert not Case.objects.exists()
    assert actions_of(inbound) == ["email.received", "email.quarantined"]
    assert mail.outbox == []  # no backscatter to strangers


def test_failed_dkim_or_dmarc_quarantines_even_a_known_sender(world: World, deliver: Any):
    inbound = deliver(eml("dkim_fail.eml"))

    assert quarantined_because(inbound, "dmarc_not_pass")
    assert "DMARC: fail" in inbound.reason and "dewi@ministry.test" in inbound.reason
    assert inbound.authentication["dkim"] == "fail"
    assert not Case.objects.exists()


def test_failed_spf_without_dmarc_quarantines_a_reply_too(world: World, deliver: Any):
    case = make_case(world)
    raw = build(to=reply_address(case, world.liaison), subject="Re: x", body="Sudah.",
                authentication="mx.liaison.example; spf=fail smtp.mailfrom=ministry.test")
    inbound = deliver(raw)

    assert quarantined_because(inbound, "dmarc_not_pass")
    assert inbound.reply_case == case
    assert not Message.objects.filter(case=case, kind=Message.Kind.SHARED).exists()


def test_an_empty_message_is_quarantined(world: World, deliver: Any):
    inbound = deliver(eml("empty_body.eml"))

    assert quarantined_because(inbound, "no_content")
    assert not Case.objects.exists()


def test_an_inactive_sender_is_quarantined(world: World, deliver: Any):
    world.liaison.is_active = False
    world.liaison.save(update_fields=["is_active"])
    inbound = deliver(eml("ministry_letter.eml"))

    assert quarantined_because(inbound, "inactive_sender")


def test_a_deactivated_membership_counts_as_inactive(world: World, deliver: Any):
    world.lead.membership.deactivated_at = timezone.now()
    world.lead.membership.save(update_fields=["deactivated_at"])
    inbound = deliver(eml("html_only.eml"))

    assert quarantined_because(inbound, "inactive_sender")


def test_a_platform_user_writing_a_new_message_is_quarantined(world: World, deliver: Any):
    inbound = deliver(build(sender="rizky@platform.test", body="Hi, a new list: https://t.me/whatever_12345"))

    assert quarantined_because(inbound, "platform_new_message")


def test_a_reply_to_a_case_the_sender_cannot_see_is_quarantined(world: World, deliver: Any):
    case = make_case(world)  # the ministry's case
    # A token issued to Aisyah for a case she could see once (she was named on it), the name since removed.
    inbound = deliver(build(sender="aisyah@commission.test", to=reply_address(case, world.other_liaison),
                            subject=f"Re: [Liaison {case.reference}] update", body="Ini balasan."))

    assert quarantined_because(inbound, "case_not_visible")
    assert not Message.objects.filter(case=case, kind=Message.Kind.SHARED).exists()


def test_a_reader_who_may_not_post_is_quarantined(world: World, deliver: Any):
    case = make_case(world)
    inbound = deliver(build(sender="ika@ministry.test", to=reply_address(case, world.authority_auditor),
                            subject=f"Re: [Liaison {case.reference}] x", body="Noted."))

    assert quarantined_because(inbound, "may_not_post")


def test_a_forged_reply_address_is_quarantined(world: World, deliver: Any):
    case = make_case(world)
    forged = (f"reply+{case.reference}.{world.liaison.pk}.{timezone.now():%Y%m%d}.0123456789abcdef0123"
              f"@{settings.LIAISON_REPLY_DOMAIN}")
    inbound = deliver(build(to=forged, subject="Re: x", body="Sudah."))

    assert quarantined_because(inbound, "forged_token")
    assert inbound.reply_case is None  # a forged token names no case it may be released into


def test_an_out_of_office_reply_is_quarantined_not_posted(world: World, deliver: Any):
    case = make_case(world)
    inbound = deliver(build(to=reply_address(case, world.liaison), subject="Out of office", body="Saya cuti.",
                            headers={"Auto-Submitted": "auto-replied"}))

    assert quarantined_because(inbound, "automatic")
    assert not Message.objects.filter(case=case, kind=Message.Kind.SHARED).exists()


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe garbage that is no e-mail at all \x81",
    b"From: dewi@ministry.test\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nhi",
], ids=["empty", "binary", "truncated-multipart"])
def test_bad_input_never_raises_and_is_kept(world: World, deliver: Any, raw: bytes):
    inbound = deliver(raw)

    assert inbound.status in (InboundEmail.Status.QUARANTINED, InboundEmail.Status.DRAFT)
    assert inbound.raw_sha256 == sha256(raw)
    with default_storage.open(inbound.raw_storage_name, "rb") as handle:
        assert handle.read() == raw


def test_a_hostile_nesting_is_quarantined_as_unreadable(world: World, deliver: Any):
    depth = 60
    head = "".join(f"Content-Type: multipart/mixed; boundary=b{n}\n\n--b{n}\n" for n in range(depth))
    raw = ("From: dewi@ministry.test\nMessage-ID: <deep@test>\n" + head + "Content-Type: text/plain\n\nhttps://t.me/deep_channel\n"
           ).encode()
    inbound = deliver(raw)

    assert quarantined_because(inbound, "unreadable")
    assert inbound.sender == "dewi@ministry.test"
    assert not Case.objects.exists()


def test_a_failure_while_deciding_quarantines_with_the_error_and_leaves_no_half_case(world: World, deliver: Any):
    Organization.objects.filter(pk=world.platform.pk).update(is_active=False)
    inbound = deliver(eml("ministry_letter.eml"))

    assert quarantined_because(inbound, "no_platform")
    assert not Case.objects.exists()
    assert not Evidence.objects.exists()


# --- The command, the Maildir and the periodic task --------------------------------------------------------


def test_the_command_reads_one_message_from_standard_input(world: World, monkeypatch: Any,
                                                           django_capture_on_commit_callbacks: Any):
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(eml("ministry_letter.eml"))))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ingest_email", stdout=out)

    case = Case.objects.get()
    assert "draft" in out.getvalue()
    assert case.reference in out.getvalue()
    assert len(mails_to("dewi@ministry.test")) == 1


def test_the_command_refuses_empty_input(world: World, monkeypatch: Any):
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(b"")))
    with pytest.raises(CommandError):
        call_command("ingest_email", stdout=io.StringIO())


def test_the_maildir_poll_ingests_new_messages_and_marks_them_seen(world: World, tmp_path: Path):
    path = tmp_path / "Maildir"
    box = mailbox.Maildir(str(path), create=True)
    keys = [box.add(eml("ministry_letter.eml")), box.add(eml("unknown_sender.eml"))]
    out = io.StringIO()

    call_command("ingest_email", "--maildir", str(path), stdout=out)

    assert InboundEmail.objects.count() == 2
    assert set(InboundEmail.objects.values_list("status", flat=True)) == {"draft", "quarantined"}
    assert "2 message(s) ingested" in out.getvalue()
    box = mailbox.Maildir(str(path), create=False)
    for key in keys:
        message = box.get_message(key)
        assert message.get_subdir() == "cur"
        assert "S" in message.get_flags()
    assert not list((path / "new").iterdir())

    again = io.StringIO()
    call_command("ingest_email", "--maildir", str(path), stdout=again)
    assert "0 message(s) ingested" in again.getvalue()
    assert InboundEmail.objects.count() == 2


def test_the_task_polls_the_configured_maildir_and_creates_it_if_missing(world: World, tmp_path: Path, settings: Any):
    settings.LIAISON_INBOUND_MAILDIR = str(tmp_path / "var" / "inbound")
    assert poll_inbound_maildir_task() == 0
    assert (tmp_path / "var" / "inbound" / "new").is_dir()

    mailbox.Maildir(settings.LIAISON_INBOUND_MAILDIR).add(eml("unknown_sender.eml"))
    assert poll_inbound_maildir_task.delay().get() == 1
    assert InboundEmail.objects.get().status == InboundEmail.Status.QUARANTINED


def test_the_poll_runs_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["poll-inbound-maildir"]
    assert entry["task"] == "cases.tasks.poll_inbound_maildir_task"
    assert entry["schedule"] == 60.0


# --- The quarantine pages ------------------------------------------------------------------------------------


@pytest.fixture
def manager_client(world: World, mfa_client: Any) -> Any:
    mfa_client.force_login(world.manager)
    return mfa_client


def test_the_manager_sees_quarantined_mail_first_and_can_filter(world: World, deliver: Any, manager_client: Any):
    quarantined = deliver(eml("unknown_sender.eml"))
    draft = deliver(eml("ministry_letter.eml"))

    response = manager_client.get(reverse("cases:inbound_list"))
    assert response.status_code == 200
    statuses = [e.status for e in response.context["emails"]]
    assert statuses == ["quarantined", "draft"]
    assert b"someone@gmail.example" in response.content
    assert b'data-testid="nav-inbound"' in response.content

    only_drafts = manager_client.get(reverse("cases:inbound_list"), {"status": "draft"})
    assert [e.pk for e in only_drafts.context["emails"]] == [draft.pk]
    assert quarantined.pk not in [e.pk for e in only_drafts.context["emails"]]


def test_the_list_costs_the_same_queries_for_many_rows(world: World, manager_client: Any,
                                                       django_assert_max_num_queries: Any):
    def page_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert manager_client.get(reverse("cases:inbound_list")).status_code == 200
        return len(queries)

    InboundEmail.objects.create(message_id="<one@test>", sender="a@b.example", status="quarantined")
    few = page_queries()
    case = make_case(world)
    InboundEmail.objects.bulk_create([
        InboundEmail(message_id=f"<m{n}@test>", sender=f"s{n}@b.example", subject=f"S{n}",
                     status="reply" if n % 2 else "quarantined", case=case if n % 2 else None)
        for n in range(60)
    ])
    assert page_queries() <= few + 1


def test_the_detail_page_shows_sender_reason_body_and_attachment_names(world: World, deliver: Any,
                                                                       manager_client: Any):
    inbound = deliver(build(sender="Someone <someone@gmail.example>", subject="Fwd: daftar",
                            body="Daftar kanal: https://t.me/kanal_orang_asing",
                            attachments=(("bukti.png", "image/png", png(3)),)))

    response = manager_client.get(reverse("cases:inbound_detail", args=[inbound.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "someone@gmail.example" in content
    assert "Unknown sender" in content
    assert "Daftar kanal: https://t.me/kanal_orang_asing" in content
    assert "bukti.png" in content


def test_a_hostile_html_body_is_never_rendered_as_html(world: World, deliver: Any, manager_client: Any):
    inbound = deliver(eml("hostile_html.eml"))

    response = manager_client.get(reverse("cases:inbound_detail", args=[inbound.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in content
    assert 'onerror="alert' not in content
    assert "<iframe" not in content
    assert 'href="javascript:' not in content
    assert "&lt;script&gt;alert(&#x27;xss-script&#x27;)&lt;/script&gt;" in content  # shown as source text
    assert "&lt;script&gt;alert(&#x27;subject&#x27;)" in content
    assert "https://t.me/hostile_channel_1" in content


def test_the_manager_downloads_the_original_and_the_download_is_recorded(world: World, deliver: Any,
                                                                         manager_client: Any):
    raw = eml("unknown_sender.eml")
    inbound = deliver(raw)

    response = manager_client.get(reverse("cases:inbound_raw", args=[inbound.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == raw
    assert response["Content-Disposition"].startswith("attachment")
    assert AuditEvent.objects.filter(action="email.downloaded", actor=world.manager).exists()


def test_releasing_makes_a_draft_for_the_chosen_owner(world: World, deliver: Any, manager_client: Any,
                                                      django_capture_on_commit_callbacks: Any):
    inbound = deliver(eml("unknown_sender.eml"))

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("cases:inbound_release", args=[inbound.pk]),
                                       {"organization": world.ministry.pk, "owner": world.lead.pk})

    assert response.status_code == 302
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.RELEASED
    assert inbound.decided_by == world.manager
    assert inbound.decided_at is not None
    case = inbound.case
    assert case.status == Status.DRAFT
    assert case.created_by == world.lead
    assert case.requesting_org == world.ministry
    assert list(case.items.values_list("key", flat=True)) == ["t.me/kanal_acak_123"]
    [confirmation] = mails_to("budi@ministry.test")
    assert case.reference in confirmation.subject
    assert actions_of(inbound) == ["email.received", "email.quarantined", "email.draft_created", "email.released"]
    assert AuditEvent.objects.get(action="email.released").actor == world.manager


def test_release_skips_the_authentication_check(world: World, deliver: Any, manager_client: Any):
    inbound = deliver(eml("dkim_fail.eml"))
    manager_client.post(reverse("cases:inbound_release", args=[inbound.pk]),
                        {"organization": world.ministry.pk, "owner": world.liaison.pk})

    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.RELEASED
    assert inbound.case.items.get().key == "t.me/kanal_lawan_politik"


@pytest.mark.parametrize("owner", ["other_liaison", "authority_auditor", "moderator"])
def test_release_needs_a_liaison_or_lead_of_the_chosen_authority(world: World, deliver: Any, manager_client: Any,
                                                                 owner: str):
    inbound = deliver(eml("unknown_sender.eml"))
    response = manager_client.post(reverse("cases:inbound_release", args=[inbound.pk]),
                                   {"organization": world.ministry.pk, "owner": getattr(world, owner).pk},
                                   follow=True)

    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.QUARANTINED
    assert not Case.objects.exists()
    assert any("liaison or lead" in str(m) for m in response.context["messages"])


def test_an_email_without_content_cannot_be_released(world: World, deliver: Any, manager_client: Any):
    inbound = deliver(build(sender="nobody@gmail.example", subject="", body="\n"))
    manager_client.post(reverse("cases:inbound_release", args=[inbound.pk]),
                        {"organization": world.ministry.pk, "owner": world.liaison.pk})

    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.QUARANTINED
    assert not Case.objects.exists()


def test_rejecting_needs_a_reason_and_is_recorded(world: World, deliver: Any, manager_client: Any):
    inbound = deliver(eml("unknown_sender.eml"))
    manager_client.post(reverse("cases:inbound_reject", args=[inbound.pk]), {"reason": "  "})
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.QUARANTINED

    manager_client.post(reverse("cases:inbound_reject", args=[inbound.pk]), {"reason": "Spam, not an authority."})
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.REJECTED
    assert inbound.decided_by == world.manager
    assert "Spam, not an authority." in inbound.reason
    assert "Unknown sender" in inbound.reason  # why it was quarantined stays readable
    assert AuditEvent.objects.get(action="email.rejected").data["reason"] == "Spam, not an authority."


def test_a_decided_email_cannot_be_decided_again(world: World, deliver: Any, manager_client: Any):
    inbound = deliver(eml("unknown_sender.eml"))
    manager_client.post(reverse("cases:inbound_reject", args=[inbound.pk]), {"reason": "Spam"})
    manager_client.post(reverse("cases:inbound_release", args=[inbound.pk]),
                        {"organization": world.ministry.pk, "owner": world.liaison.pk})

    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.REJECTED
    assert not Case.objects.exists()


@pytest.mark.parametrize("persona", ["moderator", "liaison", "lead", "legal", "auditor"])
def test_only_ts_managers_review_inbound_mail(world: World, deliver: Any, mfa_client: Any, persona: str):
    inbound = deliver(eml("unknown_sender.eml"))
    mfa_client.force_login(getattr(world, persona))

    assert mfa_client.get(reverse("cases:inbound_list")).status_code == 403
    assert mfa_client.get(reverse("cases:inbound_detail", args=[inbound.pk])).status_code == 404
    assert mfa_client.get(reverse("cases:inbound_raw", args=[inbound.pk])).status_code == 404
    release = mfa_client.post(reverse("cases:inbound_release", args=[inbound.pk]),
                              {"organization": world.ministry.pk, "owner": world.liaison.pk})
    assert release.status_code == 404
    assert mfa_client.post(reverse("cases:inbound_reject", args=[inbound.pk]), {"reason": "x"}).status_code == 404
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.QUARANTINED
    assert b'data-testid="nav-inbound"' not in mfa_client.get(reverse("cases:list")).content


# --- Demo ------------------------------------------------------------------------------------------------------


def test_the_demo_seeds_one_quarantined_email_once(world: World):
    assert seed_inbound({}) == 1
    assert seed_inbound({}) == 0

    inbound = InboundEmail.objects.get()
    assert inbound.status == InboundEmail.Status.QUARANTINED
    assert inbound.sender == "someone@gmail.example"
    review = queries.email_review(inbound)
    assert "https://t.me/" in review.parsed.text  # the forwarded list is readable for the reviewer
