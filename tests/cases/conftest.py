"""Cases made through the real actions and walked to the state a test needs, plus page helpers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from cases.actions.cases import (
    acknowledge_case,
    close_case,
    create_case,
    request_information,
    resolve_case,
    submit_case,
    withdraw_case,
)
from cases.actions.items import set_item_outcomes
from cases.choices import TLP, Outcome, Status
from cases.item_lists import AcceptedRow
from cases.link_identity import normalise_target
from cases.models import Case, Category
from tests.factories import World

PERSONAS = (
    "liaison", "lead", "authority_auditor", "other_liaison", "other_lead",
    "moderator", "moderator_my", "manager", "legal", "auditor",
)
LEGAL_BASIS = "Law 11/2008 on Electronic Information and Transactions"
REFERENCE = re.compile(r"\b[A-Z]{2}-\d{4}-\d{6}\b")

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (row locks, triggers); CI runs it there"
)

_numbers = itertools.count(1)


def unique_targets(count: int, prefix: str = "target") -> list[str]:
    return [f"https://t.me/{prefix}_{next(_numbers):06d}" for _ in range(count)]


def rows(targets: Sequence[str], note: str = "") -> list[AcceptedRow]:
    """Accepted rows as the intake preview would hand them to create_case / add_items."""
    result = []
    for line, target in enumerate(targets, start=1):
        normalised = normalise_target(target)
        result.append(AcceptedRow(line=line, target=normalised.target, note=note, key=normalised.key,
                                  kind=normalised.kind, warning=normalised.warning))
    return result


def make_case(
    world: World,
    *,
    actor: User | None = None,
    platform_actor: User | None = None,
    targets: Sequence[str] | None = None,
    submit: bool = True,
    state: str | None = None,
    tlp: str = TLP.AMBER,
    title: str | None = None,
    category: str = "hate-speech",
    legal_basis: str = LEGAL_BASIS,
    priority: str = "",
    threat_to_life: bool = False,
    language: str = "",
    note: str = "",
) -> Case:
    """A case created by `actor` (default: the ministry's liaison) and walked through the real
    transitions to `state` (default: submitted, or draft when submit=False)."""
    actor = actor or world.liaison
    platform_actor = platform_actor or world.manager
    state = state or (Status.SUBMITTED if submit else Status.DRAFT)
    case = create_case(
        actor=actor,
        title=title or f"Case {next(_numbers)}",
        category=Category.objects.get(slug=category),
        responding_org=world.platform,
        legal_basis=legal_basis,
        priority=priority,
        threat_to_life=threat_to_life,
        tlp=tlp,
        language=language,
        items=rows(targets if targets is not None else unique_targets(2), note=note),
    )
    if state == Status.DRAFT:
        return case
    case = submit_case(case=case, actor=actor)
    if state == Status.SUBMITTED:
        return case
    if state == Status.WITHDRAWN:
        return withdraw_case(case=case, actor=actor, note="No longer needed")
    case = acknowledge_case(case=case, actor=platform_actor)
    if state == Status.IN_PROGRESS:
        return case
    if state == Status.AWAITING_INFORMATION:
        return request_information(case=case, actor=platform_actor, note="Which posts exactly?")
    decide_all(case, platform_actor)
    case = resolve_case(case=case, actor=platform_actor, outcome_summary="All removed.")
    if state == Status.RESOLVED:
        return case
    if state == Status.CLOSED:
        return close_case(case=case, actor=platform_actor)
    raise ValueError(f"make_case cannot reach {state!r}")


def decide_all(case: Case, actor: User, outcome: str = Outcome.REMOVED, reason: str = "") -> int:
    return set_item_outcomes(actor=actor, case=case, item_ids=list(case.items.values_list("pk", flat=True)),
                                     outcome=outcome, reason=reason)


def refs_in(html: bytes | str) -> set[str]:
    text = html.decode() if isinstance(html, bytes) else html
    return set(REFERENCE.findall(text))


def listed_refs(html: bytes | str) -> set[str]:
    """References of the cases linked from a page (the list's rows), not ones merely echoed (a search box)."""
    text = html.decode() if isinstance(html, bytes) else html
    return set(re.findall(r'href="/cases/([A-Z]{2}-\d{4}-\d{6})/"', text))


def section(html: bytes | str, testid: str) -> str:
    """The markup of the element marked data-testid=<testid> up to its closing tag (good enough for lists)."""
    text = html.decode() if isinstance(html, bytes) else html
    start = text.index(f'data-testid="{testid}"')
    tag = text.rfind("<", 0, start)
    name = re.match(r"<(\w+)", text[tag:]).group(1)  # type: ignore[union-attr]
    end = text.index(f"</{name}>", start)
    return text[tag:end]


def page_messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture(name="make_case")
def make_case_fixture(world: World) -> Callable[..., Case]:
    """make_case(world, ...) as a fixture, for tests that prefer it."""
    return make_case


@pytest.fixture
def person(world: World) -> Callable[[str], User]:
    return lambda name: getattr(world, name)


def run_together(functions) -> list[object]:
    """Run each function in its own thread (own database connection), started at the same moment."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(functions))
    results: list[object] = [None] * len(functions)

    def run(index, function):
        try:
            barrier.wait(timeout=10)
            results[index] = function()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def body(response: Any) -> bytes:
    """The bytes sent, streamed (file downloads) or not; reading a streamed response to the end also closes it (and
    its file)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def login(mfa_client: Any) -> Callable[[User], Any]:
    """`login(person)`: the test client signed in as that person (signed out of whoever was before)."""
    def as_user(user: User) -> Any:
        mfa_client.logout()
        mfa_client.force_login(user)
        return mfa_client

    return as_user
