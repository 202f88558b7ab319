"""The inbox's "Next" and "Previous" links hold the key of the page's last or first row (signed, bound to the list):
walked from the first page they show every case once, in the list's order, for every sort, and back again; a page
reached by a link costs the queries of the first page at any depth; a cursor that does not prove itself is ignored."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.choices import Status
from cases.models import Case
from cases.queries.keyset import KEYSETS
from tests.factories import World

from .conftest import section
from .test_pages import clone_cases

pytestmark = pytest.mark.django_db

ROW = re.compile(r'href="/cases/([A-Z]{2}-\d{4}-\d{6})/"')


def ordered_refs(page: str) -> list[str]:
    """The references of the table's rows in the order shown."""
    return list(dict.fromkeys(ROW.findall(page)))


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a class="page-link" href="([^"]+)" rel="{rel}">', page)
    return None if found is None else html.unescape(found.group(1))


def signed_in_over(world: World, client, settings, *, cases: int, per_page: int) -> str:
    """The manager signed in over the world's cases and `cases` more, `per_page` a page: the inbox's address."""
    clone_cases(world, cases)
    settings.LIAISON_CASES_PER_PAGE = per_page
    client.force_login(world.manager)
    return reverse("cases:list")


def pages_after(client, url: str, page: str) -> list[str]:
    """The pages (their HTML) reached from `page` by following "Next" links to the last one."""
    pages = []
    while (following := link(page, "next")) is not None:
        page = client.get(url + following).content.decode()
        pages.append(page)
    return pages


def vary_clocks(count: int) -> None:
    """Distinct and tied sort values, and NULLs, in every sorted column: the keys must hold the order through ties."""
    now = timezone.now()
    for n, pk in enumerate(Case.objects.order_by("id").values_list("pk", flat=True)[:count]):
        Case.objects.filter(pk=pk).update(
            submitted_at=None if n % 7 == 0 else now - timedelta(minutes=n % 5),
            next_due_at=None if n % 3 == 0 else now + timedelta(hours=n % 4),
            created_at=now - timedelta(minutes=n % 6), updated_at=now - timedelta(minutes=n % 4))


@pytest.mark.parametrize("sort", sorted(KEYSETS))
def test_next_links_walk_every_case_once_in_order_and_previous_links_walk_back(world: World, mfa_client, settings,
                                                                                sort: str) -> None:
    url = signed_in_over(world, mfa_client, settings, cases=23, per_page=4)
    vary_clocks(40)
    params = {"status": "", "sort": sort}
    whole = []
    for number in range(1, 20):  # the same list read by page numbers (offset): the order to match
        refs = ordered_refs(mfa_client.get(url, {**params, "page": number}).content.decode())
        if not refs:
            break
        whole += refs
    assert len(whole) == Case.objects.count() == len(set(whole))

    first = mfa_client.get(url, params).content.decode()
    later = pages_after(mfa_client, url, first)
    for page in [first, *later[:-1]]:
        assert "cursor=" in (link(page, "next") or "")
    for number, page in enumerate(later, start=2):
        assert f"page {number} of " in section(page, "case-total")
    pages = [ordered_refs(page) for page in [first, *later]]
    assert [ref for refs in pages for ref in refs] == whole
    page = later[-1] if later else first

    back = []
    while (previous := link(page, "prev")) is not None:
        page = mfa_client.get(url + previous).content.decode()
        back.append(ordered_refs(page))
    assert back == pages[-2::-1]


def test_a_page_reached_by_its_link_costs_the_queries_of_the_first_page(world: World, mfa_client, settings,
                                                                        django_assert_max_num_queries) -> None:
    url = signed_in_over(world, mfa_client, settings, cases=30, per_page=3)
    first = mfa_client.get(url, {"status": ""}).content.decode()
    with CaptureQueriesContext(connection) as on_first:
        mfa_client.get(url, {"status": ""})
    first_count = len(on_first.captured_queries)  # read now: the next request empties the log it slices
    page = first
    for _ in range(6):
        page = mfa_client.get(url + link(page, "next")).content.decode()
    deep = url + link(page, "next")
    mfa_client.get(deep)
    assert first_count > 3
    with django_assert_max_num_queries(first_count):
        response = mfa_client.get(deep)
    assert len(ordered_refs(response.content.decode())) == 3


def test_a_case_moved_between_two_pages_neither_repeats_nor_hides_another(world: World, mfa_client,
                                                                        settings) -> None:
    url = signed_in_over(world, mfa_client, settings, cases=12, per_page=4)
    first = mfa_client.get(url, {"status": "", "sort": "oldest"}).content.decode()
    shown = ordered_refs(first)
    everything = set(Case.objects.values_list("reference", flat=True))
    moved = Case.objects.order_by("-created_at", "-id").first()  # the list's last case becomes its first
    earliest = Case.objects.order_by("created_at").first()
    assert moved is not None and earliest is not None and moved.reference not in shown
    Case.objects.filter(pk=moved.pk).update(created_at=earliest.created_at - timedelta(days=1))
    # Read by its number, page 2 would now repeat the first page's last case; read after that case's key it does not.
    assert shown[-1] in ordered_refs(mfa_client.get(url, {"status": "", "sort": "oldest", "page": 2}).content.decode())
    rest = [ref for page in pages_after(mfa_client, url, first) for ref in ordered_refs(page)]
    assert not set(rest) & set(shown) and len(rest) == len(set(rest))
    assert set(shown) | set(rest) == everything - {moved.reference}  # only the moved case, now behind, is not met


@pytest.mark.parametrize("cursor", ["forged", "another-sort", "another-page", "garbage"])
def test_a_cursor_that_does_not_prove_itself_is_ignored(world: World, mfa_client, settings, cursor: str) -> None:
    url = signed_in_over(world, mfa_client, settings, cases=12, per_page=4)
    first = mfa_client.get(url, {"status": ""}).content.decode()
    following = link(first, "next")
    assert following is not None
    real = re.search(r"cursor=([^&]+)", following).group(1)  # type: ignore[union-attr]
    asked, expected = {
        "forged": ({"status": "", "page": 2, "cursor": real[:-3] + "abc"}, {"status": "", "page": 2}),
        "another-sort": ({"status": "", "sort": "reference", "page": 2, "cursor": real},
                         {"status": "", "sort": "reference", "page": 2}),
        "another-page": ({"status": "", "page": 3, "cursor": real}, {"status": "", "page": 3}),
        "garbage": ({"status": "", "page": 2, "cursor": "%%%not-a-cursor"}, {"status": "", "page": 2}),
    }[cursor]
    response = mfa_client.get(url, asked)
    assert response.status_code == 200
    assert ordered_refs(response.content.decode()) == ordered_refs(mfa_client.get(url, expected).content.decode())
    assert ordered_refs(response.content.decode())  # read by its number instead


def test_previous_from_a_page_whose_earlier_cases_left_the_list_shows_the_first_page(world: World, mfa_client,
                                                                                      settings) -> None:
    url = signed_in_over(world, mfa_client, settings, cases=24, per_page=4)
    first = mfa_client.get(url, {"sort": "oldest"}).content.decode()  # open work only
    second = mfa_client.get(url + link(first, "next")).content.decode()
    third = mfa_client.get(url + link(second, "next")).content.decode()
    # The first two pages' cases are resolved meanwhile: they leave the open-work list.
    Case.objects.filter(reference__in=ordered_refs(first) + ordered_refs(second)).update(status=Status.RESOLVED)
    back = mfa_client.get(url + link(third, "prev")).content.decode()
    assert "page 1 of " in section(back, "case-total")
    assert link(back, "prev") is None
    assert ordered_refs(back) == ordered_refs(third)
