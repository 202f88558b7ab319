"""Exports of the inbox (issue 16): cases and items as CSV and XLSX, decisions as DSA statements of reasons, short
ones streamed and long ones written by the task through the outbox; on a data set built through the actions, with
the expected files written out by hand."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from cases.actions.cases import acknowledge_case, create_case, submit_case
from cases.actions.items import set_item_outcomes
from cases.actions.thread import post_message
from cases.choices import Outcome, Status
from cases.instants import as_iso
from cases.models import Case, Category
from exports import writers
from exports.actions import purge_expired_exports
from exports.models import ExportJob
from exports.tasks import build_export_task
from outbox.models import OutboxMessage
from tests.cases.conftest import make_case, rows
from tests.factories import World

INTERNAL_NOTE = "PLATFORM-ONLY: the uploader is a known repeat offender"
AUTHORITY_NOTE = "MINISTRY-ONLY: our analyst's remark"
FORMULA_TITLE = '=HYPERLINK("http://evil.example/","click")'
REASON = "+Removed under the terms of service"

pytestmark = pytest.mark.django_db


def _case(world: World, *, title: str, targets: list[str], actor: Any = None, article: str = "",
          note: str = "") -> Case:
    actor = actor or world.liaison
    return create_case(actor=actor, title=title, category=Category.objects.get(slug="terrorism"),
                       responding_org=world.platform, legal_basis="Law 11/2008", legal_article=article,
                       items=rows(targets, note=note))


@pytest.fixture
def data(world: World) -> dict[str, Any]:
    """Ministry: an acknowledged case with a formula as its title and three decided items, and a submitted one; the
    commission: one submitted case. Internal notes on both sides of the first case."""
    first = _case(world, title=FORMULA_TITLE, article="Art. 40(2b)", note="@channel of the group",
                  targets=["https://t.me/alpha_news", "https://t.me/beta_news", "https://t.me/gamma_news"])
    first = submit_case(case=first, actor=world.liaison)
    first = acknowledge_case(case=first, actor=world.manager)
    items = list(first.items.order_by("position", "id"))
    set_item_outcomes(actor=world.manager, case=first, item_ids=[items[0].pk], outcome=Outcome.REMOVED, reason=REASON)
    set_item_outcomes(actor=world.manager, case=first, item_ids=[items[1].pk], outcome=Outcome.RESTRICTED,
                      reason="Restricted in Indonesia")
    set_item_outcomes(actor=world.manager, case=first, item_ids=[items[2].pk],
                      outcome=Outcome.NO_ACTION_NOT_ILLEGAL, reason="Satire")
    post_message(actor=world.manager, case=first, body=INTERNAL_NOTE, internal=True)
    post_message(actor=world.liaison, case=first, body=AUTHORITY_NOTE, internal=True)
    second = submit_case(case=_case(world, title="-1 crowd figures", targets=["https://t.me/delta_news"]),
                         actor=world.liaison)
    other = submit_case(case=_case(world, actor=world.other_liaison, title="Commission's own case",
                                   targets=["https://t.me/epsilon_news"]), actor=world.other_liaison)
    first.refresh_from_db()
    second.refresh_from_db()
    return {"first": first, "second": second, "other": other,
            "items": [i for i in first.items.select_related("decided_by").order_by("position", "id")]}


def export(client: Any, user: Any, what: str, query: str = "") -> Any:
    client.force_login(user)
    return client.post("/exports/", {"export": what, "query": query})


def body_of(response: Any) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    return [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)]


CASE_HEADER = ["Reference", "Title", "Status", "Request type", "Category", "Priority", "Threat to life",
               "Confidentiality", "Requesting authority", "Platform", "Assignee", "Legal basis", "Article",
               "Territorial scope", "Items", "Pending items", "Created (UTC, ISO 8601)", "Submitted (UTC, ISO 8601)",
               "Acknowledged (UTC, ISO 8601)", "Resolved (UTC, ISO 8601)", "Closed (UTC, ISO 8601)",
               "Withdrawn (UTC, ISO 8601)", "Next deadline (UTC, ISO 8601)"]


def expected_cases(data: dict[str, Any]) -> list[list[Any]]:
    first, second = data["first"], data["second"]
    return [
        # The authority's list: newest first.
        [second.reference, "'-1 crowd figures", "Submitted", "Removal", "Terrorism and violent extremism", "Urgent",
         "No", "TLP:AMBER", "Ministry (test)", "Platform (test)", "", "Law 11/2008", "", "ID", 1, 1,
         as_iso(second.created_at), as_iso(second.submitted_at), "", "", "", "", as_iso(second.next_due_at)],
        [first.reference, "'" + FORMULA_TITLE, "In progress", "Removal", "Terrorism and violent extremism",
         "Urgent", "No", "TLP:AMBER", "Ministry (test)", "Platform (test)", "Maria Manager", "Law 11/2008",
         "Art. 40(2b)", "ID", 3, 0, as_iso(first.created_at), as_iso(first.submitted_at),
         as_iso(first.acknowledged_at), "", "", "", as_iso(first.next_due_at)],
    ]


def test_cases_csv_of_the_authority_is_exactly_its_list(world, data, mfa_client):
    got = csv_rows(body_of(export(mfa_client, world.liaison, "cases.csv")))
    assert got[0] == CASE_HEADER
    assert got[1:] == [[str(v) for v in row] for row in expected_cases(data)]


def test_cases_xlsx_holds_the_same_cells_with_text_never_a_formula(world, data, mfa_client):
    response = export(mfa_client, world.liaison, "cases.xlsx")
    got = xlsx_rows(body_of(response))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert got == [CASE_HEADER, *expected_cases(data)]
    sheet = openpyxl.load_workbook(io.BytesIO(body_of(export(mfa_client, world.liaison, "cases.xlsx")))).active
    assert sheet["B3"].data_type == "s" and sheet["B3"].value == "'" + FORMULA_TITLE


def test_items_csv_lists_every_item_with_its_decision(world, data, mfa_client):
    first, second = data["first"], data["second"]
    items = data["items"]
    delta = second.items.get()
    got = csv_rows(body_of(export(mfa_client, world.manager, "items.csv", "status=&sort=reference")))
    assert got[0] == ["Case reference", "Position", "Target", "Kind", "Note", "Outcome", "Reason", "Decided by",
                      "Decided (UTC, ISO 8601)", "Added (UTC, ISO 8601)"]
    mine = [row for row in got[1:] if row[0] in (first.reference, second.reference)]
    assert mine == [
        [first.reference, str(items[0].position), "https://t.me/alpha_news", "Channel", "'@channel of the group",
         "Removed", "'" + REASON, "Maria Manager", as_iso(items[0].decided_at), as_iso(items[0].created_at)],
        [first.reference, str(items[1].position), "https://t.me/beta_news", "Channel", "'@channel of the group",
         "Restricted in the requesting country", "Restricted in Indonesia", "Maria Manager",
         as_iso(items[1].decided_at), as_iso(items[1].created_at)],
        [first.reference, str(items[2].position), "https://t.me/gamma_news", "Channel", "'@channel of the group",
         "No action: not illegal", "Satire", "Maria Manager", as_iso(items[2].decided_at),
         as_iso(items[2].created_at)],
        [second.reference, str(delta.position), "https://t.me/delta_news", "Channel", "", "Pending", "", "", "",
         as_iso(delta.created_at)],
    ]
    # The manager sees every authority's cases: the commission's item is there too, and nothing else.
    assert sorted(row[0] for row in got[1:]) == sorted([first.reference] * 3 + [second.reference,
                                                                                 data["other"].reference])


def expected_statements(data: dict[str, Any]) -> list[dict[str, Any]]:
    first = data["first"]
    removed, restricted = data["items"][0], data["items"][1]
    common = {
        "case_reference": first.reference, "decision_account": None,
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "Art. 40(2b) — Law 11/2008",
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", "category_specification": "",
        "territorial_scope": ["ID"], "content_type": ["CONTENT_TYPE_OTHER"], "content_type_other": "channel",
        "content_date": None, "notice_received_at": as_iso(first.submitted_at),
        "end_date_visibility_restriction": None, "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
        "source_identity": "Ministry (test)", "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED", "platform_name": "Platform (test)",
    }
    return [
        {"puid": f"{first.reference}-{removed.pk}", "content_location": "https://t.me/alpha_news",
         "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"], "illegal_content_explanation": REASON,
         "decision_facts": REASON, "application_date": as_iso(removed.decided_at), **common},
        {"puid": f"{first.reference}-{restricted.pk}", "content_location": "https://t.me/beta_news",
         "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
         "illegal_content_explanation": "Restricted in Indonesia", "decision_facts": "Restricted in Indonesia",
         "application_date": as_iso(restricted.decided_at), **common},
    ]


def test_statements_of_reasons_as_json_one_per_restricting_decision(world, data, mfa_client):
    document = json.loads(body_of(export(mfa_client, world.lead, "decisions.json")))
    assert document["times"] == "UTC, ISO 8601"
    assert document["statements"] == expected_statements(data)  # the "no action" item restricts nothing


def test_statements_of_reasons_as_csv_name_their_attributes(world, data, mfa_client):
    got = csv_rows(body_of(export(mfa_client, world.legal, "decisions.csv", "status=")))
    header = got[0]
    assert header[:3] == ["Statement identifier (puid)", "Case reference (case_reference)", "Content (content_location)"]
    assert "Decision applied (UTC, ISO 8601) (application_date)" in header
    records = [dict(zip(header, row, strict=True)) for row in got[1:]]
    expected = expected_statements(data)
    assert len(records) == 2
    assert records[0]["Decision type (decision_visibility)"] == "DECISION_VISIBILITY_CONTENT_REMOVED"
    assert records[0]["Explanation (illegal_content_explanation)"] == "'" + REASON
    assert records[1]["Territorial scope (territorial_scope)"] == "ID"
    assert records[1]["Statement identifier (puid)"] == expected[1]["puid"]
    assert records[1]["Automated decision (automated_decision)"] == "AUTOMATED_DECISION_NOT_AUTOMATED"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value):
    assert writers.neutralise(value) == "'" + value
    assert csv_rows(b"".join(writers.csv_chunks(["h"], [[value]])))[1] == ["'" + value]


def test_plain_values_and_numbers_are_left_alone():
    assert [writers.neutralise(v) for v in ("ID-2026-000001", "a=b", "", 3, None)] == \
        ["ID-2026-000001", "a=b", "", 3, None]


EVERY_EXPORT = ["cases.csv", "cases.xlsx", "items.csv", "items.xlsx", "decisions.csv", "decisions.json"]


def _text(what: str, data: bytes) -> str:
    if what.endswith(".xlsx"):
        return json.dumps(xlsx_rows(data), default=str)
    return data.decode("utf-8-sig")


@pytest.mark.parametrize("what", EVERY_EXPORT)
def test_an_authority_export_holds_neither_another_authority_cases_nor_internal_notes(world, data, mfa_client, what):
    ministry = _text(what, body_of(export(mfa_client, world.liaison, what, "status=")))
    commission = _text(what, body_of(export(mfa_client, world.other_liaison, what, "status=")))
    assert data["other"].reference not in ministry
    assert data["first"].reference not in commission and data["second"].reference not in commission
    for text in (ministry, commission):
        assert INTERNAL_NOTE not in text and AUTHORITY_NOTE not in text
    if what.startswith("cases"):
        assert data["other"].reference in commission and data["first"].reference in ministry


def test_a_moderator_exports_only_the_cases_of_their_queues(world, data, mfa_client):
    got = csv_rows(body_of(export(mfa_client, world.moderator_my, "cases.csv", "status=")))
    assert [row[0] for row in got[1:]] == [data["other"].reference]


def test_the_export_follows_the_inbox_filters(world, data, mfa_client):
    got = csv_rows(body_of(export(mfa_client, world.manager, "cases.csv", "status=submitted&sort=reference")))
    assert [row[0] for row in got[1:]] == sorted([data["second"].reference, data["other"].reference])
    got = csv_rows(body_of(export(mfa_client, world.manager, "cases.csv", f"q={data['first'].reference}")))
    assert [row[0] for row in got[1:]] == [data["first"].reference]


def test_headers_and_labels_are_in_the_reader_language(world, data, mfa_client):
    world.liaison.preferred_language = "id"
    world.liaison.save(update_fields=["preferred_language"])
    got = csv_rows(body_of(export(mfa_client, world.liaison, "cases.csv")))
    with translation.override("id"):
        from exports.columns import CASE_COLUMNS, headers

        assert got[0] == headers(CASE_COLUMNS)
        assert got[2][2] == str(Status.IN_PROGRESS.label)
    assert got[2][2] != "In progress"  # the catalogue has this label in Bahasa Indonesia


def test_who_may_export_what(world, data, mfa_client, client):
    assert export(mfa_client, world.moderator, "decisions.csv").status_code == 403
    assert export(mfa_client, world.moderator, "cases.csv").status_code == 200
    assert export(mfa_client, world.manager, "cases.pdf").status_code == 400
    assert export(mfa_client, world.manager, "decisions.xlsx").status_code == 400
    assert mfa_client.get("/exports/").status_code == 405
    client.logout()
    assert client.post("/exports/", {"export": "cases.csv"}).status_code == 302


def test_the_inbox_offers_the_exports_with_its_filters(world, data, mfa_client):
    mfa_client.force_login(world.manager)
    page = mfa_client.get("/cases/?status=submitted&q=x").content.decode()
    assert 'action="/exports/"' in page and 'value="status=submitted&amp;q=x"' in page
    assert 'value="decisions.json"' in page
    mfa_client.force_login(world.moderator)
    page = mfa_client.get("/cases/").content.decode()
    assert 'value="cases.xlsx"' in page and 'value="decisions.json"' not in page


def _queries_for(client: Any, user: Any, what: str) -> int:
    client.force_login(user)
    body_of(client.post("/exports/", {"export": what, "query": "status="}))  # the session's first request
    with CaptureQueriesContext(connection) as queries:
        body_of(client.post("/exports/", {"export": what, "query": "status="}))
    return len(queries)


@pytest.mark.parametrize("what", ["cases.csv", "items.xlsx", "decisions.json"])
def test_query_count_does_not_grow_with_the_rows(world, data, mfa_client, what):
    few = _queries_for(mfa_client, world.manager, what)
    for _ in range(12):
        case = make_case(world, state=Status.IN_PROGRESS, category="fraud")
        set_item_outcomes(actor=world.manager, case=case, item_ids=list(case.items.values_list("pk", flat=True)),
                          outcome=Outcome.REMOVED, reason="Scam")
    assert _queries_for(mfa_client, world.manager, what) == few


def test_a_long_export_is_written_by_the_task_and_downloaded_by_its_requester_only(
        world, data, mfa_client, settings, django_capture_on_commit_callbacks):
    settings.LIAISON_EXPORT_STREAM_MAX_ROWS = 2
    mfa_client.force_login(world.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = mfa_client.post("/exports/", {"export": "items.csv", "query": "status="})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{job.token}/"
    assert (job.requester, job.kind, job.format, job.status, job.total, job.done) == \
        (world.manager, "items", "csv", "ready", 5, 5)
    assert job.filters["status"] == "" and job.expires_at > timezone.now() + timedelta(hours=23)
    # The task went through the outbox and marked its row done.
    outbox = OutboxMessage.objects.get(task="exports.tasks.build_export_task")
    assert outbox.done_at is not None

    page = mfa_client.get(f"/exports/{job.token}/")
    assert page.status_code == 200 and f'href="/exports/{job.token}/download/"' in page.content.decode()
    assert 'data-status="ready"' in mfa_client.get(f"/exports/{job.token}/progress/").content.decode()
    download = mfa_client.get(f"/exports/{job.token}/download/")
    assert {"private", "no-store"} <= {part.strip() for part in download["Cache-Control"].split(",")}
    stored = csv_rows(body_of(download))
    settings.LIAISON_EXPORT_STREAM_MAX_ROWS = 5000
    assert stored == csv_rows(body_of(mfa_client.post("/exports/", {"export": "items.csv", "query": "status="})))

    # Nobody else: not another platform person, not the authority.
    for other in (world.legal, world.liaison):
        mfa_client.force_login(other)
        for suffix in ("", "progress/", "download/"):
            assert mfa_client.get(f"/exports/{job.token}/{suffix}").status_code == 404

    # Delivered again, the task writes nothing twice.
    before = (job.file_name, job.finished_at)
    assert build_export_task(job_id=job.pk, outbox_id=outbox.pk) is None
    assert build_export_task(job_id=job.pk) == "skipped"
    job.refresh_from_db()
    assert (job.file_name, job.finished_at) == before

    # Expired: no download, and the hourly purge deletes the file.
    mfa_client.force_login(world.manager)
    assert purge_expired_exports(now=timezone.now() + timedelta(hours=25)) == 1
    job.refresh_from_db()
    assert job.status == "expired" and not default_storage.exists(before[0])
    assert mfa_client.get(f"/exports/{job.token}/download/").status_code == 404
    assert "expired" in mfa_client.get(f"/exports/{job.token}/").content.decode()


def test_progress_is_polled_while_the_export_is_written(world, data, mfa_client, settings):
    settings.LIAISON_EXPORT_STREAM_MAX_ROWS = 2
    mfa_client.force_login(world.manager)
    response = mfa_client.post("/exports/", {"export": "cases.xlsx", "query": "status="})  # task not run: no commit
    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.status == "queued"
    ExportJob.objects.filter(pk=job.pk).update(status="running", total=40, done=10)
    fragment = mfa_client.get(f"/exports/{job.token}/progress/").content.decode()
    assert 'hx-trigger="every 2s"' in fragment and 'value="25"' in fragment and "10 of 40 rows" in fragment


def test_a_killed_worker_export_is_taken_over_once_its_claim_is_stale(world, data, settings):
    from cases.queries import CaseFilters
    from exports.actions import build_export, start_export

    job = start_export(user=world.manager, kind="cases", fmt="xlsx", filters=CaseFilters(status=""), language="en")
    ExportJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now())
    assert build_export(job_id=job.pk) is None  # a live worker has it
    ExportJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.LIAISON_EXPORT_STALE_SECONDS + 1))
    done = build_export(job_id=job.pk)
    assert done is not None and done.status == "ready" and done.total == 3
    assert xlsx_rows(default_storage.open(done.file_name).read())[0] == CASE_HEADER
