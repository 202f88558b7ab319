"""The benchmark data generator at a small scale: it runs, the same seed gives the same world, the audit chain it
writes verifies, and the generated people can use the pages."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count

from accounts.models import User
from cases import audit, permissions
from cases.choices import OPEN_STATUSES, TLP, Status
from cases.load_data import PERSONAS, LoadDataError, generate
from cases.models import AuditEvent, Case, Deadline, Evidence, Message, ReadMarker, ReportedItem

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SCALE = 0.002  # 200 cases, 2,000 items and messages, 400 evidence records, 600 deadlines


def quiet(_line: str) -> None:
    pass


def snapshot() -> dict[str, list[Any]]:
    """The generated world by natural keys (people's ids come from sequences, which a rollback does not rewind)."""
    return {
        "cases": list(Case.objects.order_by("reference").values_list(
            "reference", "title", "status", "tlp", "priority", "created_at", "created_by__email", "assignee__email",
            "queue__name")),
        "items": list(ReportedItem.objects.order_by("case__reference", "position").values_list(
            "case__reference", "position", "target", "key", "outcome", "decided_at")),
        "messages": list(Message.objects.order_by("id").values_list(
            "case__reference", "kind", "side", "author__email", "body", "created_at")),
        "deadlines": list(Deadline.objects.order_by("id").values_list(
            "case__reference", "kind", "status", "due_at", "met_at", "breached_at", "next_check_at")),
        "events": list(AuditEvent.objects.order_by("id").values_list(
            "occurred_at", "action", "case__reference", "actor__email", "object_type", "side", "data")),
    }


def generated(seed: int) -> dict[str, list[Any]]:
    """Generate (100 cases), take the snapshot, roll back."""
    with transaction.atomic():
        generate(seed=seed, scale=0.001, now=NOW, progress=quiet)
        taken = snapshot()
        transaction.set_rollback(True)
    return taken


def test_the_same_seed_gives_the_same_world_and_another_seed_another():
    first, again, other = generated(7), generated(7), generated(8)
    assert first == again
    assert first["cases"] != other["cases"]


def test_a_small_world_has_what_the_benchmarks_need_and_its_audit_chain_verifies():
    summary = generate(seed=7, scale=SCALE, now=NOW, progress=quiet)
    with pytest.raises(LoadDataError, match="already holds generated data"):
        generate(seed=7, scale=SCALE, now=NOW, progress=quiet)

    assert Case.objects.count() == 200
    assert 1_900 <= ReportedItem.objects.count() <= 2_000
    assert 1_800 <= Message.objects.count() <= 2_300
    assert Evidence.objects.count() == 400
    assert 550 <= Deadline.objects.count() <= 650
    assert summary.rows["cases.AuditEvent"] == AuditEvent.objects.count() > 4_000
    by_state = dict(Case.objects.values_list("status").annotate(n=Count("id")))
    assert by_state[Status.CLOSED] > by_state[Status.IN_PROGRESS] > 0
    assert sum(by_state.get(s, 0) for s in OPEN_STATUSES) >= 10
    assert set(Deadline.objects.values_list("status", flat=True)) >= {"met", "breached", "open"}
    assert Message.objects.filter(kind="internal").exists() and Message.objects.filter(kind="system").exists()
    assert ReadMarker.objects.count() > 200
    # Every submitted case has items; some targets are reported by more than one case (deconfliction).
    assert not Case.objects.exclude(status=Status.DRAFT).filter(items__isnull=True).exists()
    shared = ReportedItem.objects.values("key").annotate(cases=Count("case_id", distinct=True)).filter(cases__gt=1)
    assert shared.exists()
    # The cases the benchmarks open: a 1,000-item case (400 at this scale) and a typical one.
    biggest = ReportedItem.objects.values("case_id").annotate(n=Count("id")).order_by("-n")[0]["n"]
    assert biggest == 400

    report = audit.verify_chain()
    assert report.ok, report.reason
    assert report.checked == AuditEvent.objects.count()
    assert report.checked and AuditEvent.objects.order_by("-id")[0].hash == summary.head_hash

    manager = User.objects.get(email=PERSONAS["manager"])
    moderator = User.objects.get(email=PERSONAS["moderator"])
    red = Case.objects.filter(tlp=TLP.RED).exclude(status=Status.DRAFT)
    assert red.exists()
    assert all(permissions.can_view_case(manager, case) for case in red)
    assert not permissions.cases_visible_to(moderator).filter(tlp=TLP.RED).exclude(assignee=moderator).exists()


def test_generated_people_use_the_pages(mfa_client):
    generate(seed=7, scale=SCALE, now=NOW, progress=quiet)
    big = Case.objects.annotate(n=Count("items")).filter(n=400, status=Status.IN_PROGRESS).get()
    normal = Case.objects.annotate(n=Count("items")).filter(n=40, status=Status.IN_PROGRESS).first()
    assert normal is not None
    for persona in ("liaison", "moderator", "manager", "legal", "auditor"):
        user = User.objects.get(email=PERSONAS[persona])
        mfa_client.force_login(user)
        for url in ("/", "/cases/", "/cases/?page=2", "/cases/?q=judi"):
            assert mfa_client.get(url).status_code == 200, (persona, url)
        visible = permissions.cases_visible_to(user)
        assert visible.exists()
        for case in (big, normal):
            expected = 200 if visible.filter(pk=case.pk).exists() else 404
            assert mfa_client.get(f"/cases/{case.reference}/").status_code == expected, (persona, case.reference)
    mfa_client.force_login(User.objects.get(email=PERSONAS["moderator"]))
    page = mfa_client.get(f"/cases/{normal.reference}/")
    assert normal.reference in page.content.decode()


def test_it_refuses_to_flush_or_fill_what_is_not_a_bench_database(monkeypatch):
    with pytest.raises(CommandError, match="does not contain 'bench'"):
        call_command("generate_load_data", "--flush", stdout=io.StringIO())
    monkeypatch.setattr("cases.management.commands.generate_load_data.database_name", lambda: "liaison")
    monkeypatch.setattr("cases.management.commands.generate_load_data.is_disposable_database", lambda: False)
    with pytest.raises(CommandError, match="does not look like a benchmark"):
        call_command("generate_load_data", "--scale", "0.001", stdout=io.StringIO())
