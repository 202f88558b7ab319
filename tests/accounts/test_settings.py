from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# Production settings also require the key that encrypts webhook signing secrets (a Fernet key).
WEBHOOK_KEY = {"LIAISON_WEBHOOK_SECRET_KEY": "ZHJpbGwtd2ViaG9vay1rZXktbm90LWEtc2VjcmV0ISE="}


@pytest.mark.django_db
def test_database_is_the_one_ci_asked_for():
    """CI sets LIAISON_EXPECT_DB=postgresql; a silent fall-back to SQLite must fail there."""
    expected = os.environ.get("LIAISON_EXPECT_DB")
    url = os.environ.get("DATABASE_URL", "")
    if expected is None:
        expected = "postgresql" if url.startswith(("postgres", "pgsql")) else "sqlite"
    assert connection.vendor == expected


def _run_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DEBUG", "SECRET", "ALLOWED"))}
    return subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='liaison.settings'; django.setup()"],
        cwd=ROOT, env={**clean, **WEBHOOK_KEY, **env}, capture_output=True, text=True, timeout=60,
    )


def test_production_without_secret_key_fails_loudly():
    result = _run_settings({"DEBUG": "false", "ALLOWED_HOSTS": "liaison.example.org"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_without_allowed_hosts_fails_loudly():
    result = _run_settings({"DEBUG": "false", "SECRET_KEY": "x" * 60})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("k" * 60)
    result = _run_settings({"DEBUG": "false", "SECRET_KEY_FILE": str(key_file), "ALLOWED_HOSTS": "a.example"})
    assert result.returncode == 0, result.stderr


def test_check_deploy_with_production_values_reports_only_what_the_readme_explains():
    env = {"DEBUG": "false", "SECRET_KEY": "p" * 30 + "Q" * 20 + "9$z" * 10, "ALLOWED_HOSTS": "liaison.example.org",
           **WEBHOOK_KEY}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DEBUG", "SECRET", "ALLOWED"))}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"],
                            cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    reported = set(re.findall(r"\((\w+\.[EW]\d+)\)", result.stdout + result.stderr))
    readme = (ROOT / "README.md").read_text()
    unexplained = {code for code in reported if code not in readme}
    assert not unexplained, result.stdout + result.stderr
    assert settings.ROOT_URLCONF == "liaison.urls"
