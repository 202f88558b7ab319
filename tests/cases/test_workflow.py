"""Every transition of the workflow: who may press which button, in which state, with which preconditions,
and what happens when two people press the same button at once."""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from cases import permissions, queries
from cases.actions.cases import (
    acknowledge_case,
    assign_case,
    grant_access,
    provide_information,
    reopen_case,
    request_information,
    resolve_case,
    submit_case,
    transition_case,
    update_case_details,
)
from cases.actions.items import add_items, set_item_outcomes
from cases.choices import PRIORITY_RANK, THREAT_TO_LIFE_RANK, WORKFLOW, Outcome, Priority, Status, Transition
from cases.models import AuditEvent, Case, CaseSequence
from tests.factories import World

from .conftest import (
    PERSONAS,
    decide_all,
    make_case,
    page_messages,
    postgresql_only,
    rows,
    run_together,
    section,
    unique_targets,
)

NOTE = "Reason given in the note"

# The state each transition starts from in the matrix, and who may press it.
SOURCE = {
    Transition.SUBMIT: Status.DRAFT,
    Transition.ACKNOWLEDGE: Status.SUBMITTED,
    Transition.REQUEST_INFORMATION: Status.IN_PROGRESS,
    Transition.PROVIDE_INFORMATION: Status.AWAITING_INFORMATION,
    Transition.RESOLVE: Status.IN_PROGRESS,
    Transition.REOPEN: Status.RESOLVED,
    Transition.CLOSE: Status.RESOLVED,
    Transition.WITHDRAW: Status.SUBMITTED,
}
AUTHORITY_WORKERS = {"liaison", "lead"}
PLATFORM_WORKERS = {"moderator", "manager"}
ALLOWED = {
    Transition.SUBMIT: AUTHORITY_WORKERS,
    Transition.ACKNOWLEDGE: PLATFORM_WORKERS,
    Transition.REQUEST_INFORMATION: PLATFORM_WORKERS,
    Transition.PROVIDE_INFORMATION: AUTHORITY_WORKERS,
    Transition.RESOLVE: PLATFORM_WORKERS,
    Transition.REOPEN: AUTHORITY_WORKERS,
    Transition.CLOSE: AUTHORITY_WORKERS | PLATFORM_WORKERS,
    Transition.WITHDRAW: AUTHORITY_WORKERS,
}
# Who sees a ministry case routed to the ID queue (a draft: the ministry only).
SEES_SUBMITTED = {"liaison", "lead", "authority_auditor", "moderator", "manager", "legal", "auditor"}
SEES_DRAFT = {"liaison", "lead", "authority_auditor"}


def case_in(world: World, state: str, transition: str | None = None) -> Case:
    case = make_case(world, state=state)
    if transition == Transition.RESOLVE:
        decide_all(case, world.manager)
    return case


def expected_outcome(persona: str, transition: str, state: str) -> int:
    sees = SEES_DRAFT if state == Status.DRAFT else SEES_SUBMITTED
    if persona not in sees:
        return 404
    if persona not in ALLOWED[transition]:
        return 403
    return 302


def events(case: Case, action: str) -> int:
    return AuditEvent.objects.filter(case=case, action=action).count()


def post_transition(client, case: Case, transition: str, note: str = NOTE, follow: bool = False, **data):
    return client.post(reverse("cases:transition", args=[case.reference, transition]), {"note": note, **data},
                       follow=follow)


# --- Roles -------------------------------------------------------------------------------------


MATRIX = [(t, SOURCE[t]) for t in SOURCE] + [
    (Transition.WITHDRAW, Status.DRAFT),
    (Transition.WITHDRAW, Status.IN_PROGRESS),
    (Transition.WITHDRAW, Status.AWAITING_INFORMATION),
]


@pytest.mark.django_db
@pytest.mark.parametrize("transition, state", MATRIX)
def test_allowed_roles_succeed_others_get_403_or_404_through_the_page(world, mfa_client, transition, state):
    target = WORKFLOW[transition][1]
    refused = case_in(world, state, transition)
    confirmed = False
    for persona in PERSONAS:
        expected = expected_outcome(persona, transition, state)
        case = case_in(world, state, transition) if expected == 302 else refused
        mfa_client.force_login(getattr(world, persona))
        response = post_transition(mfa_client, case, transition)
        assert response.status_code == expected, persona
        case.refresh_from_db()
        if expected == 302:
            assert case.status == target, persona
            assert events(case, f"case.{transition}") == 1
            if not confirmed:
                page = mfa_client.get(response["Location"])
                assert f"is now {Status(target).label.lower()}" in " ".join(page_messages(page))
                confirmed = True
        else:
            assert case.status == state, persona
            assert events(case, f"case.{transition}") == 0
            if expected == 404:
                assert case.title.encode() not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("transition, state", MATRIX)
def test_allowed_roles_succeed_others_are_refused_by_the_action(world, transition, state):
    refused = case_in(world, state, transition)
    for persona in PERSONAS:
        expected = expected_outcome(persona, transition, state)
        user = getattr(world, persona)
        if expected == 302:
            case = transition_case(case=case_in(world, state, transition), transition=transition, actor=user,
                                           note=NOTE)
            assert case.status == WORKFLOW[transition][1]
            continue
        with pytest.raises(Http404 if expected == 404 else PermissionDenied):
            transition_case(case=refused, transition=transition, actor=user, note=NOTE)
        refused.refresh_from_db()
        assert refused.status == state


@pytest.mark.django_db
def test_the_page_offers_only_the_buttons_a_person_may_press(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS)
    for persona, buttons in {
        "liaison": {"withdraw"},
        "authority_auditor": set(),
        # Resolve is offered while items are pending; pressing it then says what is missing.
        "moderator": {"request_information", "resolve"},
        "legal": set(),
    }.items():
        mfa_client.force_login(getattr(world, persona))
        page = mfa_client.get(case.get_absolute_url()).content.decode()
        for transition in Transition.values:
            assert (f'data-testid="do-{transition}"' in page) is (transition in buttons), (persona, transition)


# --- States ------------------------------------------------------------------------------------


@pytest.fixture
def case_in_every_state(world):
    return {state: make_case(world, state=state, title=f"In state {state}") for state in Status.values}


def allowed_actor(world: World, transition: str):
    return world.liaison if transition in permissions.AUTHORITY_TRANSITIONS else world.manager


@pytest.mark.django_db
def test_wrong_states_are_refused_with_a_clear_message(world, case_in_every_state):
    refused = 0
    for transition, (sources, _target) in WORKFLOW.items():
        for state, case in case_in_every_state.items():
            if state in sources:
                continue
            actor = allowed_actor(world, transition)
            if state == Status.DRAFT and actor == world.manager:
                with pytest.raises(Http404):  # the platform does not see drafts at all
                    transition_case(case=case, transition=transition, actor=actor, note=NOTE)
                continue
            with pytest.raises(permissions.InvalidTransition) as refusal:
                transition_case(case=case, transition=transition, actor=actor, note=NOTE)
            assert f"This case is {Status(state).label.lower()}" in str(refusal.value), (transition, state)
            case.refresh_from_db()
            assert case.status == state
            refused += 1
    assert refused >= 25
    assert not AuditEvent.objects.filter(action__startswith="case.", data__note=NOTE).exists()


@pytest.mark.django_db
def test_wrong_state_through_the_page_gives_a_message_and_changes_nothing(world, case_in_every_state, mfa_client):
    mfa_client.force_login(world.liaison)
    closed = case_in_every_state[Status.CLOSED]
    response = post_transition(mfa_client, closed, Transition.WITHDRAW)
    assert response.status_code == 302
    page = mfa_client.get(response["Location"])
    assert "This case is closed, so “Withdraw” is not possible now." in " ".join(page_messages(page))
    closed.refresh_from_db()
    assert closed.status == Status.CLOSED
    assert events(closed, "case.withdraw") == 0


@pytest.mark.django_db
def test_pressing_the_same_button_twice_gives_one_transition_and_one_clear_message(world, mfa_client):
    case = make_case(world)
    mfa_client.force_login(world.moderator)
    first = mfa_client.post(reverse("cases:transition", args=[case.reference, "acknowledge"]), follow=True)
    assert "is now in progress" in " ".join(page_messages(first))
    second = mfa_client.post(reverse("cases:transition", args=[case.reference, "acknowledge"]), follow=True)
    assert second.status_code == 200
    message = " ".join(page_messages(second))
    assert "This case is in progress" in message
    assert "Someone may have acted on it already" in message
    assert events(case, "case.acknowledge") == 1


@pytest.mark.django_db
def test_unknown_transition_changes_nothing(world, mfa_client):
    case = make_case(world)
    mfa_client.force_login(world.manager)
    page = mfa_client.post(reverse("cases:transition", args=[case.reference, "delete"]), follow=True)
    assert "Unknown action" in " ".join(page_messages(page))
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


@pytest.mark.django_db
def test_transitions_are_post_only(world, mfa_client):
    case = make_case(world)
    mfa_client.force_login(world.manager)
    assert mfa_client.get(reverse("cases:transition", args=[case.reference, "acknowledge"])).status_code == 405
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


# --- Preconditions -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_submit_needs_a_legal_basis(world, mfa_client):
    case = make_case(world, state=Status.DRAFT, legal_basis="  ")
    with pytest.raises(permissions.InvalidTransition, match="legal basis"):
        submit_case(case=case, actor=world.liaison)
    mfa_client.force_login(world.liaison)
    page = post_transition(mfa_client, case, Transition.SUBMIT, follow=True)
    assert "State the legal basis before submitting." in " ".join(page_messages(page))
    case.refresh_from_db()
    assert case.status == Status.DRAFT
    assert case.submitted_at is None


@pytest.mark.django_db
def test_submit_needs_at_least_one_item(world):
    case = make_case(world, state=Status.DRAFT, targets=[])
    with pytest.raises(permissions.InvalidTransition, match="at least one reported item"):
        submit_case(case=case, actor=world.liaison)
    add_items(actor=world.liaison, case=case, rows=rows(unique_targets(1)))
    assert submit_case(case=case, actor=world.liaison).status == Status.SUBMITTED


@pytest.mark.django_db
def test_resolve_needs_every_item_decided(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(3))
    first, *rest = case.items.order_by("position")
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[first.pk], outcome=Outcome.REMOVED)
    with pytest.raises(permissions.InvalidTransition, match="2 item"):
        resolve_case(case=case, actor=world.moderator)
    mfa_client.force_login(world.moderator)
    page = post_transition(mfa_client, case, Transition.RESOLVE, follow=True)
    assert "2 item(s) still have no outcome" in " ".join(page_messages(page))
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[i.pk for i in rest],
                              outcome=Outcome.NO_ACTION_NOT_ILLEGAL, reason="Satire")
    response = post_transition(mfa_client, case, Transition.RESOLVE, outcome_summary="One removed, two not illegal.")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    assert case.resolved_at is not None
    assert case.outcome_summary == "One removed, two not illegal."


@pytest.mark.django_db
@pytest.mark.parametrize("transition, state, actor", [
    (Transition.REQUEST_INFORMATION, Status.IN_PROGRESS, "moderator"),
    (Transition.WITHDRAW, Status.SUBMITTED, "liaison"),
    (Transition.REOPEN, Status.RESOLVED, "lead"),
])
def test_some_transitions_need_a_note(world, mfa_client, transition, state, actor):
    case = make_case(world, state=state)
    with pytest.raises(permissions.InvalidTransition, match="Say why"):
        transition_case(case=case, transition=transition, actor=getattr(world, actor), note="   ")
    mfa_client.force_login(getattr(world, actor))
    page = post_transition(mfa_client, case, transition, note="", follow=True)
    assert "Say why in the note." in " ".join(page_messages(page))
    case.refresh_from_db()
    assert case.status == state
    post_transition(mfa_client, case, transition, note="Here is why")
    case.refresh_from_db()
    assert case.status == WORKFLOW[transition][1]
    assert AuditEvent.objects.get(case=case, action=f"case.{transition}").data["note"] == "Here is why"


# --- Appeal window -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reopen_is_possible_within_the_appeal_window(world, settings):
    settings.LIAISON_APPEAL_WINDOW_DAYS = 14
    case = make_case(world, state=Status.RESOLVED)
    Case.objects.filter(pk=case.pk).update(resolved_at=timezone.now() - timedelta(days=13, hours=23))
    case.refresh_from_db()
    assert reopen_case(case=case, actor=world.liaison, note="Two channels are back").status == Status.IN_PROGRESS


@pytest.mark.django_db
def test_reopen_is_refused_after_the_appeal_window(world, mfa_client, settings):
    settings.LIAISON_APPEAL_WINDOW_DAYS = 14
    case = make_case(world, state=Status.RESOLVED)
    Case.objects.filter(pk=case.pk).update(resolved_at=timezone.now() - timedelta(days=14, minutes=1))
    case.refresh_from_db()
    with pytest.raises(permissions.InvalidTransition, match="appeal window"):
        reopen_case(case=case, actor=world.liaison, note="Too late?")
    mfa_client.force_login(world.liaison)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    assert 'data-testid="do-reopen"' not in page
    assert 'data-testid="do-close"' in page
    response = post_transition(mfa_client, case, Transition.REOPEN, follow=True)
    assert "The appeal window of this case has closed" in " ".join(page_messages(response))
    case.refresh_from_db()
    assert case.status == Status.RESOLVED


@pytest.mark.django_db
def test_the_appeal_window_follows_the_setting_and_the_clock(world, settings):
    settings.LIAISON_APPEAL_WINDOW_DAYS = 2
    case = make_case(world, state=Status.RESOLVED)
    later = timezone.now() + timedelta(days=2, minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        with pytest.raises(permissions.InvalidTransition, match="appeal window"):
            reopen_case(case=case, actor=world.lead, note="Back online")
    settings.LIAISON_APPEAL_WINDOW_DAYS = 3
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert reopen_case(case=case, actor=world.lead, note="Back online").status == Status.IN_PROGRESS


# --- What transitions record -------------------------------------------------------------------


@pytest.mark.django_db
def test_acknowledgement_records_when_it_was_received(world, mfa_client):
    case = make_case(world)
    assert case.acknowledged_at is None
    moment = timezone.now().replace(microsecond=0) + timedelta(minutes=5)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        acknowledge_case(case=case, actor=world.moderator)
    case.refresh_from_db()
    assert case.acknowledged_at == moment
    # Later returns to "in progress" keep the first receipt.
    request_information(case=case, actor=world.moderator, note="Which posts?")
    provide_information(case=case, actor=world.liaison, note="Posts 3 and 4")
    case.refresh_from_db()
    assert case.acknowledged_at == moment
    mfa_client.force_login(world.liaison)
    shown = section(mfa_client.get(case.get_absolute_url()).content, "acknowledged-at")
    assert moment.isoformat() in shown or moment.astimezone(timezone.get_default_timezone()).isoformat() in shown
    assert moment.strftime("%H:%M:%S") + " UTC" in shown


@pytest.mark.django_db
def test_submission_stamps_and_routes_to_the_matching_queue(world, mfa_client):
    ministry = make_case(world, state=Status.DRAFT)
    assert ministry.queue is None and ministry.submitted_at is None
    ministry = submit_case(case=ministry, actor=world.liaison)
    assert ministry.queue == world.queue_id
    assert ministry.submitted_at is not None
    commission = make_case(world, actor=world.other_liaison)
    assert commission.queue == world.queue_my
    # Country beats language: an English-language request from Indonesia still goes to the ID queue.
    english = make_case(world, language="en")
    assert english.queue == world.queue_id
    assert permissions.can_view_case(world.moderator, ministry)
    assert not permissions.can_view_case(world.moderator_my, ministry)
    assert permissions.can_view_case(world.moderator_my, commission)
    mfa_client.force_login(world.manager)
    assert ">ID<" in mfa_client.get(ministry.get_absolute_url()).content.decode().replace(" ", "")


@pytest.mark.django_db
def test_threat_to_life_forces_urgent_and_the_highest_rank(world, mfa_client):
    urgent = make_case(world, category="terrorism", priority=Priority.URGENT, title="Urgent, submitted first")
    life = make_case(world, category="illegal-gambling", priority=Priority.NORMAL, threat_to_life=True,
                     title="Threat to life, submitted later")
    assert life.priority == Priority.URGENT
    assert life.priority_rank == THREAT_TO_LIFE_RANK > PRIORITY_RANK[Priority.URGENT] == urgent.priority_rank
    mfa_client.force_login(world.manager)
    page = mfa_client.get(reverse("cases:list")).content.decode()
    assert page.index(life.reference) < page.index(urgent.reference)
    assert "Threat to life" in page
    # Editing a draft to threat to life makes it urgent too.
    draft = make_case(world, state=Status.DRAFT, priority=Priority.NORMAL, category="privacy")
    draft = update_case_details(actor=world.liaison, case=draft, threat_to_life=True)
    assert (draft.priority, draft.priority_rank) == (Priority.URGENT, THREAT_TO_LIFE_RANK)


@pytest.mark.django_db
def test_each_transition_appears_in_the_audit_log_with_its_note(world):
    case = make_case(world, state=Status.CLOSED)
    actions_seen = list(AuditEvent.objects.filter(case=case, action__startswith="case.")
                        .values_list("action", flat=True))
    # Acknowledging the unassigned case made the manager its assignee, recorded once; resolving it kept them.
    assert actions_seen == ["case.created", "case.submit", "case.acknowledge", "case.assigned", "case.resolve",
                            "case.close"]


# --- Bulk outcomes -------------------------------------------------------------------------------


def decide_url(case: Case) -> str:
    return reverse("cases:decide_items", args=[case.reference])


@pytest.mark.django_db
def test_bulk_outcome_for_many_items_through_the_page(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(6))
    items = list(case.items.order_by("position"))
    mfa_client.force_login(world.moderator)
    chosen = [i.pk for i in items[:4]]

    page = mfa_client.post(decide_url(case), {"items": chosen, "outcome": Outcome.NO_ACTION_NOT_ILLEGAL,
                                              "reason": ""}, follow=True)
    assert "Give a reason for this outcome." in " ".join(page_messages(page))
    assert case.items.filter(outcome=Outcome.PENDING).count() == 6

    page = mfa_client.post(decide_url(case), {"items": chosen, "outcome": Outcome.NO_ACTION_NOT_ILLEGAL,
                                              "reason": "Political satire"}, follow=True)
    assert "Outcome recorded for 4 item(s)." in " ".join(page_messages(page))
    decided = case.items.filter(pk__in=chosen)
    assert {(i.outcome, i.outcome_reason, i.decided_by_id) for i in decided} == {
        (Outcome.NO_ACTION_NOT_ILLEGAL, "Political satire", world.moderator.pk)}
    assert all(i.decided_at for i in decided)
    assert "Political satire" in page.content.decode()

    # Removal needs no reason.
    page = mfa_client.post(decide_url(case), {"items": [i.pk for i in items[4:]], "outcome": Outcome.REMOVED},
                           follow=True)
    assert "Outcome recorded for 2 item(s)." in " ".join(page_messages(page))
    assert not case.items.filter(outcome=Outcome.PENDING).exists()
    assert "6 of 6 decided" in page.content.decode()


@pytest.mark.django_db
def test_bulk_outcome_refuses_items_of_another_case_and_no_selection(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS)
    other = make_case(world, state=Status.IN_PROGRESS)
    mfa_client.force_login(world.manager)
    foreign = other.items.first()
    mfa_client.post(decide_url(case), {"items": [foreign.pk], "outcome": Outcome.REMOVED})
    foreign.refresh_from_db()
    assert foreign.outcome == Outcome.PENDING
    mfa_client.post(decide_url(case), {"items": [], "outcome": Outcome.REMOVED})
    assert not case.items.exclude(outcome=Outcome.PENDING).exists()
    with pytest.raises(ValidationError):
        set_item_outcomes(actor=world.manager, case=case, item_ids=[foreign.pk], outcome=Outcome.REMOVED)


@pytest.mark.django_db
@pytest.mark.parametrize("persona, status", [
    ("liaison", 403), ("authority_auditor", 403), ("legal", 403), ("auditor", 403),
    ("moderator_my", 404), ("other_lead", 404),
])
def test_bulk_outcome_refused_for_people_who_do_not_work_the_case(world, mfa_client, persona, status):
    case = make_case(world, state=Status.IN_PROGRESS)
    mfa_client.force_login(getattr(world, persona))
    response = mfa_client.post(decide_url(case), {"items": list(case.items.values_list("pk", flat=True)),
                                                  "outcome": Outcome.REMOVED})
    assert response.status_code == status
    assert not case.items.exclude(outcome=Outcome.PENDING).exists()


@pytest.mark.django_db
def test_items_are_decided_only_while_in_progress(world):
    case = make_case(world, state=Status.SUBMITTED)
    with pytest.raises(PermissionDenied):
        decide_all(case, world.manager)


# --- Assignment ------------------------------------------------------------------------------------


def assign_url(case: Case) -> str:
    return reverse("cases:assign", args=[case.reference])


@pytest.mark.django_db
def test_manager_assigns_a_moderator(world, mfa_client):
    case = make_case(world)
    mfa_client.force_login(world.manager)
    page = mfa_client.post(assign_url(case), {"assignee": world.moderator.pk}, follow=True)
    assert "Assigned to Rizky Moderator." in " ".join(page_messages(page))
    case.refresh_from_db()
    assert case.assignee == world.moderator
    assert "Rizky Moderator" in section(page.content, "assignee")


@pytest.mark.django_db
def test_moderator_of_the_queue_takes_the_case(world, mfa_client):
    case = make_case(world)
    mfa_client.force_login(world.moderator)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    assert 'data-testid="take"' in page
    mfa_client.post(assign_url(case), {"take": "1"})
    case.refresh_from_db()
    assert case.assignee == world.moderator
    assert AuditEvent.objects.get(case=case, action="case.assigned").side == "platform"


@pytest.mark.django_db
def test_moderator_of_another_queue_cannot_assign(world, mfa_client):
    case = make_case(world)  # the ID queue
    mfa_client.force_login(world.moderator_my)
    assert mfa_client.post(assign_url(case), {"take": "1"}).status_code == 404
    with pytest.raises(Http404):
        assign_case(actor=world.moderator_my, case=case, assignee=world.moderator_my)
    # Even once assigned (and so able to see it), they cannot hand it on.
    assign_case(actor=world.manager, case=case, assignee=world.moderator_my)
    assert mfa_client.post(assign_url(case), {"assignee": world.manager.pk}).status_code == 403
    with pytest.raises(PermissionDenied):
        assign_case(actor=world.moderator_my, case=case, assignee=world.manager)
    case.refresh_from_db()
    assert case.assignee == world.moderator_my


@pytest.mark.django_db
@pytest.mark.parametrize("persona, status", [
    ("liaison", 403), ("lead", 403), ("authority_auditor", 403), ("legal", 403), ("auditor", 403),
    ("other_lead", 404),
])
def test_authority_users_and_readers_cannot_assign(world, mfa_client, persona, status):
    case = make_case(world)
    mfa_client.force_login(getattr(world, persona))
    assert mfa_client.post(assign_url(case), {"assignee": world.moderator.pk}).status_code == status
    assert mfa_client.post(assign_url(case), {"take": "1"}).status_code == status
    case.refresh_from_db()
    assert case.assignee is None
    if status == 403:
        with pytest.raises(PermissionDenied):
            assign_case(actor=getattr(world, persona), case=case, assignee=world.moderator)


@pytest.mark.django_db
def test_only_platform_workers_can_be_assigned(world):
    case = make_case(world)
    for persona in ("liaison", "legal", "auditor"):
        with pytest.raises(ValidationError):
            assign_case(actor=world.manager, case=case, assignee=getattr(world, persona))
    case.refresh_from_db()
    assert case.assignee is None


@pytest.mark.django_db
def test_finished_cases_are_not_assigned(world):
    case = make_case(world, state=Status.CLOSED)
    with pytest.raises(PermissionDenied):
        assign_case(actor=world.manager, case=case, assignee=world.moderator)


@pytest.mark.django_db
def test_assignee_of_a_red_case_must_be_named_first(world):
    """A TLP:RED case is visible only to named people, so assigning someone who cannot open it is refused."""
    from cases.choices import TLP

    red = make_case(world, tlp=TLP.RED)
    with pytest.raises(ValidationError):
        assign_case(actor=world.manager, case=red, assignee=world.moderator)
    grant_access(actor=world.manager, case=red, user=world.moderator, reason="Works the ID queue")
    assign_case(actor=world.manager, case=red, assignee=world.moderator)
    assert permissions.can_view_case(world.moderator, red)



@pytest.mark.django_db
@pytest.mark.parametrize("transition", [Transition.ACKNOWLEDGE, Transition.RESOLVE])
def test_working_an_unassigned_case_makes_it_yours(world, mfa_client, transition):
    """Acknowledging or resolving a case nobody holds assigns it to whoever did it, audited like an assignment,
    so it counts under "Mine"."""
    case = make_case(world, state=SOURCE[transition])
    if transition == Transition.RESOLVE:
        Case.objects.filter(pk=case.pk).update(assignee=None)
        decide_all(case, world.moderator)
    transition_case(case=case, transition=transition, actor=world.moderator)
    case.refresh_from_db()
    assert case.assignee == world.moderator
    event = AuditEvent.objects.filter(case=case, action="case.assigned").latest("pk")
    assert (event.actor, event.side) == (world.moderator, "platform")
    assert event.data["to_email"] == world.moderator.email and event.data["on"] == transition
    assert event.pk > AuditEvent.objects.get(case=case, action=f"case.{transition}").pk
    if transition == Transition.ACKNOWLEDGE:
        assert queries.inbox_counts(world.moderator)["mine"] == 1
        mfa_client.force_login(world.moderator)
        assert "Rizky Moderator" in section(mfa_client.get(case.get_absolute_url()).content, "assignee")


@pytest.mark.django_db
def test_working_a_case_someone_holds_leaves_it_with_them(world):
    case = make_case(world)
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    acknowledge_case(case=case, actor=world.manager)
    decide_all(case, world.manager)
    resolve_case(case=case, actor=world.manager)
    case.refresh_from_db()
    assert case.assignee == world.moderator
    assert AuditEvent.objects.filter(case=case, action="case.assigned").count() == 1


@pytest.mark.django_db
def test_other_moves_do_not_assign(world):
    case = make_case(world, state=Status.IN_PROGRESS)
    Case.objects.filter(pk=case.pk).update(assignee=None)
    request_information(case=case, actor=world.moderator, note=NOTE)
    case.refresh_from_db()
    assert case.assignee is None
    assert not AuditEvent.objects.filter(case=case, action="case.assigned", actor=world.moderator).exists()


# --- Concurrency (PostgreSQL) ------------------------------------------------------------------


def _slowly(original, seconds: float):
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(seconds)  # widen the window between reading the state and writing the change
        return result
    return wrapper


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_people_acknowledging_at_once_yield_exactly_one_transition(world):
    case = make_case(world)
    slow = _slowly(permissions.ensure_can_transition, 0.3)
    with mock.patch.object(permissions, "ensure_can_transition", slow):
        results = run_together([
            lambda: acknowledge_case(case=Case.objects.get(pk=case.pk), actor=world.moderator),
            lambda: acknowledge_case(case=Case.objects.get(pk=case.pk), actor=world.manager),
        ])
    succeeded = [r for r in results if isinstance(r, Case)]
    refused = [r for r in results if isinstance(r, permissions.InvalidTransition)]
    assert len(succeeded) == 1 and len(refused) == 1, results
    assert "This case is in progress" in str(refused[0])
    assert AuditEvent.objects.filter(case=case, action="case.acknowledge").count() == 1
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    from cases.audit import verify_chain

    assert verify_chain().ok


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_case_creation_gives_unique_gap_free_references(world):
    creators = [world.liaison, world.lead] * 4
    original_save = CaseSequence.save

    def slow_save(self, *args, **kwargs):
        time.sleep(0.05)
        return original_save(self, *args, **kwargs)

    with mock.patch.object(CaseSequence, "save", slow_save):
        results = run_together([
            (lambda actor=actor: make_case(world, actor=actor, state=Status.DRAFT)) for actor in creators
        ])
    assert all(isinstance(r, Case) for r in results), results
    references = sorted(r.reference for r in results)
    year = timezone.now().year
    assert references == [f"ID-{year}-{n:06d}" for n in range(1, len(creators) + 1)]
    assert CaseSequence.objects.get(country="ID", year=year).last_number == len(creators)
