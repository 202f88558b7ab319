"""Evidence over the API: the files the caller may see, an upload streamed, checked and hashed as it arrives (the
web path's upload handler and action), and a download recorded in the chain of custody."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, HttpRequest, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from cases import permissions
from cases.actions.evidence import add_evidence, record_evidence_access
from cases.evidence_files import EvidenceRejected, FingerprintedUpload, open_stored, safe_display_name
from cases.evidence_upload import EvidenceUploadHandler
from cases.forms import EvidenceForm
from liaison.input_policy import has_unstorable

from ..idempotency import idempotent
from ..problems import Unprocessable, problem
from ..serializers import EvidenceSerializer, EvidenceUploadResultSerializer, EvidenceUploadSerializer
from .base import ApiView, FileView, sha256_digest_header
from .cases import ERRORS, IDEMPOTENCY_KEY, PROBLEM, PROBLEM_JSON, UNPROCESSABLE, case_for

# Room for the multipart envelope and the fields around the files.
ENVELOPE_BYTES = 1024 * 1024
FIELDS = ("item", "description", "documents_url", "captured_at", "internal")


class EvidenceListView(ApiView):
    parser_classes = [MultiPartParser]
    upload_handler: EvidenceUploadHandler | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Installed before anything reads the body (a session's CSRF check may): each file is refused, hashed and
        # written once as it arrives, as on the case page (cases/evidence_upload.py).
        if request.method == "POST":
            self.upload_handler = EvidenceUploadHandler(request)
            request.upload_handlers = [self.upload_handler]
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self.upload_handler is not None:
                self.upload_handler.upload_interrupted()

    @extend_schema(operation_id="evidence_list", responses={200: EvidenceSerializer(many=True), **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        rows = permissions.evidence_visible_to(user, case).select_related("uploaded_by", "item").order_by("id")
        return Response(EvidenceSerializer(rows, many=True).data)

    def idempotency_extra(self, request: Request) -> str:
        files = [[f.name, f.size, f.streamed.sha256 if getattr(f, "streamed", None) else ""]
                 for f in request.FILES.getlist("file")]
        fields = {name: request.data.get(name, "") for name in FIELDS}
        return json.dumps({"fields": fields, "files": files}, sort_keys=True)

    @extend_schema(operation_id="evidence_upload", request={"multipart/form-data": EvidenceUploadSerializer},
                   parameters=[IDEMPOTENCY_KEY],
                   responses={201: EvidenceUploadResultSerializer, (413, PROBLEM_JSON): PROBLEM, **UNPROCESSABLE,
                              **ERRORS})
    def post(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        if not permissions.can_upload_evidence(user, case):
            raise exceptions.PermissionDenied("You may not add evidence to this case now.")
        limit = settings.LIAISON_EVIDENCE_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
            return problem(413, "Too large", f"The upload is larger than the limit of {limit // (1024 * 1024)} MiB.",
                           code="too_large")
        return self._store(request, case)

    @idempotent
    def _store(self, request: Request, case: Any) -> Response:
        user = self.actor
        fields = {name: request.data.get(name, "") for name in FIELDS}
        if any(isinstance(value, str) and has_unstorable(value) for value in fields.values()):
            raise exceptions.ParseError("A field holds characters that cannot be stored (NUL or lone surrogates).")
        form = EvidenceForm({k: v for k, v in fields.items() if v not in ("", None)}, case=case,
                            side=permissions.side_of(user))
        if not form.is_valid():
            raise exceptions.ValidationError({name: list(errors) for name, errors in form.errors.items()})
        uploads = request.FILES.getlist("file")
        if not uploads:
            raise exceptions.ValidationError({"file": ["Send at least one file."]})
        data = form.cleaned_data
        results: list[dict[str, Any]] = []
        for upload in uploads:
            name = safe_display_name(upload.name or "evidence")
            try:
                if isinstance(upload, FingerprintedUpload) and upload.refusal is not None:
                    raise upload.refusal
                outcome = add_evidence(
                    actor=user, case=case, source=upload, original_name=upload.name or "evidence",
                    item=data.get("item"), description=data.get("description") or "",
                    documents_url=data.get("documents_url") or "", captured_at=data.get("captured_at"),
                    internal=bool(data.get("internal")))
            except (EvidenceRejected, DjangoValidationError) as exc:
                results.append({"name": name, "ok": False,
                                "detail": " ".join(getattr(exc, "messages", None) or [str(exc)])})
                continue
            evidence = outcome.evidence
            results.append({"name": name, "ok": True, "created": outcome.created,
                            "evidence": EvidenceSerializer(evidence).data})
        if not any(result["ok"] for result in results):
            raise Unprocessable("No file was stored.", code="no_file_stored",
                                errors=[{"field": "file", "detail": f"{r['name']}: {r['detail']}", "code": "refused"}
                                        for r in results])
        return Response({"files": results}, status=201)


class EvidenceDownloadView(FileView):
    @extend_schema(operation_id="evidence_download",
                   responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file, with its own type."),
                              (410, PROBLEM_JSON): PROBLEM, **ERRORS})
    def get(self, request: Request, reference: str, evidence_id: int) -> HttpResponseBase:
        user = self.actor
        case = case_for(user, reference)
        evidence = permissions.get_evidence_for_user(user, case, evidence_id)
        if evidence.purged_at is not None:
            return problem(410, "Gone", "This file was purged at the end of its retention; its record stays.",
                           code="purged")
        try:
            handle = open_stored(evidence.storage_name)
        except FileNotFoundError:
            raise exceptions.NotFound("The stored file is missing; the integrity check will report it.") from None
        record_evidence_access(actor=user, evidence=evidence, action="evidence.downloaded")
        response = FileResponse(handle, as_attachment=True, filename=safe_display_name(evidence.original_name),
                                content_type=evidence.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Repr-Digest"] = sha256_digest_header(evidence.sha256)
        return response
