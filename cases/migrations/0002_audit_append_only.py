"""On PostgreSQL the audit table refuses UPDATE and DELETE (the chain is append-only)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION liaison_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused on cases_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS liaison_audit_append_only ON cases_auditevent;
CREATE TRIGGER liaison_audit_append_only
    BEFORE UPDATE OR DELETE ON cases_auditevent
    FOR EACH ROW EXECUTE FUNCTION liaison_audit_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS liaison_audit_append_only ON cases_auditevent;
DROP FUNCTION IF EXISTS liaison_audit_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL holds a literal % (plpgsql's RAISE format), not a query placeholder.
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
