"""A corpus of hand-made inbound messages (tests/cases/fixtures/email/corpus/), each sent as an attacker, a
careless user or a broken mail system would: none crashes, none disappears, and each lands where the rules of
inbound e-mail say (DESIGN.md, "Thread"). Files with the same number are delivered in order (a, b, …); the
expectation is for the last one."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable
from datetime import timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from cases.actions.inbound import ingest
from cases.models import AuditEvent, Case, InboundEmail, Message
from cases.reply_addresses import reply_address
from tests.factories import World

from .conftest import make_case

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "fixtures" / "email" / "corpus"
DRAFT, REPLY, QUARANTINED = InboundEmail.Status.DRAFT, InboundEmail.Status.REPLY, InboundEmail.Status.QUARANTINED

# number -> (status, reason code) of the last message of that number.
EXPECTED: dict[str, tuple[str, str]] = {
    "01": (DRAFT, ""), "02": (DRAFT, ""), "03": (DRAFT, ""), "04": (REPLY, ""), "05": (REPLY, ""),
    "06": (REPLY, ""), "07": (DRAFT, ""), "08": (DRAFT, ""), "09": (DRAFT, ""), "10": (DRAFT, ""),
    "11": (QUARANTINED, "malformed_from"),
    "12": (QUARANTINED, "address_in_display_name"),
    "13": (QUARANTINED, "several_senders"),
    "14": (QUARANTINED, "several_senders"),
    "15": (QUARANTINED, "no_sender"),
    "16": (QUARANTINED, "malformed_from"),
    "17": (QUARANTINED, "no_sender"),
    "18": (QUARANTINED, "address_in_display_name"),
    "19": (QUARANTINED, "auth_missing"),
    "20": (QUARANTINED, "dmarc_not_pass"),
    "21": (QUARANTINED, "dmarc_not_pass"),
    "22": (QUARANTINED, "dmarc_not_pass"),
    "23": (QUARANTINED, "dmarc_not_pass"),
    "24": (QUARANTINED, "dmarc_not_aligned"),
    "25": (QUARANTINED, "dmarc_not_aligned"),
    "26": (QUARANTINED, "auth_missing"),
    "27": (QUARANTINED, "auth_conflict"),
    "28": (QUARANTINED, "auth_unreadable"),
    "29": (DRAFT, ""),
    "30": (QUARANTINED, "subject_reference_only"),
    "31": (QUARANTINED, "forged_token"),
    "32": (QUARANTINED, "expired_token"),
    "33": (QUARANTINED, "token_other_recipient"),
    "34": (QUARANTINED, "case_not_visible"),
    "35": (QUARANTINED, "forged_token"),
    "36": (QUARANTINED, "forged_token"),
    "37": (QUARANTINED, "message_id_clash"),
    "38": (DRAFT, ""),
    "39": (QUARANTINED, "redelivered"),
    "40": (DRAFT, ""),
    "41": (QUARANTINED, "unreadable"),
    "42": (DRAFT, ""),
    "43": (QUARANTINED, "automatic"),
    "44": (QUARANTINED, "automatic"),
    "45": (QUARANTINED, "no_content"),
    "46": (QUARANTINED, "unknown_sender"),
    "47": (QUARANTINED, "platform_new_message"),
    "48": (QUARANTINED, "no_sender"),
    "49": (DRAFT, ""),
    "50": (DRAFT, ""),
    "51": (DRAFT, ""),
    "52": (DRAFT, ""),
}


def number_of(path: Path) -> str:
    match = re.match(r"(\d+)", path.name)
    assert match is not None, path.name
    return match.group(1)


def groups() -> dict[str, list[Path]]:
    files = sorted(CORPUS.glob("*.eml"))
    return {number: list(paths) for number, paths in groupby(files, key=number_of)}


def fill(path: Path, world: World, case: Case) -> bytes:
    """The file with its placeholders filled: reply tokens depend on SECRET_KEY, ids and today."""
    good = reply_address(case, world.liaison)
    local, _at, domain = good.partition("@")
    signature = local.rsplit(".", 1)[1]
    values = {
        "reference": case.reference,
        "reply:liaison": good,
        "reply:moderator": reply_address(case, world.moderator),
        "reply:other_liaison": reply_address(case, world.other_liaison),
        "reply:liaison:expired": reply_address(
            case, world.liaison, issued=timezone.now().date() - timedelta(days=settings.LIAISON_REPLY_TOKEN_DAYS + 1)),
        "reply:forged": f"{local[:-len(signature)]}{'0' * len(signature)}@{domain}",
        "reply:truncated": f"{local[:-4]}@{domain}",
        "reply:old_format": f"reply+{case.reference}.{world.liaison.pk}.{signature[:16]}@{domain}",
        # A 3 MiB "PDF": more than the evidence limit set for the corpus.
        "big_pdf_base64": base64.encodebytes(b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024)).decode(),
    }
    data = path.read_bytes()
    for key, value in values.items():
        data = data.replace(b"{{ " + key.encode() + b" }}", value.encode())
    assert b"{{ " not in data, f"unfilled placeholder in {path.name}"
    return data


@pytest.fixture
def deliver(django_capture_on_commit_callbacks: Any) -> Callable[[bytes], InboundEmail]:
    def _deliver(raw: bytes) -> InboundEmail:
        with django_capture_on_commit_callbacks(execute=True):
            return ingest(raw)

    return _deliver


def test_the_corpus_holds_at_least_forty_messages_and_each_has_an_expectation() -> None:
    found = groups()
    assert sum(len(paths) for paths in found.values()) >= 40
    assert sorted(found) == sorted(EXPECTED)


@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_each_message_lands_where_the_rules_say_and_leaves_a_trace(world: World, deliver: Any, settings: Any,
                                                                    number: str) -> None:
    settings.LIAISON_EVIDENCE_MAX_BYTES = 1024 * 1024
    case = make_case(world)
    delivered = []
    for path in groups()[number]:
        raw = fill(path, world, case)
        inbound = deliver(raw)  # never raises: bad input is quarantined
        # Nothing disappears: the bytes are stored, fingerprinted and on record.
        assert inbound.pk is not None
        with default_storage.open(inbound.raw_storage_name, "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == inbound.raw_sha256 == hashlib.sha256(raw).hexdigest()
        assert AuditEvent.objects.filter(action="email.received", object_id=str(inbound.pk)).exists()
        delivered.append(inbound)

    last = delivered[-1]
    last.refresh_from_db()
    assert (last.status, last.reason_code) == EXPECTED[number], last.reason
    if last.status == QUARANTINED:
        event = AuditEvent.objects.get(action="email.quarantined", object_id=str(last.pk))
        assert event.data["code"] == last.reason_code
        assert last.reason.strip()
        # Quarantined mail changes nothing in the case it names.
        assert not Message.objects.filter(case=case, kind=Message.Kind.SHARED).exists()
    if last.status == REPLY:
        assert Message.objects.filter(case=case, kind=Message.Kind.SHARED, author__email=last.sender).count() == 1
    if last.status == DRAFT:
        assert last.case is not None and last.case.status == "draft"
    # Each message was decided once: no second draft or reply for the same bytes.
    assert InboundEmail.objects.count() == len({inbound.pk for inbound in delivered})
