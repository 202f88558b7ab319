"""A hand-built data set for the figures, made through the real actions on a controlled clock, with the answers
computed by hand (the docstring of `built`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from cases.actions.cases import (
    acknowledge_case,
    provide_information,
    request_information,
    resolve_case,
    withdraw_case,
)
from cases.actions.items import set_item_outcomes
from cases.choices import TLP, Outcome, Status
from cases.models import Case
from stats.summary import refresh_case_figures
from tests.cases.conftest import make_case
from tests.factories import World

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# When the open work is counted: A4's acknowledgement falls due within the hour, A3's resolve clock is past due.
NOW = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def at(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Figures are cached per version of the summary; a rolled-back test database can give the next test the same
    version, so each test starts with an empty cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock() -> Iterator[Clock]:
    fake = Clock()
    with mock.patch("django.utils.timezone.now", side_effect=lambda: fake.now):
        yield fake


def decide(case: Case, actor, outcomes: list[str]) -> None:
    items = list(case.items.order_by("position", "id").values_list("pk", flat=True))
    for pk, outcome in zip(items, outcomes, strict=True):
        set_item_outcomes(actor=actor, case=case, item_ids=[pk], outcome=outcome,
                          reason="" if outcome == Outcome.REMOVED else "Checked")


@dataclass
class Built:
    cases: dict[str, Case]
    targets: list[str]


TARGETS = {name: [f"https://t.me/figures_{name.lower()}_{n}" for n in range(count)]
           for name, count in {"A1": 3, "A2": 2, "A3": 2, "A4": 1, "B1": 4, "B2": 1, "D1": 2}.items()}


def build(world: World, clock: Clock) -> Built:
    """The ministry (ID, Dewi) sends A1-A4 and keeps D1 as a draft; the commission (MY, Aisyah) sends B1, B2.
    SLA: terrorism urgent 1 h / 4 h, hate speech high 4 h / 24 h, disinformation normal 24 h / 72 h.

    A1 terrorism, Mar 2 09:00, TLP:RED: acknowledged after 30 min (met); information asked at +1 h, given at +3 h
       (resolve clock paused 2 h); resolved at +5 h: 5 h − 2 h = 3 h (met, due moved to +6 h). Items: removed,
       removed, restricted.
    A2 hate speech, Mar 2 10:00: acknowledged at +5 h (breached, 4 h); resolved at +20 h (met). Items: not illegal,
       removed.
    A3 hate speech, Mar 3 09:00: acknowledged at +1 h (met); still in progress (resolve due Mar 4 09:00: breached by
       NOW). Items pending.
    A4 disinformation, Apr 1 09:00: not acknowledged (due Apr 2 09:00: due soon at NOW). One item pending.
    B1 terrorism, Mar 2 12:00: acknowledged at +2 h (breached), resolved at +10 h (breached). Items all removed.
    B2 hate speech, Mar 5 09:00: withdrawn after 1 h (deadlines cancelled). One item pending.
    D1: a draft, never counted.
    """
    cases: dict[str, Case] = {}
    manager = world.manager

    clock.at(START)
    a1 = make_case(world, category="terrorism", tlp=TLP.RED, targets=TARGETS["A1"], title="Figures A1 secret")
    clock.at(START + 30 * MINUTE)
    a1 = acknowledge_case(case=a1, actor=manager)
    clock.at(START + HOUR)
    a1 = request_information(case=a1, actor=manager, note="Which posts?")
    clock.at(START + 3 * HOUR)
    a1 = provide_information(case=a1, actor=world.liaison, note="These.")
    clock.at(START + 4 * HOUR)
    decide(a1, manager, [Outcome.REMOVED, Outcome.REMOVED, Outcome.RESTRICTED])
    clock.at(START + 5 * HOUR)
    cases["A1"] = resolve_case(case=a1, actor=manager, outcome_summary="Done")

    clock.at(START + HOUR)
    a2 = make_case(world, category="hate-speech", targets=TARGETS["A2"], title="Figures A2")
    clock.at(START + 6 * HOUR)
    a2 = acknowledge_case(case=a2, actor=manager)
    decide(a2, manager, [Outcome.NO_ACTION_NOT_ILLEGAL, Outcome.REMOVED])
    clock.at(START + 21 * HOUR)
    cases["A2"] = resolve_case(case=a2, actor=manager, outcome_summary="Done")

    clock.at(START + 3 * HOUR)
    b1 = make_case(world, actor=world.other_liaison, category="terrorism", targets=TARGETS["B1"], title="Figures B1")
    clock.at(START + 5 * HOUR)
    b1 = acknowledge_case(case=b1, actor=manager)
    decide(b1, manager, [Outcome.REMOVED] * 4)
    clock.at(START + 13 * HOUR)
    cases["B1"] = resolve_case(case=b1, actor=manager, outcome_summary="Done")

    clock.at(START + 24 * HOUR)
    a3 = make_case(world, category="hate-speech", targets=TARGETS["A3"], title="Figures A3")
    clock.at(START + 25 * HOUR)
    cases["A3"] = acknowledge_case(case=a3, actor=manager)

    clock.at(START + 72 * HOUR)
    b2 = make_case(world, actor=world.other_liaison, category="hate-speech", targets=TARGETS["B2"],
                   title="Figures B2")
    clock.at(START + 73 * HOUR)
    cases["B2"] = withdraw_case(case=b2, actor=world.other_liaison, note="Handled elsewhere")

    clock.at(datetime(2026, 4, 1, 9, 0, tzinfo=UTC))
    cases["A4"] = make_case(world, category="disinformation", targets=TARGETS["A4"], title="Figures A4")
    cases["D1"] = make_case(world, submit=False, targets=TARGETS["D1"], title="Figures D1 draft")

    clock.at(NOW)
    refresh_case_figures()
    assert cases["A4"].status == Status.SUBMITTED and cases["D1"].status == Status.DRAFT
    return Built(cases=cases, targets=[t for targets in TARGETS.values() for t in targets])


@pytest.fixture
def built(world: World, clock: Clock) -> Built:
    return build(world, clock)
