from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Organization, User
from accounts.roles import OrgKind, Role

from . import actions, intake, permissions, queries
from .choices import DECIDED_OUTCOMES, Outcome, Priority, Status, Transition
from .forms import AssignForm, CaseForm, EvidenceForm, GrantForm, ItemListForm, NoteForm, OutcomeForm
from .models import Case, Category, ReportedItem

PREVIEW_ROWS = 300
SESSION_PREFIX = "intake:"


def _error_text(exc: Exception) -> str:
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


# --- Inbox ----------------------------------------------------------------------------


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if permissions.membership_of(user) is None:
        raise PermissionDenied(_("Your account has no active organisation."))
    filters = queries.CaseFilters(**{k: request.GET.get(k, "").strip()[:200] for k in
                                     ("status", "priority", "category", "authority", "assignee", "q", "sort",
                                      "deadline")})
    if not filters.sort:
        filters.sort = "priority" if permissions.side_of(user) == OrgKind.PLATFORM else "newest"
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    per_page = settings.LIAISON_CASES_PER_PAGE
    rows, total = queries.page_of_cases(queries.filtered_cases(user, filters), page, per_page)
    unread = queries.unread_counts(user, [c.pk for c in rows])
    for row in rows:
        row.unread = unread.get(row.pk, 0)  # type: ignore[attr-defined]
    pages = max((total + per_page - 1) // per_page, 1)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "cases": rows, "total": total, "page": page, "pages": pages, "filters": filters,
        "query": query.urlencode(), "statuses": [("open", _("Open")), *Status.choices],
        "priorities": [("threat_to_life", _("Threat to life")), *Priority.choices],
        "categories": Category.objects.all(),
        "authorities": Organization.objects.filter(kind=OrgKind.AUTHORITY).order_by("name")
        if permissions.side_of(user) == OrgKind.PLATFORM else [],
        "counts": queries.inbox_counts(user),
        "can_create": permissions.can_create_case(user),
        "sorts": [("priority", _("Priority, then oldest")), ("due", _("Next deadline first")),
                  ("newest", _("Newest first")),
                  ("oldest", _("Oldest first")), ("updated", _("Recently updated")), ("reference", _("Reference"))],
    }
    template = "cases/_case_table.html" if request.htmx and request.htmx.target == "case-table" else "cases/list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


# --- Intake (shared by the new-case form and "add items") -------------------------------------


def _parse_items(request: HttpRequest, form: ItemListForm) -> intake.Intake | None:
    pasted = form.cleaned_data.get("pasted") or ""
    upload = form.cleaned_data.get("upload")
    if upload and pasted.strip():
        form.add_error("pasted", _("Paste a list or upload a file, not both."))
        return None
    try:
        if upload:
            return intake.parse_upload(upload.name, upload.read())
        if pasted.strip():
            return intake.parse_text(pasted)
    except intake.IntakeFileError as exc:
        form.add_error("upload", str(exc))
        return None
    form.add_error("pasted", _("Paste at least one target or upload a file."))
    return None


def _store_intake(request: HttpRequest, parsed: intake.Intake) -> str:
    token = secrets.token_urlsafe(16)
    request.session[SESSION_PREFIX + token] = [
        [row.line, row.target, row.note, row.key, row.kind] for row in parsed.accepted
    ]
    return token


def _take_intake(request: HttpRequest, token: str) -> list[intake.AcceptedRow] | None:
    rows = request.session.pop(SESSION_PREFIX + token, None) if token else None
    if rows is None:
        return None
    return [intake.AcceptedRow(line=r[0], target=r[1], note=r[2], key=r[3], kind=r[4]) for r in rows]


def _preview_context(user: User, parsed: intake.Intake, exclude: Case | None = None) -> dict[str, Any]:
    sightings = queries.deconfliction(user, parsed.keys, exclude_case=exclude)
    existing: set[str] = set()
    if exclude is not None:
        existing = set(exclude.items.filter(key__in=parsed.keys).values_list("key", flat=True))
    return {
        "parsed": parsed,
        "preview_rows": parsed.accepted[:PREVIEW_ROWS],
        "hidden_rows": max(len(parsed.accepted) - PREVIEW_ROWS, 0),
        "sightings": sightings,
        "sighting_rows": [(row, sightings[row.key]) for row in parsed.accepted if row.key in sightings][:500],
        "already_in_case": existing,
    }


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not permissions.can_create_case(user):
        raise PermissionDenied(_("Only liaisons and leads of an authority open cases."))
    membership = user.membership
    initial = {"language": membership.organization.default_language}
    form = CaseForm(request.POST or None, initial=initial)
    items_form = ItemListForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "items_form": items_form}
    if request.method == "POST":
        step = request.POST.get("step", "preview")
        if step == "preview":
            if form.is_valid() & items_form.is_valid():
                parsed = _parse_items(request, items_form)
                if parsed is not None:
                    context.update(_preview_context(user, parsed))
                    context["token"] = _store_intake(request, parsed)
                    context["evidence_form"] = EvidenceForm(prefix="evidence", side=permissions.side_of(user))
        elif form.is_valid():
            rows = _take_intake(request, request.POST.get("token", ""))
            if rows is None:
                messages.error(request, _("This preview was already used or has expired. Nothing was saved twice; "
                                          "check your cases list, or preview the list again."))
                return redirect("cases:list")
            data = form.cleaned_data
            try:
                case = actions.create_case(
                    actor=user, title=data["title"], category=data["category"],
                    responding_org=data["responding_org"], request_type=data["request_type"],
                    legal_basis=data["legal_basis"], legal_article=data["legal_article"],
                    description=data["description"], priority=data["priority"],
                    threat_to_life=data["threat_to_life"], tlp=data["tlp"], language=data["language"],
                    territorial_scope=data["territorial_scope"], items=rows,
                )
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, _error_text(exc))
                return render(request, "cases/new.html", context)
            evidence_form = EvidenceForm(request.POST, request.FILES, prefix="evidence", case=case,
                                         side=permissions.side_of(user))
            if request.FILES.getlist(evidence_form.add_prefix("files")):
                from .evidence_views import handle_evidence_form

                for result in handle_evidence_form(request, user, case, evidence_form):
                    (messages.success if result["ok"] else messages.error)(request, result["message"])
            if step == "submit":
                try:
                    actions.submit_case(case=case, actor=user)
                    messages.success(request, _("Case %(ref)s was submitted to %(platform)s.")
                                     % {"ref": case.reference, "platform": case.responding_org.name})
                except permissions.InvalidTransition as exc:
                    messages.warning(request, _("Case %(ref)s was saved as a draft: %(why)s")
                                     % {"ref": case.reference, "why": exc})
            else:
                messages.success(request, _("Draft %(ref)s saved with %(n)d item(s). Submit it when ready.")
                                 % {"ref": case.reference, "n": len(rows)})
            return redirect(case)
    return render(request, "cases/new.html", context)


# --- Case page -------------------------------------------------------------------------------


@login_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    try:
        items_page = max(int(request.GET.get("items_page", "1")), 1)
    except ValueError:
        items_page = 1
    return render(request, "cases/detail.html", _detail_context(user, case, items_page=items_page))


ITEMS_PER_PAGE = 250


def _detail_context(user: User, case: Case, items_page: int = 1, **extra: Any) -> dict[str, Any]:
    """Everything the case page shows; a large case's items come a page at a time."""
    tally = case.items.aggregate(total=Count("id"), pending=Count("id", filter=Q(outcome=Outcome.PENDING)))
    item_pages = max((tally["total"] + ITEMS_PER_PAGE - 1) // ITEMS_PER_PAGE, 1)
    items_page = min(items_page, item_pages)
    offset = (items_page - 1) * ITEMS_PER_PAGE
    items = list(queries.case_items(case)[offset:offset + ITEMS_PER_PAGE])
    is_platform = permissions.side_of(user) == OrgKind.PLATFORM
    sightings = queries.deconfliction(user, [i.key for i in items], exclude_case=case)
    can_assign = permissions.can_assign(user, case)
    context = {
        "case": case,
        "items": items,
        "item_rows": [(item, sightings.get(item.key, [])) for item in items],
        "item_total": tally["total"],
        "pending_total": tally["pending"],
        "items_page": items_page,
        "item_pages": item_pages,
        "decided_count": tally["total"] - tally["pending"],
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
    context.update(_evidence_context(user, case))
    from .report_views import report_context

    context.update(report_context(user, case))
    from .deadline_views import deadline_context
    from .thread_views import thread_context

    context.update(thread_context(user, case))
    context.update(deadline_context(user, case))
    actions.mark_read(user=user, case=case, up_to=context["last_id"])
    if can_assign:
        context["assign_form"] = AssignForm(candidates=_assignees(case), initial={"assignee": case.assignee_id})
        context["take_possible"] = case.assignee_id != user.pk
    if context["can_manage_access"]:
        context["grant_form"] = GrantForm(candidates=_grantable(case))
    context.update(extra)
    return context


def _evidence_context(user: User, case: Case) -> dict[str, Any]:
    can_upload = permissions.can_upload_evidence(user, case)
    return {
        "evidence_list": permissions.evidence_visible_to(user, case).select_related("uploaded_by", "item"),
        "can_upload_evidence": can_upload,
        "evidence_form": EvidenceForm(case=case, side=permissions.side_of(user)) if can_upload else None,
        "evidence_max_mb": settings.LIAISON_EVIDENCE_MAX_BYTES // (1024 * 1024),
        "holds": case.legal_holds.select_related("placed_by", "lifted_by") if is_platform_side(user) else [],
        "can_manage_holds": permissions.can_manage_legal_hold(user, case),
    }


def is_platform_side(user: User) -> bool:
    return permissions.side_of(user) == OrgKind.PLATFORM


def _assignees(case: Case) -> Any:
    return User.objects.filter(
        is_active=True, membership__organization=case.responding_org,
        membership__role__in=[Role.MODERATOR, Role.TS_MANAGER], membership__deactivated_at__isnull=True,
    ).order_by("full_name")


def _grantable(case: Case) -> Any:
    return User.objects.filter(
        is_active=True, membership__deactivated_at__isnull=True,
        membership__organization__in=[case.requesting_org_id, case.responding_org_id],
    ).select_related("membership__organization").order_by("membership__organization__name", "full_name")


@login_required
@require_POST
def case_transition(request: HttpRequest, reference: str, transition: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    form = NoteForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {"note": "", "outcome_summary": ""}
    try:
        case = actions.transition_case(case=case, transition=transition, actor=user, note=data.get("note") or "",
                                       outcome_summary=data.get("outcome_summary") or None)
    except permissions.InvalidTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(ref)s is now %(status)s.")
                         % {"ref": case.reference, "status": case.get_status_display().lower()})
    return redirect(case)


@login_required
@require_POST
def decide_items(request: HttpRequest, reference: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_decide_items(user, case):
        raise PermissionDenied(_("Only platform staff working the case decide items, while it is in progress."))
    form = OutcomeForm(request.POST, item_ids=list(case.items.values_list("id", flat=True)))
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(case)
    try:
        item_ids = form.cleaned_data["items"]
        if form.cleaned_data["all_pending"]:
            item_ids = list(case.items.filter(outcome=Outcome.PENDING).values_list("id", flat=True))
        count = actions.set_item_outcomes(actor=user, case=case, item_ids=item_ids,
                                          outcome=form.cleaned_data["outcome"], reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Outcome recorded for %(n)d item(s).") % {"n": count})
    return redirect(reverse("cases:detail", args=[case.reference]) + "#items")


@login_required
@require_POST
def add_items(request: HttpRequest, reference: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_edit_items(user, case):
        raise PermissionDenied(_("Only the requesting authority adds items, while the case is open."))
    if request.POST.get("step") == "confirm":
        rows = _take_intake(request, request.POST.get("token", ""))
        if rows is None:
            messages.error(request, _("This preview was already used or has expired; nothing was added twice."))
            return redirect(case)
        created = actions.add_items(actor=user, case=case, rows=rows)
        messages.success(request, _("%(n)d item(s) added.") % {"n": len(created)})
        return redirect(reverse("cases:detail", args=[case.reference]) + "#items")
    form = ItemListForm(request.POST, request.FILES)
    parsed = _parse_items(request, form) if form.is_valid() else None
    if parsed is None:
        return render(request, "cases/detail.html", _detail_context(user, case, items_form=form), status=400)
    extra = _preview_context(user, parsed, exclude=case)
    extra["token"] = _store_intake(request, parsed)
    return render(request, "cases/add_items_preview.html", {"case": case, **extra})


@login_required
@require_POST
def remove_item(request: HttpRequest, reference: str, item_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    item = ReportedItem.objects.filter(case=case, pk=item_id).first()
    if item is None:
        from django.http import Http404

        raise Http404
    actions.remove_item(actor=user, item=item)
    messages.success(request, _("Removed %(target)s from the draft.") % {"target": item.target})
    return redirect(reverse("cases:detail", args=[case.reference]) + "#items")


@login_required
@require_POST
def assign(request: HttpRequest, reference: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_assign(user, case):
        raise PermissionDenied(_("You may not assign this case."))
    if request.POST.get("take"):
        assignee: User | None = user
    else:
        form = AssignForm(request.POST, candidates=_assignees(case))
        if not form.is_valid():
            messages.error(request, _("Choose a person who can work this case."))
            return redirect(case)
        assignee = form.cleaned_data["assignee"]
    try:
        actions.assign_case(actor=user, case=case, assignee=assignee)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Assigned to %(name)s.") % {"name": assignee} if assignee
                         else _("Nobody is assigned now."))
    return redirect(case)


@login_required
@require_POST
def grant(request: HttpRequest, reference: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_manage_access(user, case):
        raise PermissionDenied(_("You may not change who sees this case."))
    form = GrantForm(request.POST, candidates=_grantable(case))
    if not form.is_valid():
        messages.error(request, _("Choose a person and say why they need access."))
        return redirect(case)
    try:
        actions.grant_access(actor=user, case=case, user=form.cleaned_data["user"], reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("%(name)s can now see this case.") % {"name": form.cleaned_data["user"]})
    return redirect(reverse("cases:detail", args=[case.reference]) + "#access")


@login_required
@require_POST
def revoke(request: HttpRequest, reference: str, user_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        from django.http import Http404

        raise Http404
    actions.revoke_access(actor=user, case=case, user=target)
    messages.success(request, _("Access removed."))
    return redirect(reverse("cases:detail", args=[case.reference]) + "#access")



@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The home page: what needs this person's attention now."""
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, Any] = {}
    if permissions.membership_of(user) is not None:
        side = permissions.side_of(user)
        context["counts"] = queries.inbox_counts(user)
        context["side"] = side
        if side == OrgKind.PLATFORM:
            attention = queries.filtered_cases(user, queries.CaseFilters(status="open", sort="due"))
        else:
            attention = queries.filtered_cases(user, queries.CaseFilters(status="awaiting_information",
                                                                         sort="updated"))
        rows, _total = queries.page_of_cases(attention, 1, 8)
        context["attention"] = rows
    return render(request, "home.html", context)
