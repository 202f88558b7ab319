"""Evidence pages: upload, the evidence page with its custody log, download and sandboxed preview."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User
from accounts.roles import OrgKind

from .. import permissions
from ..actions.evidence import (
    add_evidence,
    lift_legal_hold,
    place_legal_hold,
    record_evidence_access,
    withdraw_evidence,
)
from ..evidence_files import EvidenceRejected, open_stored, safe_display_name
from ..evidence_upload import EvidenceUploadHandler
from ..forms import EvidenceForm
from ..models import AuditEvent, Case, Evidence, LegalHold
from ..queries.records import case_evidence, legal_holds
from .downloads import stored_file_response

# Room for the multipart envelope and the other fields around the files.
ENVELOPE_BYTES = 1024 * 1024


def evidence_context(user: User, case: Case) -> dict[str, Any]:
    """The evidence panel of the case page: the files this person may see, the upload form, legal holds."""
    can_upload = permissions.can_upload_evidence(user, case)
    side = permissions.side_of(user)
    is_platform = side == OrgKind.PLATFORM
    return {
        "evidence_list": case_evidence(user, case),
        "can_upload_evidence": can_upload,
        "evidence_fields": upload_fields(side) if can_upload else "",
        "evidence_max_mb": settings.LIAISON_EVIDENCE_MAX_BYTES // (1024 * 1024),
        "holds": legal_holds(case) if is_platform else [],
        "can_manage_holds": permissions.can_manage_legal_hold(user, case),
    }


_UPLOAD_FIELDS: dict[tuple[str, str], SafeString] = {}


def upload_fields(side: str) -> SafeString:
    """The fields of the case page's upload form, rendered once per language and side and kept for the life of the
    process: the form is always shown empty, and its markup depends on nothing else (which side sees the "internal"
    box, the language of the labels, and the code, which a new process brings)."""
    key = (translation.get_language() or "", side)
    fields = _UPLOAD_FIELDS.get(key)
    if fields is None:
        fields = _UPLOAD_FIELDS[key] = mark_safe(  # noqa: S308 (rendered by the template engine, autoescaped)
            # Any case: the form only needs to know there is one (for the item field), not which.
            render_to_string("cases/_evidence_fields.html", {"evidence_form": EvidenceForm(case=True, side=side)}))
    return fields


def _wants_json(request: AuthenticatedRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _case_and_evidence(request: AuthenticatedRequest, reference: str, evidence_id: int) -> tuple[Case, Evidence]:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    return case, permissions.get_evidence_for_user(user, case, evidence_id)


# CSRF is checked by _store_upload, once the upload handler is in place: the token of a form post is in the body,
# and Django's CSRF middleware would otherwise read the whole body with the default handlers first.
@csrf_exempt
@login_required
@require_POST
def upload(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_upload_evidence(user, case):
        raise PermissionDenied(_("You may not add evidence to this case now."))
    limit = settings.LIAISON_EVIDENCE_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + ENVELOPE_BYTES:
        # Refused before the body is read: nothing is stored.
        message = _("The upload is larger than the limit of %(mb)d MiB.") % {"mb": limit // (1024 * 1024)}
        if _wants_json(request):
            return JsonResponse({"results": [{"ok": False, "message": message}]}, status=413)
        messages.error(request, message)
        return redirect(reverse("cases:detail", args=[case.reference]) + "#evidence")
    # Each file is checked, hashed and written once as it arrives (cases/evidence_upload.py).
    handler = EvidenceUploadHandler(request)
    request.upload_handlers = [handler]
    try:
        return _store_upload(request, case)
    finally:
        handler.upload_interrupted()  # a file cut off by a dropped connection leaves nothing behind


@csrf_protect
def _store_upload(request: AuthenticatedRequest, case: Case) -> HttpResponse:
    user = request.user
    form = EvidenceForm(request.POST, request.FILES, case=case, side=permissions.side_of(user))
    results = handle_evidence_form(request, user, case, form)
    if _wants_json(request):
        status = 200 if results and all(r["ok"] for r in results) else 400
        return JsonResponse({"results": results}, status=status)
    for result in results:
        (messages.success if result["ok"] else messages.error)(request, result["message"])
    return redirect(reverse("cases:detail", args=[case.reference]) + "#evidence")


def handle_evidence_form(request: AuthenticatedRequest, user: User, case: Case, form: EvidenceForm) -> list[dict[str, Any]]:
    """Store every file of a valid evidence form; one result per file. Also used by the new-case form."""
    if not form.is_valid():
        return [{"ok": False, "message": " ".join(str(e) for errors in form.errors.values() for e in errors)}]
    results = []
    data = form.cleaned_data
    for upload_file in request.FILES.getlist(form.add_prefix("files")):
        name = upload_file.name or "evidence"
        try:
            outcome = add_evidence(
                actor=user, case=case, source=upload_file, original_name=name, item=data.get("item"),
                description=data.get("description") or "", documents_url=data.get("documents_url") or "",
                captured_at=data.get("captured_at"), internal=bool(data.get("internal")),
            )
        except (EvidenceRejected, ValidationError) as exc:
            results.append({"ok": False, "name": safe_display_name(name),
                            "message": f"{safe_display_name(name)}: {' '.join(getattr(exc, 'messages', [str(exc)]))}"})
            continue
        evidence = outcome.evidence
        url = reverse("cases:evidence", args=[case.reference, evidence.pk])
        if outcome.created:
            message = _("%(name)s stored, SHA-256 %(sha)s.") % {"name": safe_display_name(name), "sha": evidence.sha256}
        else:
            message = _("%(name)s is already attached to this case (same SHA-256); it was not stored twice.") % {
                "name": safe_display_name(name)}
        results.append({"ok": True, "name": safe_display_name(name), "created": outcome.created,
                        "sha256": evidence.sha256, "url": url, "message": message})
    if not results:
        results.append({"ok": False, "message": _("Choose at least one file.")})
    return results


@login_required
@require_GET
def evidence_page(request: AuthenticatedRequest, reference: str, evidence_id: int) -> HttpResponse:
    user = request.user
    case, evidence = _case_and_evidence(request, reference, evidence_id)
    custody = (
        AuditEvent.objects.filter(case=case, object_type="Evidence", object_id=str(evidence.pk))
        .filter(side__in=permissions.visible_sides(user))
        .select_related("actor", "actor_org").order_by("id")
    )
    return render(request, "cases/evidence.html", {
        "case": case, "evidence": evidence, "custody": custody,
        "can_withdraw": permissions.can_withdraw_evidence(user, evidence),
        "display_name": safe_display_name(evidence.original_name),
    })


def _serve(request: AuthenticatedRequest, reference: str, evidence_id: int, *, inline: bool) -> HttpResponseBase:
    user = request.user
    case, evidence = _case_and_evidence(request, reference, evidence_id)
    if evidence.purged_at is not None:
        return render(request, "cases/evidence_gone.html", {"case": case, "evidence": evidence}, status=410)
    if inline and not evidence.is_previewable:
        raise Http404(_("This file cannot be previewed; download it instead."))
    try:
        handle = open_stored(evidence.storage_name)
    except FileNotFoundError:
        raise Http404(_("The stored file is missing; the integrity check will report it.")) from None
    record_evidence_access(actor=user, evidence=evidence,
                                   action="evidence.previewed" if inline else "evidence.downloaded")
    response = stored_file_response(handle, as_attachment=not inline,
                                    filename=safe_display_name(evidence.original_name),
                                    content_type=evidence.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    if inline:
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@login_required
@require_GET
def download(request: AuthenticatedRequest, reference: str, evidence_id: int) -> HttpResponseBase:
    return _serve(request, reference, evidence_id, inline=False)


@login_required
@require_GET
def preview(request: AuthenticatedRequest, reference: str, evidence_id: int) -> HttpResponseBase:
    return _serve(request, reference, evidence_id, inline=True)


@login_required
@require_POST
def withdraw(request: AuthenticatedRequest, reference: str, evidence_id: int) -> HttpResponse:
    user = request.user
    case, evidence = _case_and_evidence(request, reference, evidence_id)
    try:
        withdraw_evidence(actor=user, evidence=evidence, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Evidence withdrawn. It stays in the record, marked as withdrawn."))
    return redirect("cases:evidence", case.reference, evidence.pk)


@login_required
@require_POST
def place_hold(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    try:
        place_legal_hold(actor=user, case=case, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Legal hold placed: nothing of this case will be purged while it holds."))
    return redirect(reverse("cases:detail", args=[case.reference]) + "#evidence")


@login_required
@require_POST
def lift_hold(request: AuthenticatedRequest, reference: str, hold_id: int) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    hold = LegalHold.objects.filter(case=case, pk=hold_id).first()
    if hold is None:
        raise Http404
    lift_legal_hold(actor=user, hold=hold)
    messages.success(request, _("Legal hold lifted."))
    return redirect(reverse("cases:detail", args=[case.reference]) + "#evidence")
