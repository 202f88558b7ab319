"""The case page: details, items and their outcomes, the workflow's buttons, assignment and who may see it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User
from accounts.roles import OrgKind

from .. import permissions, queries
from ..actions.cases import assign_case, grant_access, revoke_access, transition_case
from ..actions.items import remove_item as remove_draft_item
from ..actions.items import set_item_outcomes
from ..actions.thread import mark_read
from ..choices import DECIDED_OUTCOMES, ItemKind, Outcome, Transition
from ..forms import AssignForm, GrantForm, ItemListForm, NoteForm, OutcomeForm
from ..models import Case, ReportedItem
from .deadlines import deadline_context
from .evidence import evidence_context
from .reports import reports_context
from .thread import thread_context


def error_text(exc: Exception) -> str:
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


@login_required
def case_detail(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    items_page = _positive_int(request.GET.get("items_page", ""), default=1)
    show = request.GET.get("show", "").strip()
    search = request.GET.get("item_q", "").replace("\x00", "").strip()[:200]
    return render(request, "cases/detail.html",
                  detail_context(user, case, items_page=items_page, item_show=show, item_search=search))


ITEMS_PER_PAGE = 100


def _positive_int(raw: str, *, default: int) -> int:
    return min(max(int(raw), 1), 10**6) if raw.isdigit() and len(raw) < 8 else default


def detail_context(user: User, case: Case, items_page: int = 1, item_show: str = "", item_search: str = "",
                   **extra: Any) -> dict[str, Any]:
    """Everything the case page shows; a large case's items come a page at a time, filtered on the server."""
    tally = queries.item_tally(case)
    if item_show not in ("pending", "decided", *Outcome.values):
        item_show = ""
    shown = queries.case_items(case, show=item_show, search=item_search)
    shown_total = tally["total"] if not (item_show or item_search) else shown.count()
    item_pages = max((shown_total + ITEMS_PER_PAGE - 1) // ITEMS_PER_PAGE, 1)
    items_page = min(items_page, item_pages)
    offset = (items_page - 1) * ITEMS_PER_PAGE
    items = list(shown[offset:offset + ITEMS_PER_PAGE])
    # Labels translated once per page, not once per row.
    kinds, outcomes = {k: str(v) for k, v in ItemKind.choices}, {k: str(v) for k, v in Outcome.choices}
    for item in items:
        item.kind_label = kinds.get(item.kind, item.kind)  # type: ignore[attr-defined]  # display only
        item.outcome_label = outcomes.get(item.outcome, item.outcome)  # type: ignore[attr-defined]  # display only
    item_query = urlencode({k: v for k, v in (("show", item_show), ("item_q", item_search)) if v})
    is_platform = permissions.side_of(user) == OrgKind.PLATFORM
    sightings = queries.deconfliction(user, [i.key for i in items], exclude_case=case)
    can_assign = permissions.can_assign(user, case)
    context: dict[str, Any] = {
        "case": case,
        "items": items,
        "item_rows": [(item, sightings.get(item.key, [])) for item in items],
        "item_total": tally["total"],
        "pending_total": tally["pending"],
        "items_page": items_page,
        "item_pages": item_pages,
        "decided_count": tally["decided"],
        "item_tally": tally,
        "item_show": item_show,
        "item_search": item_search,
        "shown_total": shown_total,
        "item_query": item_query,
        "outcome_filters": [(value, label, tally[value]) for value, label in Outcome.choices
                            if value != Outcome.PENDING and tally[value]],
        "timeline": queries.timeline(user, case),
        "access": queries.access_panel(case),
        "transitions": [(t, Transition(t).label) for t in permissions.available_transitions(user, case)],
        "can_decide": permissions.can_decide_items(user, case),
        "can_edit_items": permissions.can_edit_items(user, case),
        "can_manage_access": permissions.can_manage_access(user, case),
        "can_assign": can_assign,
        "is_platform": is_platform,
        "outcomes": DECIDED_OUTCOMES,
        "items_form": ItemListForm(),
        "note_form": NoteForm(),
    }
    context.update(evidence_context(user, case))
    context.update(reports_context(user, case))
    context.update(thread_context(user, case, evidence=context["evidence_list"]))
    context.update(deadline_context(user, case))
    if context["last_id"] > context["read_up_to"]:
        mark_read(user=user, case=case, up_to=context["last_id"])
    if can_assign:
        context["assign_form"] = AssignForm(candidates=queries.assignee_candidates(case), initial={"assignee": case.assignee_id})
        context["take_possible"] = case.assignee_id != user.pk
    if context["can_manage_access"]:
        context["grant_form"] = GrantForm(candidates=queries.grantable_people(case))
    context.update(extra)
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
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_decide_items(user, case):
        raise PermissionDenied(_("Only platform staff working the case decide items, while it is in progress."))
    form = OutcomeForm(request.POST, item_ids=list(case.items.values_list("id", flat=True)))
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(error) for error in errors))
        return redirect(case)
    try:
        item_ids = form.cleaned_data["items"]
        if form.cleaned_data["all_pending"]:
            item_ids = list(case.items.filter(outcome=Outcome.PENDING).values_list("id", flat=True))
        count = set_item_outcomes(actor=user, case=case, item_ids=item_ids,
                                          outcome=form.cleaned_data["outcome"], reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Outcome recorded for %(n)d item(s).") % {"n": count})
    return redirect(reverse("cases:detail", args=[case.reference]) + "#items")


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
    form = GrantForm(request.POST, candidates=queries.grantable_people(case))
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
