from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts import actions
from accounts.models import User
from tests.conftest import enrol_totp
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _current_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def test_signup_page_does_not_create_accounts(client):
    response = client.post(reverse("account_signup"), {
        "email": "stranger@example.org", "password1": "a-long-and-unusual-passphrase-42",
        "password2": "a-long-and-unusual-passphrase-42",
    })
    assert response.status_code == 200
    assert b"closed" in response.content.lower()
    assert not User.objects.filter(email="stranger@example.org").exists()


def test_unenrolled_user_is_sent_to_enrol_mfa_before_anything_else(world, client, settings):
    settings.LIAISON_REQUIRE_MFA = True
    client.force_login(world.liaison)
    for url in [reverse("home"), reverse("accounts:organization")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_index")
    page = client.get(reverse("mfa_index"))
    assert page.status_code == 200
    assert b"requires a second factor" in page.content


def test_mfa_not_required_when_turned_off(world, client, settings):
    settings.LIAISON_REQUIRE_MFA = False
    client.force_login(world.liaison)
    assert client.get(reverse("home")).status_code == 200


def test_totp_login_end_to_end(world, client, settings):
    settings.LIAISON_REQUIRE_MFA = True
    secret = enrol_totp(world.moderator)
    response = client.post(reverse("account_login"), {"login": world.moderator.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    # Not logged in yet: the second factor is still owed.
    assert client.get(reverse("home")).status_code == 302
    assert "_auth_user_id" not in client.session

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert b"Platform (test)" in home.content
    assert b"Moderator" in home.content


def test_deactivated_user_cannot_log_in_and_keeps_history(world, client):
    actions.deactivate_member(actor=world.lead, membership=world.liaison.membership)
    world.liaison.refresh_from_db()
    assert world.liaison.is_active is False
    assert world.liaison.membership.deactivated_by == world.lead
    response = client.post(reverse("account_login"), {"login": world.liaison.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"] == reverse("account_inactive")
    assert User.objects.filter(pk=world.liaison.pk).exists()


def test_deactivated_user_with_a_live_session_is_locked_out(world, mfa_client):
    mfa_client.force_login(world.liaison)
    assert mfa_client.get(reverse("home")).status_code == 200
    actions.deactivate_member(actor=world.lead, membership=world.liaison.membership)
    assert mfa_client.get(reverse("home")).status_code == 302


def test_lead_cannot_deactivate_someone_of_another_organisation_or_themselves(world):
    with pytest.raises(PermissionDenied):
        actions.deactivate_member(actor=world.lead, membership=world.other_liaison.membership)
    with pytest.raises(PermissionDenied):
        actions.deactivate_member(actor=world.lead, membership=world.lead.membership)
    with pytest.raises(PermissionDenied):
        actions.deactivate_member(actor=world.liaison, membership=world.authority_auditor.membership)


def test_deactivate_button_of_another_org_member_is_404(world, mfa_client):
    mfa_client.force_login(world.lead)
    response = mfa_client.post(reverse("accounts:deactivate", args=[world.other_liaison.membership.pk]))
    assert response.status_code == 404
    world.other_liaison.refresh_from_db()
    assert world.other_liaison.is_active


def test_failed_logins_are_counted_and_reset_on_success(world, client, settings):
    settings.LIAISON_REQUIRE_MFA = False
    for _ in range(2):
        client.post(reverse("account_login"), {"login": world.liaison.email, "password": "wrong-password"})
    world.liaison.refresh_from_db()
    assert world.liaison.failed_login_count == 2
    assert world.liaison.last_failed_login_at is not None
    client.post(reverse("account_login"), {"login": world.liaison.email, "password": PASSWORD})
    world.liaison.refresh_from_db()
    assert world.liaison.failed_login_count == 0


def test_login_is_rate_limited_after_repeated_failures(world, client, settings):
    settings.LIAISON_LOGIN_PAIR_FAILURES = 3
    for _ in range(3):
        client.post(reverse("account_login"), {"login": world.lead.email, "password": "wrong"})
    response = client.post(reverse("account_login"), {"login": world.lead.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert b"Too many" in response.content or response.status_code == 429


def test_passwords_are_hashed_with_argon2(settings, db):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = User.objects.create_user(email="hash@example.org", password="a-long-and-unusual-passphrase-42",
                                    full_name="Hash")
    assert user.password.startswith("argon2$")


def test_removing_the_second_factor_sends_the_person_back_to_enrol(world, mfa_client, settings):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.signals import authenticator_removed
    from django.test import RequestFactory

    settings.LIAISON_REQUIRE_MFA = True
    mfa_client.force_login(world.liaison)
    assert mfa_client.get(reverse("home")).status_code == 200  # the session now vouches for the second factor

    # allauth removes the authenticator and announces it, in a request of the same session.
    authenticator = Authenticator.objects.get(user=world.liaison)
    request = RequestFactory().post("/accounts/2fa/totp/deactivate/")
    request.session = mfa_client.session
    authenticator.delete()
    authenticator_removed.send(sender=Authenticator, request=request, user=world.liaison,
                               authenticator=authenticator)
    request.session.save()

    response = mfa_client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("mfa_index")


def test_the_closed_sign_up_page_leads_back_to_sign_in(client):
    page = client.get(reverse("account_signup"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "invitation only" in html
    assert f'href="{reverse("account_login")}" data-testid="back-to-sign-in"' in html


@pytest.mark.parametrize("first_pause, duration", [
    (300, "5 minutes"),
    (90, "2 minutes"),  # rounded up to whole minutes
    (7200, "2 hours"),
])
def test_the_lock_out_message_says_for_how_long(world, client, settings, first_pause, duration):
    """Wrong passwords are limited by accounts/login_throttle.py (tests/accounts/test_login_throttling.py): the
    message gives the wait left."""
    settings.LIAISON_REQUIRE_MFA = False
    settings.LIAISON_LOGIN_PAIR_FAILURES = 3
    settings.LIAISON_LOGIN_FIRST_PAUSE_SECONDS = first_pause
    for _ in range(3):
        client.post(reverse("account_login"), {"login": world.lead.email, "password": "wrong"})
    response = client.post(reverse("account_login"), {"login": world.lead.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert (f"Too many failed sign-in attempts. Signing in is paused for up to {duration}; try again after that."
            in response.content.decode())


def test_by_default_five_wrong_passwords_pause_signing_in_for_a_minute(world, client, settings):
    settings.LIAISON_REQUIRE_MFA = False
    assert (settings.LIAISON_LOGIN_PAIR_FAILURES, settings.LIAISON_LOGIN_FIRST_PAUSE_SECONDS) == (5, 60)
    for _ in range(5):
        client.post(reverse("account_login"), {"login": world.lead.email, "password": "wrong"})
    response = client.post(reverse("account_login"), {"login": world.lead.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    # The wait left is exact: a minute, or a few seconds less on a slow machine.
    assert re.search(r"paused for up to (1 minute|5\d seconds);", response.content.decode())


def test_too_many_wrong_codes_say_for_how_long_too(world, client, settings):
    settings.LIAISON_REQUIRE_MFA = True
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/5m/key"}
    secret = enrol_totp(world.moderator)
    client.post(reverse("account_login"), {"login": world.moderator.email, "password": PASSWORD})
    for _ in range(3):
        client.post(reverse("mfa_authenticate"), {"code": "000000"})
    response = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert "_auth_user_id" not in client.session
    assert "paused for up to 5 minutes" in response.content.decode()
