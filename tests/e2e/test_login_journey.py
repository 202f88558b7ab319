"""Signing in through the real pages, in a real browser, in both languages, with and without MFA."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from playwright.sync_api import expect

from accounts.models import User

from .conftest import DEMO_PASSWORD, log_in

pytestmark = [pytest.mark.e2e]

MINISTRY = "Ministry of Communications (Demo)"
PLATFORM = "Messenger Platform (Demo)"


def switch_language(page: Any, code: str) -> None:
    """Use the language form in the footer, as a person would."""
    footer = page.locator("footer")
    footer.locator("select[name=language]").select_option(code)
    footer.locator("button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def current_totp_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def test_login_page_is_accessible_in_both_languages(browser_db: None, live_server: Any, page: Any,
                                                    assert_accessible: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    # An invitation-only portal does not invite strangers to sign up.
    expect(page.get_by_role("link", name=re.compile("sign up", re.I))).to_have_count(0)
    assert_accessible(page, "the login page (English)")

    switch_language(page, "id")
    expect(page.get_by_role("heading", level=1)).to_have_text("Masuk")
    expect(page.get_by_role("button", name="Masuk")).to_be_visible()
    assert_accessible(page, "the login page (Indonesian)")


def test_liaison_signs_in_and_sees_organisation_and_role(demo: None, live_server: Any, page: Any,
                                                         assert_accessible: Any) -> None:
    log_in(page, live_server.url, "liaison@ministry-id.example")

    expect(page).to_have_url(f"{live_server.url}/")
    # Dewi prefers Bahasa Indonesia and works in Jakarta time.
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("heading", level=1)).to_have_text("Selamat datang, Dewi")
    identity = page.get_by_test_id("identity")
    expect(identity).to_contain_text(MINISTRY)
    expect(identity).to_contain_text("Liaison")
    expect(page.locator("main")).to_contain_text(f"Anda bekerja di {MINISTRY} sebagai Liaison.")
    expect(page.locator("footer")).to_contain_text("Asia/Jakarta")
    expect(page.get_by_role("link", name="Organisasi")).to_be_visible()
    assert_accessible(page, "the home page (Indonesian)")

    switch_language(page, "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Dewi")
    expect(page.locator("main")).to_contain_text(f"You work for {MINISTRY} as Liaison.")
    expect(identity).to_contain_text(MINISTRY)
    expect(identity).to_contain_text("Liaison")
    expect(page.get_by_role("link", name="Organisation")).to_be_visible()
    assert_accessible(page, "the home page (English)")

    # The liaison sees the members of the ministry but cannot invite anyone.
    page.get_by_role("link", name="Organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(MINISTRY)
    expect(page.get_by_role("table")).to_contain_text("Budi Santoso")
    expect(page.get_by_role("heading", name="Invite a person")).to_have_count(0)
    assert_accessible(page, "the organisation page of a liaison")


def test_manager_sees_members_and_invites_a_moderator(demo: None, live_server: Any, page: Any,
                                                      assert_accessible: Any, mailoutbox: list[Any]) -> None:
    log_in(page, live_server.url, "manager@platform.example")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    identity = page.get_by_test_id("identity")
    expect(identity).to_contain_text(PLATFORM)
    expect(identity).to_contain_text("T&S manager")
    expect(page.locator("footer")).to_contain_text("Europe/Berlin")

    page.get_by_role("link", name="Organisation").click()
    expect(page).to_have_url(f"{live_server.url}/organisation/")
    expect(page.get_by_role("heading", level=1)).to_have_text(PLATFORM)
    members = page.get_by_role("region", name="Members")
    for name in ["Maria Keller", "Rizky Pratama", "Sam Taylor", "Jonathan Reyes", "Priya Nair"]:
        expect(members).to_contain_text(name)
    expect(members).to_contain_text("Indonesia · Bahasa Indonesia")

    invite = page.get_by_role("region", name="Invite a person")
    expect(invite).to_be_visible()
    expect(invite.get_by_role("button", name="Send invitation")).to_be_visible()
    assert_accessible(page, "the organisation page of a T&S manager")

    invite.get_by_label("E-mail address").fill("new.moderator@platform.example")
    invite.get_by_label("Full name").fill("Nadia Putri")
    invite.get_by_label("Role").select_option("moderator")
    invite.get_by_label("Indonesia · Bahasa Indonesia").check()
    invite.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_role("alert")).to_contain_text("Invitation sent to new.moderator@platform.example")
    expect(page.get_by_role("region", name="Invitations")).to_contain_text("new.moderator@platform.example")
    invitations = [m for m in mailoutbox if m.to == ["new.moderator@platform.example"]]
    assert len(invitations) == 1
    assert "/invitations/" in invitations[0].body
    assert_accessible(page, "the organisation page after an invitation")


def test_mfa_is_enforced_and_totp_enrolment_reaches_the_home_page(demo: None, live_server: Any, page: Any,
                                                                  settings: Any, assert_accessible: Any) -> None:
    settings.LIAISON_REQUIRE_MFA = True
    email = "moderator-en@platform.example"
    assert not Authenticator.objects.filter(user__email=email).exists()

    log_in(page, live_server.url, email)
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/")
    expect(page.get_by_test_id("mfa-required")).to_contain_text("requires a second factor for every account")
    assert_accessible(page, "the two-factor page")

    # Nothing else is reachable before enrolment.
    page.goto(f"{live_server.url}/organisation/")
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/")

    page.get_by_role("link", name="Activate").click()
    # allauth asks for the password again before changing authenticators.
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(DEMO_PASSWORD)
        page.locator("form.lx-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    assert_accessible(page, "the authenticator activation page")

    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    page.locator("input[name=code]").fill(current_totp_code(secret))
    page.get_by_role("button", name="Activate").click()

    expect(page).not_to_have_url(re.compile(r"/totp/activate/"))
    user = User.objects.get(email=email)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    page.get_by_role("link", name="Overview").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Sam")
    expect(page.get_by_test_id("identity")).to_contain_text("Moderator")
    page.goto(f"{live_server.url}/organisation/")
    expect(page).to_have_url(f"{live_server.url}/organisation/")
