"""An audit event's hash is no longer held unique by an index (cases/models/audit.py says why).

PostgreSQL: the constraint (and its index) is dropped in place. SQLite (development) would rebuild the whole table
to drop a column constraint, and the rebuild would drop the append-only triggers with the old table: there the
index stays, which changes nothing but the speed of a development database."""

from django.db import migrations, models


def drop_unique(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE "cases_auditevent" DROP CONSTRAINT IF EXISTS "cases_auditevent_hash_key"')


def restore_unique(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE "cases_auditevent" ADD CONSTRAINT "cases_auditevent_hash_key" UNIQUE ("hash")')


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0021_message_case_index_only"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="auditevent", name="hash", field=models.CharField(max_length=64)),
            ],
            database_operations=[migrations.RunPython(drop_unique, restore_unique)],
        ),
    ]
