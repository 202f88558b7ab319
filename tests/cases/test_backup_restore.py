"""Backups and the restore drill (issue 14), on PostgreSQL as production runs them: `deploy/backup.sh` dumps the
database with `pg_dump -Fc` beside a signed audit checkpoint file, `deploy/restore-drill.sh` restores it into a
fresh database with `pg_restore` and runs `manage.py verify_audit` there in its own process; a restore whose audit
log was changed by someone with the power to switch the append-only triggers off fails that verification.

The data is committed (a transactional test), since pg_dump reads the database from a connection of its own.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from cases import audit
from cases.actions.checkpoints import make_checkpoint
from cases.actions.evidence import add_evidence
from cases.actions.thread import post_message
from cases.choices import Status
from cases.models import AuditCheckpoint, AuditEvent
from tests.factories import World

from .conftest import make_case, postgresql_only, unique_targets
from .test_evidence import png

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


# --- Helpers ----------------------------------------------------------------------------------------------------


def server_url(database: str, *, role: str | None = None) -> str:
    """A libpq URL for `database` on the test database's server, as the test's own connection reaches it (or as
    another role of that server, which the server's trust authentication lets in without a password)."""
    params = connection.settings_dict
    user = role or params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") and not role else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{database}"


def dumped_database_url() -> str:
    return server_url(connection.settings_dict["NAME"])


def admin_url() -> str:
    return server_url("postgres")


def psql(url: str, sql: str) -> str:
    result = subprocess.run(["psql", "--no-psqlrc", "-X", "-q", "-tA", "--set=ON_ERROR_STOP=1", "--dbname", url,
                             "-c", sql], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def scratch_databases() -> Iterator[list[str]]:
    """Names for fresh databases; each is dropped after the test however it ends."""
    names: list[str] = []
    yield names
    for name in names:
        psql(admin_url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def backup_role() -> Iterator[str]:
    """The role backups read the database with, as docs/deploy.md creates it: it may read everything (the built-in
    pg_read_all_data) and owns, writes and administers nothing."""
    name = f"liaison_backup_{uuid.uuid4().hex[:12]}"
    psql(admin_url(), f"CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE pg_read_all_data")
    yield name
    psql(admin_url(), f"DROP ROLE IF EXISTS {name}")


def new_database(scratch: list[str]) -> str:
    name = f"liaison_restore_{uuid.uuid4().hex[:12]}"
    scratch.append(name)
    return name


@pytest.fixture
def environment(tmp_path: Path, signing_identity_files: dict[str, str]) -> dict[str, str]:
    """The environment of a production process on this server: production settings, the test's signing identity
    (checkpoints are signed and verified with it), and nothing under the checkout's var/ or on the shared broker."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "DJANGO_SETTINGS", "CELERY_", "REDIS_URL", "CACHE_URL"))}
    env.update({
        "CELERY_BROKER_URL": "filesystem://",  # nothing reaches the broker the rest of the run uses
        "DEBUG": "false",
        "SECRET_KEY": "backup-drill-secret-key-not-used-for-the-chain",
        "LIAISON_WEBHOOK_SECRET_KEY": "ZHJpbGwtd2ViaG9vay1rZXktbm90LWEtc2VjcmV0ISE=",  # a Fernet key
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": dumped_database_url(),
        "LIAISON_VAR_DIR": str(tmp_path / "var"),
        "LIAISON_SIGNING_P12": signing_identity_files["p12"],
        "LIAISON_SIGNING_PASSPHRASE": signing_identity_files["passphrase"],
        "LIAISON_SIGNING_CA": signing_identity_files["ca"],
        "LIAISON_SIGNING_DEV_PASSPHRASE_FILE": signing_identity_files["dev_passphrase_file"],
        "LIAISON_TSA_URL": "",
        "LIAISON_HOME": str(ROOT),
        "LIAISON_MANAGE": f"{sys.executable} {ROOT / 'manage.py'}",
    })
    return env


def run(command: list[str], env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env={**env, **extra}, capture_output=True, text=True, timeout=300, cwd=ROOT)


def verify_audit(env: dict[str, str], database: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`manage.py verify_audit` in its own process, against the restored database."""
    return run([sys.executable, str(ROOT / "manage.py"), "verify_audit", *args], env,
               DATABASE_URL=server_url(database))


def a_working_record(world: World) -> None:
    """A case worked on by both sides (workflow, thread, evidence: audit events of every kind), signed checkpoints
    between, and events after the last one."""
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(5))
    add_evidence(actor=world.liaison, case=case, source=io.BytesIO(png()), original_name="bukti.png")
    make_checkpoint(reason=AuditCheckpoint.Reason.SCHEDULED)
    post_message(actor=world.moderator, case=case, body="Two channels are already down.")
    for n in range(5):
        audit.record(action="evidence.viewed", actor=world.legal, case=case, data={"n": n, "text": "ünïcödé"},
                     ip="192.0.2.7")
    make_checkpoint(reason=AuditCheckpoint.Reason.SCHEDULED)
    post_message(actor=world.liaison, case=case, body="Thank you.")


def backup(env: dict[str, str], tmp_path: Path, role: str) -> Path:
    """deploy/backup.sh as liaison-backup.service runs it: the application's environment, the dump read by the
    backup role."""
    result = run([str(DEPLOY / "backup.sh")], env, BACKUP_DIR=str(tmp_path / "backups"),
                 BACKUP_DATABASE_URL=server_url(connection.settings_dict["NAME"], role=role))
    assert result.returncode == 0, result.stdout + result.stderr
    [directory] = (tmp_path / "backups").iterdir()
    return directory


# --- The drill --------------------------------------------------------------------------------------------------


def test_a_backup_restores_into_a_fresh_database_whose_audit_chain_verifies(world, environment, tmp_path,
                                                                            scratch_databases, backup_role):
    a_working_record(world)
    events = AuditEvent.objects.count()

    directory = backup(environment, tmp_path, backup_role)

    assert {p.name for p in directory.iterdir()} >= {"liaison.dump", "audit-checkpoint.p7m", "SHA256SUMS"}
    assert (directory / "liaison.dump").read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    checkpoint = AuditCheckpoint.objects.order_by("sequence").last()
    assert checkpoint is not None and bytes(checkpoint.signed_file) == (directory / "audit-checkpoint.p7m").read_bytes()
    database = new_database(scratch_databases)

    drill = run([str(DEPLOY / "restore-drill.sh"), str(directory)], environment,
                RESTORE_ADMIN_URL=admin_url(), RESTORE_DATABASE=database, RESTORE_KEEP="1")

    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert f"Audit chain intact: {events + 1} events verified." in drill.stdout  # + the backup's checkpoint event
    assert "Checkpoint file" in drill.stdout and "Held against 3 signed checkpoint(s)" in drill.stdout
    assert psql(server_url(database), "SELECT count(*) FROM cases_case") == "1"
    # The restored tables keep their append-only triggers.
    refused = subprocess.run(["psql", "--no-psqlrc", "-X", "-q", "--set=ON_ERROR_STOP=1", "--dbname",
                              server_url(database), "-c", "DELETE FROM cases_auditevent"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "append-only" in refused.stderr


def test_pg_dump_and_pg_restore_by_hand_then_verify_audit(world, environment, tmp_path, scratch_databases):
    """The commands of docs/deploy.md, one by one."""
    a_working_record(world)
    dump = tmp_path / "liaison.dump"
    database = new_database(scratch_databases)

    subprocess.run(["pg_dump", "-Fc", "--no-password", f"--file={dump}", f"--dbname={dumped_database_url()}"],
                   check=True, timeout=300)
    psql(admin_url(), f"CREATE DATABASE {database}")
    subprocess.run(["pg_restore", "--exit-on-error", "--no-owner", f"--dbname={server_url(database)}", str(dump)],
                   check=True, timeout=300)
    result = verify_audit(environment, database)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Audit chain intact: {AuditEvent.objects.count()} events verified." in result.stdout


def tampered_restore(world: World, environment: dict[str, str], tmp_path: Path, scratch: list[str],
                     backup_role: str) -> tuple[Path, str]:
    a_working_record(world)
    directory = backup(environment, tmp_path, backup_role)
    database = new_database(scratch)
    psql(admin_url(), f"CREATE DATABASE {database}")
    subprocess.run(["pg_restore", "--exit-on-error", "--no-owner", f"--dbname={server_url(database)}",
                    str(directory / "liaison.dump")], check=True, timeout=300)
    return directory, database


def as_superuser_with_the_triggers_off(database: str, sql: str) -> None:
    """What a superuser (or the tables' owner) can do to a restored copy: switch the triggers off and change rows."""
    psql(server_url(database), "BEGIN; ALTER TABLE cases_auditevent DISABLE TRIGGER USER; "
                               "ALTER TABLE cases_auditcheckpoint DISABLE TRIGGER USER; "
                               f"{sql}; "
                               "ALTER TABLE cases_auditevent ENABLE TRIGGER USER; "
                               "ALTER TABLE cases_auditcheckpoint ENABLE TRIGGER USER; COMMIT")


def test_a_restore_with_one_audit_row_changed_fails_verification(world, environment, tmp_path, scratch_databases,
                                                                 backup_role):
    directory, database = tampered_restore(world, environment, tmp_path, scratch_databases, backup_role)
    target = AuditEvent.objects.filter(action="evidence.viewed").order_by("id")[2]

    as_superuser_with_the_triggers_off(
        database, f"UPDATE cases_auditevent SET ip = '203.0.113.9' WHERE id = {target.pk}")  # noqa: S608
    result = verify_audit(environment, database)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"BROKEN at event #{target.pk}" in result.stderr
    drill = run([str(DEPLOY / "restore-drill.sh"), str(directory)], environment, RESTORE_ADMIN_URL=admin_url(),
                RESTORE_DATABASE=new_database(scratch_databases))
    assert drill.returncode == 0, drill.stderr  # the backup itself is untouched: a fresh restore of it verifies


def test_a_restore_missing_its_newest_events_and_checkpoints_fails_against_the_kept_file(world, environment,
                                                                                        tmp_path,
                                                                                        scratch_databases,
                                                                                        backup_role):
    """Removing the tail together with every checkpoint that covered it leaves a chain that is whole in itself;
    the signed checkpoint file kept beside the dump is what catches it."""
    directory, database = tampered_restore(world, environment, tmp_path, scratch_databases, backup_role)
    first_checkpoint = AuditCheckpoint.objects.order_by("sequence").first()
    assert first_checkpoint is not None
    cut = first_checkpoint.head_event_id

    tail = f"DELETE FROM cases_auditevent WHERE id > {int(cut)}"  # noqa: S608 (an integer from the database)
    as_superuser_with_the_triggers_off(database, f"DELETE FROM cases_auditcheckpoint; {tail}")  # noqa: S608
    without_the_file = verify_audit(environment, database)
    with_the_file = verify_audit(environment, database, "--checkpoint", str(directory / "audit-checkpoint.p7m"))

    assert without_the_file.returncode == 0  # nothing inside the copy disagrees
    assert with_the_file.returncode == 1, with_the_file.stdout + with_the_file.stderr


def test_the_drill_refuses_a_backup_whose_files_do_not_match_their_sums(world, environment, tmp_path,
                                                                       scratch_databases, backup_role):
    a_working_record(world)
    directory = backup(environment, tmp_path, backup_role)
    with (directory / "liaison.dump").open("ab") as dump:
        dump.write(b"\0")

    drill = run([str(DEPLOY / "restore-drill.sh"), str(directory)], environment, RESTORE_ADMIN_URL=admin_url(),
                RESTORE_DATABASE=new_database(scratch_databases))

    assert drill.returncode != 0
    assert "liaison.dump" in drill.stdout + drill.stderr
