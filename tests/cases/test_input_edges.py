"""Hostile input at the edges of every page: a NUL byte anywhere answers 400 with the friendly page and stores
nothing, an oversized number is clamped or a form error, a forged id is a 404; never a 500. Run on PostgreSQL too
(DATABASE_URL=postgres://…): it is there that NUL bytes and numbers beyond a bigint fail in the database."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Evidence, Message, SLAPolicy
from tests.factories import World

from .conftest import make_case, page_messages

pytestmark = pytest.mark.django_db

HUGE = "999999999999999999999"  # beyond a bigint
LONGER_THAN_ANY_ID = "9" * 19
NUL = "\x00"


@pytest.fixture
def client_500s(mfa_client: Any) -> Any:
    """A client that answers as the server would (a 500 is a status, not an exception in the test)."""
    mfa_client.raise_request_exception = False
    return mfa_client


def is_friendly_400(response: Any) -> bool:
    return response.status_code == 400 and 'data-testid="error-page"' in response.content.decode()


# --- NUL bytes: 400 wherever they come --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_nul_byte_in_a_message_answers_400_and_posts_nothing(world: World, client_500s: Any,
                                                               encoding: str) -> None:
    case = make_case(world)
    client_500s.force_login(world.liaison)
    before = Message.objects.filter(case=case).count()
    url = reverse("cases:post_message", args=[case.reference])
    if encoding == "urlencoded":
        response = client_500s.post(url, urlencode({"body": f"hello{NUL}world"}),
                                    content_type="application/x-www-form-urlencoded")
    else:
        response = client_500s.post(url, {"body": f"hello{NUL}world"})  # the test client's default
    assert is_friendly_400(response)
    assert "This request could not be read" in response.content.decode()
    assert Message.objects.filter(case=case).count() == before


def test_a_nul_byte_in_the_search_answers_400(world: World, client_500s: Any) -> None:
    make_case(world)
    client_500s.force_login(world.manager)
    assert is_friendly_400(client_500s.get(reverse("cases:list"), {"q": f"t.me{NUL}"}))
    assert is_friendly_400(client_500s.get(reverse("cases:list"), {f"q{NUL}": "x"}))


def test_a_nul_byte_in_a_case_reference_answers_400(world: World, client_500s: Any) -> None:
    case = make_case(world)
    client_500s.force_login(world.liaison)
    assert is_friendly_400(client_500s.get(f"/cases/{case.reference}%00/"))
    assert is_friendly_400(client_500s.post(f"/cases/{case.reference}%00/messages/", {"body": "x"}))


def test_the_400_page_speaks_the_language_the_browser_asks_for(world: World, client_500s: Any) -> None:
    response = client_500s.get("/cases/ID%00/", headers={"accept-language": "id"})
    assert is_friendly_400(response)
    assert "Permintaan ini tidak dapat dibaca" in response.content.decode()


def test_a_nul_byte_in_a_sign_in_form_answers_400(world: World, client_500s: Any) -> None:
    response = client_500s.post(reverse("account_login"), {"login": f"dewi@ministry.test{NUL}",
                                                             "password": "x"})
    assert is_friendly_400(response)


def test_a_nul_byte_in_a_multipart_form_answers_400_and_stores_no_file(world: World, client_500s: Any) -> None:
    """Multipart bodies are checked as the view reads them, after the evidence upload handler is in place."""
    case = make_case(world)
    client_500s.force_login(world.liaison)
    upload = SimpleUploadedFile("note.txt", b"plain text evidence\n", content_type="text/plain")
    response = client_500s.post(reverse("cases:evidence_upload", args=[case.reference]),
                                {"files": upload, "description": f"screenshot{NUL}"})
    assert is_friendly_400(response)
    assert not Evidence.objects.filter(case=case).exists()


def test_a_nul_byte_in_a_cookie_is_ignored_not_a_500(world: World, client_500s: Any) -> None:
    # Written into the header as a client would send it (some Python builds refuse to set such a cookie).
    response = client_500s.get(reverse("cases:list"),
                               HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}=abcdefgh{NUL}ijklmnop")
    assert response.status_code == 302  # no session: to the sign-in page
    assert reverse("account_login") in response["Location"]


def test_ordinary_text_still_goes_through(world: World, client_500s: Any) -> None:
    case = make_case(world)
    client_500s.force_login(world.liaison)
    body = "Kanal ini masih aktif: https://t.me/contoh — ✓ \t tab"
    response = client_500s.post(reverse("cases:post_message", args=[case.reference]), {"body": body})
    assert response.status_code == 302
    assert Message.objects.filter(case=case, body=body).exists()
    assert client_500s.get(reverse("cases:list"), {"q": "café ✓"}).status_code == 200


# --- Oversized numbers: clamped, or a form error ---------------------------------------------------------------------


@pytest.mark.parametrize("number", [HUGE, "9" * 5000, "-1", "²", "1e9", " 7 "])
def test_any_page_number_shows_a_page(world: World, client_500s: Any, number: str) -> None:
    make_case(world)
    client_500s.force_login(world.manager)
    assert client_500s.get(reverse("cases:list"), {"page": number, "status": ""}).status_code == 200
    assert client_500s.get(reverse("cases:inbound_list"), {"page": number}).status_code == 200


@pytest.mark.parametrize("value", [HUGE, "²", "-3"])
def test_any_items_page_or_item_search_shows_the_case(world: World, client_500s: Any, value: str) -> None:
    case = make_case(world)
    client_500s.force_login(world.moderator)
    for query in ({"items_page": value}, {"per_page": value}, {"item_q": value}, {"item_q": f"#{value}"}):
        assert client_500s.get(case.get_absolute_url(), query).status_code == 200, query


@pytest.mark.parametrize("minutes", [HUGE, "9999999999", "2147483648"])
def test_an_out_of_range_sla_duration_is_a_form_error(world: World, client_500s: Any, minutes: str) -> None:
    policy = SLAPolicy.objects.order_by("pk").first()
    assert policy is not None
    before = (policy.acknowledge_minutes, policy.resolve_minutes)
    client_500s.force_login(world.manager)
    response = client_500s.post(reverse("cases:sla_policies"),
                                {f"ack-{policy.pk}": "1", f"resolve-{policy.pk}": minutes}, follow=True)
    assert response.status_code == 200
    assert any("Resolve (minutes): Ensure this value is less than or equal to 2147483647." in message
               for message in page_messages(response))
    policy.refresh_from_db()
    assert (policy.acknowledge_minutes, policy.resolve_minutes) == before


def test_sla_rows_change_only_when_every_row_is_right(world: World, client_500s: Any) -> None:
    first, second = SLAPolicy.objects.order_by("pk")[:2]
    client_500s.force_login(world.manager)
    response = client_500s.post(reverse("cases:sla_policies"), {
        f"ack-{first.pk}": "5", f"resolve-{first.pk}": "50",
        f"ack-{second.pk}": "60", f"resolve-{second.pk}": "30"}, follow=True)
    assert any("Acknowledging cannot take longer than resolving." in m for m in page_messages(response))
    first.refresh_from_db()
    assert (first.acknowledge_minutes, first.resolve_minutes) != (5, 50)
    client_500s.post(reverse("cases:sla_policies"), {
        f"ack-{first.pk}": "5", f"resolve-{first.pk}": "50", f"ack-{second.pk}": "x"})
    first.refresh_from_db()
    assert (first.acknowledge_minutes, first.resolve_minutes) != (5, 50)
    client_500s.post(reverse("cases:sla_policies"), {f"ack-{first.pk}": "5", f"resolve-{first.pk}": "50"})
    first.refresh_from_db()
    assert (first.acknowledge_minutes, first.resolve_minutes) == (5, 50)


# --- Forged ids: 404, or left out -----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [HUGE, LONGER_THAN_ANY_ID, "999999999999999999", "2147483648"])
def test_forged_ids_in_paths_are_404(world: World, client_500s: Any, number: str) -> None:
    case = make_case(world)
    client_500s.force_login(world.manager)
    ref = case.reference
    for method, path in [
        ("get", f"/cases/{ref}/evidence/{number}/"),
        ("get", f"/cases/{ref}/evidence/{number}/download/"),
        ("get", f"/cases/{ref}/reports/{number}/download/"),
        ("post", f"/cases/{ref}/items/{number}/remove/"),
        ("post", f"/cases/{ref}/messages/{number}/edit/"),
        ("post", f"/cases/{ref}/deadlines/proposals/{number}/answer/"),
        ("post", f"/cases/{ref}/holds/{number}/lift/"),
        ("post", f"/cases/notifications/{number}/open/"),
        ("get", f"/cases/inbound/{number}/"),
        ("get", f"/cases/audit/checkpoints/{number}/"),
        ("post", f"/organisation/members/{number}/deactivate/"),
    ]:
        response = getattr(client_500s, method)(path)
        assert response.status_code in (403, 404), (path, response.status_code)


@pytest.mark.parametrize("value", [HUGE, "²", "-1", "0"])
def test_forged_ids_in_posts_are_left_out(world: World, client_500s: Any, value: str) -> None:
    case = make_case(world)
    client_500s.force_login(world.liaison)
    response = client_500s.post(reverse("cases:post_message", args=[case.reference]),
                                {"body": "see the evidence", "evidence": value})
    assert response.status_code == 302
    assert Message.objects.filter(case=case, body="see the evidence").exists()
    response = client_500s.post(reverse("cases:propose_deadline", args=[case.reference]),
                                {"kind": "extend", "deadline": value, "reason": "more time"})
    assert response.status_code == 302
