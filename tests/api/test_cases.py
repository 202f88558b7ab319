"""Cases over the API: the inbox's list and filters in cursor pages at a constant query count, a draft with its
items (the web path's rules, a reason per refused row), one case with its ETag, the workflow's moves by the same
actions as the pages; items, outcomes and the thread; problem details, Idempotency-Key, rate limits."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.choices import Outcome, Status
from cases.models import Case, Message, ReportedItem
from tests.cases.conftest import LEGAL_BASIS, make_case, unique_targets
from tests.factories import World

pytestmark = pytest.mark.django_db


def new_case(world: World, **extra: Any) -> dict[str, Any]:
    return {"title": "Channels selling weapons", "category": "hate-speech", "responding_org": world.platform.pk,
            "legal_basis": LEGAL_BASIS, **extra}


def test_the_list_shows_what_the_inbox_shows_and_no_more(world: World, api_as: Any) -> None:
    ours = make_case(world)
    theirs = make_case(world, actor=world.other_liaison)
    listed = {row["reference"] for row in api_as(world.liaison).get("/api/v1/cases/").json()["results"]}
    assert listed == {ours.reference}
    moderator = {row["reference"] for row in api_as(world.moderator).get("/api/v1/cases/").json()["results"]}
    assert moderator == {ours.reference}
    manager = {row["reference"] for row in api_as(world.manager).get("/api/v1/cases/").json()["results"]}
    assert manager == {ours.reference, theirs.reference}


def test_the_inbox_filters_apply(world: World, api_as: Any) -> None:
    draft = make_case(world, submit=False)
    submitted = make_case(world)
    api = api_as(world.liaison)
    assert [r["reference"] for r in api.get("/api/v1/cases/?status=draft").json()["results"]] == [draft.reference]
    found = api.get(f"/api/v1/cases/?q={submitted.reference}").json()["results"]
    assert [r["reference"] for r in found] == [submitted.reference]
    assert api.get("/api/v1/cases/?sort=sideways").status_code == 400


def test_cursor_pages_walk_every_case_once_at_a_constant_query_count(world: World, api_as: Any) -> None:
    for _ in range(7):
        make_case(world)
    api = api_as(world.manager)
    api.get("/api/v1/cases/")  # the token's first use writes its last-used time; later ones within a minute do not
    seen: list[str] = []
    counts = []
    url: str | None = "/api/v1/cases/?limit=3"
    while url:
        with CaptureQueriesContext(connection) as queries:
            body = api.get(url).json()
        counts.append(len(queries))
        seen += [row["reference"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == 7 == len(set(seen))
    assert len(set(counts)) == 1, counts
    for _ in range(30):
        make_case(world, targets=unique_targets(3))
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/v1/cases/?limit=50").json()
    assert len(body["results"]) == 37 and body["total"] == 37 and body["next"] is None
    assert len(queries) == counts[0] - 1  # any size of page costs the same; the whole list in one page: no count


@pytest.mark.parametrize("sort", ["newest", "oldest", "priority", "due", "reference", "updated"])
def test_a_case_created_between_two_pages_neither_repeats_nor_skips_a_row(world: World, api_as: Any,
                                                                          sort: str) -> None:
    before = {make_case(world).reference for _ in range(5)} | {make_case(world, submit=False).reference}
    api = api_as(world.liaison)
    first = api.get(f"/api/v1/cases/?limit=3&sort={sort}").json()
    added = make_case(world).reference  # newest first: it sorts before the cursor, where an offset would shift
    second = api.get(first["next"]).json()
    rest: list[str] = [row["reference"] for row in second["results"]]
    url = second["next"]
    while url:
        page = api.get(url).json()
        rest += [row["reference"] for row in page["results"]]
        url = page["next"]
    shown = [row["reference"] for row in first["results"]] + rest
    assert len(shown) == len(set(shown))  # nothing repeated
    assert before <= set(shown)  # nothing skipped
    assert set(shown) - before <= {added}


@pytest.mark.parametrize("sort", ["priority", "newest", "oldest", "reference", "updated", "due"])
def test_pages_by_cursor_read_as_the_whole_list_in_its_order(world: World, api_as: Any, sort: str) -> None:
    """Ties on every leading column (same priority, same due time, no submission or deadline: NULLs last), so each
    cursor's later ranges are all read: the pages, of any size, are the one list cut in pieces."""
    for _ in range(3):
        make_case(world)
    make_case(world, priority="urgent")
    make_case(world, priority="urgent", threat_to_life=True)
    make_case(world, state=Status.IN_PROGRESS)
    for _ in range(2):
        make_case(world, submit=False)
    api = api_as(world.liaison)
    whole = [row["reference"] for row in api.get(f"/api/v1/cases/?sort={sort}&limit=200").json()["results"]]
    assert len(whole) == 8
    for size in (1, 2, 3):
        shown: list[str] = []
        url: str | None = f"/api/v1/cases/?sort={sort}&limit={size}"
        while url:
            body = api.get(url).json()
            assert body["total"] == 8 and not body["total_is_capped"]
            shown += [row["reference"] for row in body["results"]]
            url = body["next"]
        assert shown == whole, size


def test_a_deep_page_costs_the_queries_of_the_second(world: World, api_as: Any) -> None:
    for _ in range(9):
        make_case(world)
    api = api_as(world.manager)
    api.get("/api/v1/cases/")
    url: str | None = "/api/v1/cases/?limit=2&sort=newest"
    counts = []
    while url:
        with CaptureQueriesContext(connection) as queries:
            body = api.get(url).json()
        counts.append(len(queries))
        url = body["next"]
    assert len(counts) == 5 and len(set(counts)) == 1, counts


def test_a_cursor_of_another_sort_is_refused(world: World, api_as: Any) -> None:
    for _ in range(3):
        make_case(world)
    api = api_as(world.liaison)
    cursor = api.get("/api/v1/cases/?limit=1&sort=newest").json()["next"].split("cursor=")[1].split("&")[0]
    response = api.get(f"/api/v1/cases/?limit=1&sort=oldest&cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_a_forged_cursor_is_refused(world: World, api_as: Any) -> None:
    response = api_as(world.liaison).get("/api/v1/cases/?cursor=abc")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "cursor"


def test_a_case_of_another_authority_is_404(world: World, api_as: Any) -> None:
    theirs = make_case(world, actor=world.other_liaison)
    for path in ("", "items/", "messages/"):
        response = api_as(world.liaison).get(f"/api/v1/cases/{theirs.reference}/{path}")
        assert response.status_code == 404
        assert response.json()["status"] == 404
    assert api_as(world.liaison).post(f"/api/v1/cases/{theirs.reference}/withdraw/",
                                      {"note": "x"}).status_code == 404


def test_a_draft_is_created_with_its_items_and_the_refused_rows_by_line(world: World, api_as: Any) -> None:
    response = api_as(world.liaison).post("/api/v1/cases/", new_case(world, items=[
        {"target": "https://t.me/weapons_market", "note": "main channel"},
        {"target": "not a link at all"},
        {"target": "t.me/s/weapons_market"},
        {"target": "@arms_bazaar"},
    ]))
    assert response.status_code == 201, response.json()
    body = response.json()
    case = Case.objects.get(reference=body["case"]["reference"])
    assert response["Location"] == f"/api/v1/cases/{case.reference}/"
    assert case.status == Status.DRAFT and case.created_by == world.liaison
    assert sorted(case.items.values_list("target", flat=True)) == ["@arms_bazaar", "https://t.me/weapons_market"]
    assert body["intake"]["added"] == 2
    assert [r["line"] for r in body["intake"]["rejected"]] == [2]
    assert body["intake"]["duplicates"] == [{"line": 3, "target": "t.me/s/weapons_market", "first_line": 1}]
    assert body["case"]["item_count"] == 2
    assert body["case"]["created_at"].endswith("Z")


def test_a_pasted_list_works_like_the_web_form(world: World, api_as: Any) -> None:
    response = api_as(world.liaison).post("/api/v1/cases/", new_case(
        world, text="https://t.me/first_channel\tfirst\nhttps://t.me/second_channel,second\n"))
    assert response.status_code == 201
    case = Case.objects.get(reference=response.json()["case"]["reference"])
    assert list(case.items.order_by("position").values_list("note", flat=True)) == ["first", "second"]


def test_invalid_input_is_a_problem_document_with_field_errors(world: World, api_as: Any) -> None:
    api = api_as(world.liaison)
    response = api.post("/api/v1/cases/", new_case(world, title="", territorial_scope=["Indonesia"],
                                                   items=[{"target": "https://t.me/x_channel"}]))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert "title" in fields
    response = api.post("/api/v1/cases/", new_case(world, territorial_scope=["Indonesia"],
                                                   items=[{"target": "https://t.me/x_channel"}]))
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["territorial_scope"]
    nothing = api.post("/api/v1/cases/", new_case(world, items=[{"target": "no link"}]))
    assert nothing.status_code == 422
    assert nothing.json()["errors"][0]["field"] == "items[0].target"
    assert not Case.objects.exists()


def test_the_platform_cannot_open_cases(world: World, api_as: Any) -> None:
    response = api_as(world.manager).post("/api/v1/cases/", new_case(world, items=[{"target": "@x_channel"}]))
    assert response.status_code == 403


def test_the_same_key_creates_one_case_and_replays_its_answer(world: World, api_as: Any) -> None:
    api = api_as(world.liaison)
    body = new_case(world, items=[{"target": "https://t.me/once_only"}])
    first = api.post("/api/v1/cases/", body, **{"Idempotency-Key": "intake-2026-12-03-1"})
    again = api.post("/api/v1/cases/", body, **{"Idempotency-Key": "intake-2026-12-03-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1
    other = api.post("/api/v1/cases/", {**body, "title": "Another"}, **{"Idempotency-Key": "intake-2026-12-03-1"})
    assert other.status_code == 422
    assert other.json()["type"].endswith("idempotency_key_reused")
    assert Case.objects.count() == 1


def test_a_case_has_an_etag_and_answers_304_when_unchanged(world: World, api_as: Any) -> None:
    case = make_case(world, submit=False)
    api = api_as(world.liaison)
    first = api.get(f"/api/v1/cases/{case.reference}/")
    assert first.status_code == 200 and first["ETag"]
    assert first.json()["available_transitions"] == ["submit", "withdraw"]
    unchanged = api.get(f"/api/v1/cases/{case.reference}/", **{"If-None-Match": first["ETag"]})
    assert unchanged.status_code == 304
    api.post(f"/api/v1/cases/{case.reference}/submit/")
    changed = api.get(f"/api/v1/cases/{case.reference}/", **{"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_the_workflow_moves_by_the_same_actions(world: World, api_as: Any) -> None:
    case = make_case(world, submit=False)
    liaison, moderator = api_as(world.liaison), api_as(world.moderator)
    assert liaison.post(f"/api/v1/cases/{case.reference}/submit/").json()["status"] == Status.SUBMITTED
    assert moderator.post(f"/api/v1/cases/{case.reference}/submit/").status_code == 403
    moved = moderator.post(f"/api/v1/cases/{case.reference}/acknowledge/")
    assert moved.json()["status"] == Status.IN_PROGRESS
    assert moved.json()["assignee"]["id"] == world.moderator.pk
    early = moderator.post(f"/api/v1/cases/{case.reference}/resolve/", {"outcome_summary": "Done"})
    assert early.status_code == 409
    assert "still have no outcome" in early.json()["detail"]
    asked = moderator.post(f"/api/v1/cases/{case.reference}/request-information/", {"note": ""})
    assert asked.status_code == 409
    items = [row["id"] for row in moderator.get(f"/api/v1/cases/{case.reference}/items/").json()["results"]]
    decided = moderator.post(f"/api/v1/cases/{case.reference}/items/outcomes/",
                             {"items": items, "outcome": Outcome.REMOVED})
    assert decided.json() == {"decided": len(items)}
    resolved = moderator.post(f"/api/v1/cases/{case.reference}/resolve/", {"outcome_summary": "All removed."})
    assert resolved.status_code == 200
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and case.outcome_summary == "All removed."


def test_outcomes_need_a_reason_unless_removed(world: World, api_as: Any) -> None:
    case = make_case(world, state=Status.IN_PROGRESS)
    item = case.items.first()
    assert item is not None
    refused = api_as(world.manager).post(f"/api/v1/cases/{case.reference}/items/outcomes/",
                                         {"items": [item.pk], "outcome": Outcome.NO_ACTION_NOT_ILLEGAL})
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Give a reason for this outcome."
    assert api_as(world.liaison).post(f"/api/v1/cases/{case.reference}/items/outcomes/",
                                      {"items": [item.pk], "outcome": Outcome.REMOVED}).status_code == 403


def test_items_are_added_in_bulk_with_per_row_errors(world: World, api_as: Any) -> None:
    case = make_case(world)
    existing = case.items.first()
    assert existing is not None
    response = api_as(world.liaison).post(f"/api/v1/cases/{case.reference}/items/", {"items": [
        {"target": existing.target}, {"target": "https://t.me/brand_new"}, {"target": "::"},
    ]})
    assert response.status_code == 201
    assert response.json()["added"] == 1 and response.json()["already_in_case"] == 1
    assert response.json()["rejected"][0]["line"] == 3
    assert ReportedItem.objects.filter(case=case).count() == 3
    listed = api_as(world.liaison).get(f"/api/v1/cases/{case.reference}/items/?search=brand_new").json()
    assert [row["target"] for row in listed["results"]] == ["https://t.me/brand_new"]
    assert api_as(world.moderator).post(f"/api/v1/cases/{case.reference}/items/",
                                        {"items": [{"target": "@x_channel"}]}).status_code == 403


def test_the_thread_reads_since_a_cursor_and_internal_notes_stay_on_their_side(world: World, api_as: Any) -> None:
    case = make_case(world, state=Status.IN_PROGRESS)
    liaison, moderator = api_as(world.liaison), api_as(world.moderator)
    start = liaison.get(f"/api/v1/cases/{case.reference}/messages/").json()["next_since"]
    platform_start = moderator.get(f"/api/v1/cases/{case.reference}/messages/").json()["next_since"]
    posted = liaison.post(f"/api/v1/cases/{case.reference}/messages/", {"body": "Two more channels follow."})
    assert posted.status_code == 201
    note = moderator.post(f"/api/v1/cases/{case.reference}/messages/", {"body": "Check with legal", "internal": True})
    assert note.status_code == 201
    newer = liaison.get(f"/api/v1/cases/{case.reference}/messages/?since={start}").json()
    assert [m["body"] for m in newer["results"]] == ["Two more channels follow."]
    assert liaison.get(f"/api/v1/cases/{case.reference}/messages/?since={newer['next_since']}").json()["results"] == []
    platform = moderator.get(f"/api/v1/cases/{case.reference}/messages/?since={platform_start}").json()
    assert [m["body"] for m in platform["results"]] == ["Two more channels follow.", "Check with legal"]
    assert Message.objects.filter(case=case, body="Check with legal").get().author == world.moderator


def test_too_many_requests_are_refused_with_retry_after(world: World, api_as: Any, settings: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.LIAISON_API_RATE = "3/m"
    api = api_as(world.liaison)
    other = api_as(world.lead)
    statuses = [api.get("/api/v1/cases/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.get("/api/v1/cases/")
    assert refused["Content-Type"] == "application/problem+json"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert other.get("/api/v1/cases/").status_code == 200  # per token
    cache.clear()


def test_a_csv_file_with_its_header_makes_the_items_and_the_names_come_from_the_api(world: World, api_as: Any) -> None:
    api = api_as(world.liaison)
    categories = {row["slug"] for row in api.get("/api/v1/categories/").json()}
    assert "hate-speech" in categories
    platforms = api.get("/api/v1/platforms/").json()
    assert platforms == [{"id": world.platform.pk, "name": world.platform.name, "country": "AE"}]
    csv = "url,note\nhttps://t.me/csv_channel_one,first\nhttps://t.me/csv_channel_two,\"second, with a comma\"\n"
    response = api.post("/api/v1/cases/", new_case(world, csv=csv))
    assert response.status_code == 201, response.json()
    case = Case.objects.get(reference=response.json()["case"]["reference"])
    assert list(case.items.order_by("position").values_list("note", flat=True)) == ["first", "second, with a comma"]
    assert response.json()["intake"]["rejected"] == []
    both = api.post("/api/v1/cases/", new_case(world, csv=csv, text="https://t.me/csv_channel_one"))
    assert both.status_code == 400


def test_kept_answers_are_forgotten_after_their_hours(world: World, api_as: Any, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from api.models import IdempotencyRecord
    from api.tasks import prune_idempotency_records_task

    api = api_as(world.liaison)
    body = new_case(world, items=[{"target": "https://t.me/kept_answer"}])
    assert api.post("/api/v1/cases/", body, **{"Idempotency-Key": "k-1"}).status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=settings.LIAISON_API_IDEMPOTENCY_HOURS + 1))
    assert prune_idempotency_records_task() == 1
    assert not IdempotencyRecord.objects.exists()
