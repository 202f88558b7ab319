"""A message's case gets no index of its own: message_case (case, id) serves every read by case, and the unread
badge's read of the entries after a read marker is bounded by both columns only when the planner cannot take the
lone case index instead (it did, and filtered every message of each case).

Only the index is dropped: Django's own AlterField would also drop and re-add the foreign key, checking every
message again under a lock that stops new messages for as long."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0020_authority_inbox_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="case",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="messages", to="cases.case"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "cases_message_case_id_544aca6d"',
                    reverse_sql='CREATE INDEX IF NOT EXISTS "cases_message_case_id_544aca6d" '
                                'ON "cases_message" ("case_id")',
                ),
            ],
        ),
    ]
