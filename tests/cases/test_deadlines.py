"""Deadlines on a controllable clock: created from the SLA policy on submission, met, breached, cancelled,
paused while the authority provides information, changed only by agreement of both sides, swept exactly
once (twice at the same instant, concurrently, after a long gap), and the inbox's due-soon and breached views."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import OrgKind
from cases import permissions
from cases.actions import deadline_sweep
from cases.actions.cases import (
    acknowledge_case,
    assign_case,
    provide_information,
    request_information,
    resolve_case,
    withdraw_case,
)
from cases.actions.deadline_sweep import sweep_deadlines
from cases.actions.deadlines import answer_proposal, propose_deadline, update_sla_policy
from cases.audit import verify_chain
from cases.choices import Priority, Status
from cases.event_text import system_line
from cases.models import (
    AuditEvent,
    Case,
    Deadline,
    DeadlinePause,
    DeadlineProposal,
    DeadlineSignal,
    Message,
    Notification,
    SLAPolicy,
)
from tests.factories import World

from .conftest import decide_all, listed_refs, make_case, page_messages, run_together, section

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


class Clock:
    """The time every `timezone.now()` returns while the `clock` fixture is active."""

    def __init__(self) -> None:
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def at(self, delta: timedelta) -> None:
        self.now = self.start + delta


@pytest.fixture
def clock() -> Iterator[Clock]:
    fake = Clock()
    with mock.patch("django.utils.timezone.now", side_effect=lambda: fake.now):
        yield fake


def deadline(case: Case, kind: str) -> Deadline:
    return Deadline.objects.get(case=case, kind=kind)


def sweep(capture, now) -> dict[str, int]:
    """One run of the periodic job, with what it queued for after its commits (notices, e-mails)."""
    with capture(execute=True):
        return sweep_deadlines(now=now)


def deadline_notices(case: Case | None = None) -> Counter[str]:
    """How many people were told of each (deadline, point)."""
    rows = Notification.objects.filter(kind="deadline")
    if case is not None:
        rows = rows.filter(case=case)
    return Counter(rows.values_list("source_key", flat=True))


def thread_text(case: Case) -> str:
    """The thread as an English reader in UTC reads it (system entries written from their parameters)."""
    return "\n".join(system_line(m.system_action, m.system_params, who=m.author.full_name if m.author else "",
                                  zone=UTC, fallback=m.body) if m.kind == Message.Kind.SYSTEM else m.body
                      for m in case.messages.select_related("author").order_by("id"))


def open_page(client, user, case: Case) -> str:
    client.force_login(user)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


# --- Created from the policy ------------------------------------------------------------------------


@pytest.mark.parametrize("category, threat_to_life, priority, ack_hours, resolve_hours", [
    ("terrorism", False, "", 1, 4),               # urgent terrorism
    ("csam", False, "", 1, 4),                    # urgent child sexual abuse material
    ("fraud", False, Priority.URGENT, 4, 4),      # other urgent
    ("other", True, "", 4, 4),                    # threat to life makes it urgent
    ("hate-speech", False, "", 4, 24),            # high
    ("disinformation", False, "", 24, 72),        # normal
    ("terrorism", False, Priority.NORMAL, 24, 72),
])
def test_submitting_creates_the_deadlines_of_the_policy(world, clock, mfa_client, category, threat_to_life,
                                                        priority, ack_hours, resolve_hours):
    case = make_case(world, category=category, threat_to_life=threat_to_life, priority=priority)
    ack, resolve = deadline(case, Deadline.Kind.ACKNOWLEDGE), deadline(case, Deadline.Kind.RESOLVE)
    for row, hours in ((ack, ack_hours), (resolve, resolve_hours)):
        assert row.started_at == case.submitted_at == clock.now
        assert row.due_at == clock.now + hours * HOUR
        assert (row.status, row.origin, row.owner_side) == (Deadline.State.OPEN, Deadline.Origin.POLICY,
                                                            OrgKind.PLATFORM)
        assert row.next_check_at is not None and row.next_check_at < row.due_at
    assert AuditEvent.objects.filter(case=case, action="deadline.created").count() == 2
    panel = section(open_page(mfa_client, world.liaison, case), "deadline-panel")
    assert panel.count('data-testid="countdown"') == 2


def test_drafts_have_no_deadlines(world):
    case = make_case(world, state=Status.DRAFT)
    assert not case.deadlines.exists()


def test_a_policy_for_one_authority_wins_over_the_general_one(world, clock):
    SLAPolicy.objects.create(category=None, priority=Priority.NORMAL, requesting_org=world.ministry,
                             acknowledge_minutes=120, resolve_minutes=600)
    SLAPolicy.objects.create(category=None, priority=Priority.URGENT, requesting_org=world.ministry,
                             acknowledge_minutes=30, resolve_minutes=180)
    ministry = make_case(world, category="disinformation")
    commission = make_case(world, actor=world.other_liaison, category="disinformation")
    terror = make_case(world, category="terrorism")
    assert deadline(ministry, "acknowledge").due_at - clock.now == 2 * HOUR
    assert deadline(ministry, "resolve").due_at - clock.now == 10 * HOUR
    assert deadline(commission, "acknowledge").due_at - clock.now == 24 * HOUR
    assert deadline(commission, "resolve").due_at - clock.now == 72 * HOUR
    # The ministry's own urgent policy wins over the general one for urgent terrorism too.
    assert deadline(terror, "acknowledge").due_at - clock.now == 30 * MINUTE
    assert deadline(terror, "resolve").due_at - clock.now == 3 * HOUR


# --- Met, breached, cancelled ---------------------------------------------------------------------------


def test_acknowledge_meets_the_first_resolve_meets_the_second_and_durations_are_recorded(world, clock):
    case = make_case(world, category="terrorism")
    clock.advance(20 * MINUTE)
    case = acknowledge_case(case=case, actor=world.moderator)
    ack, resolve = deadline(case, "acknowledge"), deadline(case, "resolve")
    assert (ack.status, ack.met_at, ack.next_check_at) == (Deadline.State.MET, clock.now, None)
    assert resolve.status == Deadline.State.OPEN
    assert case.acknowledge_seconds == 20 * 60

    clock.advance(2 * HOUR)
    decide_all(case, world.moderator)
    case = resolve_case(case=case, actor=world.moderator, outcome_summary="Removed")
    resolve.refresh_from_db()
    assert (resolve.status, resolve.met_at) == (Deadline.State.MET, clock.now)
    assert case.resolve_seconds == (2 * 60 + 20) * 60
    # Nothing is left for the sweep.
    assert sweep_deadlines(now=clock.now + timedelta(days=3))["checked"] == 0


def test_withdrawing_cancels_the_open_deadlines(world, clock, django_capture_on_commit_callbacks):
    case = make_case(world, category="terrorism")
    clock.advance(10 * MINUTE)
    case = acknowledge_case(case=case, actor=world.moderator)
    clock.advance(10 * MINUTE)
    withdraw_case(case=case, actor=world.liaison, note="Handled by the police")
    states = dict(case.deadlines.values_list("kind", "status"))
    assert states == {"acknowledge": Deadline.State.MET, "resolve": Deadline.State.CANCELLED}
    assert deadline(case, "resolve").closed_at == clock.now
    counts = sweep(django_capture_on_commit_callbacks, clock.now + timedelta(days=3))
    assert counts["breaches"] == counts["reminders"] == 0
    assert not DeadlineSignal.objects.exists() and not Notification.objects.filter(kind="deadline").exists()


def test_a_deadline_met_after_the_sweep_marked_it_breached_stays_breached(world, clock, mfa_client,
                                                                           django_capture_on_commit_callbacks):
    case = make_case(world, category="terrorism")  # acknowledge within 1 h
    clock.advance(61 * MINUTE)
    assert sweep(django_capture_on_commit_callbacks, clock.now)["breaches"] == 1
    ack = deadline(case, "acknowledge")
    assert (ack.status, ack.breached_at) == (Deadline.State.BREACHED, case.submitted_at + HOUR)

    clock.advance(9 * MINUTE)
    acknowledge_case(case=case, actor=world.moderator)
    ack.refresh_from_db()
    assert ack.status == Deadline.State.BREACHED
    assert ack.met_at == clock.now  # when it was finally done is kept
    panel = section(open_page(mfa_client, world.liaison, case), "deadline-panel")
    assert "Breached at the due time." in panel and "Met late" in panel


def test_a_deadline_met_late_before_any_sweep_is_still_breached(world, clock):
    """The sweep may be down; acknowledging after the due time is late all the same."""
    case = make_case(world, category="terrorism")
    clock.advance(90 * MINUTE)
    case = acknowledge_case(case=case, actor=world.moderator)
    ack = deadline(case, "acknowledge")
    assert ack.status == Deadline.State.BREACHED
    assert ack.breached_at == case.submitted_at + HOUR and ack.met_at == clock.now
    assert case.acknowledge_seconds == 90 * 60


# --- Paused while the authority provides information -------------------------------------------------------


def test_the_resolve_clock_pauses_while_awaiting_information_and_moves_by_exactly_the_pause(
        world, clock, mfa_client, django_capture_on_commit_callbacks):
    case = make_case(world, category="hate-speech")  # high: 4 h / 24 h
    submitted = clock.now
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    clock.advance(30 * MINUTE)
    case = acknowledge_case(case=case, actor=world.moderator)
    clock.advance(90 * MINUTE)  # +2 h
    case = request_information(case=case, actor=world.moderator, note="Which posts exactly?")
    resolve = deadline(case, "resolve")
    assert resolve.paused_at == clock.now and resolve.next_check_at is None
    assert resolve.due_at == submitted + 24 * HOUR  # not moved yet
    pause = DeadlinePause.objects.get(deadline=resolve)
    assert (pause.paused_at, pause.resumed_at) == (clock.now, None)

    page = open_page(mfa_client, world.liaison, case)
    paused = section(page, "paused")
    assert "Clock paused since" in paused and "22\xa0hours left when it resumes" in paused
    assert 'data-testid="countdown"' not in section(page, "deadline-panel")

    # A paused deadline is not swept, even long after its original due time.
    clock.at(25 * HOUR)
    counts = sweep(django_capture_on_commit_callbacks, clock.now)
    assert counts == {"reminders": 0, "breaches": 0, "checked": 0}
    assert not DeadlineSignal.objects.filter(deadline=resolve).exists()
    resolve.refresh_from_db()
    assert resolve.status == Deadline.State.OPEN

    clock.at(26 * HOUR)  # paused for exactly 24 h
    case = provide_information(case=case, actor=world.liaison, note="Screenshots attached")
    resolve.refresh_from_db()
    pause.refresh_from_db()
    assert (pause.paused_at, pause.resumed_at) == (submitted + 2 * HOUR, submitted + 26 * HOUR)
    assert resolve.paused_at is None and resolve.paused_seconds == 24 * 3600
    assert resolve.due_at == submitted + 48 * HOUR
    assert resolve.next_check_at is not None
    assert AuditEvent.objects.filter(case=case, action="deadline.paused").count() == 1
    assert AuditEvent.objects.get(case=case, action="deadline.resumed").data["paused_seconds"] == 24 * 3600

    page = open_page(mfa_client, world.liaison, case)
    panel = section(page, "deadline-panel")
    # The countdown runs again, towards the moved due time (the page counts in real time, so read its target).
    assert 'data-testid="paused"' not in panel
    assert f'data-due="{resolve.due_at.isoformat()}"' in section(page, "countdown")
    assert "moved by 1440 min of pauses" in panel
    assert sweep(django_capture_on_commit_callbacks, clock.now + MINUTE)["breaches"] == 0

    clock.at(30 * HOUR)
    decide_all(case, world.moderator)
    case = resolve_case(case=case, actor=world.moderator)
    resolve.refresh_from_db()
    assert resolve.status == Deadline.State.MET
    assert case.acknowledge_seconds == 30 * 60
    assert case.resolve_seconds == (30 - 24) * 3600  # wall-clock minus the pause


def test_two_pauses_add_up(world, clock):
    case = make_case(world, category="disinformation", state=Status.IN_PROGRESS)  # normal: 24 h / 72 h
    due = deadline(case, "resolve").due_at
    for pause_minutes in (45, 75):
        clock.advance(HOUR)
        case = request_information(case=case, actor=world.manager, note="More, please")
        clock.advance(pause_minutes * MINUTE)
        case = provide_information(case=case, actor=world.liaison)
    resolve = deadline(case, "resolve")
    assert resolve.due_at == due + 2 * HOUR and resolve.paused_seconds == 2 * 3600
    assert list(resolve.pauses.values_list("resumed_at", flat=True)) == [
        case.submitted_at + 105 * MINUTE, case.submitted_at + 240 * MINUTE]


# --- Changes by agreement ---------------------------------------------------------------------------------------


def proposals_in_thread(case: Case) -> list[str]:
    return list(case.messages.filter(kind=Message.Kind.SYSTEM, system_action__startswith="deadline.",
                                     side="").order_by("id").values_list("system_action", flat=True))


def test_a_new_due_time_takes_effect_when_the_other_side_accepts(world, clock, mfa_client):
    case = make_case(world, category="hate-speech", state=Status.IN_PROGRESS)
    resolve = deadline(case, "resolve")
    original = resolve.due_at
    wanted = original + 48 * HOUR
    proposal = propose_deadline(actor=world.manager, case=case, kind=DeadlineProposal.Kind.CHANGE_DUE,
                                        deadline=resolve, due_at=wanted, reason="Forty channels to review")
    resolve.refresh_from_db()
    assert resolve.due_at == original and proposal.status == DeadlineProposal.State.PENDING

    clock.advance(HOUR)
    mfa_client.force_login(world.liaison)
    response = mfa_client.post(reverse("cases:answer_proposal", args=[case.reference, proposal.pk]),
                               {"answer": "accept", "note": "Agreed"}, follow=True)
    assert any("Accepted" in m for m in page_messages(response))
    resolve.refresh_from_db()
    proposal.refresh_from_db()
    assert (resolve.due_at, resolve.origin, resolve.status) == (wanted, Deadline.Origin.AGREEMENT,
                                                                Deadline.State.OPEN)
    assert resolve.next_check_at is not None and resolve.next_check_at > original - HOUR
    assert (proposal.status, proposal.answered_by, proposal.answered_at) == (
        DeadlineProposal.State.ACCEPTED, world.liaison, clock.now)
    assert proposals_in_thread(case) == ["deadline.proposed", "deadline.answered"]
    assert "Forty channels to review" in thread_text(case) and "accepted the deadline proposal" in thread_text(case)
    actions_recorded = list(AuditEvent.objects.filter(case=case, action__startswith="deadline.")
                            .values_list("action", flat=True))
    assert actions_recorded[-3:] == ["deadline.proposed", "deadline.changed", "deadline.accepted"]
    assert verify_chain().ok
    # Both sides see the proposal, its answer and the agreed origin on the page.
    for user in (world.liaison, world.moderator):
        page = open_page(mfa_client, user, case)
        assert "Forty channels to review" in section(page, "proposals")
        assert "Agreed by both sides" in section(page, "deadline-panel")


def test_a_rejected_proposal_changes_nothing(world, clock):
    case = make_case(world, category="hate-speech", state=Status.IN_PROGRESS)
    resolve = deadline(case, "resolve")
    before = (resolve.due_at, resolve.origin, resolve.next_check_at)
    proposal = propose_deadline(actor=world.liaison, case=case, kind=DeadlineProposal.Kind.CHANGE_DUE,
                                        deadline=resolve, due_at=resolve.due_at - 12 * HOUR,
                                        reason="The channel is spreading fast")
    answer_proposal(actor=world.manager, proposal=proposal, accept=False, note="We cannot go faster")
    resolve.refresh_from_db()
    assert (resolve.due_at, resolve.origin, resolve.next_check_at) == before
    proposal.refresh_from_db()
    assert proposal.status == DeadlineProposal.State.REJECTED
    assert proposals_in_thread(case) == ["deadline.proposed", "deadline.answered"]
    assert "rejected the deadline proposal. We cannot go faster" in thread_text(case)
    assert AuditEvent.objects.filter(case=case, action="deadline.rejected").count() == 1


def test_only_the_other_side_answers_and_only_once(world, clock, mfa_client):
    case = make_case(world, category="hate-speech", state=Status.IN_PROGRESS)
    resolve = deadline(case, "resolve")
    proposal = propose_deadline(actor=world.liaison, case=case, kind=DeadlineProposal.Kind.CHANGE_DUE,
                                        deadline=resolve, due_at=resolve.due_at + HOUR, reason="Holiday")
    # The proposer's own side, and platform people who may not agree deadlines, are refused.
    for persona in ("liaison", "lead", "moderator", "legal", "auditor"):
        with pytest.raises(PermissionDenied):
            answer_proposal(actor=getattr(world, persona), proposal=proposal, accept=True)
    for persona in ("other_liaison", "moderator_my"):  # they may not even know of the case
        with pytest.raises(Http404):
            answer_proposal(actor=getattr(world, persona), proposal=proposal, accept=True)
    mfa_client.force_login(world.lead)
    url = reverse("cases:answer_proposal", args=[case.reference, proposal.pk])
    assert mfa_client.post(url, {"answer": "accept"}).status_code == 403
    page = open_page(mfa_client, world.lead, case)
    assert url not in page  # no answer buttons offered to the proposer's side
    proposal.refresh_from_db()
    assert proposal.status == DeadlineProposal.State.PENDING

    assert url in open_page(mfa_client, world.manager, case)
    answer_proposal(actor=world.manager, proposal=proposal, accept=True)
    with pytest.raises(permissions.InvalidTransition):
        answer_proposal(actor=world.manager, proposal=proposal, accept=False)
    response = mfa_client.post(url, {"answer": "reject"}, follow=True)
    assert any("already answered" in m for m in page_messages(response))
    proposal.refresh_from_db()
    assert proposal.status == DeadlineProposal.State.ACCEPTED
    assert AuditEvent.objects.filter(case=case, action__in=["deadline.accepted", "deadline.rejected"]).count() == 1


def test_proposals_need_a_reason_and_a_future_time(world, clock):
    case = make_case(world, category="hate-speech", state=Status.IN_PROGRESS)
    resolve = deadline(case, "resolve")
    with pytest.raises(ValidationError):
        propose_deadline(actor=world.manager, case=case, kind="change_due", deadline=resolve,
                                 due_at=resolve.due_at + HOUR, reason="  ")
    with pytest.raises(ValidationError):
        propose_deadline(actor=world.manager, case=case, kind="change_due", deadline=resolve,
                                 due_at=clock.now - MINUTE, reason="Late")
    with pytest.raises(PermissionDenied):
        propose_deadline(actor=world.legal, case=case, kind="change_due", deadline=resolve,
                                 due_at=resolve.due_at + HOUR, reason="Legal review")
    assert not DeadlineProposal.objects.exists()


def test_a_custom_deadline_by_agreement(world, clock, mfa_client, django_capture_on_commit_callbacks):
    case = make_case(world, category="privacy", state=Status.IN_PROGRESS)
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    friday = (clock.now + 3 * 24 * HOUR).replace(second=0)
    mfa_client.force_login(world.liaison)
    mfa_client.post(reverse("cases:propose_deadline", args=[case.reference]), {
        "kind": "new_custom", "title": "Preserve subscriber information", "owner_side": "platform",
        "due_at": timezone.localtime(friday, timezone.get_fixed_timezone(0)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "Court order expected on Friday"})
    proposal = DeadlineProposal.objects.get(case=case)
    assert proposal.kind == DeadlineProposal.Kind.NEW_CUSTOM and proposal.proposed_side == OrgKind.AUTHORITY
    assert not case.deadlines.filter(kind=Deadline.Kind.CUSTOM).exists()  # nothing until agreed

    answer_proposal(actor=world.manager, proposal=proposal, accept=True)
    custom = case.deadlines.get(kind=Deadline.Kind.CUSTOM)
    assert (custom.title, custom.owner_side, custom.origin, custom.status) == (
        "Preserve subscriber information", OrgKind.PLATFORM, Deadline.Origin.AGREEMENT, Deadline.State.OPEN)
    assert custom.due_at == friday
    assert "Preserve subscriber information" in section(open_page(mfa_client, world.moderator, case),
                                                        "deadline-panel")
    # It is swept like the others.
    sweep(django_capture_on_commit_callbacks, friday + MINUTE)
    custom.refresh_from_db()
    assert custom.status == Deadline.State.BREACHED
    assert deadline_notices(case)[f"deadline:{custom.pk}:breach"] == 3  # assignee, manager, lead


def test_a_waiver_needs_the_other_sides_agreement(world, clock, django_capture_on_commit_callbacks):
    case = make_case(world, category="terrorism")
    ack = deadline(case, "acknowledge")
    proposal = propose_deadline(actor=world.manager, case=case, kind=DeadlineProposal.Kind.WAIVE,
                                        deadline=ack, reason="Duplicate of a case acknowledged by phone")
    ack.refresh_from_db()
    assert ack.status == Deadline.State.OPEN  # a proposal alone waives nothing
    answer_proposal(actor=world.lead, proposal=proposal, accept=True)
    ack.refresh_from_db()
    assert (ack.status, ack.closed_at, ack.next_check_at) == (Deadline.State.WAIVED, clock.now, None)
    assert AuditEvent.objects.filter(case=case, action="deadline.waived").count() == 1
    assert sweep(django_capture_on_commit_callbacks, clock.now + 2 * HOUR)["breaches"] == 0
    ack.refresh_from_db()
    assert ack.status == Deadline.State.WAIVED


def test_unanswered_proposals_expire_and_stay_on_record(world, clock, mfa_client,
                                                        django_capture_on_commit_callbacks):
    case = make_case(world, category="hate-speech")
    ack, resolve = deadline(case, "acknowledge"), deadline(case, "resolve")
    soon = propose_deadline(actor=world.manager, case=case, kind="change_due", deadline=resolve,
                                    due_at=clock.now + 3 * HOUR, reason="We can do it sooner")
    moot = propose_deadline(actor=world.manager, case=case, kind="change_due", deadline=ack,
                                    due_at=ack.due_at + HOUR, reason="Staff shortage")
    clock.advance(30 * MINUTE)
    acknowledge_case(case=case, actor=world.moderator)  # the deadline `moot` was about is met
    clock.advance(3 * HOUR)
    sweep(django_capture_on_commit_callbacks, clock.now)
    for proposal in (soon, moot):
        proposal.refresh_from_db()
        assert proposal.status == DeadlineProposal.State.EXPIRED
    assert DeadlineProposal.objects.filter(case=case).count() == 2
    assert case.messages.filter(system_action="deadline.proposal_expired").count() == 2
    assert AuditEvent.objects.filter(case=case, action="deadline.proposal_expired").count() == 2
    page = open_page(mfa_client, world.liaison, case)
    assert section(page, "proposals").count("Expired") == 2
    with pytest.raises(permissions.InvalidTransition):
        answer_proposal(actor=world.liaison, proposal=soon, accept=True)
    resolve.refresh_from_db()
    assert resolve.origin == Deadline.Origin.POLICY


# --- SLA policies ------------------------------------------------------------------------------------------------


def test_sla_policies_are_edited_by_ts_managers_only_and_audited(world, mfa_client):
    normal = SLAPolicy.objects.get(category=None, priority=Priority.NORMAL, requesting_org=None)
    url = reverse("cases:sla_policies")
    for persona in ("moderator", "legal", "auditor", "liaison", "lead"):
        mfa_client.force_login(getattr(world, persona))
        page = mfa_client.get(url)
        assert page.status_code == 200 and f'name="ack-{normal.pk}"' not in page.content.decode()
        assert mfa_client.post(url, {f"ack-{normal.pk}": "1", f"resolve-{normal.pk}": "2"}).status_code == 403
    normal.refresh_from_db()
    assert (normal.acknowledge_minutes, normal.resolve_minutes) == (24 * 60, 72 * 60)

    mfa_client.force_login(world.manager)
    assert f'name="ack-{normal.pk}"' in mfa_client.get(url).content.decode()
    refused = mfa_client.post(url, {f"ack-{normal.pk}": "600", f"resolve-{normal.pk}": "300"}, follow=True)
    assert any("cannot take longer" in m for m in page_messages(refused))
    response = mfa_client.post(url, {f"ack-{normal.pk}": "720", f"resolve-{normal.pk}": "2880"}, follow=True)
    assert any("1 policy(ies) updated" in m for m in page_messages(response))
    normal.refresh_from_db()
    assert (normal.acknowledge_minutes, normal.resolve_minutes) == (720, 2880)
    event = AuditEvent.objects.get(action="sla_policy.updated")
    assert event.actor == world.manager
    assert event.data["before"] == {"acknowledge_minutes": 1440, "resolve_minutes": 4320}
    assert event.data["after"] == {"acknowledge_minutes": 720, "resolve_minutes": 2880}
    assert verify_chain().ok
    with pytest.raises(PermissionDenied):
        update_sla_policy(actor=world.moderator, policy=normal, acknowledge_minutes=1, resolve_minutes=2)
    # New cases use the new policy.
    case = make_case(world, category="disinformation")
    assert deadline(case, "acknowledge").due_at - case.submitted_at == 12 * HOUR


# --- The inbox: due soon and breached ------------------------------------------------------------------------


def filter_badge(html: str, testid: str) -> int:
    import re

    return int(re.search(r'<span class="badge[^"]*">(\d+)</span>', section(html, testid)).group(1))


def test_inbox_filters_and_counts_due_soon_and_breached(world, clock, mfa_client,
                                                        django_capture_on_commit_callbacks):
    late = make_case(world, category="terrorism", title="Late one")          # acknowledge within 1 h
    clock.advance(61 * MINUTE)
    sweep(django_capture_on_commit_callbacks, clock.now)
    soon = make_case(world, category="terrorism", title="Soon one")          # due in 1 h: due soon
    later = make_case(world, category="disinformation", title="Later one")   # due in 24 h
    paused = make_case(world, category="terrorism", state=Status.AWAITING_INFORMATION, title="Paused one")
    for kind in ("acknowledge",):
        assert deadline(late, kind).status == Deadline.State.BREACHED

    for persona in ("manager", "liaison"):
        mfa_client.force_login(getattr(world, persona))
        listing = mfa_client.get(reverse("cases:list")).content.decode()
        assert filter_badge(listing, "due-soon-filter") == 1, persona
        assert filter_badge(listing, "breached-filter") == 1, persona
        due_soon = mfa_client.get(reverse("cases:list"), {"deadline": "due_soon", "status": "open"})
        assert listed_refs(due_soon.content) == {soon.reference}, persona
        breached = mfa_client.get(reverse("cases:list"), {"deadline": "breached", "status": "open"})
        assert listed_refs(breached.content) == {late.reference}, persona
    assert later.reference and paused.reference
    mfa_client.force_login(world.other_liaison)
    listing = mfa_client.get(reverse("cases:list")).content.decode()
    assert filter_badge(listing, "due-soon-filter") == 0 and filter_badge(listing, "breached-filter") == 0
    assert listed_refs(mfa_client.get(reverse("cases:list"), {"deadline": "breached"}).content) == set()


# --- The sweep: reminders and breaches exactly once -----------------------------------------------------------


def test_reminders_at_half_time_and_before_due_then_one_breach_each_exactly_once(
        world, clock, mfa_client, django_capture_on_commit_callbacks):
    case = make_case(world, category="terrorism")  # acknowledge 1 h (short), resolve 4 h
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    ack, resolve = deadline(case, "acknowledge"), deadline(case, "resolve")
    start = case.submitted_at
    mail.outbox.clear()
    # Short deadlines (under 2 h): half time and 15 minutes before; long ones: half time and 1 hour before.
    expected = [
        (29 * MINUTE, []),
        (30 * MINUTE, [(ack, "half")]),
        (44 * MINUTE, []),
        (45 * MINUTE, [(ack, "15m")]),
        (60 * MINUTE, [(ack, "breach")]),
        (2 * HOUR, [(resolve, "half")]),
        (3 * HOUR, [(resolve, "60m")]),
        (4 * HOUR, [(resolve, "breach")]),
        (4 * HOUR + 3 * 24 * HOUR, []),  # three days later: nothing again
    ]
    for offset, signals in expected:
        for _ in range(2):  # the same instant twice
            sweep(django_capture_on_commit_callbacks, start + offset)
        notices = deadline_notices(case)
        for row, point in signals:
            assert notices[f"deadline:{row.pk}:{point}"] == 3, (offset, point)
    assert set(DeadlineSignal.objects.filter(deadline=ack).values_list("point", flat=True)) == {
        "half", "15m", "breach"}
    assert set(DeadlineSignal.objects.filter(deadline=resolve).values_list("point", flat=True)) == {
        "half", "60m", "breach"}
    notices = deadline_notices(case)
    assert len(notices) == 6 and set(notices.values()) == {3}
    # The assignee, the T&S manager and the authority's lead; nobody else.
    people = set(Notification.objects.filter(kind="deadline").values_list("user__email", flat=True))
    assert people == {"rizky@platform.test", "maria@platform.test", "budi@ministry.test"}
    assert len(mail.outbox) == 18
    assert Counter(tuple(m.to) for m in mail.outbox) == {(e,): 6 for e in people}
    assert sum(m.subject.count("BREACHED") for m in mail.outbox) == 6
    assert all(case.reference in m.subject for m in mail.outbox)
    # Each breach is one system entry in the thread, seen by both sides.
    assert case.messages.filter(system_action="deadline.breached", side="").count() == 2
    page = open_page(mfa_client, world.liaison, case)
    assert page.count("deadline was due at") == 2


def test_a_long_gap_gives_one_breach_notice_and_no_stale_reminders(world, clock,
                                                                    django_capture_on_commit_callbacks):
    case = make_case(world, category="hate-speech")  # 4 h / 24 h, nobody swept meanwhile
    ack, resolve = deadline(case, "acknowledge"), deadline(case, "resolve")
    mail.outbox.clear()
    later = case.submitted_at + 3 * 24 * HOUR
    first = sweep(django_capture_on_commit_callbacks, later)
    again = sweep(django_capture_on_commit_callbacks, later)
    assert (first["breaches"], first["reminders"]) == (2, 0)
    assert (again["breaches"], again["reminders"], again["checked"]) == (0, 0, 0)
    for row in (ack, resolve):
        row.refresh_from_db()
        assert (row.status, row.breached_at) == (Deadline.State.BREACHED, row.due_at)
        assert DeadlineSignal.objects.filter(deadline=row, point="breach").count() == 1
    notices = deadline_notices(case)
    assert set(notices) == {f"deadline:{ack.pk}:breach", f"deadline:{resolve.pk}:breach"}
    assert set(notices.values()) == {2}  # manager and lead (no assignee)
    assert len(mail.outbox) == 4


def test_a_gap_over_both_reminder_points_sends_only_the_latest(world, clock, django_capture_on_commit_callbacks):
    case = make_case(world, category="hate-speech")  # acknowledge in 4 h: reminders at 2 h and 3 h
    ack = deadline(case, "acknowledge")
    counts = sweep(django_capture_on_commit_callbacks, case.submitted_at + 3 * HOUR + 30 * MINUTE)
    assert counts["reminders"] == 1
    assert set(deadline_notices(case)) == {f"deadline:{ack.pk}:60m"}
    assert sweep(django_capture_on_commit_callbacks, case.submitted_at + 3 * HOUR + 31 * MINUTE)["reminders"] == 0
    ack.refresh_from_db()
    assert ack.next_check_at == ack.due_at


def test_one_sweep_handles_every_due_deadline_batch_after_batch(world, clock, django_capture_on_commit_callbacks):
    cases = [make_case(world, category="terrorism") for _ in range(4)]  # eight deadlines
    with django_capture_on_commit_callbacks(execute=True):
        counts = sweep_deadlines(now=clock.now + 5 * HOUR, batch=3)
    assert (counts["breaches"], counts["checked"]) == (8, 8)
    assert not Deadline.objects.filter(case__in=cases, status=Deadline.State.OPEN).exists()


def test_the_sweep_reads_only_rows_whose_time_has_come(world, clock, django_assert_max_num_queries):
    for _ in range(5):
        make_case(world, category="disinformation")
    with django_assert_max_num_queries(2):  # the candidate ids, and expiring proposals
        assert sweep_deadlines(now=clock.now + MINUTE)["checked"] == 0


def test_a_sweep_costs_the_same_queries_for_5_or_50_due_deadlines(world, clock,
                                                                  django_capture_on_commit_callbacks):
    """Catching up is batched: the signals, deadlines, audit events, thread entries, notices and e-mails of a batch
    are each read and written together, so the queries depend on the people told, not on the deadlines. (SQLite
    alone splits a bulk INSERT every 999 parameters, as Django writes them there: those extra statements aside.)"""

    def sweep_counting(now) -> tuple[dict[str, int], list[str]]:
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            counts = sweep_deadlines(now=now)
        statements = [q["sql"] for q in queries.captured_queries]
        if connection.vendor == "sqlite":
            statements = [sql for sql in statements if not sql.startswith("INSERT")] + sorted(
                {sql.split("(", 1)[0] for sql in statements if sql.startswith("INSERT")})
        return counts, statements

    few = [make_case(world, category="terrorism") for _ in range(5)]  # acknowledge in 1 h, resolve in 4 h
    counts, five = sweep_counting(clock.now + 61 * MINUTE)  # the five acknowledge deadlines
    assert counts == {"reminders": 0, "breaches": 5, "checked": 5}
    for case in few:
        withdraw_case(case=case, actor=world.liaison, note="Handled elsewhere")
    clock.advance(2 * HOUR)
    many = [make_case(world, category="terrorism") for _ in range(25)]
    mail.outbox.clear()
    counts, fifty = sweep_counting(clock.now + 5 * HOUR)  # both deadlines of each
    assert counts == {"reminders": 0, "breaches": 50, "checked": 50}
    assert len(fifty) == len(five), "\n".join(fifty)
    assert len(mail.outbox) == 50 * 2  # the manager and the lead, for each
    assert Message.objects.filter(case__in=many, system_action="deadline.breached").count() == 50
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sweeps_send_each_reminder_and_breach_once(world: World):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks (SKIP LOCKED) between two connections; CI runs it there")
    cases = [make_case(world, category="terrorism") for _ in range(4)]
    for case in cases[:2]:
        assign_case(actor=world.manager, case=case, assignee=world.moderator)
    mail.outbox.clear()  # what submitting and assigning sent
    start = max(c.submitted_at for c in cases)
    original = deadline_sweep._record_signals

    def slow_signals(pairs):
        time.sleep(0.02)  # widen the window in which both sweeps hold candidates
        return original(pairs)

    with mock.patch.object(deadline_sweep, "_record_signals", slow_signals):
        for offset in (31 * MINUTE, 46 * MINUTE, 61 * MINUTE, 4 * HOUR + MINUTE):
            results = run_together([lambda o=offset: sweep_deadlines(now=start + o)] * 3)
            assert all(isinstance(r, dict) for r in results), results
    ack_ids = set(Deadline.objects.filter(kind="acknowledge").values_list("pk", flat=True))
    signals = Counter(DeadlineSignal.objects.values_list("deadline_id", "point"))
    assert set(signals.values()) == {1}
    points = Counter(point for (_, point) in signals)
    # Acknowledge: half, 15 min before, breach. Resolve (4 h): breach only; its reminders passed unseen.
    assert points["half"] == 4 and points["15m"] == 4
    assert points["breach"] == 8
    assert {d for (d, p) in signals if p == "15m"} == ack_ids
    notices = deadline_notices()
    assert set(notices.values()) <= {2, 3}
    assert sum(notices.values()) == len(mail.outbox)
    # Assigned cases: assignee, manager and lead; the others: manager and lead. Two deadlines each.
    assert sum(1 for m in mail.outbox if "BREACHED" in m.subject) == 2 * 2 * 3 + 2 * 2 * 2
    assert Message.objects.filter(system_action="deadline.breached").count() == 8
    assert verify_chain().ok


def test_the_deadline_panel_carries_its_test_ids(world, clock, mfa_client):
    running = make_case(world, category="terrorism")
    paused = make_case(world, category="terrorism", state=Status.AWAITING_INFORMATION)
    page = open_page(mfa_client, world.manager, running)
    assert 'data-testid="deadline-panel"' in page and 'data-testid="countdown"' in page
    page = open_page(mfa_client, world.manager, paused)
    assert 'data-testid="paused"' in page


# --- The clock summary on the case, which the lists read ----------------------------------------------------


def assert_summary_matches_deadlines(case: Case) -> None:
    case.refresh_from_db()
    running = case.deadlines.filter(status=Deadline.State.OPEN, paused_at__isnull=True).order_by("due_at")
    assert case.next_due_at == (running.first().due_at if running.exists() else None), case.reference
    assert case.has_breached_deadline == case.deadlines.filter(status=Deadline.State.BREACHED).exists()


def test_the_case_clock_summary_follows_every_change_of_its_deadlines(world, clock, django_capture_on_commit_callbacks):
    case = make_case(world, category="terrorism")  # acknowledge in 1 h, resolve in 4 h
    assert_summary_matches_deadlines(case)
    assert case.next_due_at == deadline(case, "acknowledge").due_at
    clock.advance(61 * MINUTE)
    sweep(django_capture_on_commit_callbacks, clock.now)  # the acknowledge deadline is breached
    assert_summary_matches_deadlines(case)
    assert case.has_breached_deadline
    acknowledge_case(case=case, actor=world.moderator)
    assert_summary_matches_deadlines(case)
    request_information(case=case, actor=world.moderator, note="Which posts?")  # resolve clock paused
    assert_summary_matches_deadlines(case)
    assert case.next_due_at is None
    clock.advance(HOUR)
    provide_information(case=case, actor=world.liaison, note="Posts 3 and 4")  # resumed, moved by an hour
    assert_summary_matches_deadlines(case)
    proposal = propose_deadline(actor=world.moderator, case=case, kind="change_due", reason="Large channel",
                                deadline=deadline(case, "resolve"), due_at=clock.now + 10 * HOUR)
    answer_proposal(actor=world.liaison, proposal=proposal, accept=True)
    assert_summary_matches_deadlines(case)
    assert case.next_due_at == clock.now + 10 * HOUR
    waiver = propose_deadline(actor=world.moderator, case=case, kind="waive", reason="Agreed by phone",
                              deadline=deadline(case, "resolve"))
    answer_proposal(actor=world.liaison, proposal=waiver, accept=True)
    assert_summary_matches_deadlines(case)
    assert case.next_due_at is None

    other = make_case(world)
    withdraw_case(case=other, actor=world.liaison, note="Sent by mistake")
    assert_summary_matches_deadlines(other)
