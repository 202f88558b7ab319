"""The case list's statements are built once per process and run again with each request's values (cases.queries.case_pages):
a kept page and total follow new cases and the clock, a cursor's values are bound afresh, one person's statement
never answers for another, and every kept answer is the one the ORM gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from cases import queries
from cases.choices import Status
from cases.models import Case
from cases.queries import case_pages, keyset
from cases.queries.inbox import CaseFilters
from cases.queries.keyset import KEYSETS
from tests.cases.conftest import make_case
from tests.factories import World

pytestmark = pytest.mark.django_db


def references(api: Any, url: str) -> tuple[list[str], int]:
    body = api.get(url).json()
    return [row["reference"] for row in body["results"]], body["total"]


def walk(api: Any, url: str | None) -> list[str]:
    seen: list[str] = []
    while url:
        body = api.get(url).json()
        seen += [row["reference"] for row in body["results"]]
        url = body["next"]
    return seen


def test_a_kept_page_and_total_follow_new_cases(world: World, api_as: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(queries.inbox, "COUNT_CAP", 3)
    for _ in range(4):
        make_case(world)
    api = api_as(world.manager)
    url = "/api/v1/cases/?limit=2&sort=newest&status=submitted"
    first, total = references(api, url)
    assert len(first) == 2 and total == 3 and api.get(url).json()["total_is_capped"]
    newest = make_case(world)
    assert references(api, url) == ([newest.reference, first[0]], 3)
    monkeypatch.setattr(queries.inbox, "COUNT_CAP", 10)
    assert references(api, url)[1] == 5
    Case.objects.filter(pk=newest.pk).update(status=Status.IN_PROGRESS)  # out of the filter
    assert references(api, url) == (first, 4)


def test_a_kept_statement_is_built_once_and_binds_each_cursor(world: World, api_as: Any, monkeypatch: Any) -> None:
    for _ in range(7):
        make_case(world)
    api = api_as(world.manager)
    whole = walk(api, "/api/v1/cases/?limit=3&sort=oldest")
    assert len(whole) == 7 and len(set(whole)) == 7

    monkeypatch.setattr(case_pages, "keyset_query", built_again)
    assert walk(api, "/api/v1/cases/?limit=3&sort=oldest") == whole


def test_the_deadline_filters_follow_the_clock_through_kept_statements(world: World, api_as: Any,
                                                                      monkeypatch: Any) -> None:
    case = make_case(world)
    make_case(world)
    started = timezone.now()
    Case.objects.filter(pk=case.pk).update(next_due_at=started + timedelta(hours=3))
    api = api_as(world.manager)

    def listed(at: Any) -> tuple[list[str], list[str]]:
        monkeypatch.setattr(timezone, "now", lambda: at)
        return (references(api, "/api/v1/cases/?deadline=due_soon&limit=1")[0],
                references(api, "/api/v1/cases/?deadline=breached&limit=1")[0])

    for _ in range(2):  # the second time through the kept statements
        assert listed(started) == ([], [])
        assert listed(started + timedelta(hours=2)) == ([case.reference], [])
        assert listed(started + timedelta(hours=4)) == ([case.reference], [case.reference])


def test_one_persons_kept_statement_never_answers_for_another(world: World, api_as: Any) -> None:
    ours = [make_case(world) for _ in range(3)]
    theirs = [make_case(world, actor=world.other_liaison) for _ in range(3)]
    expected = {
        "liaison": {case.reference for case in ours},
        "other_liaison": {case.reference for case in theirs},
        "moderator": {case.reference for case in ours},  # the ID queue's
        "moderator_my": {case.reference for case in theirs},  # the MY queue's
        "manager": {case.reference for case in ours + theirs},
    }
    for _ in range(2):
        for name, wanted in expected.items():
            api = api_as(getattr(world, name))
            for sort in ("priority", "newest", "due", "reference"):
                shown = walk(api, f"/api/v1/cases/?limit=2&sort={sort}")
                assert sorted(shown) == sorted(wanted), (name, sort)
                body = api.get(f"/api/v1/cases/?limit=1&sort={sort}").json()
                assert body["total"] == len(wanted), (name, sort)


def built_again(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("not through the kept statement")


@pytest.mark.parametrize("sort", sorted(KEYSETS))
def test_kept_pages_and_totals_are_the_orms(world: World, sort: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = "https://t.me/kept_statement_channel"
    for n in range(9):
        case = make_case(world, priority=["urgent", "normal", "high"][n % 3], title=f"Judi {n} 100%_off",
                         targets=[f"https://t.me/kept_{n}", *([shared] if n % 3 else [])])
        if n % 2:
            Case.objects.filter(pk=case.pk).update(next_due_at=timezone.now() + timedelta(hours=n))
    make_case(world, actor=world.other_liaison)
    make_case(world, submit=False)
    keys = KEYSETS[sort]
    reference = Case.objects.order_by("id").values_list("reference", flat=True)[2]
    searches = ["judi", "100%_", "t.me/kept_statement_channel", "@kept_4", reference, reference[:6], "nothing-like-it"]
    for person in (world.liaison, world.moderator, world.manager):
        for filters in (CaseFilters(sort=sort), CaseFilters(sort=sort, status="open", priority="urgent"),
                        CaseFilters(sort=sort, deadline="due_soon"), CaseFilters(sort=sort, assignee="none"),
                        *(CaseFilters(sort=sort, q=q) for q in searches)):
            qs = queries.filtered_cases(person, filters)
            for kept_already in (False, True):  # built, then run from the kept statements only
                after = None
                while True:
                    orm, orm_total = keyset.keyset_rows(qs, keys, after, 3), queries.capped_count(qs)
                    with monkeypatch.context() as patched:
                        if kept_already:
                            for name in ("keyset_query", "keyset_rows"):
                                patched.setattr(case_pages, name, built_again)
                            patched.setattr(queries, "capped_count", built_again)
                        kept, total = case_pages.case_page(person, filters, keys, after, 3)
                        assert kept == orm, (person, filters, after)
                        assert total() == orm_total
                    if len(orm) < 3:
                        break
                    after = [orm[-1][key.field] for key in keys]
