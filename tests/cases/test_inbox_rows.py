"""The inbox's rows read through a statement compiled once per process: each reader still gets their own unread
count (the reader is bound on every run, never baked into the kept SQL), their side's internal notes only, and the
same values as a row freshly built through the ORM."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from cases.actions.thread import mark_read, post_message
from cases.choices import Status
from cases.queries.inbox_rows import case_row_values, case_rows, inbox_rows
from tests.factories import World

from .conftest import make_case

pytestmark = pytest.mark.django_db


def unread(reader: User, case_id: int) -> int:
    return inbox_rows([case_id], reader=reader)[0].unread


def test_each_reader_counts_only_what_they_may_read(world: World) -> None:
    case = make_case(world, state=Status.IN_PROGRESS)
    readers = [world.liaison, world.lead, world.moderator, world.manager]
    for reader in readers:
        mark_read(user=reader, case=case)
    assert [unread(reader, case.pk) for reader in readers] == [0, 0, 0, 0]

    post_message(actor=world.moderator, case=case, body="The first channel is down.")
    post_message(actor=world.manager, case=case, body="Checking the second channel.", internal=True)
    post_message(actor=world.liaison, case=case, body="Thank you.")  # posting reads the thread up to one's post

    # The lead reads both shared messages, not the platform's internal note; the moderator the note and the
    # liaison's message; the manager the liaison's message; the liaison nothing more.
    expected = {world.liaison.pk: 0, world.lead.pk: 2, world.moderator.pk: 2, world.manager.pk: 1}
    assert {reader.pk: unread(reader, case.pk) for reader in readers} == expected
    assert {reader.pk: case_row_values([case.pk], ("reference",), reader=reader)[0]["unread"]
            for reader in readers} == expected

    mark_read(user=world.lead, case=case)
    assert unread(world.lead, case.pk) == 0
    assert unread(world.moderator, case.pk) == 2  # another reader's marker moves nothing


def test_rows_keep_the_order_asked_for_and_agree_with_the_model_rows(world: World) -> None:
    first = make_case(world, state=Status.IN_PROGRESS, targets=["https://t.me/alpha_one", "https://t.me/alpha_two",
                                                                 "https://t.me/alpha_three"])
    second = make_case(world)
    post_message(actor=world.moderator, case=first, body="Looking at it.")
    ids = [second.pk, first.pk, 10**9]  # a case no longer there is left out

    rows = inbox_rows(ids, reader=world.liaison)
    models = case_rows(ids, reader=world.liaison)
    values = case_row_values(ids, ("reference", "status"), reader=world.liaison)
    assert [row.reference for row in rows] == [second.reference, first.reference]
    assert [(row.item_count, row.pending_count, row.unread) for row in rows] == \
        [(case.item_count, case.pending_count, case.unread) for case in models]
    assert [(v["reference"], v["status"], v["item_count"], v["unread"]) for v in values] == \
        [(row.reference, row.status, row.item_count, row.unread) for row in rows]
    assert rows[1].item_count == 3 and rows[1].unread >= 1
    # Without a reader: the same rows, no unread count.
    assert [(row.reference, row.unread) for row in inbox_rows(ids)] == [(second.reference, 0), (first.reference, 0)]
    assert "unread" not in case_row_values(ids, ("reference",))[0]


def test_the_filter_offers_categories_and_authorities_added_after_the_first_page(mfa_client: Any, world: World) -> None:
    """The filter's options are read through statements kept per process: what is added later still shows."""
    from accounts.roles import OrgKind
    from cases.models import Category
    from tests.factories import OrganizationFactory

    client = mfa_client
    client.force_login(world.manager)
    first = client.get("/cases/").content.decode()
    assert "Ministry (test)" in first and "Commission (test)" in first
    Category.objects.create(slug="new-harm", name="A harm added later", name_id="Bahaya yang ditambahkan kemudian")
    OrganizationFactory(name="Agency added later", kind=OrgKind.AUTHORITY, country="TH")
    later = client.get("/cases/?category=new-harm").content.decode()
    assert '<option value="new-harm" selected>A harm added later</option>' in later
    assert "Agency added later" in later


def test_a_row_is_written_in_each_readers_language_and_zone(world: World) -> None:
    """The rows' labels are made once per language and zone in a process: an Indonesian reader in Jakarta and an
    English one in UTC, one after the other and back, each read their own words and clock."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone, translation

    from cases.views import case_rows as views

    case = make_case(world, state=Status.IN_PROGRESS)
    submitted = timezone.now().replace(hour=20, minute=30, second=0, microsecond=0) - timedelta(days=2)
    type(case).objects.filter(pk=case.pk).update(submitted_at=submitted)
    columns = views.Columns(authority=True)

    def row(language: str, zone: str) -> str:
        with translation.override(language), timezone.override(ZoneInfo(zone)):
            return str(views.rows(inbox_rows([case.pk], reader=world.moderator), columns))

    for _ in range(2):
        indonesian, english = row("id", "Asia/Jakarta"), row("en", "UTC")
        assert 'data-label="Judul"' in indonesian and 'data-label="Title"' in english
        assert "03:30" in indonesian and "20:30" in english  # 20:30 UTC is 03:30 the next day in Jakarta
        assert 'data-label="Title"' in row("en", "Asia/Jakarta")  # the same zone, another language


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_rows_countdown_says_what_djangos_timeuntil_says(language: str) -> None:
    """The rows write a deadline's countdown without timeuntil's per-call wrappers under four weeks: the same words
    for every distance, to the second and across month ends."""
    import random
    from datetime import UTC, datetime, timedelta

    from django.utils import timezone, translation
    from django.utils.timesince import timeuntil

    from cases.views import case_rows as views

    chance = random.Random(2026)
    seconds = [0, 1, 59, 60, 61, 3599, 3600, 3660, 86399, 86400, 90000, 604799, 604800, 694800, 2419199, 2419200,
               2419201, 2678400, 40_000_000, -1, -86400]
    seconds += [chance.randrange(-10**5, 4 * 10**6) for _ in range(3000)]
    with translation.override(language):
        labels = views._labels(language, timezone.get_current_timezone(), "/", None)
        for offset in seconds:
            now = datetime(2026, chance.choice([1, 2, 3, 12]), chance.randrange(1, 29), chance.randrange(24),
                           chance.randrange(60), chance.randrange(60), chance.randrange(10**6), tzinfo=UTC)
            due = now + timedelta(seconds=offset, microseconds=chance.randrange(-500_000, 500_000))
            assert views._until(due, now, labels) == timeuntil(due, now), (due, now)
