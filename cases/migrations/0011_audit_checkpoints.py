"""Signed checkpoints of the audit chain, and both audit tables append-only on every database.

PostgreSQL: the events (0002 refused UPDATE and DELETE) now refuse TRUNCATE too, and the checkpoints refuse
UPDATE, DELETE and TRUNCATE; the application's role must not own the tables (README, "Running in production"),
so it cannot switch the triggers off. SQLite (development): triggers refuse UPDATE and DELETE of both tables.

A later migration that rebuilds one of these tables on SQLite (Django's copy-and-rename for most ALTERs) drops
its triggers; tests/cases/test_audit_checkpoints.py checks they are all present after every migration.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLES = ("cases_auditevent", "cases_auditcheckpoint")

POSTGRESQL_FORWARD = """
CREATE OR REPLACE FUNCTION liaison_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS liaison_audit_no_truncate ON cases_auditevent;
CREATE TRIGGER liaison_audit_no_truncate
    BEFORE TRUNCATE ON cases_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION liaison_audit_refuse_change();

DROP TRIGGER IF EXISTS liaison_checkpoint_append_only ON cases_auditcheckpoint;
CREATE TRIGGER liaison_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON cases_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION liaison_audit_refuse_change();

DROP TRIGGER IF EXISTS liaison_checkpoint_no_truncate ON cases_auditcheckpoint;
CREATE TRIGGER liaison_checkpoint_no_truncate
    BEFORE TRUNCATE ON cases_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION liaison_audit_refuse_change();
"""

# Back to 0002's function (the checkpoint table's triggers go with the table).
POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS liaison_audit_no_truncate ON cases_auditevent;
DROP TRIGGER IF EXISTS liaison_checkpoint_append_only ON cases_auditcheckpoint;
DROP TRIGGER IF EXISTS liaison_checkpoint_no_truncate ON cases_auditcheckpoint;
CREATE OR REPLACE FUNCTION liaison_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused on cases_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def sqlite_triggers() -> list[tuple[str, str]]:
    """(name, CREATE TRIGGER statement) for each table and operation. SQLite has no TRUNCATE, and an
    unqualified DELETE fires row triggers (its truncate optimisation is off when a table has triggers)."""
    statements = []
    for table in TABLES:
        for operation in ("UPDATE", "DELETE"):
            name = f"liaison_{table.removeprefix('cases_')}_no_{operation.lower()}"
            statements.append((name, (
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'audit records are append-only: {operation} refused on {table}'); END"
            )))
    return statements


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # params=None: the SQL holds a literal % (plpgsql's RAISE format), not a query placeholder.
        schema_editor.execute(POSTGRESQL_FORWARD, params=None)
    elif vendor == "sqlite":
        for name, statement in sqlite_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD, params=None)
    elif vendor == "sqlite":
        for name, _statement in sqlite_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_item_warnings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sequence", models.PositiveBigIntegerField(unique=True, verbose_name="number")),
                ("made_at", models.DateTimeField(verbose_name="signed at")),
                ("head_event_id", models.PositiveBigIntegerField(verbose_name="last event")),
                ("head_hash", models.CharField(max_length=64, verbose_name="hash of the last event")),
                ("event_count", models.PositiveBigIntegerField(verbose_name="events")),
                ("reason", models.CharField(choices=[("scheduled", "Scheduled"), ("on_demand", "On demand"),
                                                     ("report", "Outcome report")],
                                            max_length=16, verbose_name="reason")),
                ("requested_by", models.ForeignKey(blank=True, null=True,
                                                   on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                   to=settings.AUTH_USER_MODEL)),
                ("signer", models.CharField(max_length=255, verbose_name="signer")),
                ("timestamped_at", models.DateTimeField(blank=True, null=True, verbose_name="timestamped at")),
                ("signed_file", models.BinaryField()),
            ],
            options={
                "verbose_name": "audit checkpoint",
                "verbose_name_plural": "audit checkpoints",
                "ordering": ["sequence"],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
