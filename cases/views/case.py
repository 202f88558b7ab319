"""The case page: details, items and their outcomes, the workflow's buttons, assignment and who may see it."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User
from accounts.roles import OrgKind

from .. import permissions, queries
from ..actions.cases import assign_case, grant_access, revoke_access, transition_case
from ..actions.items import remove_item as remove_draft_item
from ..actions.items import set_item_outcomes, set_outcome_of_matching_items
from ..actions.thread import mark_read
from ..choices import DECIDED_OUTCOMES, TLP, Priority, RequestType, Status, Transition, choice_label
from ..forms import AssignForm, GrantForm, ItemListForm, NoteForm, OutcomeForm
from ..models import Case, ReportedItem
from ..queries.case_page import TimelineEvent, assignee_choices
from .case_timeline import render_timeline
from .deadlines import deadline_context
from .evidence import evidence_context
from .evidence_rows import render_evidence_rows
from .items_panel import DEFAULT_PAGE_SIZE, ItemFilter, item_panel, positive_int
from .reports import reports_context
from .thread import thread_context


def error_text(exc: Exception) -> str:
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


@login_required
def case_detail(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    return render(request, "cases/detail.html", detail_context(
        user, case, item_filter=ItemFilter.from_data(request.GET),
        items_page=positive_int(request.GET.get("items_page", ""), default=1),
        per_page=positive_int(request.GET.get("per_page", ""), default=DEFAULT_PAGE_SIZE),
    ))


@dataclass
class InformationRequest:
    """The platform's last question to the authority (a `case.request_information` event) and, once given, the
    answer (the `case.provide_information` that followed it)."""

    question: TimelineEvent
    answer: TimelineEvent | None = None


def information_request(case: Case, events: list[TimelineEvent]) -> InformationRequest | None:
    """The question to show above everything else: the open one while the case awaits information, and the last
    answered one while the case is back in progress (the platform works with the answer at hand)."""
    if case.status not in (Status.AWAITING_INFORMATION, Status.IN_PROGRESS):
        return None
    found: InformationRequest | None = None
    for event in events:
        if event.action == "case.request_information":
            found = InformationRequest(event)
        elif event.action == "case.provide_information" and found is not None and found.answer is None:
            found.answer = event
    if found is None or (case.status == Status.AWAITING_INFORMATION) != (found.answer is None):
        return None
    return found


def detail_context(user: User, case: Case, *, item_filter: ItemFilter | None = None, items_page: int = 1,
                   per_page: int = DEFAULT_PAGE_SIZE, **extra: Any) -> dict[str, Any]:
    """Everything the case page shows; a large case's items come a page at a time, filtered on the server."""
    can_decide = permissions.can_decide_items(user, case)
    can_edit_items = permissions.can_edit_items(user, case)
    panel = item_panel(user, case, item_filter=item_filter or ItemFilter(), page=items_page, per_page=per_page,
                       can_decide=can_decide, can_remove=can_edit_items and case.status == Status.DRAFT)
    is_platform = permissions.side_of(user) == OrgKind.PLATFORM
    can_assign = permissions.can_assign(user, case)
    timeline = queries.timeline(user, case)
    transitions = [(t, Transition(t).label) for t in permissions.available_transitions(user, case)]
    context: dict[str, Any] = {
        "case": case,
        # The case's get_<field>_display(), each translating one label (choice_label).
        "case_labels": {"request_type": choice_label(RequestType, case.request_type),
                        "status": choice_label(Status, case.status), "priority": choice_label(Priority, case.priority),
                        "tlp": choice_label(TLP, case.tlp)},
        "items": panel,
        "item_total": panel.tally.total,
        "decided_count": panel.tally.decided,
        "timeline": render_timeline(timeline),
        "information_request": information_request(case, timeline),
        "access": queries.access_panel(case),
        "transitions": [(name, label) for name, label in transitions if name != Transition.PROVIDE_INFORMATION],
        "can_provide_information": any(name == Transition.PROVIDE_INFORMATION for name, _label in transitions),
        "can_decide": can_decide,
        "can_edit_items": can_edit_items,
        "can_manage_access": permissions.can_manage_access(user, case),
        "can_assign": can_assign,
        "is_platform": is_platform,
        "outcomes": DECIDED_OUTCOMES,
        "items_form": None,
    }
    context.update(evidence_context(user, case))
    context["evidence_rows"] = render_evidence_rows(case.reference, context["evidence_list"])
    context.update(reports_context(user, case))
    context.update(thread_context(user, case, evidence=context["evidence_list"]))
    context.update(deadline_context(user, case))
    if context["last_id"] > context["read_up_to"]:
        mark_read(user=user, case=case, up_to=context["last_id"])
    if can_assign:
        context["assignees"] = assignees = assignee_choices(case)
        # The <option>s of the assignee select, each name escaped (the template's loop wrote the same markup).
        context["assignee_options"] = mark_safe("".join(  # noqa: S308  every value is escaped
            f'<option value="{pk}"{" selected" if pk == case.assignee_id else ""}>{html.escape(name)}</option>'
            for pk, name in assignees))
        context["take_possible"] = case.assignee_id != user.pk
    if context["can_manage_access"]:
        # The people to name, grouped by organisation, read as values (the form validates the choice on posting).
        groups: dict[str, list[tuple[int, str]]] = {}
        for pk, name, organisation in permissions.people_nameable_by(user, case, queries.grantable_people(case)) \
                .values_list("pk", "full_name", "membership__organization__name"):
            groups.setdefault(organisation, []).append((pk, name))
        context["grantable"] = list(groups.items())
    context.update(extra)
    if can_edit_items and context["items_form"] is None:
        context["items_form"] = ItemListForm()
    return context


@login_required
@require_POST
def case_transition(request: AuthenticatedRequest, reference: str, transition: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    form = NoteForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {"note": "", "outcome_summary": ""}
    try:
        case = transition_case(case=case, transition=transition, actor=user, note=data.get("note") or "",
                                       outcome_summary=data.get("outcome_summary") or None)
    except permissions.InvalidTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(ref)s is now %(status)s.")
                         % {"ref": case.reference, "status": case.get_status_display().lower()})
    return redirect(case)


@login_required
@require_POST
def decide_items(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    """The bulk bar of the items panel: one outcome for the ticked items, or for all items matching the filter."""
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_decide_items(user, case):
        raise PermissionDenied(_("Only platform staff working the case decide items, while it is in progress."))
    item_filter = ItemFilter.from_data(request.POST)
    per_page = request.POST.get("per_page", "")
    query = item_filter.query(per_page=per_page if per_page.isdigit() else "")
    back = reverse("cases:detail", args=[case.reference]) + (f"?{query}" if query else "") + "#items"
    form = OutcomeForm(request.POST, item_ids=list(case.items.values_list("id", flat=True)))
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(error) for error in errors))
        return redirect(back)
    data = form.cleaned_data
    try:
        if data["scope"] == OutcomeForm.MATCHING:
            count = set_outcome_of_matching_items(actor=user, case=case, show=item_filter.show,
                                                  search=item_filter.search, expected=data["expected"],
                                                  outcome=data["outcome"], reason=data["reason"])
        else:
            count = set_item_outcomes(actor=user, case=case, item_ids=data["items"], outcome=data["outcome"],
                                      reason=data["reason"])
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Outcome recorded for %(n)d item(s).") % {"n": count})
    return redirect(back)


@login_required
@require_POST
def remove_item(request: AuthenticatedRequest, reference: str, item_id: int) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    item = ReportedItem.objects.filter(case=case, pk=item_id).first()
    if item is None:
        raise Http404
    remove_draft_item(actor=user, item=item)
    messages.success(request, _("Removed %(target)s from the draft.") % {"target": item.target})
    return redirect(reverse("cases:detail", args=[case.reference]) + "#items")


@login_required
@require_POST
def assign(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_assign(user, case):
        raise PermissionDenied(_("You may not assign this case."))
    if request.POST.get("take"):
        assignee: User | None = user
    else:
        form = AssignForm(request.POST, candidates=queries.assignee_candidates(case))
        if not form.is_valid():
            messages.error(request, _("Choose a person who can work this case."))
            return redirect(case)
        assignee = form.cleaned_data["assignee"]
    try:
        assign_case(actor=user, case=case, assignee=assignee)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Assigned to %(name)s.") % {"name": assignee} if assignee
                         else _("Nobody is assigned now."))
    return redirect(case)


@login_required
@require_POST
def grant(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_manage_access(user, case):
        raise PermissionDenied(_("You may not change who sees this case."))
    form = GrantForm(request.POST, candidates=permissions.people_nameable_by(user, case, queries.grantable_people(case)))
    if not form.is_valid():
        messages.error(request, _("Choose a person and say why they need access."))
        return redirect(case)
    try:
        grant_access(actor=user, case=case, user=form.cleaned_data["user"], reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("%(name)s can now see this case.") % {"name": form.cleaned_data["user"]})
    return redirect(reverse("cases:detail", args=[case.reference]) + "#access")


@login_required
@require_POST
def revoke(request: AuthenticatedRequest, reference: str, user_id: int) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise Http404
    revoke_access(actor=user, case=case, user=target)
    messages.success(request, _("Access removed."))
    return redirect(reverse("cases:detail", args=[case.reference]) + "#access")
