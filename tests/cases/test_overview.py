"""The overview page `/`: what needs this person's attention, in columns that say something to them, and what the
server really asks of their sign-in."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cases.choices import Status
from tests.conftest import enrol_totp

from .conftest import listed_refs, make_case, section
from .test_pages import clone_cases, queries_of

pytestmark = pytest.mark.django_db

LONG_TITLE = ("Jaringan saluran propaganda kekerasan ekstremis lintas platform yang menyebarkan seruan serangan "
              "terhadap tempat ibadah di beberapa provinsi")


def column_names(html: str) -> list[str]:
    table = section(html, "attention-table")
    return re.findall(r'<th scope="col">([^<]+)</th>', table)


def test_a_liaison_is_not_told_their_own_ministry_on_every_row(world, mfa_client):
    waiting = make_case(world, state=Status.AWAITING_INFORMATION, title=LONG_TITLE)
    mfa_client.force_login(world.liaison)
    html = mfa_client.get(reverse("home")).content.decode()
    assert listed_refs(section(html, "attention-table")) == {waiting.reference}
    assert column_names(html) == ["Reference", "Title", "Status", "Items", "Assignee", "Next due", "Submitted"]
    assert world.ministry.name not in section(html, "attention-table")
    assert LONG_TITLE in html
    # Each cell names its column, for the stacked layout of a phone.
    assert 'class="lx-c-title" data-label="Title"' in html
    assert 'href="/cases/?status=awaiting_information&amp;sort=updated"' in html


def test_the_platform_sees_which_authority_asks(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS, title=LONG_TITLE)
    mfa_client.force_login(world.manager)
    html = mfa_client.get(reverse("home")).content.decode()
    assert listed_refs(section(html, "attention-table")) == {case.reference}
    assert column_names(html) == ["Reference", "Title", "Status", "Items", "Authority", "Assignee", "Next due",
                                  "Submitted"]
    assert world.ministry.name in section(html, "attention-table")
    assert 'href="/cases/?status=open&amp;sort=due"' in html


def test_the_security_card_says_a_second_factor_is_asked_at_every_login_only_when_it_is(world, client, settings):
    settings.LIAISON_REQUIRE_MFA = False  # the demo of `make run`
    client.force_login(world.liaison)
    card = section(client.get(reverse("home")).content, "mfa-status")
    assert "does not require a second factor, and you have none" in card
    assert "at every login" not in card

    enrol_totp(world.liaison)
    card = section(client.get(reverse("home")).content, "mfa-status")
    assert "You have set up a second factor, so Liaison asks for it at every login" in card

    settings.LIAISON_REQUIRE_MFA = True  # production
    card = section(client.get(reverse("home")).content, "mfa-status")
    assert "Liaison asks for a second factor (an authenticator app or a security key) at every login" in card


@pytest.mark.parametrize("persona", ["manager", "moderator", "liaison"])
def test_overview_queries_do_not_grow_with_cases(world, mfa_client, django_assert_max_num_queries, persona):
    for state in (Status.IN_PROGRESS, Status.AWAITING_INFORMATION):
        make_case(world, state=state)
    mfa_client.force_login(getattr(world, persona))
    few = queries_of(mfa_client, reverse("home"))
    assert few <= 8, few
    clone_cases(world, 200)
    mfa_client.get(reverse("home"))
    with django_assert_max_num_queries(few):
        mfa_client.get(reverse("home"))
