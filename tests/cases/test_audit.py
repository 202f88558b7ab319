"""The audit log: a hash chain that `verify_audit` checks and names the first broken link of, a table
PostgreSQL refuses to change, logins recorded, and a case timeline that shows each side only its events."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from cases import audit
from cases.actions.cases import assign_case, request_information
from cases.actions.items import set_item_outcomes
from cases.choices import Status
from cases.models import AuditEvent
from tests.audit_triggers import append_only_suspended
from tests.factories import PASSWORD

from .conftest import decide_all, make_case, section, unique_targets

pytestmark = pytest.mark.django_db


def verify() -> tuple[int, str, str]:
    """Run the command as an operator would: (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def raw_sql(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def tamper(sql: str, params: list[object]) -> None:
    """Change the table behind the application's back, as the tables' owner could: the append-only triggers
    switched off first (inside the test's transaction, so they are back on afterwards)."""
    with append_only_suspended():
        raw_sql(sql, params)


def many_events(world, records: int = 60) -> None:
    for state in (Status.CLOSED, Status.WITHDRAWN, Status.AWAITING_INFORMATION):
        make_case(world, state=state, targets=unique_targets(5))
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(30))
    for item in case.items.all()[:records // 3]:
        set_item_outcomes(actor=world.moderator, case=case, item_ids=[item.pk], outcome="removed")
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    for n in range(records):
        audit.record(action="evidence.viewed", actor=world.legal, case=case,
                     data={"n": n, "text": "ünïcödé ✓", "nested": {"list": [1, 2.5, None]}}, ip="2001:db8::1")


# --- verify_audit --------------------------------------------------------------------------------


def test_verify_audit_passes_on_a_fresh_chain(db):
    assert not AuditEvent.objects.exists()
    status, out, _err = verify()
    assert status == 0
    assert "Audit chain intact: 0 events verified." in out


def test_verify_audit_passes_after_many_events(world):
    many_events(world)
    count = AuditEvent.objects.count()
    assert count > 100
    status, out, err = verify()
    assert status == 0, err
    assert f"Audit chain intact: {count} events verified." in out
    # Each event holds the hash of the one before it.
    hashes = list(AuditEvent.objects.order_by("id").values_list("prev_hash", "hash"))
    assert hashes[0][0] == audit.GENESIS
    assert all(prev == hashes[i][1] for i, (prev, _h) in enumerate(hashes[1:]))


@pytest.mark.parametrize("change", ["data", "action", "actor", "occurred_at", "hash"])
def test_verify_audit_names_the_first_altered_event(world, change):
    many_events(world, records=15)
    events = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    victim = events[len(events) // 2]
    statements = {
        "data": ("UPDATE cases_auditevent SET data = %s WHERE id = %s", [json.dumps({"count": 0}), victim]),
        "action": ("UPDATE cases_auditevent SET action = %s WHERE id = %s", ["case.harmless", victim]),
        "actor": ("UPDATE cases_auditevent SET actor_id = %s WHERE id = %s", [world.auditor.pk, victim]),
        "occurred_at": ("UPDATE cases_auditevent SET occurred_at = occurred_at - interval '1 hour' WHERE id = %s"
                        if connection.vendor == "postgresql" else
                        "UPDATE cases_auditevent SET occurred_at = '2020-01-01 00:00:00' WHERE id = %s", [victim]),
        "hash": ("UPDATE cases_auditevent SET hash = %s WHERE id = %s", ["f" * 64, victim]),
    }
    sql, params = statements[change]
    tamper(sql, params)
    status, out, err = verify()
    assert status == 1
    assert f"Audit chain BROKEN at event #{victim} " in err
    assert f"{events.index(victim)} events before it verified" in err
    assert "intact" not in out


def test_verify_audit_names_the_event_after_a_deleted_one(world):
    many_events(world, records=15)
    events = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    victim = events[10]
    tamper("DELETE FROM cases_auditevent WHERE id = %s", [victim])
    status, _out, err = verify()
    assert status == 1
    assert f"BROKEN at event #{events[11]} (prev_hash does not match" in err


def test_a_forger_recomputing_one_hash_is_still_caught(world):
    """Recomputing the altered row's own hash does not help: the next event still holds the old one."""
    many_events(world, records=15)
    event = AuditEvent.objects.order_by("id")[5]
    following = AuditEvent.objects.filter(id__gt=event.pk).order_by("id").first()
    event.data = {"count": 0}
    tamper("UPDATE cases_auditevent SET data = %s, hash = %s WHERE id = %s",
           [json.dumps(event.data), audit.compute_hash(event), event.pk])
    status, _out, err = verify()
    assert status == 1
    assert f"BROKEN at event #{following.pk} " in err


def test_addresses_in_any_spelling_keep_the_chain_intact(world):
    for ip in ("2001:DB8:0:0::1", "::ffff:192.0.2.1", "192.0.2.1", None):
        audit.record(action="evidence.downloaded", actor=world.legal, ip=ip)
    assert AuditEvent.objects.order_by("id").first().ip == "2001:db8::1"
    assert verify()[0] == 0


# --- The database refuses changes ------------------------------------------------------------------


def test_the_database_refuses_raw_update_and_delete_of_audit_events(world):
    """PostgreSQL (production) and SQLite (`make run`) alike."""
    make_case(world, state=Status.IN_PROGRESS)
    event = AuditEvent.objects.order_by("id").first()
    for sql in (
        "UPDATE cases_auditevent SET action = 'case.harmless' WHERE id = %s",
        "DELETE FROM cases_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic():
                raw_sql(sql, [event.pk])
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(data={"forged": True})
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            AuditEvent.objects.all().delete()
    event.refresh_from_db()
    assert event.action == "case.created"
    assert verify()[0] == 0


# --- Sign-ins ----------------------------------------------------------------------------------


def test_logins_and_failed_logins_are_recorded(world, client):
    login = reverse("account_login")
    client.post(login, {"login": world.liaison.email, "password": "not-the-password"})
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.data["login"] == world.liaison.email
    assert failed.ip == "127.0.0.1"
    assert failed.actor is None

    client.post(login, {"login": world.liaison.email, "password": PASSWORD})
    success = AuditEvent.objects.get(action="auth.login")
    assert success.actor == world.liaison
    assert success.actor_org == world.ministry
    assert success.ip == "127.0.0.1"
    assert verify()[0] == 0


def test_a_failed_login_for_an_unknown_address_is_recorded_too(db, client):
    client.post(reverse("account_login"), {"login": "nobody@nowhere.test", "password": "guess"})
    assert AuditEvent.objects.get(action="auth.login_failed").data["login"] == "nobody@nowhere.test"


# --- The timeline on the case page ---------------------------------------------------------------


def test_case_timeline_shows_the_events(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(3))
    request_information(case=case, actor=world.moderator, note="Which accounts exactly?")
    mfa_client.force_login(world.liaison)
    timeline = section(mfa_client.get(case.get_absolute_url()).content, "timeline")
    for text in ("Case created", "3 item(s) added", "Draft → Submitted", "Submitted → In progress",
                 "In progress → Awaiting information", "Which accounts exactly?", "Rizky Moderator",
                 "Platform (test)"):
        assert text in timeline, text


def test_platform_only_events_are_not_shown_to_the_authority(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS)
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    decide_all(case, world.moderator)
    for persona, sees in (("manager", True), ("moderator", True), ("legal", True),
                          ("liaison", False), ("lead", False), ("authority_auditor", False)):
        mfa_client.force_login(getattr(world, persona))
        timeline = section(mfa_client.get(case.get_absolute_url()).content, "timeline")
        assert ("Assigned to Rizky Moderator" in timeline) is sees, persona
        assert "Outcome set for 2 item(s)" in timeline, persona  # shared events reach both sides
