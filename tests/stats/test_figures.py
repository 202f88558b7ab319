"""Every dashboard figure on the hand-built data set (tests/stats/conftest.py), for the platform and for each
authority, through the policy's scope and the one figures query."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from cases import queries
from cases.choices import Outcome, Priority, Status
from cases.permissions.figures import can_view_figures, cases_counted_for, figures_scope
from stats.figures import Figures, Group, Period, figures
from stats.models import CaseFigures
from stats.percentiles import native
from stats.summary import refresh_case_figures
from tests.cases.conftest import make_case

from .conftest import Built

pytestmark = pytest.mark.django_db

MARCH_APRIL = Period(date(2026, 3, 1), date(2026, 4, 30))
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))


def of(person, period: Period = MARCH_APRIL, **kwargs) -> Figures:
    scope = figures_scope(person)
    assert scope is not None
    return figures(scope, period, **kwargs)


def counts(group: Group) -> dict[str, object]:
    return {"cases": group.cases, "items": group.items,
            "outcomes": {k: v for k, v in group.outcomes.items() if v},
            "acknowledge": (group.acknowledge_met, group.acknowledge_breached),
            "resolve": (group.resolve_met, group.resolve_breached),
            "acknowledge_s": (group.acknowledge_median, group.acknowledge_p90),
            "resolve_s": (group.resolve_median, group.resolve_p90)}


PLATFORM = {"cases": 6, "items": 13,
            "outcomes": {Outcome.REMOVED: 7, Outcome.RESTRICTED: 1, Outcome.NO_ACTION_NOT_ILLEGAL: 1,
                         Outcome.PENDING: 4},
            "acknowledge": (2, 2), "resolve": (2, 1),
            # acknowledged in 1,800 / 3,600 / 7,200 / 18,000 s; resolved in 10,800 (A1, 2 h paused) / 36,000 / 72,000 s
            "acknowledge_s": (5400.0, 14760.0), "resolve_s": (36000.0, 64800.0)}
MINISTRY = {"cases": 4, "items": 8,
            "outcomes": {Outcome.REMOVED: 3, Outcome.RESTRICTED: 1, Outcome.NO_ACTION_NOT_ILLEGAL: 1,
                         Outcome.PENDING: 3},
            "acknowledge": (2, 1), "resolve": (2, 0),
            "acknowledge_s": (3600.0, 15120.0), "resolve_s": (41400.0, 65880.0)}
COMMISSION = {"cases": 2, "items": 5, "outcomes": {Outcome.REMOVED: 4, Outcome.PENDING: 1},
              "acknowledge": (0, 1), "resolve": (0, 1),
              "acknowledge_s": (7200.0, 7200.0), "resolve_s": (36000.0, 36000.0)}


def test_the_platform_sees_every_received_case_and_none_of_the_drafts(world, built: Built):
    result = of(world.manager)
    assert counts(result.total) == PLATFORM
    assert result.total.acknowledge_on_time == 0.5
    assert result.total.resolve_on_time == pytest.approx(2 / 3)
    for reader in (world.legal, world.auditor):
        assert counts(of(reader).total) == PLATFORM


def test_each_authority_sees_its_own_figures(world, built: Built):
    for person in (world.liaison, world.lead, world.authority_auditor):
        assert counts(of(person).total) == MINISTRY
    for person in (world.other_liaison, world.other_lead):
        assert counts(of(person).total) == COMMISSION
    assert of(world.lead).total.acknowledge_on_time == pytest.approx(2 / 3)
    assert of(world.lead).total.resolve_on_time == 1.0


def test_an_authority_sees_what_the_platform_sees_for_it_by_the_same_query(world, built: Built):
    for person, authority in ((world.lead, world.ministry), (world.other_lead, world.commission)):
        own, platforms = of(person), of(world.manager, authority_id=authority.pk)
        assert counts(own.total) == counts(platforms.total)
        for dimension in ("authority", "category", "queue", "month"):
            assert [(g.key, counts(g)) for g in own.by[dimension]] == \
                [(g.key, counts(g)) for g in platforms.by[dimension]], dimension
        assert own.open_work == platforms.open_work
    # The platform's breakdown by authority carries the same rows.
    by_authority = {g.key: counts(g) for g in of(world.manager).by["authority"]}
    assert by_authority == {world.ministry.pk: MINISTRY, world.commission.pk: COMMISSION}


def test_no_authority_sees_another_authoritys_figures(world, built: Built):
    for person, other in ((world.lead, world.commission), (world.other_liaison, world.ministry)):
        result = of(person)
        assert other.pk not in {g.key for g in result.by["authority"]}
        # Asking for the other authority within one's own scope finds nothing.
        assert of(person, authority_id=other.pk).total.cases == 0
    assert set(cases_counted_for(world.lead).values_list("reference", flat=True)) == {
        built.cases[name].reference for name in ("A1", "A2", "A3", "A4")}


def test_moderators_count_their_queues(world, built: Built):
    assert counts(of(world.moderator).total) == MINISTRY  # Indonesia's queue
    assert counts(of(world.moderator_my).total) == COMMISSION


def test_breakdowns_by_category_queue_and_month(world, built: Built):
    result = of(world.manager)
    by_category = {g.label: (g.cases, g.items) for g in result.by["category"]}
    assert by_category == {"Terrorism and violent extremism": (2, 7), "Hate speech": (3, 5),
                           "Disinformation": (1, 1)}
    assert {g.label: g.cases for g in result.by["queue"]} == {"ID": 4, "MY": 2}
    assert [(g.key, g.cases, g.items) for g in result.by["month"]] == [
        (date(2026, 3, 1), 5, 12), (date(2026, 4, 1), 1, 1)]
    terrorism = next(g for g in result.by["category"] if g.label.startswith("Terrorism"))
    # A1 (3 h, paused 2 h excluded) and B1 (10 h): median 6.5 h.
    assert terrorism.resolve_median == 23400.0 and terrorism.acknowledge_median == 4500.0


def test_the_period_counts_cases_by_the_day_they_were_received(world, built: Built):
    march = of(world.manager, MARCH)
    assert (march.total.cases, march.total.items) == (5, 12)
    assert [g.key for g in march.by["month"]] == [date(2026, 3, 1)]
    assert of(world.manager, Period(date(2026, 3, 3), date(2026, 3, 3))).total.cases == 1  # A3
    assert of(world.manager, Period(date(2025, 1, 1), date(2025, 12, 31))).total.cases == 0


def test_durations_exclude_the_pause(world, built: Built):
    a1 = built.cases["A1"]
    row = CaseFigures.objects.get(case=a1)
    assert (row.acknowledge_seconds, row.resolve_seconds) == (1800, 3 * 3600)  # 5 h wall clock, 2 h paused
    # Mar 2 for the ministry: A1 (3 h once the pause is taken out, not 5 h) and A2 (20 h).
    march_2 = figures(Q(requesting_org_id=a1.requesting_org_id), Period(date(2026, 3, 2), date(2026, 3, 2)))
    assert (march_2.total.cases, march_2.total.resolve_median) == (2, (3 * 3600 + 20 * 3600) / 2)


def test_open_work_by_state_and_priority_due_soon_and_breached(world, built: Built):
    result = of(world.manager)
    work = result.open_work
    assert work.by_state_priority == {(Status.IN_PROGRESS, Priority.HIGH): 1, (Status.SUBMITTED, Priority.NORMAL): 1}
    assert (work.total, work.due_soon, work.breached) == (2, 2, 1)
    # The inbox counts the same open work the same way.
    inbox = queries.inbox_counts(world.manager)
    assert (inbox["open"], inbox["due_soon"], inbox["breached"]) == (work.total, work.due_soon, work.breached)
    assert of(world.other_lead).open_work.total == 0


def test_the_summary_follows_later_changes(world, built: Built, clock):
    from cases.actions.cases import acknowledge_case

    acknowledge_case(case=built.cases["A4"], actor=world.manager)  # at NOW: 23 h after submission
    assert of(world.manager).total.acknowledge_met == 2  # not yet refreshed
    refresh_case_figures()
    result = of(world.manager)
    assert (result.total.acknowledge_met, result.total.acknowledge_breached) == (3, 2)
    assert CaseFigures.objects.get(case=built.cases["A4"]).acknowledge_seconds == 23 * 3600
    assert refresh_case_figures() == 0  # nothing new


def test_who_may_see_figures(world, django_assert_num_queries):
    people = (world.liaison, world.lead, world.authority_auditor, world.other_lead, world.moderator, world.manager,
              world.legal, world.auditor)
    for person in people:
        assert can_view_figures(person) == (figures_scope(person) is not None) is True
    with django_assert_num_queries(0):  # the navigation asks on every page
        assert all(can_view_figures(person) for person in people)


def test_the_figures_cost_the_same_queries_for_few_or_many_cases(world, built: Built, clock):
    scope = figures_scope(world.manager)
    assert scope is not None

    with CaptureQueriesContext(connection) as few:
        figures(scope, MARCH_APRIL)
    for _ in range(5):
        make_case(world, state=Status.RESOLVED)
    refresh_case_figures()
    with CaptureQueriesContext(connection) as many:
        figures(scope, Period(date(2026, 3, 1), date(2026, 4, 30)))
    # 13 on PostgreSQL (the summary's version; percentiles inside the grouped queries; the transaction setting
    # work_mem: 3), 20 elsewhere (a ranked query per duration).
    assert len(many) == len(few) <= (13 if native() else 20)


def test_figures_are_computed_once_per_version_of_the_summary(world, built: Built, clock):
    scope = figures_scope(world.manager)
    assert scope is not None
    first = figures(scope, MARCH_APRIL)
    with CaptureQueriesContext(connection) as again:
        second = figures(scope, MARCH_APRIL)
    assert counts(second.total) == counts(first.total) == PLATFORM
    assert len(again) == 2  # the summary's version and the open work (counted live)
    # Another reader's scope is another entry: the ministry's figures are not the platform's.
    assert counts(of(world.lead).total) == MINISTRY


def test_figures_are_computed_when_the_cache_is_down(world, built: Built, clock):
    from unittest import mock

    scope = figures_scope(world.manager)
    assert scope is not None
    with mock.patch("stats.summary.cache.get", side_effect=ConnectionError("Redis is down")), \
            mock.patch("stats.summary.cache.set", side_effect=ConnectionError("Redis is down")):
        assert counts(figures(scope, MARCH_APRIL).total) == PLATFORM
