"""The frame every signed-in page pays (issue 12): the navigation, its bell and badges, and the middleware around
them. What a person sees in it stays the same; its cost does not grow with what they have unread, and reading a
page writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from cases.actions.notifications import notify
from cases.actions.thread import mark_read, post_message
from cases.choices import Status
from cases.models import NotificationKind
from cases.queries import unread_badges
from tests.cases.conftest import make_case
from tests.factories import World

pytestmark = pytest.mark.django_db


def bell_count(client: Any) -> str | None:
    page = client.get(reverse("cases:bell")).content.decode()
    marker = 'data-testid="bell-count">'
    return page.split(marker, 1)[1].split("<", 1)[0] if marker in page else None


def notify_times(user: User, times: int) -> None:
    for n in range(times):
        notify(users=[user], kind=NotificationKind.SHARED_MESSAGE, source_key=f"frame-{n}", case=None,
               title="New message")


def test_the_bell_costs_the_same_queries_however_much_is_unread(world: World, mfa_client: Any) -> None:
    mfa_client.force_login(world.moderator)
    assert bell_count(mfa_client) is None  # the first page also notes the second factor in the session
    with CaptureQueriesContext(connection) as nothing_unread:
        assert bell_count(mfa_client) is None
    notify_times(world.moderator, 150)
    with CaptureQueriesContext(connection) as much_unread:
        assert bell_count(mfa_client) == "99+"
    # The person (with membership and organisation), then both badges in one statement.
    assert len(nothing_unread) == len(much_unread) == 2


def test_reading_pages_writes_nothing(world: World, mfa_client: Any) -> None:
    mfa_client.force_login(world.liaison)
    assert mfa_client.get(reverse("cases:list")).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert mfa_client.get(reverse("cases:list")).status_code == 200
            assert mfa_client.get(reverse("home")).status_code == 200
    statements = [q["sql"].lstrip().upper() for q in queries]
    assert [sql for sql in statements if not sql.startswith(("SELECT", "SAVEPOINT", "RELEASE"))] == []
    assert not any("DJANGO_SESSION" in sql for sql in statements)  # the session is read from its cached copy


def test_badges_count_for_each_person_what_they_may_read(world: World) -> None:
    """The badges' statement is kept per person and visibility: people of both sides asking in turn each get their
    own counts, internal notes only on their author's side."""
    case = make_case(world, state=Status.IN_PROGRESS)
    for person in (world.liaison, world.lead, world.moderator, world.manager):
        mark_read(user=person, case=case)
    post_message(actor=world.liaison, case=case, body="Two more channels")
    post_message(actor=world.liaison, case=case, body="Catatan internal", internal=True)
    post_message(actor=world.moderator, case=case, body="Checked with legal", internal=True)
    notify_times(world.manager, 3)
    for _ in range(2):
        assert unread_badges(world.liaison) == {"unread_notifications": 0, "unread_messages": 0}
        assert unread_badges(world.lead) == {"unread_notifications": 0, "unread_messages": 2}
        assert unread_badges(world.moderator) == {"unread_notifications": 0, "unread_messages": 0}  # posting reads
        assert unread_badges(world.manager) == {"unread_notifications": 3, "unread_messages": 2}
