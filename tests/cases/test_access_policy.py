"""Who sees which case: every persona of two authorities and the platform, on the list, the case page and
search; the policy's queryset and its yes/no check agree everywhere."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from accounts import actions as account_actions
from cases import permissions
from cases.actions.cases import assign_case, grant_access, revoke_access, submit_case
from cases.choices import TLP, Status
from cases.models import Case
from tests.factories import World

from .conftest import PERSONAS, listed_refs, make_case, section, unique_targets

pytestmark = pytest.mark.django_db


@dataclass
class Cases:
    ministry_draft: Case
    ministry_submitted: Case
    ministry_in_progress: Case
    ministry_red: Case
    ministry_red_draft: Case
    commission_draft: Case
    commission_submitted: Case
    commission_red: Case

    def all(self) -> dict[str, Case]:
        return dict(vars(self))


# What each persona must see, and nothing else.
EXPECTED = {
    # The ministry's liaison created both RED cases, so is named on them.
    "liaison": {"ministry_draft", "ministry_submitted", "ministry_in_progress", "ministry_red", "ministry_red_draft"},
    "lead": {"ministry_draft", "ministry_submitted", "ministry_in_progress"},
    "authority_auditor": {"ministry_draft", "ministry_submitted", "ministry_in_progress"},
    "other_liaison": {"commission_draft", "commission_submitted", "commission_red"},
    "other_lead": {"commission_draft", "commission_submitted"},
    # Rizky works the ID queue, Sam the MY queue.
    "moderator": {"ministry_submitted", "ministry_in_progress"},
    "moderator_my": {"commission_submitted"},
    # T&S managers are named on RED cases when they are submitted.
    "manager": {"ministry_submitted", "ministry_in_progress", "ministry_red", "commission_submitted",
                "commission_red"},
    "legal": {"ministry_submitted", "ministry_in_progress", "commission_submitted"},
    "auditor": {"ministry_submitted", "ministry_in_progress", "commission_submitted"},
}


EXPECTED_NAMES = tuple(Cases.__dataclass_fields__)
SHARED_TARGET = "https://t.me/shared_everywhere"


@pytest.fixture
def cases(world: World) -> Cases:
    def case(**kwargs) -> Case:
        # Every case names the same channel and has "Operation" in its title, so one search can find them all.
        return make_case(world, targets=[SHARED_TARGET, *unique_targets(1)], **kwargs)

    return Cases(
        ministry_draft=case(state=Status.DRAFT, title="Operation A: ministry draft"),
        ministry_submitted=case(actor=world.lead, title="Operation B: ministry submitted"),
        ministry_in_progress=case(state=Status.IN_PROGRESS, title="Operation C: ministry in progress"),
        ministry_red=case(tlp=TLP.RED, title="Operation D: ministry red"),
        ministry_red_draft=case(tlp=TLP.RED, state=Status.DRAFT, title="Operation E: ministry red draft"),
        commission_draft=case(actor=world.other_liaison, state=Status.DRAFT, title="Operation F: commission draft"),
        commission_submitted=case(actor=world.other_lead, title="Operation G: commission submitted"),
        commission_red=case(actor=world.other_liaison, tlp=TLP.RED, title="Operation H: commission red"),
    )


def visible_names(user, cases: Cases) -> set[str]:
    return {name for name, case in cases.all().items() if case in set(permissions.cases_visible_to(user))}


def assert_policy_agrees(world: World, cases: Cases, extra_users=()) -> None:
    users = [getattr(world, p) for p in PERSONAS] + list(extra_users)
    everything = list(Case.objects.all())
    assert len(everything) >= len(cases.all())
    for user in users:
        listed = set(permissions.cases_visible_to(user).values_list("pk", flat=True))
        for case in everything:
            assert (case.pk in listed) == permissions.can_view_case(user, case), (user.email, case.reference)
    # The set form, used by "who can see this" and @-mentions, names exactly the same people.
    for case in everything:
        by_query = set(permissions.people_who_can_view(case).filter(pk__in=[u.pk for u in users]))
        assert by_query == {u for u in users if permissions.can_view_case(u, case)}, case.reference


def test_each_persona_lists_exactly_its_cases(world, cases, mfa_client):
    wrong = {}
    for persona in PERSONAS:
        mfa_client.force_login(getattr(world, persona))
        response = mfa_client.get(reverse("cases:list"))
        assert response.status_code == 200, persona
        expected = {cases.all()[name].reference for name in EXPECTED[persona]}
        listed = listed_refs(response.content)
        if listed != expected or f"{len(expected)} case" not in response.content.decode():
            wrong[persona] = {"missing": expected - listed, "unexpected": listed - expected}
    assert not wrong


def test_each_persona_opens_exactly_its_cases_and_gets_404_for_the_rest(world, cases, mfa_client):
    wrong = []
    for persona in PERSONAS:
        mfa_client.force_login(getattr(world, persona))
        for name, case in cases.all().items():
            response = mfa_client.get(reverse("cases:detail", args=[case.reference]))
            visible = name in EXPECTED[persona]
            if response.status_code != (200 if visible else 404):
                wrong.append((persona, name, response.status_code))
            if (case.title.encode() in response.content) is not visible:
                wrong.append((persona, name, "title shown" if not visible else "title missing"))
    assert not wrong


def test_search_finds_only_visible_cases(world, cases, mfa_client):
    wrong = []
    searches = {
        "a word of every title": ("operation", set(EXPECTED_NAMES)),
        "a link in every case, spelled differently": ("telegram.me/s/Shared_Everywhere", set(EXPECTED_NAMES)),
        "ministry references": ("ID-", {n for n in EXPECTED_NAMES if n.startswith("ministry")}),
        "commission references": ("MY-", {n for n in EXPECTED_NAMES if n.startswith("commission")}),
    }
    for persona in PERSONAS:
        mfa_client.force_login(getattr(world, persona))
        for what, (query, matching) in searches.items():
            response = mfa_client.get(reverse("cases:list"), {"q": query})
            assert response.status_code == 200
            expected = {cases.all()[name].reference for name in matching & EXPECTED[persona]}
            found = listed_refs(response.content)
            if found != expected:
                wrong.append((persona, what, {"missing": expected - found, "unexpected": found - expected}))
    assert not wrong
    # An exact reference finds that case only for those who see it.
    for persona in ("lead", "moderator", "other_lead"):
        mfa_client.force_login(getattr(world, persona))
        found = listed_refs(mfa_client.get(reverse("cases:list"), {"q": cases.ministry_red.reference}).content)
        assert found == set(), persona


def test_search_by_another_spelling_of_a_link_finds_the_case(world, mfa_client):
    case = make_case(world, targets=["https://t.me/spelled_channel"])
    mfa_client.force_login(world.moderator)
    response = mfa_client.get(reverse("cases:list"), {"q": "telegram.me/s/Spelled_Channel"})
    assert listed_refs(response.content) == {case.reference}


@pytest.mark.parametrize("persona", PERSONAS)
def test_policy_queryset_matches_expected_table(world, cases, persona):
    assert visible_names(getattr(world, persona), cases) == EXPECTED[persona]


def test_forged_or_unknown_reference_is_404(world, cases, mfa_client):
    mfa_client.force_login(world.manager)
    real = cases.ministry_submitted.reference
    forged = [
        "ID-2099-999999",
        real.replace("ID-", "XX-"),
        real + "0",
        real.lower(),
        "ID-2026-000001' OR '1'='1",
        str(cases.ministry_submitted.pk),
        cases.ministry_draft.reference,  # exists, but a draft of an authority
    ]
    for reference in forged:
        assert mfa_client.get(reverse("cases:detail", args=[reference])).status_code == 404, reference
        response = mfa_client.post(reverse("cases:transition", args=[reference, "acknowledge"]))
        assert response.status_code == 404, reference
    with pytest.raises(Http404):
        permissions.get_case_for_user(world.manager, "ID-2099-999999")


def test_drafts_are_visible_only_to_the_requesting_authority(world, cases, mfa_client):
    draft = cases.ministry_draft
    for persona in PERSONAS:
        user = getattr(world, persona)
        sees = user.membership.organization_id == world.ministry.pk
        assert permissions.can_view_case(user, draft) is sees, persona
    # Even naming a platform person on a draft does not show it to them before submission.
    grant_access(actor=world.liaison, case=draft, user=world.manager, reason="Heads-up")
    assert not permissions.can_view_case(world.manager, draft)
    mfa_client.force_login(world.manager)
    assert mfa_client.get(reverse("cases:detail", args=[draft.reference])).status_code == 404
    # Once submitted, the platform sees it.
    submit_case(case=draft, actor=world.liaison)
    assert mfa_client.get(reverse("cases:detail", args=[draft.reference])).status_code == 200


def test_red_case_is_hidden_from_everyone_not_named(world, cases, mfa_client):
    red = cases.ministry_red
    named = {"liaison", "manager"}  # the creator, and T&S managers on submission
    for persona in PERSONAS:
        mfa_client.force_login(getattr(world, persona))
        status = mfa_client.get(reverse("cases:detail", args=[red.reference])).status_code
        assert status == (200 if persona in named else 404), persona
        listing = mfa_client.get(reverse("cases:list"), {"q": red.title})
        assert (red.reference in listed_refs(listing.content)) is (persona in named), persona


def test_red_case_access_panel_names_only_the_named_people(world, cases, mfa_client):
    mfa_client.force_login(world.liaison)
    page = section(mfa_client.get(reverse("cases:detail", args=[cases.ministry_red.reference])).content,
                   "access-panel")
    assert "Named people only" in page
    assert "Dewi Liaison" in page and "Maria Manager" in page
    assert "Rizky Moderator" not in page


@pytest.mark.parametrize("named_by, persona", [
    ("liaison", "lead"),
    ("liaison", "moderator"),
    ("manager", "moderator"),
    ("manager", "legal"),
    ("liaison", "authority_auditor"),
])
def test_a_person_named_on_a_red_case_sees_it(world, cases, mfa_client, named_by, persona):
    red = cases.ministry_red
    user = getattr(world, persona)
    assert not permissions.can_view_case(user, red)
    grant_access(actor=getattr(world, named_by), case=red, user=user, reason="Needs to work on it")
    assert permissions.can_view_case(user, red)
    assert red in permissions.cases_visible_to(user)
    mfa_client.force_login(user)
    assert mfa_client.get(reverse("cases:detail", args=[red.reference])).status_code == 200
    assert red.reference in listed_refs(mfa_client.get(reverse("cases:list")).content)
    # Naming one person shows it to nobody else.
    assert not permissions.can_view_case(world.moderator_my, red)
    assert not permissions.can_view_case(world.auditor, red)


def test_people_of_another_authority_cannot_be_named(world, cases):
    with pytest.raises(ValidationError):
        grant_access(actor=world.liaison, case=cases.ministry_red, user=world.other_liaison,
                             reason="Joint operation")
    assert not permissions.can_view_case(world.other_liaison, cases.ministry_red)


def test_revoking_a_grant_hides_the_red_case_again(world, cases):
    red = cases.ministry_red
    grant_access(actor=world.manager, case=red, user=world.legal, reason="Review")
    assert permissions.can_view_case(world.legal, red)
    revoke_access(actor=world.manager, case=red, user=world.legal)
    assert not permissions.can_view_case(world.legal, red)
    assert red not in permissions.cases_visible_to(world.legal)


def test_queryset_and_check_agree_for_every_persona_and_case(world, cases):
    assert_policy_agrees(world, cases)
    # And after the exceptions: grants, an assignment across queues, every state.
    grant_access(actor=world.liaison, case=cases.ministry_red, user=world.moderator, reason="Work it")
    grant_access(actor=world.manager, case=cases.commission_submitted, user=world.moderator, reason="Help")
    grant_access(actor=world.liaison, case=cases.ministry_draft, user=world.legal, reason="Early look")
    assign_case(actor=world.manager, case=cases.ministry_in_progress, assignee=world.moderator_my)
    for state in (Status.AWAITING_INFORMATION, Status.RESOLVED, Status.CLOSED, Status.WITHDRAWN):
        make_case(world, state=state)
        make_case(world, actor=world.other_liaison, state=state)
    make_case(world, tlp=TLP.RED, state=Status.CLOSED)
    assert_policy_agrees(world, cases)


def test_deactivated_user_sees_nothing(world, cases, mfa_client):
    assert permissions.cases_visible_to(world.liaison).exists()
    account_actions.deactivate_member(actor=world.lead, membership=world.liaison.membership)
    world.liaison.refresh_from_db()
    assert not permissions.cases_visible_to(world.liaison).exists()
    for case in cases.all().values():
        assert not permissions.can_view_case(world.liaison, case)
    mfa_client.force_login(world.liaison)
    response = mfa_client.get(reverse("cases:detail", args=[cases.ministry_submitted.reference]))
    assert response.status_code != 200
    assert cases.ministry_submitted.title.encode() not in response.content
    assert not listed_refs(mfa_client.get(reverse("cases:list"), follow=True).content)


def test_user_whose_membership_ended_sees_nothing(world, cases):
    membership = world.manager.membership
    membership.deactivated_at = membership.created_at
    membership.save()
    world.manager.refresh_from_db()
    assert not permissions.cases_visible_to(world.manager).exists()
    assert not any(permissions.can_view_case(world.manager, c) for c in cases.all().values())
    assert_policy_agrees(world, cases)


def test_moderator_sees_a_case_of_another_queue_once_assigned(world, cases, mfa_client):
    case = cases.ministry_submitted  # routed to the ID queue
    mfa_client.force_login(world.moderator_my)
    url = reverse("cases:detail", args=[case.reference])
    assert mfa_client.get(url).status_code == 404
    assign_case(actor=world.manager, case=case, assignee=world.moderator_my)
    assert mfa_client.get(url).status_code == 200
    assert case.reference in listed_refs(mfa_client.get(reverse("cases:list")).content)
    # Unassigned again, it is gone again.
    assign_case(actor=world.manager, case=case, assignee=None)
    assert mfa_client.get(url).status_code == 404


def test_other_authority_learns_nothing_from_a_case_page_url(world, cases, mfa_client):
    mfa_client.force_login(world.other_lead)
    for case in (cases.ministry_submitted, cases.ministry_draft, cases.ministry_red):
        for url in (
            reverse("cases:detail", args=[case.reference]),
            reverse("cases:transition", args=[case.reference, "withdraw"]),
            reverse("cases:add_items", args=[case.reference]),
            reverse("cases:assign", args=[case.reference]),
            reverse("cases:grant", args=[case.reference]),
        ):
            method = mfa_client.get if url.endswith(f"{case.reference}/") else mfa_client.post
            response = method(url)
            assert response.status_code == 404, url
            assert case.title.encode() not in response.content
    cases.ministry_submitted.refresh_from_db()
    assert cases.ministry_submitted.status == Status.SUBMITTED


def test_moderator_search_by_link_does_not_reveal_another_queue(world, mfa_client):
    target = unique_targets(1)[0]
    hidden = make_case(world, actor=world.other_liaison, targets=[target])
    mfa_client.force_login(world.moderator)
    assert hidden.reference not in listed_refs(mfa_client.get(reverse("cases:list"), {"q": target}).content)
