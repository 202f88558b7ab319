"""One generated case and everything that happened to it: the row, its moves, who was named and assigned, the
thread, read markers, items and their decisions. Evidence and deadlines are in `records`.

What each move leaves mirrors the actions (cases/actions/): the same audit actions and data, the same system entries
in the thread, the same guardian grants for TLP:RED cases.
"""

from __future__ import annotations

import random
from typing import Any

from ..choices import Outcome, RequestType, Status, Transition
from ..link_identity import TargetError, normalise_target
from ..models import Case, CaseUserObjectPermission, Message, ReportedItem
from . import vocabulary as words
from .people import People, Person
from .plan import DAY, HOUR, MINUTE, CasePlan
from .records import Records
from .timeline import Timeline, moment
from .writer import Writer

CASE_FIELDS = ("id", "reference", "title", "request_type", "category_id", "legal_basis", "legal_article", "description",
               "priority", "priority_rank", "threat_to_life", "tlp", "language", "territorial_scope",
               "requesting_org_id", "responding_org_id", "queue_id", "assignee_id", "created_by_id", "status",
               "outcome_summary", "created_at", "updated_at", "submitted_at", "acknowledged_at", "resolved_at",
               "closed_at", "withdrawn_at", "acknowledge_seconds", "resolve_seconds")
ITEM_FIELDS = ("id", "case_id", "position", "target", "key", "kind", "note", "warning", "outcome", "outcome_reason",
               "decided_by_id", "decided_at", "created_at")
GRANT_FIELDS = ("id", "permission_id", "user_id", "content_object_id")

OUTCOME_WEIGHTS = [(Outcome.REMOVED, 62), (Outcome.RESTRICTED, 12), (Outcome.NO_ACTION_NOT_ILLEGAL, 6),
                   (Outcome.NO_ACTION_INSUFFICIENT, 5), (Outcome.NO_ACTION_NOT_FOUND, 8),
                   (Outcome.NO_ACTION_ALREADY_REMOVED, 4), (Outcome.DUPLICATE, 3)]
REQUEST_TYPES = [(RequestType.REMOVAL, 70), (RequestType.GEO_RESTRICTION, 15), (RequestType.ACCOUNT_ACTION, 5),
                 (RequestType.PRESERVATION, 4), (RequestType.INFORMATION_REQUEST, 4), (RequestType.OTHER, 2)]
NOTES: dict[str, str] = {Transition.REQUEST_INFORMATION: "Please send the legal order and screenshots for the first items.",
         Transition.WITHDRAW: "Handled through another channel; withdrawn by the authority."}
SUMMARIES = ["Most reported channels were removed; see each item.", "All items actioned.",
             "Removed where our terms apply; restricted in the requesting country where only local law applies."]


class TargetPool:
    """Targets as authorities paste them, normalised by `cases.link_identity`. A share comes from a pool of busy
    channels that many cases report, so deconfliction has work to do."""

    def __init__(self, rng: random.Random, items: int) -> None:
        self.rng = rng
        self.serial = 0
        size = max(items // 40, 20)
        self.hot: dict[str, list[str]] = {}
        for category in words.WORDS:
            self.hot[category] = [self._name(category) for _ in range(max(size // len(words.WORDS), 5))]
        self._cache: dict[str, words.Target | None] = {}

    def _name(self, category: str) -> str:
        self.serial += 1
        return words.channel_name(self.rng, category, self.serial)

    def _normalised(self, text: str, cache: bool) -> words.Target | None:
        if cache and text in self._cache:
            return self._cache[text]
        try:
            found = normalise_target(text)
            target: words.Target | None = words.Target(found.target, found.key, found.kind, found.warning)
        except TargetError:
            target = None
        if cache:
            self._cache[text] = target
        return target

    def for_case(self, category: str, count: int) -> list[words.Target]:
        rng = self.rng
        hot = self.hot[category]
        chosen: list[words.Target] = []
        keys: set[str] = set()
        attempts = 0
        while len(chosen) < count and attempts < count * 4 + 20:
            attempts += 1
            busy = rng.random() < 0.3
            name = hot[int(len(hot) * rng.random() ** 3)] if busy else self._name(category)
            target = self._normalised(words.target_text(rng, name, category), cache=busy)
            if target is None or target.key in keys:
                continue
            keys.add(target.key)
            chosen.append(target)
        return chosen


class CaseBuilder:
    def __init__(self, rng: random.Random, writer: Writer, timeline: Timeline, people: People, *, now: int,
                 categories: dict[str, int], view_permission_id: int, sequences: dict[tuple[str, int], int],
                 items: int, retention_days: int) -> None:
        self.rng, self.writer, self.timeline, self.people, self.now = rng, writer, timeline, people, now
        self.categories = categories
        self.view_permission_id = view_permission_id
        self.sequences = sequences
        self.cases = writer.table(Case, CASE_FIELDS)
        self.items = writer.table(ReportedItem, ITEM_FIELDS)
        self.grants = writer.table(CaseUserObjectPermission, GRANT_FIELDS)
        self.targets = TargetPool(rng, items)
        self.records = Records(rng, writer, timeline, now=now, retention_days=retention_days)
        self.records.legal = people.legal
        self._granted: set[int] = set()
        self.wave = 0

    def build(self, plan: CasePlan) -> None:
        rng, tl = self.rng, self.timeline
        authority = plan.authority
        plan.id = self.cases.allocate()
        year = moment(plan.created).year
        number = self.sequences.get((authority.country, year), 0) + 1
        self.sequences[(authority.country, year)] = number
        plan.reference = f"{authority.country}-{year}-{number:06d}"
        creator = rng.choice(authority.liaisons) if rng.random() < 0.85 else rng.choice(authority.workers)
        worker = self._worker(plan)
        now = self.now
        open_end = plan.end or now - MINUTE

        self.wave += 1
        title = words.title(rng, plan.category, self.wave % 40 + 1)
        basis, article = words.LEGAL_BASIS.get(authority.country, words.DEFAULT_LEGAL_BASIS)
        tl.event(plan.created, "case.created", case_id=plan.id, actor=creator, obj="Case", obj_id=plan.id,
                 data={"reference": plan.reference, "title": title, "tlp": plan.tlp, "priority": plan.priority})
        self._granted.clear()
        if plan.red:
            self._grant(plan, creator)
        item_ids = self._items(plan, creator, worker)
        self.records.evidence(plan, creator, worker, item_ids)
        self._moves(plan, creator, worker)
        self.records.deadlines(plan, creator, worker)
        last_post = self._thread(plan, creator, worker, open_end)
        self._read_markers(plan, creator, worker, last_post, open_end)

        acknowledge_seconds = (plan.acked - plan.submitted) // 1_000_000 if plan.acked and plan.submitted else None
        resolve_seconds = None
        if plan.resolved and plan.submitted:
            paused = (plan.provided - plan.requested) if plan.provided and plan.requested else 0
            resolve_seconds = max((plan.resolved - plan.submitted - paused) // 1_000_000, 0)
        updated = max(plan.last_move, plan.assigned or 0)
        self.writer.add(self.cases, (
            plan.id, plan.reference, title, rng.choices(*zip(*REQUEST_TYPES, strict=True))[0],
            self.categories[plan.category], basis, article,
            f"Reported by {authority.slug.upper()}: {plan.items} target(s) in {plan.category.replace('-', ' ')}.",
            plan.priority, plan.rank, plan.threat, plan.tlp, authority.language, [authority.country], authority.id,
            self.people.platform_id, authority.queue_id if plan.submitted else None, worker.id if worker else None,
            creator.id, plan.state, rng.choice(SUMMARIES) if plan.resolved else "", moment(plan.created),
            moment(updated), _at(plan.submitted), _at(plan.acked), _at(plan.resolved), _at(plan.closed),
            _at(plan.withdrawn), acknowledge_seconds, resolve_seconds))

    # --- who works the case -------------------------------------------------------------------------------------

    def _worker(self, plan: CasePlan) -> Person | None:
        if plan.acked is None:
            return None
        rng = self.rng
        queue = self.people.moderators_by_queue.get(plan.authority.queue_id or 0) or self.people.moderators
        if plan.red:
            return rng.choice(self.people.managers) if rng.random() < 0.5 else rng.choice(queue)
        return rng.choice(self.people.managers) if rng.random() < 0.1 else rng.choice(queue)

    def _grant(self, plan: CasePlan, person: Person) -> None:
        """guardian's view permission on the case for a named person (once per person)."""
        if person.id not in self._granted:
            self._granted.add(person.id)
            self.writer.add(self.grants, (self.grants.allocate(), self.view_permission_id, person.id, plan.id))

    # --- the moves --------------------------------------------------------------------------------------------

    def _transition(self, at: int, plan: CasePlan, transition: str, actor: Person, old: str, new: str) -> None:
        note = NOTES.get(transition, "")
        self.timeline.event(at, f"case.{transition}", case_id=plan.id, actor=actor, obj="Case", obj_id=plan.id,
                            data={"from": old, "to": new, "note": note, "at": moment(at).isoformat()})
        self.timeline.message(at, case_id=plan.id, kind=Message.Kind.SYSTEM, author=actor,
                              system_action=f"case.{new}", params={"from": old, "to": new, "note": note})

    def _moves(self, plan: CasePlan, creator: Person, worker: Person | None) -> None:
        rng, tl, people = self.rng, self.timeline, self.people
        if plan.submitted is not None:
            self._transition(plan.submitted, plan, Transition.SUBMIT, creator, Status.DRAFT, Status.SUBMITTED)
            if plan.red:
                for manager in people.managers:
                    self._grant(plan, manager)
                    tl.event(plan.submitted, "access.granted", case_id=plan.id, actor=creator, obj="User",
                             obj_id=manager.id, data={"user": manager.email,
                                                      "reason": "TLP:RED case submitted to T&S managers"})
        if worker is not None and plan.assigned is not None:
            assigner = worker if rng.random() < 0.6 or worker in people.managers else rng.choice(people.managers)
            if plan.red and worker not in people.managers:
                self._grant(plan, worker)
                tl.event(plan.assigned - 1_000_000, "access.granted", case_id=plan.id, actor=assigner, obj="User",
                         obj_id=worker.id, data={"user": worker.email, "reason": "Works the case"})
            elif not plan.red and rng.random() < 0.015:
                named = rng.choice(people.legal + people.moderators)
                self._grant(plan, named)
                tl.event(plan.assigned, "access.granted", case_id=plan.id, actor=assigner, obj="User",
                         obj_id=named.id, data={"user": named.email, "reason": "Second opinion"})
            tl.event(plan.assigned, "case.assigned", case_id=plan.id, actor=assigner, obj="Case", obj_id=plan.id,
                     side="platform", data={"from": None, "to": worker.name, "to_email": worker.email})
            tl.message(plan.assigned, case_id=plan.id, kind=Message.Kind.SYSTEM, author=assigner, side="platform",
                       system_action="case.assigned", params={"to": worker.id, "to_name": worker.name})
        if plan.acked is not None and worker is not None:
            self._transition(plan.acked, plan, Transition.ACKNOWLEDGE, worker, Status.SUBMITTED, Status.IN_PROGRESS)
        if plan.requested is not None and worker is not None:
            self._transition(plan.requested, plan, Transition.REQUEST_INFORMATION, worker, Status.IN_PROGRESS,
                             Status.AWAITING_INFORMATION)
        if plan.provided is not None:
            self._transition(plan.provided, plan, Transition.PROVIDE_INFORMATION, creator,
                             Status.AWAITING_INFORMATION, Status.IN_PROGRESS)
        if plan.resolved is not None and worker is not None:
            self._transition(plan.resolved, plan, Transition.RESOLVE, worker, Status.IN_PROGRESS, Status.RESOLVED)
        if plan.closed is not None:
            closer = worker if worker is not None and rng.random() < 0.5 else creator
            self._transition(plan.closed, plan, Transition.CLOSE, closer, Status.RESOLVED, Status.CLOSED)
        if plan.withdrawn is not None:
            old = Status.IN_PROGRESS if plan.acked else Status.SUBMITTED if plan.submitted else Status.DRAFT
            self._transition(plan.withdrawn, plan, Transition.WITHDRAW, creator, old, Status.WITHDRAWN)

    # --- items --------------------------------------------------------------------------------------------------

    def _items(self, plan: CasePlan, creator: Person, worker: Person | None) -> list[int]:
        """The reported items with their outcomes: every item of a resolved case decided, some of a case in
        progress; one `items.decided` event per batch of one outcome."""
        rng = self.rng
        targets = self.targets.for_case(plan.category, plan.items)
        plan.items = len(targets)
        ids = [self.items.allocate() for _ in targets]
        decisions: dict[int, tuple[str, str, int, Any]] = {}
        decided, until, acked = 0, 0, plan.acked
        if acked is not None and worker is not None:
            if plan.resolved is not None:
                decided, until = len(ids), plan.resolved - MINUTE
            elif plan.state == Status.IN_PROGRESS:
                decided, until = int(len(ids) * rng.uniform(0, 0.9)), self.now - MINUTE
            elif plan.state == Status.AWAITING_INFORMATION and plan.requested is not None:
                decided, until = int(len(ids) * rng.uniform(0, 0.5)), plan.requested - MINUTE
        if decided and acked is not None and worker is not None and until > acked + MINUTE:
            batches: dict[str, list[int]] = {}
            for item_id in ids[:decided]:
                batches.setdefault(rng.choices(*zip(*OUTCOME_WEIGHTS, strict=True))[0], []).append(item_id)
            for outcome, batch in batches.items():
                at = rng.randint(acked + MINUTE, until)
                reason = words.REASONS[outcome]
                for item_id in batch:
                    decisions[item_id] = (outcome, reason, worker.id, moment(at))
                self.timeline.event(at, "items.decided", case_id=plan.id, actor=worker,
                                    data={"outcome": outcome, "reason": reason, "count": len(batch),
                                          "items": batch[:200]})
        created = moment(plan.created)
        pending = (Outcome.PENDING, "", None, None)
        for position, (item_id, target) in enumerate(zip(ids, targets, strict=True), start=1):
            self.writer.add(self.items, (item_id, plan.id, position, target.target, target.key, target.kind, "",
                                         target.warning, *decisions.get(item_id, pending), created))
        if targets:
            self.timeline.event(plan.created + 1_000, "items.added", case_id=plan.id, actor=creator,
                                data={"count": len(targets), "targets": [t.target for t in targets[:50]]})
        return ids

    # --- the thread ---------------------------------------------------------------------------------------------

    def _thread(self, plan: CasePlan, creator: Person, worker: Person | None, open_end: int) -> dict[int, int]:
        """Shared messages and internal notes; returns each author's last post time (their read marker follows)."""
        rng, tl, people = self.rng, self.timeline, self.people
        last_post: dict[int, int] = {}
        if plan.submitted is None or plan.messages == 0:
            return last_post
        start = plan.submitted + MINUTE
        end = max(open_end - MINUTE, start + 1)
        colleagues = plan.authority.workers
        platform = [worker] if worker else []
        if plan.red:
            platform += people.managers[:2]
        else:
            platform += (people.moderators_by_queue.get(plan.authority.queue_id or 0) or [])[:3]
        for _ in range(plan.messages):
            at = start + int((end - start) * rng.random())
            from_platform = bool(platform) and rng.random() < 0.55 and (plan.acked is None or at > plan.acked)
            if from_platform:
                author = rng.choice(platform)
                internal = rng.random() < 0.3
                templates = words.INTERNAL_PLATFORM if internal else words.SHARED_PLATFORM
            else:
                author = creator if rng.random() < 0.7 else rng.choice(colleagues)
                internal = rng.random() < 0.05
                templates = words.INTERNAL_AUTHORITY if internal else words.SHARED_AUTHORITY
            kind = Message.Kind.INTERNAL if internal else Message.Kind.SHARED
            tl.message(at, case_id=plan.id, kind=kind, side=author.side if internal else "", author=author,
                       body=words.message_body(rng, templates, plan.items), posted_event=True)
            last_post[author.id] = max(last_post.get(author.id, 0), at)
        return last_post

    def _read_markers(self, plan: CasePlan, creator: Person, worker: Person | None, last_post: dict[int, int],
                      open_end: int) -> None:
        """One marker per person who opened the case: its authors, creator and worker, and the personas who look
        at many cases (the first T&S manager, the first moderator of the queue). Finished cases were read to the
        end; open ones up to some point, so unread counts show."""
        rng, people = self.rng, self.people
        if plan.submitted is None:
            return
        readers = dict(last_post)
        readers.setdefault(creator.id, plan.submitted)
        if worker is not None and plan.acked is not None:
            readers.setdefault(worker.id, plan.acked)
            queue = people.moderators_by_queue.get(plan.authority.queue_id or 0) or []
            if queue and not plan.red and rng.random() < 0.5:
                readers.setdefault(queue[0].id, plan.acked)
            if rng.random() < 0.25:
                readers.setdefault(people.managers[0].id, plan.acked)
        finished = plan.end is not None
        for user_id, since in readers.items():
            if finished:
                at = max(since, open_end) + _span(rng, HOUR, 3 * DAY)
            else:
                at = since + int(max(open_end - since, 0) * rng.random())
            self.timeline.read(min(at, self.now - 1), user_id=user_id, case_id=plan.id)


def _span(rng: random.Random, low: int, high: int) -> int:
    return int(rng.uniform(low, high))


def _at(value: int | None) -> Any:
    return moment(value) if value is not None else None
