"""Outcome reports over the API: the versions the caller may see, a T&S manager's request for one, the download,
and the check of any PDF (the verification page's answer)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from cases import permissions, queries
from cases.actions.reports import record_report_download, request_report
from cases.evidence_files import open_stored
from cases.models import Case, OutcomeReport

from ..idempotency import idempotent
from ..problems import problem
from ..serializers import (
    ReportRequestSerializer,
    ReportSerializer,
    VerificationSerializer,
    VerifyInputSerializer,
)
from .base import ApiView, FileView, sha256_digest_header
from .cases import ERRORS, IDEMPOTENCY_KEY, PROBLEM, PROBLEM_JSON, UNPROCESSABLE, case_for


def _case_for_reports(user: Any, reference: str) -> Case:
    case = case_for(user, reference)
    if not permissions.can_view_reports(user, case):
        raise exceptions.PermissionDenied("Your role does not give access to this case's outcome reports.")
    return case


class ReportsView(ApiView):
    @extend_schema(operation_id="reports_list", responses={200: ReportSerializer(many=True), **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = _case_for_reports(user, reference)
        rows = case.reports.select_related("case").order_by("-version", "-id")
        if not permissions.can_follow_report_progress(user, case):  # the authority sees issued versions only
            rows = rows.filter(status=OutcomeReport.Status.READY)
        return Response(ReportSerializer(rows, many=True).data)

    @extend_schema(operation_id="reports_request", request=ReportRequestSerializer, parameters=[IDEMPOTENCY_KEY],
                   responses={202: ReportSerializer, **UNPROCESSABLE, **ERRORS})
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        serializer = ReportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = request_report(actor=user, case=case, language=serializer.validated_data["language"],
                                include_thread=serializer.validated_data["include_thread"])
        return Response(ReportSerializer(report).data, status=202)


class ReportDownloadView(FileView):
    @extend_schema(operation_id="reports_download",
                   responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY), **ERRORS})
    def get(self, request: Request, reference: str, version: int) -> HttpResponseBase:
        user = self.actor
        case = _case_for_reports(user, reference)
        report = case.reports.filter(version=version, status=OutcomeReport.Status.READY).first()
        if report is None:
            raise exceptions.NotFound("No such report.")
        try:
            handle = open_stored(report.storage_name)
        except FileNotFoundError:
            raise exceptions.NotFound("The report file is missing; ask the platform to issue it again.") from None
        record_report_download(actor=user, report=report)
        response = FileResponse(handle, as_attachment=True, content_type="application/pdf",
                                filename=f"{case.reference}-outcome-report-v{report.version}.pdf")
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Repr-Digest"] = sha256_digest_header(report.sha256)
        return response


class VerifyView(ApiView):
    """The verification page's check, for a program: reads the file, changes nothing (read-only tokens may)."""

    parser_classes = [MultiPartParser]
    changes_nothing = True

    @extend_schema(operation_id="reports_verify", request={"multipart/form-data": VerifyInputSerializer},
                   responses={200: VerificationSerializer, (413, PROBLEM_JSON): PROBLEM, **ERRORS})
    def post(self, request: Request) -> Response:
        limit = settings.LIAISON_VERIFY_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + 64 * 1024:
            return problem(413, "Too large", f"Outcome reports are far smaller than {limit // (1024 * 1024)} MiB.",
                           code="too_large")
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": ["Send the PDF to check as `file`."]})
        if upload.size > limit:
            return problem(413, "Too large", f"Outcome reports are far smaller than {limit // (1024 * 1024)} MiB.",
                           code="too_large")
        result = queries.verify_report(upload.read())
        body = {**asdict(result), "verdict": result.verdict, "ok": result.ok}
        return Response(VerificationSerializer(body).data)
