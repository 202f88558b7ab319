"""Outcome reports: the panel on the case page (request, progress, versions), downloads, and the public
verification page with the CA certificate."""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User

from . import actions, audit, permissions, reports
from .evidence import storage
from .models import Case, OutcomeReport

# Room for the multipart envelope around the uploaded file.
ENVELOPE_BYTES = 64 * 1024


def report_context(user: User, case: Case) -> dict[str, Any]:
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


def _case_for_reports(request: HttpRequest, reference: str) -> tuple[User, Case]:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_view_reports(user, case):
        raise PermissionDenied(_("Your role does not give access to this case's outcome reports."))
    return user, case


@login_required
@require_GET
def reports_panel(request: HttpRequest, reference: str) -> HttpResponse:
    """The list of versions and the progress of a report being prepared; polled while one is in flight."""
    user, case = _case_for_reports(request, reference)
    return render(request, "cases/_reports_panel.html", {"case": case, **report_context(user, case)})


@login_required
@require_POST
def request_report(request: HttpRequest, reference: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = permissions.get_case_for_user(user, reference)
    if not permissions.can_request_report(user, case):
        raise PermissionDenied(_("Only a T&S manager of the platform approves an outcome report, once the case is "
                                 "resolved or closed."))
    language = request.POST.get("language", "en")
    include_thread = request.POST.get("include_thread") in ("1", "on", "true")
    error = ""
    try:
        report = actions.request_report(actor=user, case=case, language=language, include_thread=include_thread)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:  # type: ignore[attr-defined]
        context = {"case": case, **report_context(user, case), "report_error": error}
        return render(request, "cases/_reports_panel.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Outcome report version %(version)d was approved; it is being prepared and "
                                    "signed.") % {"version": report.version})
    return redirect(reverse("cases:detail", args=[case.reference]) + "#reports")


@login_required
@require_GET
def download_report(request: HttpRequest, reference: str, version: int) -> HttpResponseBase:
    user, case = _case_for_reports(request, reference)
    report = case.reports.filter(version=version, status=OutcomeReport.Status.READY).first()
    if report is None:
        raise Http404(_("No such report."))
    try:
        handle = storage().open(report.storage_name, "rb")
    except FileNotFoundError as exc:
        raise Http404(_("The report file is missing; ask the platform to issue it again.")) from exc
    actions.record_report_download(actor=user, report=report)
    filename = f"{case.reference}-outcome-report-v{report.version}.pdf"
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Public: verification and the CA certificate ---------------------------------------------------------------

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smh])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def _parse_rate(rate: str) -> tuple[int, int]:
    """"20/m" -> (20, 60); "100/5m" -> (100, 300)."""
    match = _RATE.match(rate or "")
    if match is None:
        return 20, 60
    count, multiple, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
    return count, multiple * _UNIT_SECONDS[unit]


def _over_rate_limit(request: HttpRequest) -> bool:
    """A fixed-window count per client IP in the shared cache."""
    limit, window = _parse_rate(settings.LIAISON_VERIFY_RATE)
    ip = audit.client_ip(request) or "unknown"
    key = f"liaison:verify-rate:{ip}:{int(time.time() // window)}"
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    return count > limit


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Anyone uploads a PDF and learns whether it is a genuine, current outcome report. No login."""
    context: dict[str, Any] = {"max_mb": settings.LIAISON_VERIFY_MAX_BYTES // (1024 * 1024),
                               "ca_fingerprint": reports.ca_fingerprint(), "result": None, "error": ""}
    status = 200
    if request.method == "POST":
        if _over_rate_limit(request):
            context["error"] = _("Too many checks from your address; wait a minute and try again.")
            return render(request, "reports/verify.html", context, status=429)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = settings.LIAISON_VERIFY_MAX_BYTES
        upload = None
        if declared > limit + ENVELOPE_BYTES:
            status = 413
        else:
            upload = request.FILES.get("file")
        if status == 413 or (upload is not None and upload.size > limit):
            context["error"] = _("The file is larger than %(mb)d MiB; outcome reports are much smaller.") % {
                "mb": context["max_mb"]}
            return render(request, "reports/verify.html", context, status=413)
        if upload is None:
            context["error"] = _("Choose a PDF file to check.")
            return render(request, "reports/verify.html", context, status=400)
        result = reports.verify_report_bytes(upload.read())
        context["result"] = result
        context["file_name"] = (upload.name or "")[:120]
    return render(request, "reports/verify.html", context, status=status)


@require_GET
def ca_certificate(request: HttpRequest) -> HttpResponse:
    """The platform's CA certificate, for readers to trust in their PDF reader or pdfsig."""
    pem = reports.ca_certificates_pem()
    if not pem:
        raise Http404(_("No certificate authority is configured."))
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="liaison-ca.pem"'
    return response
