"""Evidence, legal holds and deadlines of a generated case, with what the sweep and the purge did to them.

Evidence rows are metadata only: their storage names (under `loadgen/`) point at no file. Files of cases closed or
withdrawn longer ago than the retention period are marked purged, as the nightly purge would have; the others stay
"stored", so `verify_evidence` on a generated database reports them missing: it is not meant to run there.
"""

from __future__ import annotations

import random

from accounts.roles import OrgKind

from .. import deadline_clock
from ..instants import as_iso
from ..models import Deadline, DeadlinePause, DeadlineProposal, DeadlineSignal, Evidence, LegalHold, Message
from . import vocabulary as words
from .people import Person
from .plan import DAY, HOUR, MINUTE, CasePlan
from .timeline import Timeline, micros, moment
from .writer import Writer

EVIDENCE_FIELDS = ("id", "case_id", "item_id", "sha256", "size", "content_type", "original_name", "storage_name",
                   "description", "captured_at", "uploaded_by_id", "uploaded_at", "side", "internal", "withdrawn_at",
                   "withdrawn_by_id", "withdrawn_reason", "purged_at")
DEADLINE_FIELDS = ("id", "case_id", "kind", "title", "owner_side", "started_at", "due_at", "status", "origin",
                   "met_at", "breached_at", "closed_at", "paused_at", "paused_seconds", "next_check_at", "created_at")
PAUSE_FIELDS = ("id", "deadline_id", "paused_at", "resumed_at")
SIGNAL_FIELDS = ("id", "deadline_id", "point", "sent_at")
PROPOSAL_FIELDS = ("id", "case_id", "deadline_id", "kind", "title", "owner_side", "proposed_due_at", "reason",
                   "proposed_by_id", "proposed_side", "proposed_at", "status", "answered_by_id", "answered_at")
HOLD_FIELDS = ("id", "case_id", "reason", "placed_by_id", "placed_at", "lifted_by_id", "lifted_at")
CUSTOM_TITLES = [("Provide subscriber information", OrgKind.PLATFORM), ("Preserve account data", OrgKind.PLATFORM),
                 ("Confirm removal of mirror channels", OrgKind.PLATFORM), ("Send the court order", OrgKind.AUTHORITY),
                 ("Confirm the list of channels", OrgKind.AUTHORITY)]


class Records:
    def __init__(self, rng: random.Random, writer: Writer, timeline: Timeline, *, now: int,
                 retention_days: int) -> None:
        self.rng, self.writer, self.timeline, self.now = rng, writer, timeline, now
        self.retention = retention_days * DAY
        self.evidence_rows = writer.table(Evidence, EVIDENCE_FIELDS)
        self.deadline_rows = writer.table(Deadline, DEADLINE_FIELDS)
        self.pauses = writer.table(DeadlinePause, PAUSE_FIELDS)
        self.signals = writer.table(DeadlineSignal, SIGNAL_FIELDS)
        self.proposals = writer.table(DeadlineProposal, PROPOSAL_FIELDS)
        self.holds = writer.table(LegalHold, HOLD_FIELDS)
        self.managers: list[Person] = []
        self.legal: list[Person] = []

    # --- evidence and legal holds -------------------------------------------------------------------------------

    def evidence(self, plan: CasePlan, creator: Person, worker: Person | None, item_ids: list[int]) -> None:
        rng, tl = self.rng, self.timeline
        held = self._hold(plan)
        finished = plan.closed or plan.withdrawn
        purge_at = finished + self.retention + rng.randint(HOUR, 20 * HOUR) if finished else None
        purged = purge_at is not None and purge_at < self.now and not held
        types = words.EVIDENCE_TYPES
        for _ in range(plan.evidence):
            evidence_id = self.evidence_rows.allocate()
            by_platform = worker is not None and plan.acked is not None and rng.random() < 0.3
            if by_platform:
                assert worker is not None and plan.acked is not None
                uploader = worker
                at = plan.acked + int(((plan.end or self.now) - plan.acked) * rng.random() * 0.9)
                internal = rng.random() < 0.5
            else:
                uploader = creator
                until = plan.submitted or plan.end or self.now - MINUTE
                at = plan.created + int((until - plan.created) * rng.random())
                internal = False
            content_type, extension, _share, size = rng.choices(types, [t[2] for t in types])[0]
            name = f"{rng.choice(words.EVIDENCE_NAMES)}-{rng.randint(1, 999)}.{extension}"
            item_id = rng.choice(item_ids) if item_ids and rng.random() < 0.4 else None
            sha256 = f"{rng.getrandbits(256):064x}"
            size = max(int(size * rng.lognormvariate(0, 0.8)), 1_000)
            side = uploader.side
            withdrawn = by_platform is False and plan.end is None and rng.random() < 0.01
            withdrawn_at = at + HOUR if withdrawn else None
            self.writer.add(self.evidence_rows, (
                evidence_id, plan.id, item_id, sha256, size, content_type, name,
                f"loadgen/{plan.id}/{evidence_id}.{extension}", "", moment(at - HOUR), uploader.id, moment(at), side,
                internal, moment(withdrawn_at) if withdrawn_at else None, uploader.id if withdrawn else None,
                "Uploaded to the wrong case." if withdrawn else "", moment(purge_at) if purged and purge_at else None))
            tl.event(at, "evidence.uploaded", case_id=plan.id, actor=uploader, obj="Evidence", obj_id=evidence_id,
                     side=side if internal else "",
                     data={"sha256": sha256, "size": size, "type": content_type, "name": name, "item": item_id})
            if withdrawn_at is not None:
                tl.event(withdrawn_at, "evidence.withdrawn", case_id=plan.id, actor=uploader, obj="Evidence",
                         obj_id=evidence_id, data={"sha256": sha256, "reason": "Uploaded to the wrong case."})
            if worker is not None and plan.acked is not None and rng.random() < 0.3:
                seen = max(at, plan.acked) + rng.randint(MINUTE, DAY)
                if seen < min(purge_at or self.now, self.now):
                    tl.event(seen, "evidence.downloaded", case_id=plan.id, actor=worker, obj="Evidence",
                             obj_id=evidence_id, side=side if internal else "", data={"sha256": sha256, "name": name})
            if purged and purge_at is not None:
                tl.event(purge_at, "evidence.purged", case_id=plan.id, obj="Evidence", obj_id=evidence_id, ip=False,
                         data={"sha256": sha256, "retention_days": self.retention // DAY})

    def _hold(self, plan: CasePlan) -> bool:
        """A legal hold on a few cases; True while one is in place (nothing of the case is then purged)."""
        rng = self.rng
        if plan.acked is None or not self.legal or rng.random() > 0.003:
            return False
        person = rng.choice(self.legal)
        placed = plan.acked + rng.randint(HOUR, 10 * DAY)
        if placed >= self.now:
            return False
        lifted = placed + rng.randint(30 * DAY, 400 * DAY) if rng.random() < 0.4 else None
        if lifted is not None and lifted >= self.now:
            lifted = None
        reason = "Litigation hold requested by outside counsel."
        self.writer.add(self.holds, (self.holds.allocate(), plan.id, reason, person.id, moment(placed),
                                     person.id if lifted else None, moment(lifted) if lifted else None))
        self.timeline.event(placed, "legal_hold.placed", case_id=plan.id, actor=person, obj="LegalHold",
                            side=OrgKind.PLATFORM, data={"reason": reason})
        if lifted is not None:
            self.timeline.event(lifted, "legal_hold.lifted", case_id=plan.id, actor=person, obj="LegalHold",
                                side=OrgKind.PLATFORM, data={"reason": reason})
        return lifted is None

    # --- deadlines ----------------------------------------------------------------------------------------------

    def deadlines(self, plan: CasePlan, creator: Person, worker: Person | None) -> None:
        """The policy clocks started on submission, the clock of a request for information, and agreed ones."""
        if plan.submitted is None or plan.policy is None:
            return
        ack_minutes, resolve_minutes = plan.policy
        tl = self.timeline
        start = plan.submitted
        for kind, minutes in ((Deadline.Kind.ACKNOWLEDGE, ack_minutes), (Deadline.Kind.RESOLVE, resolve_minutes)):
            due = start + minutes * MINUTE
            tl.event(start, "deadline.created", case_id=plan.id, actor=creator, obj="Deadline",
                     obj_id=self.deadline_rows.next_id,
                     data={"kind": kind, "due_at": moment(due).isoformat(), "origin": "policy"})
            if kind == Deadline.Kind.ACKNOWLEDGE:
                stop, how = (plan.acked, "met") if plan.acked else (plan.withdrawn, "cancelled")
                self._deadline(plan, kind, OrgKind.PLATFORM, "", start, due, Deadline.Origin.POLICY, stop, how)
            else:
                stop, how = (plan.resolved, "met") if plan.resolved else (plan.withdrawn, "cancelled")
                self._deadline(plan, kind, OrgKind.PLATFORM, "", start, due, Deadline.Origin.POLICY, stop, how,
                               paused=(plan.requested, plan.provided) if plan.requested else None)
        if plan.info_due is not None and plan.requested is not None and worker is not None:
            tl.event(plan.requested, "deadline.created", case_id=plan.id, actor=worker, obj="Deadline",
                     obj_id=self.deadline_rows.next_id,
                     data={"kind": Deadline.Kind.PROVIDE_INFORMATION, "due_at": moment(plan.info_due).isoformat(),
                           "origin": "request"})
            self._deadline(plan, Deadline.Kind.PROVIDE_INFORMATION, OrgKind.AUTHORITY,
                           "Provide the requested information", plan.requested, plan.info_due,
                           Deadline.Origin.AGREEMENT, plan.provided, "met")
        for _ in range(plan.customs):
            self._agreed(plan, creator, worker)

    def _agreed(self, plan: CasePlan, creator: Person, worker: Person | None) -> None:
        """A deadline one side proposed and the other accepted; agreed deadlines end met, waived or breached."""
        rng, tl = self.rng, self.timeline
        if plan.acked is None or worker is None:
            return
        end = plan.end or self.now - MINUTE
        if end - plan.acked < 2 * HOUR:
            return
        proposed = plan.acked + int((end - plan.acked - HOUR) * rng.random())
        accepted = proposed + rng.randint(5 * MINUTE, min(DAY, end - proposed))
        title, owner = rng.choice(CUSTOM_TITLES)
        due = accepted + rng.randint(DAY, 7 * DAY)
        proposer, answerer = (worker, creator) if rng.random() < 0.5 else (creator, worker)
        reason = "As agreed on the call; the order covers these accounts."
        kind = Deadline.Kind.PROVIDE_INFORMATION if owner == OrgKind.AUTHORITY else Deadline.Kind.CUSTOM
        deadline_id = self.deadline_rows.next_id
        proposal_id = self.proposals.allocate()
        self.writer.add(self.proposals, (
            proposal_id, plan.id, deadline_id, DeadlineProposal.Kind.NEW_CUSTOM, title, owner,
            moment(due), reason, proposer.id, proposer.side, moment(proposed), DeadlineProposal.State.ACCEPTED,
            answerer.id, moment(accepted)))
        tl.event(proposed, "deadline.proposed", case_id=plan.id, actor=proposer, obj="DeadlineProposal",
                 data={"kind": DeadlineProposal.Kind.NEW_CUSTOM, "deadline": None, "due_at": moment(due).isoformat(),
                       "reason": reason})
        tl.message(proposed, case_id=plan.id, kind=Message.Kind.SYSTEM, author=proposer,
                   system_action="deadline.proposed",
                   params={"proposal": proposal_id, "kind": DeadlineProposal.Kind.NEW_CUSTOM, "reason": reason,
                           "title": title, "deadline_kind": "", "deadline_title": "", "due_at": as_iso(moment(due))})
        tl.event(accepted, "deadline.accepted", case_id=plan.id, actor=answerer, obj="DeadlineProposal",
                 data={"note": ""})
        tl.message(accepted, case_id=plan.id, kind=Message.Kind.SYSTEM, author=answerer,
                   system_action="deadline.answered", params={"proposal": proposal_id, "accepted": True, "note": ""})
        tl.event(accepted, "deadline.created", case_id=plan.id, actor=answerer, obj="Deadline", obj_id=deadline_id,
                 data={"kind": kind, "due_at": moment(due).isoformat(), "origin": "agreement"})
        roll = rng.random()
        if plan.withdrawn is not None:
            stop, how = plan.withdrawn, "cancelled"
        elif roll < 0.75:
            stop, how = accepted + int((due - accepted) * rng.uniform(0.1, 0.95)), "met"
        elif roll < 0.85:
            stop, how = accepted + int((due - accepted) * rng.uniform(0.1, 0.9)), "waived"
        else:
            stop, how = None, ""
        if stop is not None and stop >= self.now:
            stop, how = None, ""
        self._deadline(plan, kind, owner, title, accepted, due, Deadline.Origin.AGREEMENT, stop, how)

    def _deadline(self, plan: CasePlan, kind: str, owner: str, title: str, start: int, due: int, origin: str,
                  stop: int | None, how: str, paused: tuple[int | None, int | None] | None = None) -> None:
        """One deadline and its fate: met (on time or late), cancelled or waived at `stop`, breached by the sweep
        at its due time if still open then, or still open now (with the reminders already sent)."""
        rng, tl = self.rng, self.timeline
        deadline_id = self.deadline_rows.allocate()
        lag = rng.randint(1_000_000, 60_000_000)  # the sweep runs every minute
        status: str = Deadline.State.OPEN
        met_at: int | None = None
        breached_at: int | None = None
        closed_at: int | None = None
        paused_at: int | None = None
        paused_seconds = 0
        running_until = min(stop if stop is not None else self.now, self.now)
        requested, provided = paused if paused is not None else (None, None)
        if requested is not None and requested < due + lag:
            self.writer.add(self.pauses, (self.pauses.allocate(), deadline_id, moment(requested),
                                          moment(provided) if provided else None))
            tl.event(requested, "deadline.paused", case_id=plan.id, obj="Deadline", obj_id=deadline_id,
                     actor=None, ip=False, data={"kind": kind, "paused_at": moment(requested).isoformat()})
            if provided is None:
                paused_at = requested
                running_until = requested  # the clock stands still while the authority is asked
            else:
                paused_seconds = (provided - requested) // 1_000_000
                due += provided - requested
                tl.event(provided, "deadline.resumed", case_id=plan.id, obj="Deadline", obj_id=deadline_id,
                         actor=None, ip=False, data={"paused_seconds": paused_seconds, "due_at": moment(due).isoformat()})
        swept = due + lag < running_until
        if swept:
            status, breached_at = Deadline.State.BREACHED, due
            self._signal(deadline_id, "breach", due + lag)
            tl.message(due + lag, case_id=plan.id, kind=Message.Kind.SYSTEM, system_action="deadline.breached",
                       params={"deadline": deadline_id, "kind": kind, "title": title, "due_at": as_iso(moment(due))})
            tl.event(due + lag, "deadline.breached", case_id=plan.id, obj="Deadline", obj_id=deadline_id, ip=False,
                     data={"kind": kind, "due_at": moment(due).isoformat()})
        if stop is not None and how == "met":
            met_at = stop
            if not swept:
                status = Deadline.State.BREACHED if stop > due else Deadline.State.MET
                breached_at = due if stop > due else None
        elif stop is not None and not swept:
            status, closed_at = (Deadline.State.WAIVED if how == "waived" else Deadline.State.CANCELLED), stop
            if how == "waived":
                tl.event(stop, "deadline.waived", case_id=plan.id, obj="Deadline", obj_id=deadline_id, data={})
        started, due_at = moment(start), moment(due)
        points = deadline_clock.reminder_points(started, due_at, paused_seconds)
        sent = set()
        for point in points:
            at = micros(point.at) + lag
            if at < min(running_until, due + lag) and (breached_at is None or at < due + lag):
                sent.add(point.name)
                self._signal(deadline_id, point.name, at)
                tl.event(at, "deadline.reminded", case_id=plan.id, obj="Deadline", obj_id=deadline_id, ip=False,
                         data={"point": point.name})
        next_check = None
        if status == Deadline.State.OPEN and paused_at is None:
            probe = Deadline(started_at=started, due_at=due_at, status=status, paused_seconds=paused_seconds)
            next_check = deadline_clock.next_check(probe, sent)
        self.writer.add(self.deadline_rows, (
            deadline_id, plan.id, kind, title, owner, started, due_at, status, origin, _at(met_at), _at(breached_at),
            _at(closed_at), _at(paused_at), paused_seconds, next_check, started))

    def _signal(self, deadline_id: int, point: str, at: int) -> None:
        self.writer.add(self.signals, (self.signals.allocate(), deadline_id, point, moment(at)))


def _at(value: int | None) -> object:
    return moment(value) if value is not None else None
