"""A case on the wire: the API writes cases from their rows' values (api.serializers.case_summary / case_detail), and
that must read exactly as the schema's serializers write the same case (same keys in the same order, same values),
for cases with and without an assignee, a queue, a submission, unread messages, an outcome; a retrieve costs the
same few queries whatever the case holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from api.serializers import (
    CASE_DETAIL_COLUMNS,
    CaseDetailSerializer,
    CaseSummarySerializer,
    case_detail,
    case_summary,
)
from cases import permissions
from cases.actions.cases import assign_case
from cases.actions.thread import post_message
from cases.choices import TLP, Status
from cases.queries.inbox import case_row_values, case_rows
from tests.cases.conftest import make_case, unique_targets
from tests.factories import World

pytestmark = pytest.mark.django_db


def varied_cases(world: World) -> list[int]:
    draft = make_case(world, submit=False)  # never submitted: no queue, no times but its creation
    submitted = make_case(world, threat_to_life=True, priority="urgent", targets=unique_targets(5))
    working = make_case(world, state=Status.IN_PROGRESS, language="id")
    assign_case(actor=world.manager, case=working, assignee=world.moderator)
    post_message(actor=world.liaison, case=working, body="Two more channels appeared.")
    post_message(actor=world.moderator, case=working, body="Checking them.", internal=True)
    waiting = make_case(world, state=Status.AWAITING_INFORMATION)
    resolved = make_case(world, state=Status.RESOLVED, tlp=TLP.GREEN)
    theirs = make_case(world, actor=world.other_liaison, state=Status.CLOSED)
    return [case.pk for case in (draft, submitted, working, waiting, resolved, theirs)]


def as_json(data: Any) -> str:
    return json.dumps(data)  # key order included: the wire's bytes, not only equal dicts


@pytest.mark.parametrize("reader", ["liaison", "moderator", "manager", "other_liaison"])
def test_a_case_reads_as_its_serializers_write_it(world: World, reader: str) -> None:
    ids = varied_cases(world)
    user: User = getattr(world, reader)
    visible = set(permissions.cases_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    ids = [pk for pk in ids if pk in visible]
    assert ids
    rows = case_row_values(ids, CASE_DETAIL_COLUMNS, reader=user)
    cases = case_rows(ids, reader=user)
    assert [row["id"] for row in rows] == [case.pk for case in cases] == ids
    for row, case in zip(rows, cases, strict=True):
        case.available_transitions = permissions.available_transitions(user, case)  # type: ignore[attr-defined]
        assert as_json(case_summary(row)) == as_json(CaseSummarySerializer(case).data)
        assert as_json(case_detail(row, case.available_transitions)) == as_json(  # type: ignore[attr-defined]
            CaseDetailSerializer(case).data)


def test_the_written_fields_are_the_schema_s_fields(world: World) -> None:
    ids = varied_cases(world)
    row = case_row_values(ids[:1], CASE_DETAIL_COLUMNS, reader=world.liaison)[0]
    assert list(case_summary(row)) == list(CaseSummarySerializer().fields)
    assert list(case_detail(row, [])) == list(CaseDetailSerializer().fields)


def test_the_api_answers_what_the_serializers_would(world: World, api_as: Any) -> None:
    ids = varied_cases(world)
    api = api_as(world.moderator)
    listed = api.get("/api/v1/cases/?limit=50").json()["results"]
    cases = {case.reference: case for case in case_rows(ids, reader=world.moderator)}
    assert listed and {row["reference"] for row in listed} <= set(cases)
    for row in listed:
        assert as_json(row) == as_json(CaseSummarySerializer(cases[row["reference"]]).data)
        detail = api.get(f"/api/v1/cases/{row['reference']}/").json()
        case = cases[row["reference"]]
        case.available_transitions = permissions.available_transitions(  # type: ignore[attr-defined]
            world.moderator, case)
        assert as_json(detail) == as_json(CaseDetailSerializer(case).data)


@pytest.mark.parametrize("reader", ["liaison", "moderator", "manager"])
def test_a_case_costs_the_same_queries_whatever_it_holds(world: World, api_as: Any, reader: str) -> None:
    small = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(1))
    big = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(60))
    for number in range(5):
        post_message(actor=world.liaison, case=big, body=f"Message {number}")
    api = api_as(getattr(world, reader))
    api.get("/api/v1/cases/")  # the token's first use writes its last-used time
    counts = []
    for case in (small, big):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/api/v1/cases/{case.reference}/")
        assert response.status_code == 200
        counts.append(len(queries))
    # The token with its person, the named cases (the policy's list), the case, its values with its counts; the
    # moves are decided on the instance the policy just read (no query per move).
    assert counts[0] == counts[1] <= 4, counts


def test_the_etag_is_of_the_bytes_sent_and_changes_with_what_the_reader_sees(world: World, api_as: Any) -> None:
    case = make_case(world, state=Status.IN_PROGRESS)
    api = api_as(world.liaison)
    first = api.get(f"/api/v1/cases/{case.reference}/")
    assert first["Content-Type"] == "application/json"
    again = api.get(f"/api/v1/cases/{case.reference}/")
    assert again["ETag"] == first["ETag"] and again.content == first.content
    assert api.get(f"/api/v1/cases/{case.reference}/", **{"If-None-Match": f'W/{first["ETag"]}'}).status_code == 304
    indented = api.get(f"/api/v1/cases/{case.reference}/", Accept="application/json; indent=2")
    assert indented["Content-Type"] == "application/json" and indented.json() == first.json()  # as DRF answers it
    assert indented["ETag"] != first["ETag"]  # other bytes
    post_message(actor=world.moderator, case=case, body="Removed the first channel.")  # one unread message more
    changed = api.get(f"/api/v1/cases/{case.reference}/", **{"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and changed.json()["unread_count"] == first.json()["unread_count"] + 1
    assert changed["ETag"] != first["ETag"]
