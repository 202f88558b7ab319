"""The case page as a work surface: items counted, filtered, searched and paged on the server with the page size a
person chooses; bulk decisions on the ticked items or on all items matching the filter (the count re-checked); the
platform's question with the answer box under it; the report's approval closed while a version is in flight; only
the columns and forms that say something to the viewer; and a constant number of queries however many items."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.actions.cases import assign_case, provide_information, request_information
from cases.actions.items import set_item_outcomes, set_outcome_of_matching_items
from cases.actions.reports import generate_report, request_report
from cases.actions.thread import post_message
from cases.choices import Outcome, Status
from cases.models import AuditEvent, OutcomeReport, ReportedItem
from tests.factories import World

from .conftest import make_case, page_messages, section, unique_targets

pytestmark = pytest.mark.django_db


def rows_in(page: str) -> int:
    return page.count('class="lx-target"')


def worked_case(world: World, count: int = 150):
    """An in-progress case of `count` channels: 100 removed, 3 not illegal, 2 not found, the rest pending."""
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(count, "vol"))
    ids = list(case.items.order_by("position").values_list("pk", flat=True))
    set_item_outcomes(actor=world.moderator, case=case, item_ids=ids[:100], outcome=Outcome.REMOVED)
    set_item_outcomes(actor=world.moderator, case=case, item_ids=ids[100:103],
                      outcome=Outcome.NO_ACTION_NOT_ILLEGAL, reason="Satire")
    set_item_outcomes(actor=world.moderator, case=case, item_ids=ids[103:105],
                      outcome=Outcome.NO_ACTION_NOT_FOUND, reason="Gone")
    return case, ids


def chips(page: str) -> dict[str, str]:
    """Each filter chip's test id and its text ("No action 5")."""
    found = re.findall(r'<a class="lx-chip" href="[^"]*" data-testid="show-([a-z_]+)"[^>]*>(.*?)</a>', page)
    return {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in found}


# --- Filters, search, pages -----------------------------------------------------------------------------------


def test_each_outcome_has_a_chip_with_its_count_and_no_action_groups_its_reasons(world, mfa_client):
    case, _ids = worked_case(world)
    mfa_client.force_login(world.liaison)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    assert chips(page) == {"all": "All 150", "pending": "Pending 45", "decided": "Decided 105",
                           "removed": "Removed 100", "no_action": "No action 5"}
    assert "105 of 150 decided" in section(page, "decided-count")

    declined = mfa_client.get(case.get_absolute_url(), {"show": "no_action"}).content.decode()
    assert rows_in(declined) == 5 and "5 items match." in declined
    # Under "No action", its two reasons, each a chip of its own.
    assert {"no_action_not_illegal": "No action: not illegal 3",
            "no_action_not_found": "No action: not found 2"}.items() <= chips(declined).items()
    not_found = mfa_client.get(case.get_absolute_url(), {"show": Outcome.NO_ACTION_NOT_FOUND}).content.decode()
    assert rows_in(not_found) == 2
    assert 'data-testid="show-no_action" aria-current="true"' in not_found


def test_one_reason_names_the_no_action_chip(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(4, "one"))
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[case.items.first().pk],
                      outcome=Outcome.NO_ACTION_ALREADY_REMOVED, reason="Already gone")
    mfa_client.force_login(world.liaison)
    assert chips(mfa_client.get(case.get_absolute_url()).content.decode())["no_action"] == \
        "No action: already removed 1"


def test_a_chosen_page_size_pages_the_filtered_items_and_links_keep_filter_and_size(world, mfa_client):
    case, ids = worked_case(world)
    mfa_client.force_login(world.moderator)
    url = case.get_absolute_url()
    first = mfa_client.get(url, {"show": "pending", "per_page": "25"}).content.decode()
    assert rows_in(first) == 25
    assert "Showing 1–25 of 45." in first
    assert 'href="?show=pending&amp;per_page=25&amp;items_page=2#items"' in first
    second = mfa_client.get(url, {"show": "pending", "per_page": "25", "items_page": "2"}).content.decode()
    assert rows_in(second) == 20 and "Showing 26–45 of 45." in second
    pending_ids = set(ReportedItem.objects.filter(case=case, outcome=Outcome.PENDING).values_list("pk", flat=True))
    shown = {int(pk) for pk in re.findall(r'name="items" value="(\d+)"', first + second)}
    assert shown == pending_ids
    # Sizes not offered fall back to 100 a page; nonsense never fails.
    assert rows_in(mfa_client.get(url, {"per_page": "7"}).content.decode()) == 100
    for hostile in ("-1", "abc", "99999999999", "<b>"):
        assert mfa_client.get(url, {"per_page": hostile, "show": hostile, "items_page": hostile}).status_code == 200


def test_search_finds_items_by_target_and_number_within_a_filter(world, mfa_client):
    case, ids = worked_case(world)
    target = ReportedItem.objects.get(pk=ids[120]).target
    mfa_client.force_login(world.liaison)
    found = mfa_client.get(case.get_absolute_url(), {"item_q": target.rsplit("/", 1)[-1], "show": "pending"})
    page = found.content.decode()
    assert rows_in(page) == 1 and target in page and "1 item matches." in page
    assert rows_in(mfa_client.get(case.get_absolute_url(), {"item_q": "#121", "show": "removed"}).content.decode()) == 0


# --- Bulk decisions ------------------------------------------------------------------------------------------


def decide(client, case, **data):
    return client.post(reverse("cases:decide_items", args=[case.reference]), data, follow=True)


def test_all_items_matching_the_filter_are_decided_across_pages(world, mfa_client):
    case, _ids = worked_case(world)
    mfa_client.force_login(world.moderator)
    response = decide(mfa_client, case, scope="matching", show="pending", per_page="25", expected="45",
                      outcome=Outcome.REMOVED)
    assert "Outcome recorded for 45 item(s)." in page_messages(response)
    assert not case.items.filter(outcome=Outcome.PENDING).exists()
    assert response.redirect_chain[-1][0].endswith("?show=pending&per_page=25#items")
    event = AuditEvent.objects.filter(case=case, action="items.decided").latest("id")
    assert event.data["count"] == 45 and event.data["matching"] == {"show": "pending", "search": ""}


def test_a_filter_that_now_matches_another_number_changes_nothing(world, mfa_client):
    case, ids = worked_case(world)
    mfa_client.force_login(world.moderator)
    # Someone decided one of the 45 pending items since the page was shown.
    set_item_outcomes(actor=world.manager, case=case, item_ids=[ids[-1]], outcome=Outcome.REMOVED)
    response = decide(mfa_client, case, scope="matching", show="pending", expected="45",
                      outcome=Outcome.NO_ACTION_NOT_ILLEGAL, reason="Lawful")
    assert any("now matches 44 items, not the 45 you saw; nothing was changed" in m
               for m in page_messages(response))
    assert case.items.filter(outcome=Outcome.PENDING).count() == 44
    assert not case.items.filter(outcome=Outcome.NO_ACTION_NOT_ILLEGAL, outcome_reason="Lawful").exists()
    with pytest.raises(Exception, match="nothing was changed"):
        set_outcome_of_matching_items(actor=world.moderator, case=case, show="pending", search="", expected=45,
                                      outcome=Outcome.REMOVED)


def test_ticked_items_are_decided_and_foreign_ids_are_ignored(world, mfa_client):
    case, ids = worked_case(world)
    other = make_case(world, state=Status.IN_PROGRESS)
    mfa_client.force_login(world.moderator)
    foreign = other.items.first().pk
    response = decide(mfa_client, case, scope="ticked", items=[ids[-1], ids[-2], foreign],
                      outcome=Outcome.RESTRICTED, reason="Geo-blocked")
    # A foreign id is not a choice of this case's form: nothing is decided and the person is told.
    assert other.items.get(pk=foreign).outcome == Outcome.PENDING
    assert case.items.filter(outcome=Outcome.RESTRICTED).count() == 0
    assert page_messages(response)
    response = decide(mfa_client, case, scope="ticked", items=[ids[-1], ids[-2]], outcome=Outcome.RESTRICTED,
                      reason="Geo-blocked")
    assert "Outcome recorded for 2 item(s)." in page_messages(response)
    assert case.items.filter(outcome=Outcome.RESTRICTED).count() == 2
    assert "Select at least one item." in page_messages(decide(mfa_client, case, outcome=Outcome.REMOVED))


def test_only_platform_staff_working_the_case_decide(world, mfa_client):
    case, _ids = worked_case(world)
    mfa_client.force_login(world.liaison)
    response = mfa_client.post(reverse("cases:decide_items", args=[case.reference]),
                               {"scope": "matching", "expected": "45", "show": "pending", "outcome": "removed"})
    assert response.status_code == 403
    assert case.items.filter(outcome=Outcome.PENDING).count() == 45


# --- Query budgets -------------------------------------------------------------------------------------------


def queries_of(client, url, data=None, method="get") -> int:
    getattr(client, method)(url, data or {})
    with CaptureQueriesContext(connection) as captured:
        getattr(client, method)(url, data or {})
    return len(captured.captured_queries)


@pytest.mark.parametrize("persona", ["moderator", "liaison", "manager"])
def test_the_items_panel_costs_the_same_queries_at_30_and_300_items(world, mfa_client, persona):
    small, _ = worked_case(world, count=110)
    big, _ = worked_case(world, count=300)
    mfa_client.force_login(getattr(world, persona))
    for view in ({}, {"show": "pending", "per_page": "25", "items_page": "2"}, {"item_q": "vol", "per_page": "250"},
                 {"show": "no_action"}):
        at_small = queries_of(mfa_client, small.get_absolute_url(), view)
        at_big = queries_of(mfa_client, big.get_absolute_url(), view)
        assert at_big <= at_small <= 25, (view, at_small, at_big)


def test_a_case_of_1000_items_costs_the_queries_of_one_of_40(world, mfa_client, django_assert_max_num_queries):
    """The benchmark's two case pages (issue 12): a typical case and one of 1,000 items, with a thread, decided
    items and targets other open cases report too; the page's budget is 25 queries whatever the size."""
    cases = {}
    for size in (40, 1000):
        case = worked_case(world, count=size)[0] if size == 1000 else make_case(
            world, state=Status.IN_PROGRESS, targets=unique_targets(size, "q40"))
        targets = list(case.items.order_by("position").values_list("target", flat=True))
        make_case(world, actor=world.other_liaison, targets=targets[:30])
        make_case(world, actor=world.liaison, targets=targets[30:40])
        for n in range(6):
            post_message(actor=(world.liaison, world.moderator)[n % 2], case=case, body=f"Update {n}, see **#{n}**",
                         internal=n == 5)
        cases[size] = case
    assert cases[1000].items.count() == 1000
    for persona in ("moderator", "manager", "liaison"):
        mfa_client.force_login(getattr(world, persona))
        at_40 = queries_of(mfa_client, cases[40].get_absolute_url())
        mfa_client.get(cases[1000].get_absolute_url())
        with django_assert_max_num_queries(min(at_40, 25)):
            page = mfa_client.get(cases[1000].get_absolute_url()).content.decode()
        assert rows_in(page) == 100 and page.count('data-testid="message"') >= 5, persona


def test_a_bulk_decision_costs_the_same_queries_for_45_and_245_items(world, mfa_client):
    counts = []
    for size in (150, 350):
        case, _ids = worked_case(world, count=size)
        mfa_client.force_login(world.moderator)
        pending = case.items.filter(outcome=Outcome.PENDING).count()
        with CaptureQueriesContext(connection) as captured:
            mfa_client.post(reverse("cases:decide_items", args=[case.reference]),
                            {"scope": "matching", "show": "pending", "expected": str(pending), "outcome": "removed"})
        assert not case.items.filter(outcome=Outcome.PENDING).exists()
        counts.append(len(captured.captured_queries))
    assert counts[1] <= counts[0], counts


# --- What each person sees -----------------------------------------------------------------------------------


def test_columns_and_forms_follow_what_the_viewer_can_do(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(12, "cols"))
    mfa_client.force_login(world.liaison)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    table = section(page, "items-table")
    assert 'id="select-all"' not in table and "lx-item-check" not in table  # the authority decides nothing
    assert 'data-testid="bulk-bar"' not in page
    assert ">Kind<" not in table  # every item is a channel: the column would say nothing
    assert "Every item is of one kind: Channel." in page

    mfa_client.force_login(world.moderator)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    assert page.count('class="form-check-input lx-item-check"') == 12
    assert 'data-testid="bulk-bar"' in page and "All 12 items of the case" in page
    assert "Add items" not in page  # the platform adds no items


def test_the_platforms_question_is_a_card_with_the_answer_box_under_it(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS)
    request_information(case=case, actor=world.moderator, note="Which accounts <b>posted</b> the video?")
    mfa_client.force_login(world.liaison)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    card = page[page.index('data-testid="information-request"'):page.index("</section>",
                                                                            page.index('data-testid="information-request"'))]
    assert "The platform asks for information" in card
    assert "Which accounts &lt;b&gt;posted&lt;/b&gt; the video?" in card
    assert card.index('data-testid="question"') < card.index('name="note"') < card.index(
        'data-testid="do-provide_information"')
    actions = page[page.index('id="actions-heading"'):]
    assert "do-provide_information" not in actions  # it is not also a button among the other actions
    # Withdraw keeps its own box, inside its own disclosure, under its own name.
    withdraw = actions[actions.index("<details"):actions.index("</details>")]
    assert "Why the case is withdrawn (required)" in withdraw and 'data-testid="do-withdraw"' in withdraw

    mfa_client.force_login(world.moderator)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    assert "Waiting for the requesting authority" in page and 'name="note" rows="4"' not in page

    provide_information(case=case, actor=world.liaison, note="Accounts @a and @b.")
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    assert "Information provided" in page and "Accounts @a and @b." in section(page, "answer")


def test_approve_and_sign_waits_while_a_version_is_in_flight_and_asks_first(world, mfa_client):
    case = make_case(world, state=Status.RESOLVED)
    mfa_client.force_login(world.manager)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    button = re.search(r'<button[^>]*data-testid="request-report"[^>]*>', page).group(0)
    assert "disabled" not in button
    assert 'hx-confirm="Sign the outcome report' in page

    report = request_report(actor=world.manager, case=case, language="en", include_thread=False, enqueue=False)
    for url in (case.get_absolute_url(), reverse("cases:reports", args=[case.reference])):
        page = mfa_client.get(url).content.decode()
        button = re.search(r'<button[^>]*data-testid="request-report"[^>]*>', page).group(0)
        assert "disabled" in button and 'aria-describedby="report-wait"' in button
        assert "Version 1 is still being prepared" in section(page, "report-wait")
        assert 'hx-trigger="every 2s"' in page  # the form is polled with the progress, and opens when ready

    generate_report(report_id=report.pk)
    assert OutcomeReport.objects.get(pk=report.pk).status == OutcomeReport.Status.READY
    fragment = mfa_client.get(reverse("cases:reports", args=[case.reference])).content.decode()
    button = re.search(r'<button[^>]*data-testid="request-report"[^>]*>', fragment).group(0)
    assert "disabled" not in button and "hx-trigger" not in fragment


def test_rows_built_in_python_escape_everything(world, mfa_client):
    hostile = '<script>alert("x")</script>'
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(2, "esc"), note=hostile)
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[case.items.first().pk],
                      outcome=Outcome.NO_ACTION_NOT_ILLEGAL, reason=hostile)
    world.moderator.full_name = hostile
    world.moderator.save(update_fields=["full_name"])
    mfa_client.force_login(world.liaison)
    table = section(mfa_client.get(case.get_absolute_url()).content, "items-table")
    assert "<script>" not in table
    assert table.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 4  # two notes, a reason, a name


def test_the_timeline_built_in_python_escapes_everything(world, mfa_client):
    hostile = '<script>alert("x")</script>'
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(2, "tl"))
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[case.items.first().pk],
                      outcome=Outcome.NO_ACTION_NOT_ILLEGAL, reason=hostile)
    world.moderator.full_name = hostile
    world.moderator.save(update_fields=["full_name"])
    mfa_client.force_login(world.liaison)
    timeline = section(mfa_client.get(case.get_absolute_url()).content, "timeline")
    assert "<script>" not in timeline
    assert "Outcome set for 1 item(s): <strong>No action: not illegal</strong>" in timeline
    # The reason, and the name of who decided (as they are called now).
    assert timeline.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 2


def test_pages_read_one_after_another_show_each_their_own_case(world, mfa_client):
    """The page's queries are compiled once per process (cases.kept_statements.run_prepared): each request binds its own
    case, filter and page, so a page read after another never shows the other's items, counts or history."""
    first, _ids = worked_case(world, count=110)
    second = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(3, "other"))
    first_targets = set(first.items.values_list("target", flat=True))
    for person in (world.moderator, world.liaison):
        mfa_client.force_login(person)
        for case, targets, total in ((first, first_targets, "All 110"), (second, set(), "All 3"),
                                     (first, first_targets, "All 110")):
            page = mfa_client.get(case.get_absolute_url(), {"per_page": "250"}).content.decode()
            assert chips(page)["all"] == total
            shown = set(re.findall(r'id="item-target-\d+">([^<]*)<', page))
            assert shown == (targets or set(second.items.values_list("target", flat=True)))
            assert case.reference in page
        # The same filter on two cases: each binds its own case.
        assert rows_in(mfa_client.get(second.get_absolute_url(), {"show": "pending"}).content.decode()) == 3
        assert rows_in(mfa_client.get(first.get_absolute_url(), {"show": "pending"}).content.decode()) == 5
        assert rows_in(mfa_client.get(first.get_absolute_url(), {"show": "removed"}).content.decode()) == 100


def test_the_assignee_select_offers_platform_staff_with_the_assignee_chosen(world, mfa_client):
    """The select's options are built in the view (names escaped); the one assigned is selected, nobody else."""
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(2, "assign"))
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    mfa_client.force_login(world.manager)
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    select = re.search(r'<select name="assignee".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert f'<option value="{world.moderator.pk}" selected>{world.moderator.full_name}</option>' in select
    assert f'<option value="{world.manager.pk}">{world.manager.full_name}</option>' in select
    assert select.count(" selected") == 1 and world.liaison.full_name not in select
