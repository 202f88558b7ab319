"""Inbound e-mail review for T&S managers: what came in, what became of it, and the quarantine."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case as SqlCase
from django.db.models import Count, IntegerField, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import Membership, Organization, User
from accounts.roles import OrgKind, Role
from liaison.input_policy import id_param, page_number

from .. import permissions, queries
from ..actions.inbound_review import (
    record_inbound_email_download,
    reject_inbound_email,
    release_inbound_email,
    release_inbound_reply,
)
from ..email_authentication import summary as authentication_summary
from ..evidence_files import open_stored
from ..models import Case, InboundEmail
from .downloads import stored_file_response

PER_PAGE = 50


def _ensure_reviewer(user: User, *, not_found: bool) -> None:
    if not permissions.can_review_inbound_email(user):
        if not_found:
            raise Http404(_("No such e-mail."))
        raise PermissionDenied(_("Only T&S managers review inbound e-mail."))


def _inbound_for_review(status: str) -> QuerySet[InboundEmail]:
    """Quarantined first (they wait for someone), then newest first."""
    rows = InboundEmail.objects.select_related("case", "decided_by")
    if status in InboundEmail.Status.values:
        rows = rows.filter(status=status)
    waiting = SqlCase(When(status=InboundEmail.Status.QUARANTINED, then=Value(0)), default=Value(1),
                      output_field=IntegerField())
    return rows.annotate(waiting=waiting).order_by("waiting", "-received_at", "-id")


def _get_inbound(pk: int) -> InboundEmail:
    inbound = InboundEmail.objects.select_related("case", "decided_by").filter(pk=pk).first()
    if inbound is None:
        raise Http404(_("No such e-mail."))
    return inbound


@login_required
@require_GET
def inbound_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    _ensure_reviewer(user, not_found=False)
    status = request.GET.get("status", "").strip()
    if status not in InboundEmail.Status.values:
        status = ""
    page = Paginator(_inbound_for_review(status), PER_PAGE).get_page(page_number(request.GET.get("page")))
    counts = dict(InboundEmail.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    context = {
        "page": page,
        "emails": page.object_list,
        "status": status,
        "statuses": [(value, label, counts.get(value, 0)) for value, label in InboundEmail.Status.choices],
        "total": sum(counts.values()),
    }
    return render(request, "cases/inbound_list.html", context)


def _owner_choices() -> list[tuple[Organization, list[User]]]:
    """Active liaisons and leads of each active authority: who a released e-mail may become a draft of."""
    memberships = (
        Membership.objects.filter(organization__kind=OrgKind.AUTHORITY, organization__is_active=True,
                                  role__in=(Role.LIAISON, Role.AUTHORITY_LEAD), deactivated_at__isnull=True,
                                  user__is_active=True)
        .select_related("organization", "user").order_by("organization__name", "user__full_name")
    )
    grouped: dict[int, tuple[Organization, list[User]]] = {}
    for membership in memberships:
        grouped.setdefault(membership.organization_id, (membership.organization, []))[1].append(membership.user)
    return list(grouped.values())


@login_required
@require_GET
def inbound_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    _ensure_reviewer(user, not_found=True)
    inbound = _get_inbound(pk)
    review = queries.email_review(inbound)
    context: dict[str, Any] = {
        "inbound": inbound,
        "review": review,
        "parsed": review.parsed,
        "owners": _owner_choices(),
        "can_decide": inbound.status == InboundEmail.Status.QUARANTINED,
        "authentication": authentication_summary(inbound.authentication),
        # Offered only for a case the reviewer can see; the action checks it again.
        "reply_case": inbound.reply_case if inbound.reply_case and permissions.can_view_case(
            user, inbound.reply_case) else None,
    }
    return render(request, "cases/inbound_detail.html", context)


@login_required
@require_GET
def inbound_raw(request: AuthenticatedRequest, pk: int) -> FileResponse:
    """The original message, as an attachment (never shown inline); the download is audited."""
    user = request.user
    _ensure_reviewer(user, not_found=True)
    inbound = _get_inbound(pk)
    try:
        handle = open_stored(inbound.raw_storage_name)
    except FileNotFoundError as exc:
        raise Http404(_("The stored message is missing.")) from exc
    record_inbound_email_download(actor=user, inbound=inbound)
    response = stored_file_response(handle, as_attachment=True, filename=f"inbound-{inbound.pk}.eml",
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def inbound_release(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    _ensure_reviewer(user, not_found=True)
    inbound = _get_inbound(pk)
    organization = Organization.objects.filter(pk=id_param(request.POST.get("organization")) or 0).first()
    owner = User.objects.filter(pk=id_param(request.POST.get("owner")) or 0).first()
    if organization is None or owner is None:
        messages.error(request, _("Choose the authority and the person who will own the draft."))
        return redirect("cases:inbound_detail", pk=inbound.pk)
    try:
        inbound = release_inbound_email(actor=user, inbound=inbound, organization=organization, owner=owner)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("cases:inbound_detail", pk=inbound.pk)
    reference = inbound.case.reference if inbound.case else ""
    messages.success(request, _("Released: draft %(reference)s now awaits %(owner)s's confirmation.")
                     % {"reference": reference, "owner": owner.full_name})
    return redirect("cases:inbound_detail", pk=inbound.pk)


@login_required
@require_POST
def inbound_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    _ensure_reviewer(user, not_found=True)
    inbound = _get_inbound(pk)
    try:
        reject_inbound_email(actor=user, inbound=inbound, reason=request.POST.get("reason", "")[:2000])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("cases:inbound_detail", pk=inbound.pk)
    messages.success(request, _("The e-mail was rejected."))
    return redirect("cases:inbound_list")


@login_required
@require_POST
def inbound_release_reply(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Post a quarantined reply in the thread of the case it names, as its sender wrote it (the manager vouches)."""
    user = request.user
    _ensure_reviewer(user, not_found=True)
    inbound = _get_inbound(pk)
    case = Case.objects.filter(pk=id_param(request.POST.get("case")) or 0).first()
    if case is None or case.pk != inbound.reply_case_id:
        messages.error(request, _("This e-mail can be released only into the thread of the case it names."))
        return redirect("cases:inbound_detail", pk=inbound.pk)
    try:
        inbound = release_inbound_reply(actor=user, inbound=inbound, case=case)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("cases:inbound_detail", pk=inbound.pk)
    messages.success(request, _("Released: the e-mail is now a message in the thread of %(reference)s.")
                     % {"reference": case.reference})
    return redirect("cases:inbound_detail", pk=inbound.pk)
