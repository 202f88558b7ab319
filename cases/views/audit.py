"""The audit chain's signed checkpoints: the list for auditors, downloads (each audited), and a new one on demand."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from .. import permissions
from ..actions.checkpoints import make_checkpoint, record_checkpoint_download
from ..audit_checkpoints import MEDIA_TYPE, filename
from ..models import AuditCheckpoint
from ..report_context import ca_url
from ..signing_identity import SigningIdentityError, ca_fingerprint

CHECKPOINTS_PER_PAGE = 50


def _ensure_can_view(request: AuthenticatedRequest) -> None:
    if not permissions.can_view_audit_checkpoints(request.user):
        raise PermissionDenied(_("Your role does not give access to the audit checkpoints."))


@login_required
@require_GET
def checkpoints(request: AuthenticatedRequest) -> HttpResponse:
    _ensure_can_view(request)
    rows = AuditCheckpoint.objects.defer("signed_file").select_related("requested_by").order_by("-sequence")
    page = Paginator(rows, CHECKPOINTS_PER_PAGE).get_page(request.GET.get("page"))
    total = page.paginator.count  # numbered 1, 2, … without gaps: the newest is number `total`
    return render(request, "cases/audit_checkpoints.html", {
        "page": page,
        "total": total,
        "can_make": permissions.can_make_audit_checkpoint(request.user),
        "ca_url": ca_url(),
        "ca_fingerprint": ca_fingerprint(),
        "example_file": filename(total or 1),
    })


def _download(request: AuthenticatedRequest, checkpoint: AuditCheckpoint | None) -> HttpResponse:
    if checkpoint is None:
        raise Http404(_("No such checkpoint."))
    record_checkpoint_download(actor=request.user, checkpoint=checkpoint)
    response = HttpResponse(bytes(checkpoint.signed_file), content_type=MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename(checkpoint.sequence)}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def download_checkpoint(request: AuthenticatedRequest, sequence: int) -> HttpResponse:
    _ensure_can_view(request)
    return _download(request, AuditCheckpoint.objects.filter(sequence=sequence).first())


@login_required
@require_GET
def download_latest_checkpoint(request: AuthenticatedRequest) -> HttpResponse:
    """The newest checkpoint, for an authority lead to keep outside the platform."""
    _ensure_can_view(request)
    return _download(request, AuditCheckpoint.objects.order_by("-sequence").first())


@login_required
@require_POST
def make_checkpoint_now(request: AuthenticatedRequest) -> HttpResponse:
    if not permissions.can_make_audit_checkpoint(request.user):
        raise PermissionDenied(_("Only a T&S manager of the platform makes an audit checkpoint on demand."))
    try:
        checkpoint = make_checkpoint(actor=request.user, reason=AuditCheckpoint.Reason.ON_DEMAND)
    except SigningIdentityError as exc:
        messages.error(request, str(exc))
    else:
        if checkpoint is not None:
            messages.success(request, _("Checkpoint no. %(n)d was signed: %(events)d events up to event no. "
                                        "%(head)d.") % {"n": checkpoint.sequence, "events": checkpoint.event_count,
                                                        "head": checkpoint.head_event_id})
    return redirect("cases:audit_checkpoints")
