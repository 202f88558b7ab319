"""The deadline panel's forms (proposals and answers) and the SLA policy table."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User
from liaison.input_policy import id_param

from .. import deadline_clock, permissions
from ..actions.deadlines import answer_proposal, propose_deadline, update_sla_policy
from ..choices import choice_label
from ..forms import SLADurationsForm
from ..models import Case, Deadline, DeadlineProposal, SLAPolicy
from ..queries.case_page import case_deadlines, deadline_proposals
from ..templatetags.case_labels import div60, timeuntil_td
from ..templatetags.instants import instant


def render_deadline_rows(rows: list[Deadline]) -> SafeString:
    """The <li> of each deadline of the panel, with the whitespace the template loop wrote around them (rendered here:
    through the template engine the loop cost more than the rest of the panel). Every value is escaped."""
    esc = html.escape
    due_label, met_label, left_label = esc(_("Due")), esc(_("Met")), esc(_("left"))
    overdue_by = esc(_("overdue by"))
    # Translated outside the f-strings: makemessages (xgettext) does not read calls inside them.
    paused, overdue, due_soon = esc(_("Paused")), esc(_("Overdue")), esc(_("Due soon"))
    met_late, breached_on_time = esc(_("Met late")), esc(_("Breached at the due time."))
    parts: list[str] = []
    for d in rows:
        due_at = f'<time datetime="{timezone.localtime(d.due_at).isoformat()}">{esc(instant(d.due_at))}</time>'
        flag = " lx-deadline-overdue" if d.overdue else " lx-deadline-soon" if d.due_soon else ""  # type: ignore[attr-defined]
        is_open = d.status == Deadline.State.OPEN
        if is_open and d.paused_at:
            badge = f'<i class="bi bi-pause-circle" aria-hidden="true"></i> {paused}'
        elif is_open and d.overdue:  # type: ignore[attr-defined]
            badge = f'<i class="bi bi-exclamation-octagon" aria-hidden="true"></i> {overdue}'
        elif is_open and d.due_soon:  # type: ignore[attr-defined]
            badge = f'<i class="bi bi-alarm" aria-hidden="true"></i> {due_soon}'
        else:
            badge = esc(choice_label(Deadline.State, d.status))
        if is_open and d.paused_at:
            since = _("Clock paused since %(since)s while the authority provides information.") % {
                "since": esc(instant(d.paused_at))}
            left = _("%(left)s left when it resumes.") % {"left": esc(timeuntil_td(d.left_on_resume))}  # type: ignore[attr-defined]
            state = (f'\n        \n        <div class="small" data-testid="paused">{since}\n          {left}</div>\n'
                     '        \n      ')
        elif is_open:
            state = (f'\n        \n        <div class="small"><span class="lx-countdown fw-semibold" data-due="'
                     f'{timezone.localtime(d.due_at).isoformat()}" data-overdue-label="{overdue_by}" '
                     f'data-testid="countdown">{esc(timeuntil(d.due_at)) if d.due_at else ""}</span> '
                     f'<span class="lx-muted">{left_label}</span></div>\n        \n      ')
        elif d.status == Deadline.State.MET:
            state = (f'<div class="small">{met_label} <time datetime="{timezone.localtime(d.met_at).isoformat()}">'
                     f'{esc(instant(d.met_at))}</time></div>\n      ') if d.met_at else \
                f'<div class="small">{met_label} <time datetime=""></time></div>\n      '
        elif d.status == Deadline.State.BREACHED:
            late = f' {met_late}: {esc(instant(d.met_at))}' if d.met_at else ""
            state = f'<div class="small text-danger-emphasis">{breached_on_time}{late}</div>\n      '
        else:
            state = ""
        moved = ""
        if d.paused_seconds:
            moved = " · " + _("moved by %(m)s min of pauses") % {"m": esc(str(localize(div60(d.paused_seconds))))}
        parts.append(
            f'\n    <li class="lx-deadline mb-3 p-2 rounded border lx-deadline-{esc(d.status)}{flag}">\n'
            '      <div class="d-flex justify-content-between gap-2">\n'
            f'        <strong>{esc(d.title) if d.title else esc(choice_label(Deadline.Kind, d.kind))}</strong>\n'
            f'        <span class="badge lx-deadline-badge-{esc(d.status)}">{badge}</span>\n'
            '      </div>\n'
            f'      <div class="small">{due_label} {due_at}</div>\n'
            f'      {state}\n'
            f'      <div class="small lx-muted">{esc(choice_label(Deadline.Origin, d.origin))}{moved}</div>\n'
            '    </li>\n    ')
    return mark_safe("".join(parts))  # noqa: S308  every value above is escaped


def deadline_context(user: User, case: Case) -> dict[str, Any]:
    now = timezone.now()
    rows = case_deadlines(case)
    # Display-only attributes for the template, set on the rows of this page (not model fields).
    for deadline in rows:
        deadline.due_soon = deadline_clock.is_due_soon(deadline, now)  # type: ignore[attr-defined]
        deadline.overdue = (  # type: ignore[attr-defined]
            deadline.is_open and deadline.paused_at is None and deadline.due_at <= now)
        if deadline.paused_at is not None:
            deadline.left_on_resume = deadline.due_at - deadline.paused_at  # type: ignore[attr-defined]
        deadline.kind_label = choice_label(Deadline.Kind, deadline.kind)  # type: ignore[attr-defined]
    proposals = deadline_proposals(case)
    for proposal in proposals:
        proposal.can_answer = permissions.can_answer_proposal(user, proposal)  # type: ignore[attr-defined]  # display only
        proposal.kind_label = choice_label(DeadlineProposal.Kind, proposal.kind)  # type: ignore[attr-defined]
        proposal.status_label = choice_label(DeadlineProposal.State, proposal.status)  # type: ignore[attr-defined]
    return {
        "deadline_rows": rows,
        "deadline_items": render_deadline_rows(rows),
        "proposals": proposals,
        "can_propose": permissions.can_propose_deadline(user, case),
        "open_deadlines": [d for d in rows if d.is_open],
        "now": now,
    }


def _parse_due(raw: str) -> datetime | None:
    """A datetime-local value, read in the person's active time zone."""
    value = parse_datetime(raw or "")
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    return value


@login_required
@require_POST
def propose(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    kind = request.POST.get("kind", "")
    if kind not in DeadlineProposal.Kind.values:
        messages.error(request, _("Choose what to propose."))
        return redirect(reverse("cases:detail", args=[case.reference]) + "#deadlines")
    deadline_id = id_param(request.POST.get("deadline"))
    deadline = case.deadlines.filter(pk=deadline_id).first() if deadline_id is not None else None
    try:
        propose_deadline(actor=user, case=case, kind=kind, reason=request.POST.get("reason", ""),
                                 deadline=deadline, due_at=_parse_due(request.POST.get("due_at", "")),
                                 title=request.POST.get("title", ""), owner_side=request.POST.get("owner_side", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Proposal sent. It takes effect when the other side accepts it."))
    return redirect(reverse("cases:detail", args=[case.reference]) + "#deadlines")


@login_required
@require_POST
def answer(request: AuthenticatedRequest, reference: str, proposal_id: int) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    proposal = case.deadline_proposals.filter(pk=proposal_id).first()
    if proposal is None:
        raise Http404
    accept = request.POST.get("answer") == "accept"
    try:
        answer_proposal(actor=user, proposal=proposal, accept=accept, note=request.POST.get("note", ""))
    except permissions.InvalidTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Accepted: the deadline is updated.") if accept else _("Proposal rejected."))
    return redirect(reverse("cases:detail", args=[case.reference]) + "#deadlines")


def _errors_text(form: SLADurationsForm) -> str:
    """The form's errors in one line, each after the label of its field."""
    parts: list[str] = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        parts.extend(f"{field.label}: {error}" if field is not None else str(error) for error in errors)
    return " ".join(parts)


@login_required
def sla_policies(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    membership = permissions.membership_of(user)
    if membership is None:
        raise PermissionDenied
    editable = permissions.can_edit_sla_policies(user)
    policies_qs = SLAPolicy.objects.select_related("category", "requesting_org")
    if membership.organization.is_authority:
        # An authority sees the general policies and its own, never another authority's arrangement.
        policies_qs = policies_qs.filter(Q(requesting_org__isnull=True) | Q(requesting_org=membership.organization))
    policies = list(policies_qs)
    if request.method == "POST":
        if not editable:
            raise PermissionDenied(_("Only T&S managers edit SLA policies."))
        checked = [(policy, SLADurationsForm({
            "acknowledge_minutes": request.POST.get(f"ack-{policy.pk}", policy.acknowledge_minutes),
            "resolve_minutes": request.POST.get(f"resolve-{policy.pk}", policy.resolve_minutes),
        })) for policy in policies]
        invalid = [(policy, form) for policy, form in checked if not form.is_valid()]
        if invalid:  # nothing is changed until every row is right
            for policy, form in invalid:
                messages.error(request, f"{policy}: {_errors_text(form)}")
            return redirect("cases:sla_policies")
        changed = 0
        for policy, form in checked:
            ack, resolve = form.cleaned_data["acknowledge_minutes"], form.cleaned_data["resolve_minutes"]
            if (ack, resolve) != (policy.acknowledge_minutes, policy.resolve_minutes):
                update_sla_policy(actor=user, policy=policy, acknowledge_minutes=ack, resolve_minutes=resolve)
                changed += 1
        messages.success(request, _("%(n)d policy(ies) updated; new cases use them.") % {"n": changed})
        return redirect("cases:sla_policies")
    return render(request, "cases/sla_policies.html", {"policies": policies, "editable": editable})
