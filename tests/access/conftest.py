"""The data set of the access matrix: built once per test module through the real actions, inside a transaction
that each test's own transaction nests in (a savepoint), so every request a test makes is undone afterwards.

Authority A is the ministry (Dewi the liaison, Budi the lead, Ika its auditor), authority B the commission
(Aisyah); the platform's Rizky works queue ID (the case's queue), Sam works queue MY; Maria is the T&S manager,
Jon legal, Priya the platform's auditor; Dina was a liaison of A and has been deactivated.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts import actions as account_actions
from accounts.models import Membership, User
from accounts.roles import Role
from api.actions import create_api_token
from api.models import ApiToken
from cases.actions.cases import request_information
from cases.actions.checkpoints import make_checkpoint
from cases.actions.deadlines import propose_deadline
from cases.actions.evidence import add_evidence, place_legal_hold
from cases.actions.inbound import ingest
from cases.actions.notifications import notify
from cases.actions.reports import generate_report, request_report
from cases.actions.thread import post_message
from cases.case_events import Announcement, CaseEvent
from cases.choices import TLP, Status
from cases.models import AuditCheckpoint, Case, Deadline, DeadlineProposal, InboundEmail
from liaison.celery import app as celery_app
from tests.cases.conftest import make_case, unique_targets
from tests.cases.test_ingest_email import build
from tests.cases.test_reports import full_case, png
from tests.conftest import enrol_totp
from tests.factories import World, build_world, make_member
from webhooks.actions import record_events, register_endpoint, set_endpoint_active

from .table import PERSONAS

# Text that only one side may ever read: the matrix checks that no response to the other side contains it.
PLATFORM_NOTE = "PLATFORM-ONLY-NOTE-a7c41e: the channel owner is a known repeat offender"
AUTHORITY_NOTE = "AUTHORITY-ONLY-NOTE-5d92b0: the informant is a ministry employee"
PLATFORM_EVIDENCE_NAME = "platform-only-triage-e83f.png"
SHARED_MESSAGE = "Shared question about the second channel"


@dataclass
class Matrix:
    """The personas, a signed-in client for each, and the ids the table's paths and bodies name in braces."""

    world: World
    users: dict[str, User | None]
    clients: dict[str, Client]
    # Each persona's API token (minted through the API's own action; Dina's before her deactivation), for the
    # rows with auth="token"; anonymous has none.
    tokens: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    # What each persona must never read in any response (the other side's internal notes and files).
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)


def persona_users(world: World, deactivated: User) -> dict[str, User | None]:
    users: dict[str, User | None] = {
        "anon": None,
        "liaison": world.liaison,
        "lead": world.lead,
        "auditor_a": world.authority_auditor,
        "other_liaison": world.other_liaison,
        "moderator": world.moderator,
        "moderator_out": world.moderator_my,
        "manager": world.manager,
        "legal": world.legal,
        "auditor": world.auditor,
        "deactivated": deactivated,
    }
    assert tuple(users) == PERSONAS
    return users


def build_matrix(files: Path) -> Matrix:
    world = build_world()
    dina = make_member(world.ministry, Role.LIAISON, "dina@ministry.test", "Dina Deactivated")
    eko = make_member(world.ministry, Role.LIAISON, "eko@ministry.test", "Eko Liaison")
    users = persona_users(world, dina)

    # The case: authority A's, in queue ID, in progress, with items, shared evidence and the platform's internal file
    # (only the platform marks files internal), a shared message,
    # both sides' internal notes, deadlines running, a pending proposal of the platform and a legal hold.
    case = make_case(world, targets=unique_targets(3), state=Status.IN_PROGRESS, title="Access matrix case")
    assert case.queue_id == world.queue_id.pk
    shared = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(png((10, 200, 10))),
                          original_name="shared-screenshot.png").evidence
    platform_evidence = add_evidence(actor=world.moderator, case=case, source=io.BytesIO(png((90, 10, 10))),
                                     original_name=PLATFORM_EVIDENCE_NAME, internal=True).evidence
    message = post_message(actor=world.liaison, case=case, body=SHARED_MESSAGE)
    authority_note = post_message(actor=world.liaison, case=case, body=AUTHORITY_NOTE, internal=True)
    platform_note = post_message(actor=world.moderator, case=case, body=PLATFORM_NOTE, internal=True)
    resolve = case.deadlines.get(kind=Deadline.Kind.RESOLVE)
    proposal = propose_deadline(actor=world.manager, case=case, kind=DeadlineProposal.Kind.CHANGE_DUE,
                                deadline=resolve, due_at=timezone.now() + timedelta(days=4),
                                reason="A second review of two channels")
    hold = place_legal_hold(actor=world.legal, case=case, reason="Litigation expected")

    # A resolved case of A in the same queue with an issued (signed) outcome report.
    resolved = full_case(world, items=2)
    report = request_report(actor=world.manager, case=resolved, language="en", include_thread=True, enqueue=False)
    generate_report(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == report.Status.READY, report.status_reason

    # A draft of A (items leave a case only while it is a draft), and a case of B awaiting information.
    draft = make_case(world, submit=False, title="Access matrix draft")
    other_case = make_case(world, actor=world.other_liaison, state=Status.IN_PROGRESS)
    request_information(case=other_case, actor=world.manager, note="Which posts?")
    # A TLP:RED case of A: only the people named on it see it (Dewi opened it, Maria is named on submission).
    red = make_case(world, tlp=TLP.RED, title="Access matrix red case")

    # An e-mail from a sender nobody knows: quarantined.
    inbound = ingest(build(sender="Stranger <someone@unknown.example>", subject="Daftar kanal",
                           body="https://t.me/some_channel", authentication=None, message_id="<matrix@test>"))
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.QUARANTINED

    checkpoint = make_checkpoint(reason="access matrix", actor=world.manager)
    assert checkpoint is not None
    notification = notify(users=[world.liaison], kind="state_change", source_key="access-matrix", case=case,
                          title="Access matrix notice",
                          url=reverse("cases:detail", args=[case.reference]))[0]
    invitation, token = account_actions.invite_member(actor=world.lead, organization=world.ministry,
                                                      email="new-liaison@ministry.test", role=Role.LIAISON)

    # A's webhook endpoint with one delivery of the case's submission, disabled before the delivery's send task
    # runs (on commit), so nothing leaves the test: the pages list it, and posts to it are refused or taken.
    webhook = register_endpoint(actor=world.lead, url="https://hooks.ministry.example/liaison",
                                events=[CaseEvent.SUBMITTED])
    [webhook_delivery] = record_events([Announcement(case=case, event=CaseEvent.SUBMITTED,
                                                     data={"from": "draft", "to": "submitted", "note": ""})])
    set_endpoint_active(actor=world.lead, endpoint=webhook, active=False)

    # Every persona signed in with a second factor, as production requires; Dina's session outlives her account.
    clients: dict[str, Client] = {}
    tokens: dict[str, str] = {}
    for name, user in users.items():
        client = Client()
        if user is not None:
            enrol_totp(user)
            client.force_login(user)
            tokens[name] = create_api_token(actor=user, name="Access matrix")[1]
        clients[name] = client
    own_token = ApiToken.objects.filter(user=world.liaison).get()
    account_actions.deactivate_member(actor=world.lead, membership=dina.membership)

    values = {
        "case": case.reference,
        "resolved": resolved.reference,
        "draft": draft.reference,
        "other_case": other_case.reference,
        "red": red.reference,
        "item": case.items.order_by("id").first().pk,  # type: ignore[union-attr]
        "items": [str(pk) for pk in case.items.values_list("pk", flat=True)],
        "draft_item": draft.items.order_by("id").first().pk,  # type: ignore[union-attr]
        "evidence": shared.pk,
        "platform_evidence": platform_evidence.pk,
        "message": message.pk,
        "authority_note": authority_note.pk,
        "platform_note": platform_note.pk,
        "deadline": resolve.pk,
        "proposal": proposal.pk,
        "hold": hold.pk,
        "report": report.version,
        "inbound": inbound.pk,
        "checkpoint": checkpoint.sequence,
        "notification": notification.pk,
        "invitation": invitation.pk,
        "invitation_token": token,
        "member": Membership.objects.get(user=eko).pk,
        "deactivated_member": Membership.objects.get(user=dina).pk,
        "outsider": world.moderator_my.pk,
        "webhook": webhook.pk,
        "webhook_delivery": webhook_delivery.pk,
        "dewi": world.liaison.pk,
        "maria": world.manager.pk,
        "api_token": own_token.pk,
        "due_at": (timezone.localtime() + timedelta(days=6)).strftime("%Y-%m-%dT%H:%M"),
        "png": png((1, 2, 3)),
    }
    authority_secrets = (PLATFORM_NOTE, PLATFORM_EVIDENCE_NAME)
    platform_secrets = (AUTHORITY_NOTE,)
    secrets = {name: authority_secrets for name in ("liaison", "lead", "auditor_a", "other_liaison", "deactivated",
                                                    "anon")}
    secrets.update({name: platform_secrets for name in ("moderator", "moderator_out", "manager", "legal", "auditor")})
    secrets["anon"] = authority_secrets + platform_secrets
    secrets["deactivated"] = authority_secrets + platform_secrets
    secrets["other_liaison"] = authority_secrets + platform_secrets + (SHARED_MESSAGE,)
    secrets["moderator_out"] = platform_secrets + (SHARED_MESSAGE,)
    assert AuditCheckpoint.objects.filter(sequence=checkpoint.sequence).exists()
    assert Case.objects.filter(pk=case.pk, status=Status.IN_PROGRESS).exists()
    return Matrix(world=world, users=users, clients=clients, tokens=tokens, values=values, secrets=secrets)


@pytest.fixture(scope="module")
def access_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("access-files")


@pytest.fixture(autouse=True)
def _isolated_storage(settings: Any, access_files: Path) -> None:
    """The module's files (evidence, reports) stay where the data set wrote them for every test of the module."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(access_files)}},
    }
    settings.MEDIA_ROOT = str(access_files)


@pytest.fixture(autouse=True)
def _sessions_outlive_a_slow_run(settings: Any) -> None:
    """The personas signed in once for the module and each request is undone, their sessions' last use too: on a
    slow machine the idle sign-out (tested in tests/accounts) would otherwise end them halfway through."""
    settings.LIAISON_SESSION_IDLE_MINUTES = 0


@pytest.fixture(scope="module")
def matrix(django_db_setup: None, django_db_blocker: Any, access_files: Path,
           signing_identity_files: dict[str, str]) -> Iterator[Matrix]:
    """One data set for the module, rolled back when the module is done."""
    overrides = override_settings(
        STORAGES={**django_settings.STORAGES,
                  "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                              "OPTIONS": {"location": str(access_files)}}},
        MEDIA_ROOT=str(access_files),
        LIAISON_SIGNING_P12=signing_identity_files["p12"],
        LIAISON_SIGNING_PASSPHRASE=signing_identity_files["passphrase"],
        LIAISON_SIGNING_CA=signing_identity_files["ca"],
        LIAISON_SIGNING_DEV_PASSPHRASE_FILE=signing_identity_files["dev_passphrase_file"],
        LIAISON_TSA_URL="",
        LIAISON_TRUSTED_AUTHSERV_ID="mx.liaison.example",
        LIAISON_INBOUND_REQUIRE_DKIM_ALIGNMENT=False,
    )
    eager = celery_app.conf.task_always_eager
    with django_db_blocker.unblock(), overrides:
        celery_app.conf.task_always_eager = True
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            # Work the actions hand to the queue (notifications of the notes, the e-mail's processing) runs here.
            with TestCase.captureOnCommitCallbacks(execute=True):
                built = build_matrix(access_files)
            celery_app.conf.task_always_eager = eager
            yield built
        finally:
            celery_app.conf.task_always_eager = eager
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
