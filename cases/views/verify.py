"""Public pages, no login: anyone checks whether a PDF is a genuine, current outcome report, and fetches the CA
certificate to check it themselves."""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import audit, queries
from ..signing_identity import ca_certificates_pem, ca_fingerprint

# Room for the multipart envelope around the uploaded file.
ENVELOPE_BYTES = 64 * 1024

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
                               "ca_fingerprint": ca_fingerprint(), "result": None, "error": ""}
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
        result = queries.verify_report(upload.read())
        context["result"] = result
        context["file_name"] = (upload.name or "")[:120]
    return render(request, "reports/verify.html", context, status=status)


@require_GET
def ca_certificate(request: HttpRequest) -> HttpResponse:
    """The platform's CA certificate, for readers to trust in their PDF reader or pdfsig."""
    pem = ca_certificates_pem()
    if not pem:
        raise Http404(_("No certificate authority is configured."))
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="liaison-ca.pem"'
    return response
