"""The plan of the generated cases: how many of each thing, each case's state, category, people and life story.

A life story is the times of the case's workflow moves (created, submitted, acknowledged, information requested
and provided, resolved, closed, withdrawn) in microseconds since the epoch; every move lies before `now`. Most
cases are finished and spread over two years (more of them recently); the open ones are recent.
"""

from __future__ import annotations

import random

from ..choices import TLP, Priority, Status, priority_rank
from .people import Authority, People

MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

DEFAULTS = {"cases": 100_000, "items": 1_000_000, "messages": 1_000_000, "evidence": 200_000, "deadlines": 300_000,
            "notifications": 50_000}
STATE_SHARES = [
    (Status.CLOSED, 0.66), (Status.RESOLVED, 0.16), (Status.WITHDRAWN, 0.05), (Status.IN_PROGRESS, 0.05),
    (Status.AWAITING_INFORMATION, 0.015), (Status.SUBMITTED, 0.03), (Status.DRAFT, 0.035),
]
CATEGORY_SHARES = {"terrorism": 14, "csam": 2, "illegal-gambling": 30, "fraud": 20, "hate-speech": 8,
                   "disinformation": 12, "privacy": 6, "intellectual-property": 5, "other": 3}
# Authorities that send one kind of request above all.
SPECIALISTS = {"id-bnpt": "terrorism", "id-ojk": "fraud"}
RED_SHARE = 0.0095
BIG_CASE_ITEMS = 1_000


def scaled_counts(scale: float) -> dict[str, int]:
    counts = {name: max(int(round(value * scale)), 1) for name, value in DEFAULTS.items()}
    counts["cases"] = max(counts["cases"], 40)
    counts["items"] = max(counts["items"], counts["cases"] * 2)
    return counts


class CasePlan:
    """One case to generate. Times are microseconds since the epoch; None where the move never happened."""

    __slots__ = ("state", "authority", "category", "priority", "rank", "threat", "tlp", "created", "submitted",
                 "assigned", "acked", "requested", "provided", "info_due", "resolved", "closed", "withdrawn",
                 "ack_late", "resolve_late", "items", "messages", "evidence", "customs", "role", "id", "reference",
                 "policy")

    def __init__(self, state: str, authority: Authority, category: str) -> None:
        self.state, self.authority, self.category = state, authority, category
        self.priority: str = Priority.NORMAL
        self.rank, self.threat = 10, False
        self.tlp: str = TLP.AMBER
        self.created = 0
        self.submitted: int | None = None
        self.assigned: int | None = None
        self.acked: int | None = None
        self.requested: int | None = None
        self.provided: int | None = None
        self.info_due: int | None = None
        self.resolved: int | None = None
        self.closed: int | None = None
        self.withdrawn: int | None = None
        self.ack_late = self.resolve_late = False
        self.items = self.messages = self.evidence = self.customs = 0
        self.role = ""  # "normal" or "big" for the cases the benchmarks open
        self.policy: tuple[int, int] | None = None  # minutes to acknowledge and to resolve
        self.id = 0
        self.reference = ""

    @property
    def last_move(self) -> int:
        return max(t for t in (self.created, self.submitted, self.acked, self.requested, self.provided, self.resolved,
                               self.closed, self.withdrawn) if t is not None)

    @property
    def end(self) -> int | None:
        """When work on the case stopped (None while it is open)."""
        return self.closed or self.withdrawn or self.resolved

    @property
    def red(self) -> bool:
        return self.tlp == TLP.RED


def _uniform(rng: random.Random, low: float, high: float) -> int:
    return int(rng.uniform(low, high))


def _life(rng: random.Random, plan: CasePlan, sla: tuple[int, int]) -> None:
    """The moves of the case relative to its creation (created = 0)."""
    ack_minutes, resolve_minutes = sla
    state = plan.state
    route = state
    if state == Status.WITHDRAWN:
        route = rng.choices([Status.DRAFT, Status.SUBMITTED, Status.IN_PROGRESS], [4, 3, 3])[0]
    if route == Status.DRAFT:
        if state == Status.WITHDRAWN:
            plan.withdrawn = _uniform(rng, HOUR, 20 * DAY)
        return
    plan.submitted = _uniform(rng, 2 * MINUTE, 3 * HOUR)
    if route == Status.SUBMITTED:
        if state == Status.WITHDRAWN:
            plan.withdrawn = plan.submitted + _uniform(rng, 10 * MINUTE, 3 * DAY)
        return
    plan.ack_late = rng.random() < 0.15
    factor = rng.uniform(1.05, 3.0) if plan.ack_late else rng.uniform(0.05, 0.9)
    plan.acked = plan.submitted + max(int(ack_minutes * MINUTE * factor), 2 * MINUTE)
    plan.assigned = plan.acked - _uniform(rng, 20_000_000, min(30 * MINUTE, plan.acked - plan.submitted))
    if state == Status.WITHDRAWN:
        plan.withdrawn = plan.acked + _uniform(rng, HOUR, 5 * DAY)
        return
    detour = state == Status.AWAITING_INFORMATION or rng.random() < (0.15 if state == Status.IN_PROGRESS else 0.2)
    if detour:
        plan.requested = plan.acked + int(resolve_minutes * MINUTE * rng.uniform(0.05, 0.4)) + MINUTE
        if rng.random() < 0.6:
            plan.info_due = plan.requested + _uniform(rng, 2 * DAY, 7 * DAY)
        if state != Status.AWAITING_INFORMATION:
            plan.provided = plan.requested + _uniform(rng, 2 * HOUR, 5 * DAY)
    if state in (Status.IN_PROGRESS, Status.AWAITING_INFORMATION):
        return
    paused = (plan.provided - plan.requested) if plan.provided and plan.requested else 0
    plan.resolve_late = rng.random() < 0.2
    factor = rng.uniform(1.05, 4.0) if plan.resolve_late else rng.uniform(0.2, 0.95)
    earliest = (plan.provided or plan.acked) + 10 * MINUTE
    plan.resolved = max(plan.submitted + paused + int(resolve_minutes * MINUTE * factor), earliest)
    if state == Status.CLOSED:
        plan.closed = plan.resolved + _uniform(rng, HOUR, 14 * DAY)


def _place_in_time(rng: random.Random, plan: CasePlan, now: int) -> None:
    """Choose the creation time; every move of the case then lies before `now`."""
    span = plan.last_move  # relative to creation, still
    state = plan.state
    if state in (Status.CLOSED, Status.RESOLVED, Status.WITHDRAWN):
        age = int(730 * DAY * rng.random() ** 1.4)
    elif state == Status.DRAFT:
        age = _uniform(rng, 0, 60 * DAY)
    elif state == Status.SUBMITTED:
        age = span + int(2 * DAY * rng.random() ** 3)
    elif state == Status.AWAITING_INFORMATION:
        age = span + int(12 * DAY * rng.random() ** 2)
    else:  # in progress: most within the time to resolve, some left behind for weeks
        resolve = (plan.policy or (0, 72 * 60))[1] * MINUTE
        within = rng.random() < 0.7
        age = span + (int(max(resolve - span, HOUR) * rng.random()) if within else int(20 * DAY * rng.random()))
    age = max(age, span + MINUTE)
    plan.created = now - age
    for name in ("submitted", "assigned", "acked", "requested", "provided", "info_due", "resolved", "closed",
                 "withdrawn"):
        value = getattr(plan, name)
        if value is not None:
            setattr(plan, name, plan.created + value)


def _spread(rng: random.Random, plans: list[CasePlan], total: int, attribute: str, *, minimum: int = 0,
            sigma: float = 1.0, cap: int = 10**9) -> None:
    """Share `total` among the plans that have none yet (each at least `minimum`, at most `cap`), in proportion
    to log-normal weights; the rest goes to random ones."""
    chosen = [p for p in plans if not getattr(p, attribute)]
    if not chosen:
        return
    remaining = total - sum(getattr(p, attribute) for p in plans) - minimum * len(chosen)
    weights = [rng.lognormvariate(0, sigma) for _ in chosen]
    scale = max(remaining, 0) / sum(weights)
    for plan, w in zip(chosen, weights, strict=True):
        setattr(plan, attribute, minimum + min(int(w * scale), cap))
    short = total - sum(getattr(p, attribute) for p in plans)
    for plan in rng.choices(chosen, k=max(short, 0)):
        setattr(plan, attribute, getattr(plan, attribute) + 1)


def make_plans(rng: random.Random, counts: dict[str, int], people: People, now: int,
               sla: dict[tuple[int, str, str], tuple[int, int] | None]) -> list[CasePlan]:
    n = counts["cases"]
    states: list[str] = []
    state: str
    for state, share in STATE_SHARES:
        states += [state] * int(round(n * share))
    states = (states + [Status.CLOSED] * n)[:n]
    rng.shuffle(states)
    authorities = people.authorities
    weights = [a.weight for a in authorities]
    categories = list(CATEGORY_SHARES)
    category_weights = list(CATEGORY_SHARES.values())
    plans = []
    for state in states:
        authority = rng.choices(authorities, weights)[0]
        category = SPECIALISTS.get(authority.slug) if rng.random() < 0.8 else None
        plan = CasePlan(state, authority, category or rng.choices(categories, category_weights)[0])
        plans.append(plan)
    # The cases the benchmarks open: a typical one and two of 1,000 items, all of Indonesia's ministry.
    home = authorities[0]
    big_items = min(BIG_CASE_ITEMS, counts["items"] // 5)
    for plan, role, state, items in ((plans[0], "normal", Status.IN_PROGRESS, 40),
                                     (plans[1], "big", Status.IN_PROGRESS, big_items),
                                     (plans[2], "big", Status.RESOLVED, big_items)):
        plan.role, plan.state, plan.authority, plan.category, plan.items = role, state, home, "illegal-gambling", items
    for plan in plans:
        default = {"terrorism": Priority.URGENT, "csam": Priority.URGENT, "fraud": Priority.HIGH,
                   "hate-speech": Priority.HIGH}.get(plan.category, Priority.NORMAL)
        roll = rng.random()
        plan.priority = Priority.HIGH if roll < 0.08 else (Priority.URGENT if roll < 0.11 else default)
        plan.threat = plan.priority == Priority.URGENT and rng.random() < 0.03
        plan.rank = priority_rank(plan.priority, plan.threat)
        roll = rng.random()
        plan.tlp = (TLP.RED if roll < RED_SHARE and not plan.role else TLP.AMBER if roll < 0.45
                    else TLP.GREEN if roll < 0.85 else TLP.CLEAR)
        plan.policy = sla[(plan.authority.id, plan.category, plan.priority)]
        _life(rng, plan, plan.policy or (24 * 60, 72 * 60))
        _place_in_time(rng, plan, now)
    _spread(rng, plans, counts["items"], "items", minimum=1, sigma=1.1, cap=600)
    base_deadlines = sum(_policy_deadlines(p) for p in plans)
    with_customs = [p for p in plans if p.acked is not None]
    _spread(rng, with_customs, max(counts["deadlines"] - base_deadlines, 0), "customs", sigma=0.6, cap=12)
    base_messages = sum(_expected_system_entries(p) for p in plans)
    for plan in plans:
        if plan.role == "normal":
            plan.messages, plan.evidence = 30, 5
    submitted = [p for p in plans if p.submitted is not None]
    _spread(rng, submitted, max(counts["messages"] - base_messages, 0), "messages", sigma=0.9)
    _spread(rng, plans, counts["evidence"], "evidence", sigma=0.9)
    plans.sort(key=lambda p: p.created)
    return plans


def _policy_deadlines(plan: CasePlan) -> int:
    if plan.submitted is None:
        return 0
    return 2 + (1 if plan.info_due is not None else 0)


def _expected_system_entries(plan: CasePlan) -> int:
    """Thread entries the moves write (status changes, assignment, agreed deadlines, breaches), about: a breach
    of an open case's clock depends on the time, and some agreed deadlines are breached."""
    moves = sum(1 for t in (plan.submitted, plan.acked, plan.requested, plan.provided, plan.resolved, plan.closed,
                            plan.withdrawn) if t is not None)
    return (moves + (1 if plan.assigned else 0) + int(plan.ack_late) + int(plan.resolve_late)
            + int(plan.customs * 2.2))
