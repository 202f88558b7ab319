"""Outcome reports on the case page: the panel (request, progress, versions) and permission-checked downloads."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User
from accounts.reauthentication import reauthentication_response

from .. import permissions
from ..actions.reports import record_report_download
from ..actions.reports import request_report as approve_report
from ..evidence_files import open_stored
from ..models import Case, OutcomeReport
from .downloads import stored_file_response


def reports_context(user: User, case: Case) -> dict[str, Any]:
    """The reports panel of the case page: versions for those who may download them, progress for the platform."""
    can_view = permissions.can_view_reports(user, case)
    follows = permissions.can_follow_report_progress(user, case)
    rows: list[OutcomeReport] = []
    if can_view:
        qs = case.reports.select_related("approved_by").order_by("-version", "-id")
        rows = list(qs if follows else qs.filter(status=OutcomeReport.Status.READY))
    latest = rows[0] if rows else None
    return {
        "can_view_reports": can_view,
        "can_follow_reports": follows,
        "can_request_report": permissions.can_request_report(user, case),
        "report_rows": rows,
        "issued_reports": [r for r in rows if r.is_ready],
        "latest_report": latest,
        "report_in_flight": any(r.in_flight for r in rows),
        "report_languages": settings.LANGUAGES,
    }


def _case_for_reports(request: AuthenticatedRequest, reference: str) -> tuple[User, Case]:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_view_reports(user, case):
        raise PermissionDenied(_("Your role does not give access to this case's outcome reports."))
    return user, case


@login_required
@require_GET
def reports_panel(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    """The list of versions and the progress of a report being prepared; polled while one is in flight."""
    user, case = _case_for_reports(request, reference)
    return render(request, "cases/_reports_panel.html", {"case": case, **reports_context(user, case)})


@login_required
@require_POST
def request_report(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_request_report(user, case):
        raise PermissionDenied(_("Only a T&S manager of the platform approves an outcome report, once the case is "
                                 "resolved or closed."))
    # Signing in the manager's name: a session left open is asked for the password first; the approval then goes on.
    if (reauthenticate := reauthentication_response(request)) is not None:
        return reauthenticate
    language = request.POST.get("language", "en")
    include_thread = request.POST.get("include_thread") in ("1", "on", "true")
    error = ""
    try:
        report = approve_report(actor=user, case=case, language=language, include_thread=include_thread)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        context = {"case": case, **reports_context(user, case), "report_error": error}
        return render(request, "cases/_reports_panel.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Outcome report version %(version)d was approved; it is being prepared and "
                                    "signed.") % {"version": report.version})
    return redirect(reverse("cases:detail", args=[case.reference]) + "#reports")


@login_required
@require_GET
def download_report(request: AuthenticatedRequest, reference: str, version: int) -> HttpResponseBase:
    user, case = _case_for_reports(request, reference)
    report = case.reports.filter(version=version, status=OutcomeReport.Status.READY).first()
    if report is None:
        raise Http404(_("No such report."))
    try:
        handle = open_stored(report.storage_name)
    except FileNotFoundError as exc:
        raise Http404(_("The report file is missing; ask the platform to issue it again.")) from exc
    record_report_download(actor=user, report=report)
    filename = f"{case.reference}-outcome-report-v{report.version}.pdf"
    response = stored_file_response(handle, as_attachment=True, filename=filename, content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
