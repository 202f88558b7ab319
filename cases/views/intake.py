"""Intake: a new case from a pasted or uploaded list, and more items for an open case, each reviewed in a preview
(bad rows by line and reason, duplicates, other cases reporting the same targets) before anything is saved."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User

from .. import item_lists, permissions, queries
from ..actions.cases import create_case, submit_case
from ..actions.items import add_items as add_item_rows
from ..forms import CaseForm, EvidenceForm, ItemListForm
from ..models import Case
from ..queries.deconfliction import keys_already_in
from .case import detail_context, error_text
from .evidence import handle_evidence_form

PREVIEW_ROWS = 300
SESSION_PREFIX = "intake:"


def _parse_items(request: AuthenticatedRequest, form: ItemListForm) -> item_lists.Intake | None:
    pasted = form.cleaned_data.get("pasted") or ""
    upload = form.cleaned_data.get("upload")
    if upload and pasted.strip():
        form.add_error("pasted", _("Paste a list or upload a file, not both."))
        return None
    try:
        if upload:
            return item_lists.parse_upload(upload.name, upload.read())
        if pasted.strip():
            return item_lists.parse_text(pasted)
    except item_lists.IntakeFileError as exc:
        form.add_error("upload", str(exc))
        return None
    form.add_error("pasted", _("Paste at least one target or upload a file."))
    return None


# The fields of an accepted row, as the session keeps them: one list per field (not one list per row, which for
# 10,000 rows made 10,000 objects for the garbage collector on each side of the preview).
_STORED_FIELDS = ("line", "target", "note", "key", "kind", "warning")


def _store_intake(request: AuthenticatedRequest, parsed: item_lists.Intake) -> str:
    token = secrets.token_urlsafe(16)
    rows = parsed.accepted
    request.session[SESSION_PREFIX + token] = {name: [getattr(row, name) for row in rows] for name in _STORED_FIELDS}
    return token


def _take_intake(request: AuthenticatedRequest, token: str) -> list[item_lists.AcceptedRow] | None:
    stored = request.session.pop(SESSION_PREFIX + token, None) if token else None
    if stored is None:
        return None
    if isinstance(stored, dict):
        return [item_lists.AcceptedRow(*fields)
                for fields in zip(*(stored[name] for name in _STORED_FIELDS), strict=True)]
    # Previews stored before, one list per row; the earliest have five fields (no warning).
    return [item_lists.AcceptedRow(line=r[0], target=r[1], note=r[2], key=r[3], kind=r[4],
                                   warning=r[5] if len(r) > 5 else "") for r in stored]


def _preview_context(user: User, parsed: item_lists.Intake, exclude: Case | None = None) -> dict[str, Any]:
    sightings = queries.deconfliction(user, parsed.keys, exclude_case=exclude)
    existing = keys_already_in(exclude, parsed.keys) if exclude is not None else set()
    return {
        "parsed": parsed,
        "preview_rows": parsed.accepted[:PREVIEW_ROWS],
        "hidden_rows": max(len(parsed.accepted) - PREVIEW_ROWS, 0),
        "sightings": sightings,
        "sighting_rows": [(row, sightings[row.key]) for row in parsed.accepted if row.key in sightings][:500],
        "warning_rows": [row for row in parsed.accepted if row.warning][:500],
        "already_in_case": existing,
    }


@login_required
def case_new(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
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
                    if parsed.accepted:  # a list of rejected rows only has nothing to save
                        context["token"] = _store_intake(request, parsed)
                        context["evidence_form"] = EvidenceForm(prefix="evidence", side=permissions.side_of(user))
        elif form.is_valid():
            rows = _take_intake(request, request.POST.get("token", ""))
            if rows is None:
                messages.error(request, _("This preview was already used or has expired. Nothing was saved twice; "
                                          "check your cases list, or preview the list again."))
                return redirect("cases:list")
            if not rows:  # a list whose every row was rejected saves nothing, not even an empty draft
                messages.error(request, _("No row was accepted. Correct the list and preview again."))
                return render(request, "cases/new.html", context, status=400)
            data = form.cleaned_data
            try:
                case = create_case(
                    actor=user, title=data["title"], category=data["category"],
                    responding_org=data["responding_org"], request_type=data["request_type"],
                    legal_basis=data["legal_basis"], legal_article=data["legal_article"],
                    description=data["description"], priority=data["priority"],
                    threat_to_life=data["threat_to_life"], tlp=data["tlp"], language=data["language"],
                    territorial_scope=data["territorial_scope"], items=rows,
                )
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, error_text(exc))
                return render(request, "cases/new.html", context)
            evidence_form = EvidenceForm(request.POST, request.FILES, prefix="evidence", case=case,
                                         side=permissions.side_of(user))
            if request.FILES.getlist(evidence_form.add_prefix("files")):
                for result in handle_evidence_form(request, user, case, evidence_form):
                    (messages.success if result["ok"] else messages.error)(request, result["message"])
            if step == "submit":
                try:
                    submit_case(case=case, actor=user)
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


@login_required
@require_POST
def add_items(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_edit_items(user, case):
        raise PermissionDenied(_("Only the requesting authority adds items, while the case is open."))
    if request.POST.get("step") == "confirm":
        rows = _take_intake(request, request.POST.get("token", ""))
        if rows is None:
            messages.error(request, _("This preview was already used or has expired; nothing was added twice."))
            return redirect(case)
        try:
            created = add_item_rows(actor=user, case=case, rows=rows)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
            return redirect(reverse("cases:detail", args=[case.reference]) + "#items")
        messages.success(request, _("%(n)d item(s) added.") % {"n": len(created)})
        return redirect(reverse("cases:detail", args=[case.reference]) + "#items")
    form = ItemListForm(request.POST, request.FILES)
    parsed = _parse_items(request, form) if form.is_valid() else None
    if parsed is None:
        return render(request, "cases/detail.html", detail_context(user, case, items_form=form), status=400)
    extra = _preview_context(user, parsed, exclude=case)
    if parsed.accepted:
        extra["token"] = _store_intake(request, parsed)
    return render(request, "cases/add_items_preview.html", {"case": case, **extra})
