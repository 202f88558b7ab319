"""What a person sees when something is missing, forbidden or broken: the portal's own page in their language,
never Django's technical pages (which list URL patterns and settings)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_portals_own_in_the_readers_language(world, mfa_client):
    client = mfa_client
    client.force_login(world.moderator)
    response = client.get("/cases/XX-2026-999999/")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="error-page"' in page and "This page does not exist" in page
    assert "URLconf" not in page and "Using the URLconf" not in page
    client.logout()  # a stranger's browser asking for Indonesian
    response = client.get("/no-such-address/", HTTP_ACCEPT_LANGUAGE="id")
    assert response.status_code == 404
    with translation.override("id"):
        expected = translation.gettext("This page does not exist, or you may not see it")
    assert expected != "This page does not exist, or you may not see it"  # translated
    assert '<html lang="id"' in response.content.decode() and expected in response.content.decode()


def test_the_server_error_page_stands_alone():
    """Rendered without a request context (the database or the session may be what failed)."""
    request = RequestFactory().get("/")
    response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in page and 'href="/"' in page
