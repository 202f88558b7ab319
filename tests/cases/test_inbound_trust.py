"""Inbound e-mail fails closed (issue 11): each test acts as the attacker or the careless sender who got through
before, and shows what Liaison now does instead."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.actions.inbound import ingest
from cases.models import AuditEvent, Case, InboundEmail, Message
from cases.reply_addresses import read_reply_address, reply_address
from tests.factories import World

from .conftest import make_case
from .test_ingest_email import build, passed, quarantined_because

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(django_capture_on_commit_callbacks: Any) -> Any:
    def _deliver(raw: bytes) -> InboundEmail:
        with django_capture_on_commit_callbacks(execute=True):
            return ingest(raw)

    return _deliver


@pytest.fixture
def manager_client(world: World, mfa_client: Any) -> Any:
    mfa_client.force_login(world.manager)
    return mfa_client


def shared_messages(case: Case) -> list[Message]:
    return list(Message.objects.filter(case=case, kind=Message.Kind.SHARED))


# --- The From header -------------------------------------------------------------------------------------


def test_an_address_written_as_display_name_opens_no_case_in_the_liaisons_name(world: World, deliver: Any):
    # The attacker's own domain passes DKIM and DMARC; the liaison's address is only the display name.
    raw = build(sender="dewi@ministry.test <attacker@evil.example>", authentication=passed("evil.example"),
                body="https://t.me/kanal_penyerang")
    inbound = deliver(raw)

    assert inbound.status == InboundEmail.Status.QUARANTINED
    assert inbound.reason_code in ("malformed_from", "address_in_display_name")
    assert not Case.objects.filter(created_by=world.liaison).exists()


def test_a_reply_in_the_liaisons_display_name_posts_nothing_as_her(world: World, deliver: Any):
    case = make_case(world)
    raw = build(sender='"Dewi Liaison <dewi@ministry.test>" <attacker@evil.example>',
                authentication=passed("evil.example"), to=reply_address(case, world.liaison),
                subject=f"Re: [Liaison {case.reference}] x", body="Mohon hapus kasus ini.")
    inbound = deliver(raw)

    assert quarantined_because(inbound, "address_in_display_name")
    assert shared_messages(case) == []


# --- Authentication of the sender --------------------------------------------------------------------------


@pytest.mark.parametrize(("authentication", "code"), [
    (None, "auth_missing"),
    ("mx.liaison.example; spf=softfail smtp.mailfrom=ministry.test", "dmarc_not_pass"),
    ("mx.liaison.example; dmarc=none header.from=ministry.test", "dmarc_not_pass"),
    ("mx.liaison.example; dmarc=temperror header.from=ministry.test", "dmarc_not_pass"),
    ("mx.liaison.example; dkim=pass header.d=ministry.test; dmarc=pass", "dmarc_not_aligned"),
    ("mx.liaison.example; dmarc=pass header.from=elsewhere.example", "dmarc_not_aligned"),
    ("mx.attacker.example; dkim=pass header.d=ministry.test; dmarc=pass header.from=ministry.test", "auth_missing"),
])
def test_a_known_address_without_a_trusted_dmarc_pass_is_not_taken_as_the_member(
        world: World, deliver: Any, authentication: str | None, code: str):
    inbound = deliver(build(body="https://t.me/kanal_tanpa_bukti", authentication=authentication))

    assert quarantined_because(inbound, code)
    assert not Case.objects.exists()
    assert inbound.authentication["problem"] == code


def test_results_written_by_other_servers_are_ignored_and_counted(world: World, deliver: Any):
    raw = build(body="https://t.me/kanal_dua_header",
                headers={"Authentication-Results": "mx.evil.example; dmarc=pass header.from=ministry.test"})
    inbound = deliver(raw)

    assert inbound.status == InboundEmail.Status.DRAFT
    assert inbound.authentication["ignored_headers"] == 1


def test_a_forged_pass_under_the_servers_real_fail_is_a_conflict(world: World, deliver: Any):
    raw = build(body="https://t.me/kanal_konflik",
                authentication="mx.liaison.example; dmarc=fail header.from=ministry.test",
                headers={"Authentication-Results": passed()})
    inbound = deliver(raw)

    assert quarantined_because(inbound, "auth_conflict")


def test_with_no_trusted_server_configured_every_message_waits(world: World, deliver: Any, settings: Any):
    settings.LIAISON_TRUSTED_AUTHSERV_ID = ""
    inbound = deliver(build(body="https://t.me/kanal_belum_dikonfigurasi"))

    assert quarantined_because(inbound, "auth_not_configured")


def test_dkim_alignment_can_be_required_on_top_of_dmarc(world: World, deliver: Any, settings: Any):
    settings.LIAISON_INBOUND_REQUIRE_DKIM_ALIGNMENT = True
    spf_only = "mx.liaison.example; spf=pass smtp.mailfrom=ministry.test; dmarc=pass header.from=ministry.test"
    refused = deliver(build(body="https://t.me/kanal_spf_saja", authentication=spf_only, message_id="<spf@x>"))
    accepted = deliver(build(body="https://t.me/kanal_dkim", message_id="<dkim@x>"))

    assert quarantined_because(refused, "dkim_not_aligned")
    assert accepted.status == InboundEmail.Status.DRAFT


# --- Replies need a valid token of the authenticated sender ------------------------------------------------


def test_a_guessed_subject_reference_never_posts_and_waits_as_a_likely_reply(world: World, deliver: Any):
    case = make_case(world)
    inbound = deliver(build(subject=f"Re: [Liaison {case.reference}] update", body="Sudah dihapus?"))

    assert quarantined_because(inbound, "subject_reference_only")
    assert inbound.reply_case == case
    assert f"Looks like a reply to {case.reference}" in inbound.reason
    assert shared_messages(case) == []


def test_a_token_issued_to_someone_else_does_not_post(world: World, deliver: Any):
    case = make_case(world)
    inbound = deliver(build(to=reply_address(case, world.lead), subject="Re: x", body="Pakai alamat Budi."))

    assert quarantined_because(inbound, "token_other_recipient")
    assert inbound.reply_case == case
    assert shared_messages(case) == []


def test_an_altered_token_is_forged(world: World, deliver: Any):
    case = make_case(world)
    other = make_case(world)
    genuine = reply_address(case, world.liaison)
    altered = genuine.replace(case.reference, other.reference)  # point a genuine token at another case
    inbound = deliver(build(to=altered, subject="Re: x", body="Alihkan ke kasus lain."))

    assert quarantined_because(inbound, "forged_token")
    assert shared_messages(case) == [] and shared_messages(other) == []


def test_a_token_expires(world: World, deliver: Any, settings: Any):
    case = make_case(world)
    old = reply_address(case, world.liaison, issued=timezone.now().date() - timedelta(days=31))
    fresh = reply_address(case, world.liaison, issued=timezone.now().date() - timedelta(days=30))

    assert read_reply_address(fresh) is not None and read_reply_address(fresh).is_valid  # type: ignore[union-attr]
    inbound = deliver(build(to=old, subject="Re: x", body="Balasan lama."))
    assert quarantined_because(inbound, "expired_token")
    assert shared_messages(case) == []


def test_a_manager_releases_a_likely_reply_into_its_thread_in_the_senders_name(world: World, deliver: Any,
                                                                                manager_client: Any):
    case = make_case(world)
    inbound = deliver(build(subject=f"Re: [Liaison {case.reference}] update", body="Dua kanal sudah kosong."))

    page = manager_client.get(reverse("cases:inbound_detail", args=[inbound.pk])).content.decode()
    assert f"Release into the thread of {case.reference}" in page
    assert "Verdict: the sender is who the From header says." in page

    response = manager_client.post(reverse("cases:inbound_release_reply", args=[inbound.pk]), {"case": case.pk})

    assert response.status_code == 302
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.RELEASED
    [message] = shared_messages(case)
    assert message.author == world.liaison
    assert message.body == "Dua kanal sudah kosong."
    released = AuditEvent.objects.get(action="email.released_to_thread")
    assert released.actor == world.manager
    assert released.data["was_quarantined_for"] == "subject_reference_only"


def test_a_likely_reply_is_released_only_into_the_case_it_names(world: World, deliver: Any, manager_client: Any):
    case, other = make_case(world), make_case(world)
    inbound = deliver(build(subject=f"Re: [Liaison {case.reference}] update", body="Balasan."))

    manager_client.post(reverse("cases:inbound_release_reply", args=[inbound.pk]), {"case": other.pk})

    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.QUARANTINED
    assert shared_messages(other) == [] and shared_messages(case) == []


def test_only_a_ts_manager_may_release_into_a_thread(world: World, deliver: Any, mfa_client: Any):
    case = make_case(world)
    inbound = deliver(build(subject=f"Re: [Liaison {case.reference}] update", body="Balasan."))
    mfa_client.force_login(world.moderator)

    response = mfa_client.post(reverse("cases:inbound_release_reply", args=[inbound.pk]), {"case": case.pk})

    assert response.status_code == 404
    assert shared_messages(case) == []


# --- Nothing vanishes ------------------------------------------------------------------------------------


def test_a_fake_that_pre_empts_a_real_message_id_does_not_swallow_the_real_one(world: World, deliver: Any):
    # The attacker sends first, under the Message-ID the ministry will use.
    fake = deliver(build(sender="Dewi Liaison <dewi@ministry.test>", authentication=None,
                         message_id="<surat-123@mail.ministry.test>", body="https://t.me/kanal_palsu"))
    real = deliver(build(message_id="<surat-123@mail.ministry.test>", body="https://t.me/kanal_asli_teroris"))

    assert fake.pk != real.pk
    assert quarantined_because(fake, "auth_missing")
    assert quarantined_because(real, "message_id_clash")
    assert "<surat-123@mail.ministry.test>" in real.reason
    assert InboundEmail.objects.count() == 2
    assert AuditEvent.objects.filter(action="email.received").count() == 2


def test_the_quarantine_page_says_in_plain_words_why_the_sender_is_not_trusted(world: World, deliver: Any,
                                                                                manager_client: Any):
    inbound = deliver(build(body="https://t.me/kanal_x", authentication="mx.liaison.example; dmarc=fail "
                                                                         "header.from=ministry.test"))

    page = manager_client.get(reverse("cases:inbound_detail", args=[inbound.pk])).content.decode()

    assert "Sender authentication did not pass (DMARC: fail)" in page
    assert "DMARC: fail (as recorded by mx.liaison.example)" in page
    assert "Verdict: the sender is not authenticated." in page
