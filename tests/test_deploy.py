"""The production run of docs/deploy.md (issue 14) held against the code: the PostgreSQL roles set up by
deploy/postgresql/ (migrate as the owner, the portal running as a role that owns nothing, backups read by a role
that writes nothing), and the files in deploy/ naming only what exists and settings the portal reads."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.cases.conftest import postgresql_only

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def server_url(database: str, role: str | None = None) -> str:
    params = connection.settings_dict
    user = role or params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") and not role else ""
    return f"postgres://{user}{password}@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{database}"


def psql(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["psql", "--no-psqlrc", "-X", "-q", "-tA", "--dbname", url, *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def roles() -> Iterator[dict[str, str]]:
    """Names for the guide's three roles and its database, unique to this run; all dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    names = {"owner": f"liaison_owner_{suffix}", "app": f"liaison_app_{suffix}",
             "backup": f"liaison_backup_{suffix}", "database": f"liaison_roles_{suffix}"}
    yield names
    admin = server_url("postgres")
    psql(admin, "-c", f"DROP DATABASE IF EXISTS {names['database']} WITH (FORCE)")
    for role in ("owner", "app", "backup"):
        psql(admin, "-c", f"DROP ROLE IF EXISTS {names[role]}")


@pytest.fixture
def production_environment(tmp_path: Path, signing_identity_files: dict[str, str]) -> dict[str, str]:
    """A production process's environment on this machine: no DEBUG, its own var directory, tasks run in the
    process (no broker shared with the rest of the test run), the test's signing identity."""
    import os

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "DJANGO_SETTINGS", "CELERY_", "REDIS_URL", "CACHE_URL"))}
    env.update({
        "DEBUG": "false", "SECRET_KEY": "deploy-rehearsal", "ALLOWED_HOSTS": "localhost",
        "LIAISON_VAR_DIR": str(tmp_path / "var"), "CELERY_BROKER_URL": "filesystem://",
        "CELERY_TASK_ALWAYS_EAGER": "true", "LIAISON_SIGNING_P12": signing_identity_files["p12"],
        "LIAISON_SIGNING_PASSPHRASE": signing_identity_files["passphrase"],
        "LIAISON_SIGNING_CA": signing_identity_files["ca"],
        "LIAISON_SIGNING_DEV_PASSPHRASE_FILE": signing_identity_files["dev_passphrase_file"], "LIAISON_TSA_URL": "",
    })
    return env


def manage(env: dict[str, str], database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env={**env, "DATABASE_URL": database_url},
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


@postgresql_only
def test_migrated_by_the_owner_the_portal_runs_as_a_role_that_cannot_touch_the_audit_log(roles,
                                                                                         production_environment,
                                                                                         tmp_path):
    admin = server_url("postgres")
    created = psql(admin, *(f"--set={key}={value}" for key, value in roles.items()),
                   "-f", str(DEPLOY / "postgresql" / "1-roles.sql"))
    assert created.returncode == 0, created.stderr
    as_owner = server_url(roles["database"], roles["owner"])
    as_app = server_url(roles["database"], roles["app"])
    as_backup = server_url(roles["database"], roles["backup"])

    # The release step, as liaison-migrate.service runs it.
    migrated = manage(production_environment, as_owner, "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    granted = manage(production_environment, as_owner, "dbshell", "--", "--no-psqlrc", "--quiet",
                     f"--set=app={roles['app']}", "-f", str(DEPLOY / "postgresql" / "2-grants.sql"))
    assert granted.returncode == 0, granted.stderr

    # The portal at work as the application role: people, cases, evidence, threads, signed reports, checkpoints.
    seeded = manage(production_environment, as_app, "seed_demo", "--force")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "signed outcome report" in seeded.stdout
    checkpoint = manage(production_environment, as_app, "make_audit_checkpoint")
    assert checkpoint.returncode == 0, checkpoint.stderr
    verified = manage(production_environment, as_app, "verify_audit")
    assert verified.returncode == 0 and "Audit chain intact" in verified.stdout, verified.stderr

    # What it cannot do, however it asks.
    refusals = {
        "DELETE FROM cases_auditevent": "permission denied",
        "UPDATE cases_auditevent SET action = 'case.harmless'": "permission denied",
        "TRUNCATE cases_auditevent": "permission denied",
        "UPDATE cases_auditcheckpoint SET event_count = 0": "permission denied",
        "ALTER TABLE cases_auditevent DISABLE TRIGGER USER": "must be owner",
        "DROP TRIGGER liaison_audit_append_only ON cases_auditevent": "must be owner",
        "SET session_replication_role = replica": "permission denied",
        "CREATE TABLE intruder (id int)": "permission denied for schema public",
        "ALTER TABLE cases_case ADD COLUMN intruder int": "must be owner",
    }
    for sql, error in refusals.items():
        result = psql(as_app, "-c", sql)
        assert result.returncode != 0 and error in result.stderr, (sql, result.stderr)
    owned = psql(as_app, "-c", "SELECT count(*) FROM pg_class WHERE relowner = "
                               "(SELECT oid FROM pg_roles WHERE rolname = current_user)")
    assert owned.stdout.strip() == "0"  # not one table, index, sequence or view

    # Backups read everything and change nothing.
    assert psql(as_backup, "-c", "SELECT count(*) FROM cases_auditevent").stdout.strip() != "0"
    written = psql(as_backup, "-c", "INSERT INTO cases_category (slug) VALUES ('intruder')")
    assert written.returncode != 0 and "permission denied" in written.stderr
    dumped = subprocess.run(["pg_dump", "--format=custom", f"--file={tmp_path / 'liaison.dump'}", f"--dbname={as_backup}"],
                            capture_output=True, text=True, timeout=300)
    assert dumped.returncode == 0, dumped.stderr


# --- The files of deploy/ ---------------------------------------------------------------------------------------


def unit(name: str) -> str:
    return (DEPLOY / name).read_text()


def test_the_units_run_the_release_with_its_own_config_and_scripts():
    for name in ("liaison-web.service", "liaison-worker.service", "liaison-beat.service",
                 "liaison-migrate.service", "liaison-backup.service"):
        text = unit(name)
        assert "User=liaison" in text and "EnvironmentFile=/etc/liaison/liaison.env" in text, name
        for path in re.findall(r"/srv/liaison/((?:deploy|docs)/[\w./-]+)", text):
            assert (ROOT / path).exists(), (name, path)
        for path in re.findall(r"-f (deploy/[\w./-]+)", text):
            assert (ROOT / path).exists(), (name, path)
    assert "gunicorn --config /srv/liaison/deploy/gunicorn.conf.py liaison.wsgi" in unit("liaison-web.service")
    assert "celery --app liaison worker" in unit("liaison-worker.service")
    beat = unit("liaison-beat.service")
    assert "celery --app liaison beat" in beat and "django_celery_beat.schedulers:DatabaseScheduler" in beat
    assert "EXACTLY ONE" in beat
    migrate = unit("liaison-migrate.service")
    assert "EnvironmentFile=/etc/liaison/migrate.env" in migrate  # the owner role, for this unit only
    for name in ("liaison-web.service", "liaison-worker.service", "liaison-beat.service"):
        assert "migrate.env" not in unit(name), name


def test_the_example_environment_names_only_settings_the_portal_reads():
    settings_source = (ROOT / "liaison" / "settings.py").read_text()
    read_elsewhere = {"AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION"}  # boto3 reads these
    for example in ("liaison.env.example", "migrate.env.example"):
        names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", unit(example), flags=re.MULTILINE)
        assert names, example
        for name in names:
            base = name.removesuffix("_FILE")
            assert f'"{name}"' in settings_source or f'"{base}"' in settings_source or name in read_elsewhere, (
                example, name)
    backup_script = unit("backup.sh")
    for name in re.findall(r"^([A-Z][A-Z0-9_]+)=", unit("backup.env.example"), flags=re.MULTILINE):
        assert name in backup_script, name


def test_the_gunicorn_config_loads(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--config", str(DEPLOY / "gunicorn.conf.py"),
                             "--check-config", "--print-config", "liaison.wsgi"], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "DEBUG": "true",
                                                        "LIAISON_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "worker_class" in result.stdout and "gthread" in result.stdout
