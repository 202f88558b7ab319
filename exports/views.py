"""Export pages: asking for an export from the inbox, following a long one, downloading its file."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseBadRequest, QueryDict
from django.http.response import HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest
from cases import queries as case_queries

from . import actions, building, queries
from .models import ExportJob

# The inbox's query string travels in one field of the export form; longer is not a query the inbox makes.
MAX_QUERY_LENGTH = 4000


def _no_store(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def start(request: AuthenticatedRequest) -> HttpResponseBase:
    """The inbox's export buttons: the file at once when it is short, else a job and its progress page."""
    user = request.user
    kind, _dot, fmt = request.POST.get("export", "").partition(".")
    if not building.is_offered(kind, fmt):
        return HttpResponseBadRequest(_("This export is not offered."))
    actions.ensure_can_export(user, kind)
    filters = case_queries.filters_from_query(user, QueryDict(request.POST.get("query", "")[:MAX_QUERY_LENGTH]))
    rows = queries.rows_for_export(user, kind, filters)
    count, longer = queries.count_up_to(rows, settings.LIAISON_EXPORT_STREAM_MAX_ROWS)
    language = translation.get_language() or settings.LANGUAGE_CODE
    if longer:
        job = actions.start_export(user=user, kind=kind, fmt=fmt, filters=filters, language=language)
        return redirect(job)
    actions.record_streamed_export(user=user, kind=kind, fmt=fmt, filters=filters, rows=count)
    response = StreamingHttpResponse(building.chunks(kind, fmt, queries.iterate(rows), language),
                                     content_type=building.CONTENT_TYPES[ExportJob.Format(fmt)])
    response["Content-Disposition"] = f'attachment; filename="{building.file_name(kind, fmt)}"'
    return _no_store(response)


def _job_for(request: AuthenticatedRequest, token: str) -> ExportJob:
    """Only the person who asked for an export sees it; anyone else gets 404."""
    job = ExportJob.objects.filter(token=token, requester=request.user).first()
    if job is None:
        raise Http404(_("No such export."))
    return job


@login_required
@require_GET
def status(request: AuthenticatedRequest, token: str) -> HttpResponseBase:
    job = _job_for(request, token)
    return _no_store(render(request, "exports/status.html", {"job": job}))


@login_required
@require_GET
def progress(request: AuthenticatedRequest, token: str) -> HttpResponseBase:
    """The progress bar alone, polled while the export is written."""
    job = _job_for(request, token)
    return _no_store(render(request, "exports/_progress.html", {"job": job}))


@login_required
@require_GET
def download(request: AuthenticatedRequest, token: str) -> HttpResponseBase:
    job = _job_for(request, token)
    actions.ensure_can_export(request.user, job.kind)
    if not job.is_downloadable:
        raise Http404(_("This export has expired or is not ready."))
    try:
        handle = default_storage.open(job.file_name, "rb")
    except FileNotFoundError as exc:
        raise Http404(_("This export's file is gone; ask for it again.")) from exc
    actions.record_export_download(user=request.user, job=job)
    response = FileResponse(handle, as_attachment=True, filename=job.download_name,
                            content_type=building.CONTENT_TYPES[ExportJob.Format(job.format)])
    return _no_store(response)
