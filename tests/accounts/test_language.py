"""Bahasa Indonesia throughout, and times in the person's time zone."""

from __future__ import annotations

import ast
import gettext
import re
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "id" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _prefers_indonesian(user: User, time_zone: str = "Asia/Jakarta") -> User:
    user.preferred_language = "id"
    user.time_zone = time_zone
    user.save(update_fields=["preferred_language", "time_zone"])
    return user


def test_login_page_in_indonesian_from_the_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "id"
    page = client.get(reverse("account_login")).content.decode()
    assert '<html lang="id"' in page
    assert ">Masuk<" in page
    assert "Kata sandi" in page
    assert "Lupa kata sandi Anda?" in page  # allauth's own Indonesian catalogue
    assert "Akun hanya dibuat melalui undangan." in page
    assert "Sign in" not in page


def test_login_page_in_indonesian_from_the_browser_language(client):
    page = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="id-ID,id;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="id"' in page
    assert "Gunakan alamat email dan kata sandi akun Liaison Anda." in page


def test_login_page_in_english_by_default(client):
    page = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="en"' in page
    assert ">Sign in<" in page


def test_signing_in_greets_in_the_preferred_language(world, client, settings):
    settings.LIAISON_REQUIRE_MFA = False
    _prefers_indonesian(world.lead)
    response = client.post(reverse("account_login"), {"login": world.lead.email, "password": PASSWORD},
                           HTTP_ACCEPT_LANGUAGE="en", follow=True)
    page = response.content.decode()
    assert "Berhasil masuk sebagai Budi Lead." in page
    assert "Selamat datang, Budi" in page


def test_home_page_in_the_preferred_language_with_translated_role(world, mfa_client):
    _prefers_indonesian(world.lead)
    mfa_client.force_login(world.lead)
    page = mfa_client.get(reverse("home")).content.decode()
    assert '<html lang="id"' in page
    assert "Selamat datang, Budi" in page
    assert "Anda bekerja di Ministry (test) sebagai Pimpinan otoritas." in page
    assert ">Ikhtisar<" in page
    assert ">Organisasi<" in page
    assert "Welcome" not in page


def test_the_language_cookie_wins_over_the_preference(world, mfa_client):
    _prefers_indonesian(world.lead)
    mfa_client.force_login(world.lead)
    mfa_client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    page = mfa_client.get(reverse("home")).content.decode()
    assert '<html lang="en"' in page
    assert "You work for Ministry (test) as Authority lead." in page


def test_allauth_pages_use_allauth_indonesian_catalogue(world, mfa_client):
    _prefers_indonesian(world.lead)
    mfa_client.force_login(world.lead)
    page = mfa_client.get(reverse("mfa_index")).content.decode()
    assert "Autentikasi Dua Faktor" in page
    assert "Aplikasi Autentikator" in page
    assert "Kode Pemulihan" in page


def test_times_are_shown_in_the_persons_time_zone(world, mfa_client):
    _prefers_indonesian(world.lead, "Asia/Jakarta")
    logged_in_at = datetime(2026, 1, 15, 3, 5, tzinfo=UTC)
    User.objects.filter(pk=world.liaison.pk).update(last_login=logged_in_at)
    mfa_client.force_login(world.lead)

    page = mfa_client.get(reverse("accounts:organization")).content.decode()

    assert "Waktu dalam Asia/Jakarta." in page
    with translation.override("id"):
        in_jakarta = date_format(timezone.localtime(logged_in_at, zoneinfo.ZoneInfo("Asia/Jakarta")),
                                 "SHORT_DATETIME_FORMAT")
        in_utc = date_format(logged_in_at, "SHORT_DATETIME_FORMAT")
    assert in_jakarta == "15-01-2026 10.05"
    assert in_jakarta in page
    assert in_utc not in page


def test_times_follow_a_change_of_time_zone(world, mfa_client):
    world.manager.time_zone = "Europe/Berlin"
    world.manager.save(update_fields=["time_zone"])
    mfa_client.force_login(world.manager)
    assert "Times in Europe/Berlin." in mfa_client.get(reverse("home")).content.decode()


def _po_entries(path: Path) -> list[dict[str, str | list[str]]]:
    """msgid, msgstr and flags of each entry of a .po file (enough for these checks)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, list[str]] = {}
        flags: list[str] = []
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags += [f.strip() for f in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current:
                fields[current].append(line)
            elif " " in line:
                current, value = line.split(" ", 1)
                fields[current] = [value]
        entry: dict[str, str | list[str]] = {k: "".join(ast.literal_eval(v) for v in vs) for k, vs in fields.items()}
        entry["flags"] = flags
        entries.append(entry)
    return [e for e in entries if e.get("msgid")]


def test_every_message_of_the_indonesian_catalogue_is_translated_and_compiled():
    entries = _po_entries(CATALOGUE / "django.po")
    assert len(entries) > 100
    with (CATALOGUE / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    problems = []
    for entry in entries:
        msgid = str(entry["msgid"])
        msgstr = str(entry.get("msgstr", entry.get("msgstr[0]", "")))
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {msgid!r}")
        if not msgstr:
            problems.append(f"untranslated: {msgid!r}")
            continue
        if sorted(set(PLACEHOLDER.findall(msgid))) != sorted(set(PLACEHOLDER.findall(msgstr))):
            problems.append(f"placeholders differ: {msgid!r} -> {msgstr!r}")
        if "msgid_plural" in entry:
            in_mo = compiled.ngettext(msgid, str(entry["msgid_plural"]), 1)
        elif "msgctxt" in entry:
            in_mo = compiled.pgettext(str(entry["msgctxt"]), msgid)
        else:
            in_mo = compiled.gettext(msgid)
        if in_mo != msgstr:
            problems.append(f"django.mo is stale (run `make messages`): {msgid!r}")
    assert not problems, "\n".join(problems)
