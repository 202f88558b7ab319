from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from liaison.celery import app as celery_app

from .factories import World, build_world


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_audit_triggers() -> Iterator[None]:
    """Transactional tests empty the database with Django's flush, which the audit tables' append-only triggers
    refuse (as they must in production); the tests' flush switches them off for its statements."""
    from unittest import mock

    from django.db.backends.base.operations import BaseDatabaseOperations

    from .audit_triggers import flush_past_the_triggers

    patched = flush_past_the_triggers(BaseDatabaseOperations.execute_sql_flush)
    with mock.patch.object(BaseDatabaseOperations, "execute_sql_flush", patched):
        yield


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Tasks run in-process unless a test starts a real worker (tests marked integration)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _english_by_default() -> Iterator[None]:
    """A request may activate a person's language for the thread; each test starts in English."""
    from django.utils import timezone, translation

    translation.activate("en")
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _isolated_storage(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "files")}},
    }
    settings.MEDIA_ROOT = str(tmp_path / "files")


@pytest.fixture(autouse=True)
def _trusted_mail_server(settings: Any) -> None:
    """Inbound mail in tests is received by mx.liaison.example, whose Authentication-Results count."""
    settings.LIAISON_TRUSTED_AUTHSERV_ID = "mx.liaison.example"
    settings.LIAISON_INBOUND_REQUIRE_DKIM_ALIGNMENT = False


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def enrol_totp(user: Any) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def mfa_client(client: Any) -> Any:
    """A test client whose login() also enrols the person in TOTP, as production requires."""
    original = client.force_login

    def force_login(user: Any, backend: str | None = None) -> None:
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            enrol_totp(user)
        original(user, backend)

    client.force_login = force_login
    return client


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A test that needed to make a PDF on a host without Pango (which WeasyPrint lays text out with, a system
    library no Python package can bring) is reported skipped with that reason, outside CI: every PDF made
    anywhere goes through `html_to_pdf`, whose RendererUnavailable names the missing library in the failure or
    its log. CI installs Pango, and there a skip fails the run."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.failed or os.environ.get("LIAISON_STRICT_CI"):
        return
    from cases.report_rendering import RENDERER_MISSING, renderer_unavailable

    missing = renderer_unavailable()
    text = report.longreprtext + "".join(content for _name, content in report.sections)
    if missing and RENDERER_MISSING in text:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {missing}")


@pytest.fixture
def pdf_renderer() -> None:
    """For a test whose PDF need does not show in its failure (a command's output it keeps): skips with the reason
    on a host without Pango (CI has it, and fails on any skip)."""
    from cases.report_rendering import renderer_unavailable

    missing = renderer_unavailable()
    if missing:
        pytest.skip(missing)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI every test must run: a skipped test there means a real service was missing."""
    if not os.environ.get("LIAISON_STRICT_CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"LIAISON_STRICT_CI: {skipped} test(s) skipped; CI requires all to run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def signing_identity_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A throwaway CA and signer for the whole run (outcome reports), never the developer's var/signing/."""
    from cases.signing_identity import create_signing_identity

    directory = tmp_path_factory.mktemp("signing")
    created = create_signing_identity(p12_path=directory / "signer.p12", ca_path=directory / "ca.pem",
                                      passphrase="test-signing-passphrase", organization="Liaison (test)",
                                      key_size=2048)
    return {"p12": str(created.p12), "ca": str(created.ca_pem), "passphrase": "test-signing-passphrase",
            "dev_passphrase_file": str(directory / "no-dev-passphrase.txt")}


@pytest.fixture(autouse=True)
def _test_signing_identity(settings: Any, signing_identity_files: dict[str, str]) -> None:
    settings.LIAISON_SIGNING_P12 = signing_identity_files["p12"]
    settings.LIAISON_SIGNING_PASSPHRASE = signing_identity_files["passphrase"]
    settings.LIAISON_SIGNING_CA = signing_identity_files["ca"]
    settings.LIAISON_SIGNING_DEV_PASSPHRASE_FILE = signing_identity_files["dev_passphrase_file"]
    settings.LIAISON_TSA_URL = ""
