"""The demo's threads: realistic conversations in English and Indonesian with internal notes on both sides,
seeded once, plus the states the deadline panel should show off (a paused clock, a deadline due soon)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from cases.demo import DEMO_AGREED_TITLE, DEMO_THREADS, seed_cases, seed_threads
from cases.management.commands import seed_demo
from cases.models import Case, Deadline, Message

from .conftest import listed_refs, section

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, User]:
    command = seed_demo.Command()
    orgs = command.seed_organizations()
    command.seed_people(orgs, "demo-password-for-tests")
    people = {u.email: u for u in User.objects.filter(email__in=[p[0] for p in seed_demo.PEOPLE])}
    seed_cases(people, orgs[seed_demo.PLATFORM])
    return people


def test_demo_threads_are_seeded_once(people):
    expected = sum(len(script) for _, _, script in DEMO_THREADS)
    assert seed_threads(people) == expected
    assert seed_threads(people) == 0
    messages = Message.objects.exclude(kind=Message.Kind.SYSTEM)
    assert messages.count() == expected
    shared = messages.filter(kind=Message.Kind.SHARED)
    assert shared.values("case").distinct().count() == len(DEMO_THREADS)
    assert shared.filter(body__contains="Selamat pagi").exists() and shared.filter(body__contains="Good morning").exists()
    # Conversations between the ministries' liaisons and the platform's moderators.
    assert {m.author.email for m in shared} >= {"liaison@ministry-id.example", "moderator@platform.example",
                                                "liaison@ministry-my.example", "moderator-en@platform.example"}
    notes = messages.filter(kind=Message.Kind.INTERNAL)
    assert {n.side for n in notes.filter(body__startswith="Checked with legal")} == {"platform"}
    assert {n.side for n in notes.filter(body__startswith="Catatan internal:")} == {"authority"}
    assert Deadline.objects.filter(title=DEMO_AGREED_TITLE).count() == 1


def test_demo_pages_keep_notes_on_their_side_and_show_the_clocks(people, mfa_client):
    seed_threads(people)
    attack = Case.objects.get(title=DEMO_THREADS[0][1])
    liaison, moderator = people["liaison@ministry-id.example"], people["moderator@platform.example"]
    mfa_client.force_login(liaison)
    page = mfa_client.get(attack.get_absolute_url()).content.decode()
    assert "Kasus ini <strong>mendesak</strong>" in page and "Densus 88" in page  # the authority's own note
    assert "Checked with legal" not in page and "credible threat" not in page
    # The deadline agreed in the thread is due soon (the demo people read Indonesian: marked by its style),
    # and the inbox's filter finds the case.
    panel = section(page, "deadline-panel")
    assert DEMO_AGREED_TITLE in panel and "lx-deadline-soon" in panel
    mfa_client.force_login(people["manager@platform.example"])
    due_soon = mfa_client.get(reverse("cases:list"), {"deadline": "due_soon", "status": "open"})
    assert attack.reference in listed_refs(due_soon.content)

    mfa_client.force_login(moderator)
    page = mfa_client.get(attack.get_absolute_url()).content.decode()
    assert "Checked with legal" in page and "Densus 88" not in page
    awaiting = Case.objects.get(title=DEMO_THREADS[1][1])
    assert awaiting.status == "awaiting_information"
    page = mfa_client.get(awaiting.get_absolute_url()).content.decode()
    assert 'data-testid="paused"' in section(page, "deadline-panel")
