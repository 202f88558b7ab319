"""The audit chain anchored (issue 11): tables that refuse UPDATE, DELETE and TRUNCATE on every database, an
application role that cannot switch that off, signed checkpoints of the chain's head (scheduled, on demand, and
per report), a small signed file anyone verifies with openssl, and `verify_audit` that catches truncation, tail
deletion and a re-hashed edit against every checkpoint it knows, stored or kept outside.

Each attack is written the way someone with the tables' owner rights would carry it out."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts.models import User
from cases import audit
from cases.actions import checkpoints as checkpoint_actions
from cases.actions.checkpoints import make_checkpoint
from cases.audit_checkpoints import (
    FORMAT,
    Checkpoint,
    CheckpointError,
    read_checkpoint_file,
    sign_checkpoint,
)
from cases.choices import Status
from cases.models import AuditCheckpoint, AuditEvent
from cases.signing_identity import (
    SigningIdentityError,
    create_signing_identity,
    load_signing_identity,
    load_trust_roots,
)
from cases.tasks import make_audit_checkpoint_task
from tests.audit_triggers import append_only_suspended
from tests.factories import World

from .conftest import PERSONAS, make_case, postgresql_only, unique_targets

pytestmark = pytest.mark.django_db

SCHEDULED = AuditCheckpoint.Reason.SCHEDULED
READERS = {"lead", "other_lead", "authority_auditor", "manager", "legal", "auditor"}


# --- Helpers ---------------------------------------------------------------------------------------------------


def verify(*args: str) -> tuple[int, str, str]:
    """Run the command as an operator would: (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def raw_sql(sql: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def as_owner(sql: str, params: list[object] | None = None) -> None:
    """What the tables' owner (or a superuser) can do: switch the triggers off, change the table, switch them on."""
    with append_only_suspended():
        raw_sql(sql, params)


def record_events(world: World, count: int) -> list[int]:
    ids = []
    for n in range(count):
        ids.append(audit.record(action="evidence.viewed", actor=world.legal, data={"n": n, "text": "ünïcödé"},
                                ip="192.0.2.7").pk)
    return ids


def event_ids() -> list[int]:
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def rewrite_and_rehash(event_id: int, data: dict[str, Any]) -> None:
    """Change one event, then recompute its hash and every later one with the project's own function, so that
    every link of the chain holds again: what someone who read cases/audit_hash.py would do."""
    events = list(AuditEvent.objects.filter(id__gte=event_id).order_by("id"))
    previous = None
    with append_only_suspended():
        for event in events:
            if event.pk == event_id:
                event.data = data
            if previous is not None:
                event.prev_hash = previous
            event.hash = audit.compute_hash(event)
            raw_sql("UPDATE cases_auditevent SET data = %s, prev_hash = %s, hash = %s WHERE id = %s",
                    [json.dumps(event.data), event.prev_hash, event.hash, event.pk])
            previous = event.hash


def empty_table(table: str) -> str:
    return f"TRUNCATE {table}" if connection.vendor == "postgresql" else f"DELETE FROM {table}"  # noqa: S608


@pytest.fixture
def chain(world: World) -> World:
    """A case's worth of events, then more."""
    make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(4))
    record_events(world, 10)
    return world



def kept_copy(tmp_path: Path, client: Any, user: User) -> Path:
    """The latest checkpoint, downloaded by an authority lead and kept outside the platform."""
    response = client(user).get(reverse("cases:latest_audit_checkpoint"))
    assert response.status_code == 200
    path = tmp_path / "kept" / response["Content-Disposition"].split('filename="')[1].rstrip('"')
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(response.content)
    return path


# --- The database refuses ------------------------------------------------------------------------------------


def test_checkpoints_refuse_update_and_delete_on_every_database(chain):
    checkpoint = make_checkpoint(reason=SCHEDULED)
    for sql in ("UPDATE cases_auditcheckpoint SET head_hash = %s WHERE id = %s",
                "DELETE FROM cases_auditcheckpoint WHERE id = %s"):
        params = ["f" * 64, checkpoint.pk] if sql.startswith("UPDATE") else [checkpoint.pk]
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic():
                raw_sql(sql, params)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(event_count=0)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            AuditCheckpoint.objects.all().delete()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            raw_sql("DELETE FROM cases_auditevent")  # the whole table at once, SQLite's "truncate"
    assert AuditCheckpoint.objects.get().head_hash == checkpoint.head_hash
    assert verify()[0] == 0


@postgresql_only
def test_postgresql_refuses_truncate_of_the_audit_tables(chain):
    make_checkpoint(reason=SCHEDULED)
    count = AuditEvent.objects.count()
    raw_sql("SET CONSTRAINTS ALL IMMEDIATE")  # as in a fresh transaction: no foreign-key checks pending
    for sql in ("TRUNCATE cases_auditevent", "TRUNCATE cases_auditcheckpoint",
                "TRUNCATE cases_auditevent, cases_auditcheckpoint",
                "TRUNCATE cases_case CASCADE"):  # reaching the events through their foreign key
        with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
            with transaction.atomic():
                raw_sql(sql)
    assert AuditEvent.objects.count() == count
    assert AuditCheckpoint.objects.count() == 1
    assert verify()[0] == 0


def test_the_append_only_triggers_are_all_in_place_after_every_migration(db):
    """A later migration that rebuilds an audit table (SQLite's copy-and-rename) would drop its triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal "
                           "AND tgenabled = 'O' AND tgrelid::regclass::text LIKE 'cases_audit%%'")
            expected = {("cases_auditevent", "liaison_audit_append_only"),
                        ("cases_auditevent", "liaison_audit_no_truncate"),
                        ("cases_auditcheckpoint", "liaison_checkpoint_append_only"),
                        ("cases_auditcheckpoint", "liaison_checkpoint_no_truncate")}
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
            expected = {(table, f"liaison_{table.removeprefix('cases_')}_no_{operation}")
                        for table in ("cases_auditevent", "cases_auditcheckpoint") for operation in ("update", "delete")}
        assert expected <= set(cursor.fetchall())


@postgresql_only
def test_the_application_role_cannot_switch_the_append_only_triggers_off(chain):
    """Production runs the application as a role that does not own the tables (README): granted what the guide
    grants, it may read and append, and nothing it tries takes the protection away."""
    make_checkpoint(reason=SCHEDULED)
    before = list(AuditEvent.objects.order_by("id").values_list("id", "hash"))
    role = f"liaison_app_{uuid.uuid4().hex[:12]}"
    # Roles and grants are transactional: the test's rollback removes them.
    raw_sql(f"CREATE ROLE {role} NOLOGIN")
    raw_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    raw_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")

    def as_application(sql: str) -> None:
        with transaction.atomic():
            raw_sql(f"SET LOCAL ROLE {role}")
            raw_sql(sql)

    attempts = [
        "ALTER TABLE cases_auditevent DISABLE TRIGGER liaison_audit_append_only",
        "ALTER TABLE cases_auditevent DISABLE TRIGGER USER",
        "ALTER TABLE cases_auditevent DISABLE TRIGGER ALL",
        "ALTER TABLE cases_auditcheckpoint DISABLE TRIGGER USER",
        "DROP TRIGGER liaison_audit_append_only ON cases_auditevent",
        "DROP TRIGGER liaison_audit_no_truncate ON cases_auditevent",
        "ALTER TABLE cases_auditevent OWNER TO CURRENT_USER",
        "CREATE OR REPLACE FUNCTION liaison_audit_refuse_change() RETURNS trigger AS $$ BEGIN RETURN NEW; END; "
        "$$ LANGUAGE plpgsql",
        "SET session_replication_role = replica",
        "TRUNCATE cases_auditevent",
        "TRUNCATE cases_auditcheckpoint",
        "UPDATE cases_auditevent SET action = 'case.harmless'",
        "DELETE FROM cases_auditevent",
        "UPDATE cases_auditcheckpoint SET event_count = 0",
        "DELETE FROM cases_auditcheckpoint",
    ]
    for sql in attempts:
        with pytest.raises(DatabaseError, match="must be owner|permission denied|append-only"):
            as_application(sql)

    with transaction.atomic():
        raw_sql(f"SET LOCAL ROLE {role}")
        appended = audit.record(action="auth.login", actor=chain.liaison)
        raw_sql("RESET ROLE")
    assert list(AuditEvent.objects.order_by("id").values_list("id", "hash"))[:-1] == before
    assert AuditEvent.objects.order_by("id").last() == appended
    assert verify()[0] == 0


# --- Checkpoints ------------------------------------------------------------------------------------------


def test_a_checkpoint_signs_the_head_and_covers_its_own_event(chain, settings):
    checkpoint = make_checkpoint(reason=SCHEDULED)
    head = AuditEvent.objects.order_by("id").last()
    assert (head.action, head.data, head.actor) == ("audit.checkpoint", {"reason": "scheduled"}, None)
    assert (checkpoint.sequence, checkpoint.head_event_id, checkpoint.head_hash) == (1, head.pk, head.hash)
    assert checkpoint.event_count == AuditEvent.objects.count()
    assert checkpoint.made_at.microsecond == 0 and checkpoint.timestamped_at is None
    checked = read_checkpoint_file(bytes(checkpoint.signed_file), trust_roots=load_trust_roots())
    assert checked.checkpoint == Checkpoint(sequence=1, head_event_id=head.pk, head_hash=head.hash,
                                            event_count=checkpoint.event_count, made_at=checkpoint.made_at,
                                            issuer=settings.SITE_URL)
    assert "Liaison outcome reports" in checked.signer
    assert make_checkpoint(reason=SCHEDULED).sequence == 2


@pytest.mark.skipif(shutil.which("openssl") is None,
                    reason="the openssl command is not installed (apt-get install openssl); CI installs it")
def test_anyone_verifies_a_checkpoint_file_with_openssl(chain, signing_identity_files, tmp_path):
    checkpoint = make_checkpoint(reason=SCHEDULED)
    path = tmp_path / "checkpoint.p7m"
    path.write_bytes(bytes(checkpoint.signed_file))
    result = subprocess.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", str(path), "-CAfile",
                             signing_identity_files["ca"], "-binary"], capture_output=True)
    assert result.returncode == 0, result.stderr
    assert b"Verification successful" in result.stderr
    payload = json.loads(result.stdout)
    assert payload == {"format": FORMAT, "issuer": payload["issuer"], "sequence": 1,
                       "head_event_id": checkpoint.head_event_id, "head_hash": checkpoint.head_hash,
                       "event_count": checkpoint.event_count,
                       "made_at": checkpoint.made_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "hash": payload["hash"]}
    changed = bytearray(path.read_bytes())
    index = changed.index(b'"event_count":')
    changed[index + len(b'"event_count":')] ^= 0x01  # one digit of the count
    path.write_bytes(bytes(changed))
    result = subprocess.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", str(path), "-CAfile",
                             signing_identity_files["ca"], "-binary"], capture_output=True)
    assert result.returncode != 0


def test_the_schedule_signs_once_per_change(chain, settings):
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"] == {
        "task": "cases.tasks.make_audit_checkpoint_task", "schedule": 60.0 * settings.LIAISON_CHECKPOINT_MINUTES}
    assert settings.LIAISON_CHECKPOINT_MINUTES == 10
    assert make_audit_checkpoint_task() == "checkpoint #1"
    assert make_audit_checkpoint_task() == "unchanged"  # delivered twice: signed once
    assert AuditCheckpoint.objects.count() == 1
    record_events(chain, 1)
    assert make_audit_checkpoint_task() == "checkpoint #2"
    assert list(AuditCheckpoint.objects.values_list("reason", flat=True)) == ["scheduled", "scheduled"]


def test_without_a_signing_key_nothing_is_written(chain, settings):
    settings.LIAISON_SIGNING_P12 = "/nonexistent/signer.p12"
    events = AuditEvent.objects.count()
    with pytest.raises(SigningIdentityError):
        make_checkpoint(reason=SCHEDULED)
    assert AuditEvent.objects.count() == events
    assert not AuditCheckpoint.objects.exists()


def test_only_a_platform_manager_makes_one_on_demand(chain):
    for persona in PERSONAS:
        user = getattr(chain, persona)
        if persona == "manager":
            checkpoint = make_checkpoint(reason=AuditCheckpoint.Reason.ON_DEMAND, actor=user)
            assert checkpoint.requested_by == user
            assert AuditEvent.objects.get(pk=checkpoint.head_event_id).actor == user
        else:
            with pytest.raises(PermissionDenied):
                make_checkpoint(reason=AuditCheckpoint.Reason.ON_DEMAND, actor=user)
    assert AuditCheckpoint.objects.count() == 1


def tsa(signing_identity_files: dict[str, str]) -> Any:
    """A time-stamping authority of our own (pyHanko's test TSA), with a certificate from the test CA."""
    from asn1crypto import keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    ca_path = Path(signing_identity_files["ca"])
    ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_path.with_name(ca_path.stem + "-key.pem").read_bytes(),
                                                signing_identity_files["passphrase"].encode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Liaison test TSA")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption())),
        certs_to_embed=[asn1_x509.Certificate.load(ca_cert.public_bytes(serialization.Encoding.DER))])


def test_with_a_timestamp_authority_the_file_carries_an_rfc3161_timestamp(chain, settings, monkeypatch,
                                                                           signing_identity_files):
    settings.LIAISON_TSA_URL = "http://tsa.example.test/"
    asked = []

    def timestamper(url: str) -> Any:
        asked.append(url)
        return tsa(signing_identity_files)

    monkeypatch.setattr(checkpoint_actions, "timestamper", timestamper)
    checkpoint = make_checkpoint(reason=SCHEDULED)
    assert asked == ["http://tsa.example.test/"]
    assert checkpoint.timestamped_at is not None
    assert abs(checkpoint.timestamped_at - checkpoint.made_at) < timedelta(minutes=1)
    checked = read_checkpoint_file(bytes(checkpoint.signed_file), trust_roots=load_trust_roots())
    assert checked.timestamped_at == checkpoint.timestamped_at
    assert checked.timestamp_trusted
    assert verify()[0] == 0


def test_an_unreachable_timestamp_authority_does_not_stop_the_checkpoint(chain, settings, monkeypatch, caplog):
    settings.LIAISON_TSA_URL = "http://tsa.example.test/"

    class Down:
        async def async_timestamp(self, *args: Any, **kwargs: Any) -> Any:
            raise OSError("connection refused")

        def __getattr__(self, name: str) -> Any:
            raise OSError("connection refused")

    monkeypatch.setattr(checkpoint_actions, "timestamper", lambda url: Down())
    with caplog.at_level(logging.ERROR, logger="cases.actions.checkpoints"):
        checkpoint = make_checkpoint(reason=SCHEDULED)
    assert checkpoint.timestamped_at is None
    assert "timestamp authority failed" in caplog.text
    assert read_checkpoint_file(bytes(checkpoint.signed_file), trust_roots=load_trust_roots()).timestamped_at is None


# --- verify_audit against the checkpoints ------------------------------------------------------------------------


def test_verify_audit_reports_the_checkpoints_it_held_the_chain_against(chain):
    status, out, _err = verify()
    assert status == 0
    assert "No signed checkpoint anchors this chain" in out
    first = make_checkpoint(reason=SCHEDULED)
    record_events(chain, 3)
    second = make_checkpoint(reason=SCHEDULED)
    record_events(chain, 2)
    status, out, err = verify()
    assert status == 0, err
    assert f"Audit chain intact: {AuditEvent.objects.count()} events verified." in out
    assert (f"Held against 2 signed checkpoint(s); the newest, signed checkpoint #2 of "
            f"{second.made_at:%Y-%m-%d %H:%M:%S} UTC, covers {second.event_count} events up to event "
            f"#{second.head_event_id}. 2 event(s) after it are not covered yet.") in out
    assert first.event_count < second.event_count


def test_a_truncated_audit_table_is_reported(chain):
    """The finding: the table emptied, and verify_audit said "intact: 0 events"."""
    checkpoint = make_checkpoint(reason=SCHEDULED)
    as_owner(empty_table("cases_auditevent"))
    status, out, err = verify()
    assert status == 1
    assert "intact" not in out
    assert (f"Audit chain BROKEN at event #{checkpoint.head_event_id} (event #{checkpoint.head_event_id} is "
            f"missing: the audit table is empty, but signed checkpoint #1") in err
    assert f"covers {checkpoint.event_count} events up to event #{checkpoint.head_event_id}; events were " \
           f"removed from the end); 0 events before it verified." in err


def test_deleting_the_newest_events_is_reported_against_the_latest_checkpoint(chain):
    make_checkpoint(reason=SCHEDULED)
    record_events(chain, 5)
    latest = make_checkpoint(reason=SCHEDULED)
    ids = event_ids()
    first_removed = ids[-4]
    as_owner("DELETE FROM cases_auditevent WHERE id >= %s", [first_removed])
    status, _out, err = verify()
    assert status == 1
    assert (f"BROKEN at event #{latest.head_event_id} (event #{latest.head_event_id} is missing: the chain ends "
            f"at event #{ids[-5]} after {len(ids) - 4} events, but signed checkpoint #2") in err
    assert f"{len(ids) - 4} events before it verified" in err


def test_an_edit_with_every_later_hash_recomputed_is_reported(chain):
    """The finding: change an event, recompute every later hash with the project's own function, and the chain's
    links all hold. The checkpoints signed since disagree, and say where the change lies."""
    first = make_checkpoint(reason=SCHEDULED)
    victims = record_events(chain, 6)
    second = make_checkpoint(reason=SCHEDULED)
    record_events(chain, 2)
    third = make_checkpoint(reason=SCHEDULED)
    rewrite_and_rehash(victims[2], {"n": 2, "text": "nothing to see"})
    # Every link holds: only a checkpoint can tell.
    rows = list(AuditEvent.objects.order_by("id"))
    assert all(audit.compute_hash(e) == e.hash for e in rows)
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))

    status, out, err = verify()
    assert status == 1
    assert "intact" not in out
    assert f"Audit chain BROKEN at event #{second.head_event_id} (its hash differs from signed checkpoint #2" in err
    assert "events up to it were changed and the hashes recomputed after it was signed" in err
    assert (f"the change lies after event #{first.head_event_id}, which signed checkpoint #1 of "
            f"{first.made_at:%Y-%m-%d %H:%M:%S} UTC confirms") in err
    assert third.sequence == 3


def test_events_after_the_newest_checkpoint_are_said_to_be_uncovered(chain):
    """The honest limit: events after the newest checkpoint have no signature yet; their removal is invisible
    until the next checkpoint, at most LIAISON_CHECKPOINT_MINUTES later."""
    checkpoint = make_checkpoint(reason=SCHEDULED)
    later = record_events(chain, 3)
    as_owner("DELETE FROM cases_auditevent WHERE id >= %s", [later[1]])
    status, out, _err = verify()
    assert status == 0
    assert f"covers {checkpoint.event_count} events up to event #{checkpoint.head_event_id}. 1 event(s) after it " \
           "are not covered yet." in out


def test_a_deleted_checkpoint_is_reported(chain):
    make_checkpoint(reason=SCHEDULED)
    record_events(chain, 1)
    make_checkpoint(reason=SCHEDULED)
    record_events(chain, 1)
    make_checkpoint(reason=SCHEDULED)
    as_owner("DELETE FROM cases_auditcheckpoint WHERE sequence = 2")
    status, _out, err = verify()
    assert status == 1
    assert "Checkpoints: 1 signed checkpoint(s) are missing from the database, the first #2: they were deleted." in err


def test_a_stored_checkpoint_edited_to_fit_a_rewritten_chain_is_reported(chain):
    """Re-hash the chain and write the new head hash into the checkpoint's columns: its signed file still holds
    the old one, and the file is what counts."""
    victims = record_events(chain, 3)
    checkpoint = make_checkpoint(reason=SCHEDULED)
    rewrite_and_rehash(victims[0], {"forged": True})
    new_head = AuditEvent.objects.get(pk=checkpoint.head_event_id).hash
    as_owner("UPDATE cases_auditcheckpoint SET head_hash = %s WHERE id = %s", [new_head, checkpoint.pk])
    status, _out, err = verify()
    assert status == 1
    assert f"BROKEN at event #{checkpoint.head_event_id} (its hash differs from signed checkpoint #1" in err
    assert "Checkpoints: Stored checkpoint #1 does not match its own signed file: its record was changed." in err


def test_a_stored_checkpoint_file_that_was_tampered_with_is_reported(chain):
    checkpoint = make_checkpoint(reason=SCHEDULED)
    forged = bytes(checkpoint.signed_file).replace(b'"sequence":1', b'"sequence":7')
    as_owner("UPDATE cases_auditcheckpoint SET signed_file = %s WHERE id = %s", [forged, checkpoint.pk])
    status, _out, err = verify()
    assert status == 1
    assert ("Checkpoints: Stored checkpoint #1 cannot be trusted: The signature does not match the content: the "
            "file was changed after signing.") in err


# --- A copy kept outside the platform ---------------------------------------------------------------------------


def test_an_authority_lead_keeps_the_latest_checkpoint_and_it_agrees(chain, login, tmp_path):
    make_checkpoint(reason=SCHEDULED)
    latest = make_checkpoint(reason=SCHEDULED)
    path = kept_copy(tmp_path, login, chain.lead)
    assert path.name == "liaison-audit-checkpoint-000002.p7m"
    download = AuditEvent.objects.get(action="audit.checkpoint_downloaded")
    assert (download.actor, download.data) == (chain.lead, {"sequence": 2, "head_event_id": latest.head_event_id})
    status, out, err = verify("--checkpoint", str(path))
    assert status == 0, err
    assert (f"Checkpoint file {path}: #2, {latest.event_count} events up to event #{latest.head_event_id}, "
            "signed by") in out
    assert "Audit chain intact" in out


def test_removing_the_tail_and_its_checkpoints_is_caught_by_a_kept_copy(chain, login, tmp_path):
    """With owner rights, delete the newest events and the checkpoints that cover them: what remains agrees with
    itself. The lead's copy does not."""
    first = make_checkpoint(reason=SCHEDULED)
    record_events(chain, 4)
    latest = make_checkpoint(reason=SCHEDULED)
    path = kept_copy(tmp_path, login, chain.lead)
    as_owner("DELETE FROM cases_auditevent WHERE id > %s", [first.head_event_id])
    as_owner("DELETE FROM cases_auditcheckpoint WHERE sequence > 1")
    assert verify()[0] == 0  # the database alone cannot tell

    status, _out, err = verify("--checkpoint", str(path))
    assert status == 1
    assert (f"BROKEN at event #{latest.head_event_id} (event #{latest.head_event_id} is missing: the chain ends at "
            f"event #{first.head_event_id} after {first.event_count} events, but the checkpoint file's #2") in err
    assert ("Checkpoints: Checkpoint #2 of the file is not in the database, whose newest is #1: the newest "
            "checkpoints were deleted.") in err


def test_wiping_both_tables_is_caught_by_a_kept_copy(chain, login, tmp_path):
    make_checkpoint(reason=SCHEDULED)
    path = kept_copy(tmp_path, login, chain.lead)
    as_owner(empty_table("cases_auditevent"))
    as_owner(empty_table("cases_auditcheckpoint"))
    status, out, _err = verify()
    assert (status, "Audit chain intact: 0 events verified." in out) == (0, True)
    assert "No signed checkpoint anchors this chain" in out

    status, out, err = verify("--checkpoint", str(path))
    assert status == 1
    assert "the audit table is empty, but the checkpoint file's #1" in err


def test_a_forged_checkpoint_file_is_refused(chain, tmp_path, settings):
    checkpoint = make_checkpoint(reason=SCHEDULED)
    genuine = bytes(checkpoint.signed_file)
    # Someone else's CA and key, however the payload reads.
    other = create_signing_identity(p12_path=tmp_path / "other.p12", ca_path=tmp_path / "other-ca.pem",
                                    passphrase="other", organization="Not the platform", key_size=2048)
    settings.LIAISON_SIGNING_P12, settings.LIAISON_SIGNING_PASSPHRASE = str(other.p12), "other"
    foreign = sign_checkpoint(Checkpoint(sequence=1, head_event_id=checkpoint.head_event_id, head_hash="0" * 64,
                                         event_count=1, made_at=checkpoint.made_at), load_signing_identity())
    files = {
        "changed.p7m": (genuine.replace(b'"sequence":1', b'"sequence":7', 1),
                        "the file was changed after signing"),
        "foreign.p7m": (foreign, "does not chain to the platform's certificate authority"),
        "junk.p7m": (b"not a signature at all", "not a CMS signed file"),
    }
    for name, (data, problem) in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        status, _out, err = verify("--checkpoint", str(path))
        assert status == 1, name
        assert f"The checkpoint file {path} cannot be trusted: " in err
        assert problem in err, name
    with pytest.raises(CheckpointError, match="carries no signed checkpoint|not a CMS"):
        read_checkpoint_file(b"-----BEGIN CMS-----\nAAAA\n-----END CMS-----\n", trust_roots=load_trust_roots())


# --- The page ---------------------------------------------------------------------------------------------------


def test_auditors_of_either_side_managers_legal_and_leads_list_the_checkpoints(chain, login):
    make_checkpoint(reason=SCHEDULED)
    for persona in PERSONAS:
        client = login(getattr(chain, persona))
        response = client.get(reverse("cases:audit_checkpoints"))
        home = client.get(reverse("home")).content.decode()
        if persona in READERS:
            assert response.status_code == 200, persona
            assert 'data-testid="nav-audit-checkpoints"' in home, persona
            assert response.content.decode().count('data-testid="checkpoint-row"') == 1
            assert client.get(reverse("cases:audit_checkpoint", args=[1])).status_code == 200
        else:
            assert response.status_code == 403, persona
            assert 'data-testid="nav-audit-checkpoints"' not in home, persona
            assert client.get(reverse("cases:audit_checkpoint", args=[1])).status_code == 403
            assert client.get(reverse("cases:latest_audit_checkpoint")).status_code == 403
    downloads = set(AuditEvent.objects.filter(action="audit.checkpoint_downloaded")
                    .values_list("actor__email", flat=True))
    assert downloads == {getattr(chain, persona).email for persona in READERS}


def test_the_page_shows_how_to_verify_and_costs_the_same_with_many_checkpoints(chain, login,
                                                                                django_assert_max_num_queries):
    client = login(chain.auditor)
    empty = client.get(reverse("cases:audit_checkpoints")).content.decode()
    assert "No checkpoint has been signed yet." in empty
    assert 'data-testid="download-latest-checkpoint"' not in empty
    for _ in range(3):
        record_events(chain, 1)
        make_checkpoint(reason=SCHEDULED)
    make_checkpoint(reason=AuditCheckpoint.Reason.ON_DEMAND, actor=chain.manager)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("cases:audit_checkpoints")).content.decode()
    assert page.count('data-testid="checkpoint-row"') == 4
    assert "openssl cms -verify -inform DER -in liaison-audit-checkpoint-000004.p7m" in page
    assert "On demand · Maria Manager" in page
    assert 'data-testid="download-latest-checkpoint"' in page
    for _ in range(12):
        record_events(chain, 1)
        make_checkpoint(reason=SCHEDULED)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("cases:audit_checkpoints")).content.decode()
    assert page.count('data-testid="checkpoint-row"') == 16
    assert client.get(reverse("cases:audit_checkpoint", args=[99])).status_code == 404


def test_a_manager_signs_one_now_from_the_page(chain, login):
    response = login(chain.manager).post(reverse("cases:make_audit_checkpoint"), follow=True)
    assert response.status_code == 200
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.reason, checkpoint.requested_by) == ("on_demand", chain.manager)
    assert f"Checkpoint no. 1 was signed: {checkpoint.event_count} events" in response.content.decode()
    for persona in ("auditor", "legal", "lead", "liaison"):
        assert login(getattr(chain, persona)).post(reverse("cases:make_audit_checkpoint")).status_code == 403
    assert login(chain.manager).get(reverse("cases:make_audit_checkpoint")).status_code == 405
    assert AuditCheckpoint.objects.count() == 1


def test_an_operator_signs_one_from_the_command_line_and_keeps_the_file(chain, tmp_path):
    out = StringIO()
    call_command("make_audit_checkpoint", "--output", str(tmp_path), stdout=out)
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.reason, checkpoint.requested_by) == ("on_demand", None)
    assert f"Checkpoint #1: {checkpoint.event_count} events up to event #{checkpoint.head_event_id}" in out.getvalue()
    path = tmp_path / "liaison-audit-checkpoint-000001.p7m"
    assert path.read_bytes() == bytes(checkpoint.signed_file)
    assert verify("--checkpoint", str(path))[0] == 0
