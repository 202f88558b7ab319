"""The audit table loses two indexes nothing reads: the single-column case index (the (case, id) index serves
every lookup by case) and the LIKE index PostgreSQL gets beside the unique hash (nobody searches hashes by
prefix). Each index costs every append. PostgreSQL only: on SQLite, changing the field would rebuild the append-only
table and drop its triggers, for an index that costs nothing there."""

import django.db.models.deletion
from django.db import migrations, models


def drop_case_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column, suffix in (("case_id", ""), ("hash", "_like")):
        name = schema_editor._create_index_name("cases_auditevent", [column], suffix=suffix)
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore_case_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    name = schema_editor._create_index_name("cases_auditevent", ["case_id"], suffix="")
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "cases_auditevent" ("case_id")')
    like = schema_editor._create_index_name("cases_auditevent", ["hash"], suffix="_like")
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{like}" ON "cases_auditevent" ("hash" varchar_pattern_ops)')


class Migration(migrations.Migration):
    dependencies = [("cases", "0014_case_clock_summary")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="case",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT, related_name="events",
                                            to="cases.case"),
                ),
            ],
            database_operations=[migrations.RunPython(drop_case_index, restore_case_index)],
        ),
    ]
