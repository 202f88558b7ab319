"""Secure headers (issue 14): the Content-Security-Policy with no inline code, the Permissions-Policy, and
`Cache-Control: no-store, private` for signed-in people and downloads. The browser side (no violation on any
journey) is held by tests/e2e/conftest.py; the production server by tests/test_production_path.py."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import FileResponse, HttpResponse
from django.test import RequestFactory

from liaison.security_headers import PermissionsPolicyMiddleware, PrivateResponseMiddleware
from tests.cases.conftest import make_case

ROOT = Path(__file__).resolve().parents[1]

# Templates the browser never gets as a page: PDF reports (WeasyPrint) and e-mails.
NOT_PAGES = ("reports/outcome_report", "reports/signature_stamp", "/email/")
# What the policy refuses in a page: inline scripts (a <script> with neither src nor a data type), <style> blocks,
# style attributes, javascript: URLs and on* handlers; and what htmx would evaluate (eval is off): hx-on handlers,
# hx-trigger filters ([…]), hx-vars and js: values.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:json|ld\+json)\")[^>]*>"
    r"|<style\b|\sstyle=|javascript:|\son[a-z]+=\""
    r"|\shx-on[:-]|hx-trigger=\"[^\"]*\[|\shx-vars=|\shx-(?:vals|headers)=[\"']\s*js:",
    re.IGNORECASE,
)


def _page_templates() -> list[Path]:
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        relative = path.relative_to(ROOT / "templates").as_posix()
        if not any(part in "/" + relative for part in NOT_PAGES):
            found.append(path)
    return found


def _html_building_modules() -> list[Path]:
    """Python that writes HTML for pages: views, template tags and row builders of every app."""
    modules: list[Path] = []
    for app in ("accounts", "cases", "liaison", "exports", "stats", "api", "webhooks"):
        base = ROOT / app
        if not base.is_dir():
            continue
        modules += [p for p in base.rglob("*.py") if "views" in p.parts or "templatetags" in p.parts
                    or p.name in {"views.py", "forms.py"}]
    return sorted(modules)


def test_no_page_template_carries_inline_script_or_style() -> None:
    templates = _page_templates()
    assert len(templates) > 20
    found = [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0).strip()}"
             for path in templates for text in [path.read_text()] for match in INLINE.finditer(text)]
    assert found == [], "move these into static/ (the Content-Security-Policy refuses them):\n" + "\n".join(found)


def test_no_html_built_in_python_carries_inline_script_or_style() -> None:
    modules = _html_building_modules()
    assert modules
    found = [f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
             for path in modules for match in INLINE.finditer(path.read_text())]
    assert found == [], "\n".join(found)


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.mark.django_db
def test_a_page_carries_the_policy_and_the_other_headers(client: Any) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    directives = _directives(response["Content-Security-Policy"])
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions
    assert "publickey-credentials" not in permissions  # WebAuthn second factors stay possible
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_htmx_runs_without_eval_or_injected_styles(client: Any) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, "allowEval": false}\'>' in html


def test_every_signed_in_page_is_no_store_private(world: Any, mfa_client: Any) -> None:
    case = make_case(world)
    mfa_client.force_login(world.liaison)
    for url in ("/", "/cases/", f"/cases/{case.reference}/"):
        response = mfa_client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store, private", url
        assert "Content-Security-Policy" in response


@pytest.mark.django_db
def test_a_public_page_is_not_forced_private(client: Any) -> None:
    response = client.get("/reports/verify/")
    assert response.status_code == 200
    assert response.get("Cache-Control", "") != "no-store, private"


def _through(middleware: Any, response: HttpResponse, user: Any = None) -> HttpResponse:
    request = RequestFactory().get("/anything/")
    request.user = user or AnonymousUser()
    return middleware(lambda _request: response)(request)


@pytest.mark.parametrize("response", [
    pytest.param(lambda: FileResponse(io.BytesIO(b"x"), as_attachment=True, filename="e.eml"), id="file"),
    pytest.param(lambda: FileResponse(io.BytesIO(b"x"), filename="r.pdf"), id="inline-file"),
    pytest.param(lambda: _attachment(), id="attachment"),
])
def test_every_download_is_no_store_private_whoever_asks(response: Any) -> None:
    made = response()
    made["Cache-Control"] = "max-age=3600, public"
    assert _through(PrivateResponseMiddleware, made)["Cache-Control"] == "no-store, private"


def _attachment() -> HttpResponse:
    response = HttpResponse(b"-----BEGIN CERTIFICATE-----", content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="liaison-ca.pem"'
    return response


def test_an_anonymous_page_keeps_its_own_cache_control() -> None:
    response = HttpResponse(b"ok")
    response["Cache-Control"] = "max-age=60"
    assert _through(PrivateResponseMiddleware, response)["Cache-Control"] == "max-age=60"


def test_a_response_with_its_own_permissions_policy_keeps_it() -> None:
    response = HttpResponse(b"ok")
    response["Permissions-Policy"] = "fullscreen=(self)"
    assert _through(PermissionsPolicyMiddleware, response)["Permissions-Policy"] == "fullscreen=(self)"
    fresh = _through(PermissionsPolicyMiddleware, HttpResponse(b"ok"))
    assert fresh["Permissions-Policy"].startswith("accelerometer=(), ")
