"""Personal API tokens: created on the preferences page after re-authentication and shown once, by command for
scripts; stored only as a hash; read-only, revoked, expired and deactivated people's tokens; every change made
through a token is attributed to it in the audit chain."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.actions import deactivate_member
from accounts.reauthentication import SIGNED_IN_AT_SESSION_KEY
from api.actions import create_api_token, revoke_api_token
from api.models import ApiToken, TokenScope
from api.tokens import new_secret
from cases.models import AuditEvent
from tests.cases.conftest import make_case
from tests.factories import UserFactory, World

from .conftest import Api, token_for

pytestmark = pytest.mark.django_db


def test_a_token_from_the_command_reads_the_api(world: World) -> None:
    out = io.StringIO()
    call_command("create_api_token", world.liaison.email, "--name", "Intake script", stdout=out)
    secret = out.getvalue().strip()
    assert secret.startswith("lx_")
    response = Api(secret).get("/api/v1/cases/")
    assert response.status_code == 200
    token = ApiToken.objects.get(user=world.liaison)
    assert token.name == "Intake script" and not token.is_read_only
    assert token.last_used_at is not None
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)


def test_a_token_used_again_within_a_minute_writes_nothing(world: World) -> None:
    """Each request reads the token with its person in one query; its last-used time is written at most once a
    minute, and the rate limit is counted in the cache, not the database."""
    api = Api(token_for(world.liaison))
    api.get("/api/v1/cases/")
    token = ApiToken.objects.get(user=world.liaison)
    first_use = token.last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/cases/").status_code == 200
    reads_of_tokens = [q["sql"] for q in queries.captured_queries if '"api_apitoken"' in q["sql"]]
    assert len(reads_of_tokens) == 1 and reads_of_tokens[0].startswith("SELECT")
    assert not [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip("(").startswith("SELECT")]
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(seconds=61))
    with CaptureQueriesContext(connection) as queries:
        api.get("/api/v1/cases/")
    assert [q["sql"].split()[0] for q in queries.captured_queries if '"api_apitoken"' in q["sql"]] == [
        "SELECT", "UPDATE"]
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > first_use - timedelta(seconds=1)


def test_no_token_secret_is_in_the_database(world: World) -> None:
    secret = token_for(world.liaison)
    Api(secret).get("/api/v1/cases/")
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert secret not in dump.getvalue()
    assert secret.split("_", 2)[2] not in dump.getvalue()
    token = ApiToken.objects.get(user=world.liaison)
    assert len(token.digest) == 64 and token.prefix in secret


def test_without_a_token_or_with_a_wrong_one_the_api_answers_401(world: World) -> None:
    assert Api(None).get("/api/v1/cases/").status_code == 401
    secret = token_for(world.liaison)
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    response = Api(forged).get("/api/v1/cases/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_fails(world: World) -> None:
    secret, = [token_for(world.liaison)]
    revoke_api_token(actor=world.liaison, token=ApiToken.objects.get(user=world.liaison))
    assert Api(secret).get("/api/v1/cases/").status_code == 401


def test_an_expired_token_fails(world: World) -> None:
    secret = token_for(world.liaison)
    ApiToken.objects.filter(user=world.liaison).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Api(secret).get("/api/v1/cases/").status_code == 401


def test_a_deactivated_persons_token_fails(world: World) -> None:
    secret = token_for(world.liaison)
    assert Api(secret).get("/api/v1/cases/").status_code == 200
    deactivate_member(actor=world.lead, membership=world.liaison.membership)
    assert Api(secret).get("/api/v1/cases/").status_code == 401


def test_a_read_only_token_reads_but_cannot_write(world: World) -> None:
    case = make_case(world, submit=False)
    api = Api(token_for(world.liaison, read_only=True))
    assert api.get(f"/api/v1/cases/{case.reference}/").status_code == 200
    response = api.post(f"/api/v1/cases/{case.reference}/submit/")
    assert response.status_code == 403
    assert response.json()["detail"] == "This token is read-only."
    case.refresh_from_db()
    assert case.status == "draft"


def test_a_change_through_a_token_is_attributed_to_it_in_the_audit_chain(world: World) -> None:
    case = make_case(world, submit=False)
    api = Api(create_api_token(actor=world.liaison, name="Ministry intake")[1])
    assert api.post(f"/api/v1/cases/{case.reference}/submit/").status_code == 200
    event = AuditEvent.objects.filter(action="case.submit").get()
    assert event.actor == world.liaison
    assert event.data["via"] == "API token Ministry intake"
    created = AuditEvent.objects.filter(action="api.token_created").get()
    assert created.actor == world.liaison and "via" not in created.data


def test_the_preferences_page_creates_a_token_after_reauthentication_and_shows_it_once(
        world: World, mfa_client: Client) -> None:
    mfa_client.force_login(world.liaison)
    page = mfa_client.get(reverse("accounts:preferences"))
    assert b"API tokens" in page.content
    session = mfa_client.session
    session[SIGNED_IN_AT_SESSION_KEY] = int(time.time()) - 3600
    session.save()
    asked = mfa_client.post(reverse("api:create_token"), {"name": "Intake", "scope": "read", "days": "30"})
    assert asked.status_code == 302 and "reauthenticate" in asked["Location"]
    assert not ApiToken.objects.exists()

    session = mfa_client.session
    session[SIGNED_IN_AT_SESSION_KEY] = int(time.time())
    session.save()
    shown = mfa_client.post(reverse("api:create_token"), {"name": "Intake", "scope": "read", "days": "30"})
    assert shown.status_code == 200
    secret = shown.context["secret"]
    assert secret.encode() in shown.content
    assert "no-store" in shown["Cache-Control"] or "no-cache" in shown["Cache-Control"]
    token = ApiToken.objects.get()
    assert token.is_read_only and token.name == "Intake"
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    again = mfa_client.get(reverse("accounts:preferences"))
    assert secret.encode() not in again.content
    assert token.prefix.encode() in again.content

    revoked = mfa_client.post(reverse("api:revoke_token", args=[token.pk]))
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Api(secret).get("/api/v1/cases/").status_code == 401


def test_nobody_revokes_another_persons_token(world: World, mfa_client: Client) -> None:
    token, _secret = create_api_token(actor=world.lead, name="Lead's")
    mfa_client.force_login(world.liaison)
    assert mfa_client.post(reverse("api:revoke_token", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_session_works_with_its_csrf_token_only(world: World) -> None:
    case = make_case(world, submit=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.liaison)
    from allauth.mfa.models import Authenticator  # noqa: F401  (the session below skips the MFA requirement)

    session = client.session
    session["liaison_mfa_enrolled"] = world.liaison.pk
    session.save()
    assert client.get(f"/api/v1/cases/{case.reference}/").status_code == 200
    refused = client.post(f"/api/v1/cases/{case.reference}/submit/", content_type="application/json", data={})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get(reverse("accounts:preferences"))
    csrf = client.cookies["csrftoken"].value
    taken = client.post(f"/api/v1/cases/{case.reference}/submit/", content_type="application/json", data={},
                        headers={"X-CSRFToken": csrf})
    assert taken.status_code == 200
    event = AuditEvent.objects.filter(action="case.submit").get()
    assert event.data["via"] == "API (signed-in session)"


def test_each_token_names_its_own_person_and_one_without_a_membership_fails(world: World) -> None:
    """Tokens are read by one statement kept for the process (api.actions._token_by_prefix): each request binds its
    own token, and a person who belongs to no organisation (no membership row) is refused like a deactivated one."""
    make_case(world)
    liaison, other = token_for(world.liaison), token_for(world.other_liaison)
    for _ in range(2):
        assert len(Api(liaison).get("/api/v1/cases/").json()["results"]) == 1
        assert Api(other).get("/api/v1/cases/").json()["results"] == []
    loner = UserFactory()
    secret = new_secret()
    ApiToken.objects.create(user=loner, name="Orphan", scope=TokenScope.READ_ONLY, prefix=secret.prefix,
                            digest=secret.digest, created_at=timezone.now(),
                            expires_at=timezone.now() + timedelta(days=1))
    assert Api(secret.token).get("/api/v1/cases/").status_code == 401
    assert Api(liaison).get("/api/v1/cases/").status_code == 200
