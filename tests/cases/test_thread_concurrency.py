"""Posting to one case at once (found by the load test): two people whose read markers each other's post moves
forward, posting at the same moment, both get their message in; neither transaction deadlocks."""

from __future__ import annotations

import pytest

from cases.actions.thread import mark_read, post_message
from cases.choices import Status
from cases.models import Message

from .conftest import make_case, postgresql_only, run_together

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_two_people_posting_to_one_case_at_once_both_succeed(world):
    case = make_case(world, state=Status.IN_PROGRESS)
    people = [world.liaison, world.lead, world.moderator, world.manager]
    for person in people:
        mark_read(user=person, case=case)
    for round_number in range(8):
        results = run_together([
            (lambda person=person, n=round_number: post_message(actor=person, case=case, body=f"round {n} {person.pk}"))
            for person in people])
        assert [r for r in results if isinstance(r, Exception)] == []
    assert Message.objects.filter(case=case, body__startswith="round ").count() == 8 * len(people)
