"""The API's OpenAPI schema validates, its documentation page is served from local files only, and schemathesis,
sending generated requests for every operation to a live test server, finds no server error and no answer that
breaks the schema (status, content type, headers, body)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from django.test import Client
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cases.choices import Status
from tests.cases.conftest import make_case
from tests.factories import build_world

from .conftest import token_for

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.mark.django_db
def test_the_schema_validates() -> None:
    response = Client().get("/api/v1/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert "/api/v1/cases/{reference}/submit/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_the_documentation_loads_nothing_from_the_internet() -> None:
    page = Client().get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    outside = [url for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if re.match(r"(https?:)?//", url)]
    assert outside == []
    assert "<style" not in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # nothing inline (the CSP)
    script = Client().get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", script.content.decode())


# --- schemathesis against a live server -------------------------------------------------------------------------

REAL: dict[str, str] = {}


@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Half of the generated requests name a case that exists, so the answers of a real case are checked too."""
    if path_parameters and "reference" in path_parameters and REAL and hash(str(path_parameters)) % 2:
        path_parameters["reference"] = REAL["reference"]
    return path_parameters


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_api_answers_as_its_schema_says(live_server: Any, settings: Any) -> None:
    """Every operation, up to 20 generated requests each (the liaison's read-write token; half of the case paths
    name a real case in progress): no 5xx, and every answer as documented."""
    settings.LIAISON_API_RATE = "100000/m"
    world = build_world()
    REAL["reference"] = make_case(world, state=Status.IN_PROGRESS).reference
    token = token_for(world.liaison)
    loaded = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(operation.as_strategy())
        @hypothesis_settings(max_examples=20, deadline=None, derandomize=True, database=None,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def exercise(case: Any) -> None:
            case.call_and_validate(base_url=live_server.url,
                                   headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            exercise()
        except Exception as failure:  # every operation is tried; all failures are reported together
            failures[operation.label] = str(failure)[:3000]
    REAL.clear()
    assert failures == {}
