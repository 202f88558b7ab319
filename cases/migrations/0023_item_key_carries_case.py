"""Reported items: the key index carries the case, so deconfliction reads which cases report a key from the index
alone (PostgreSQL; other databases ignore `include`); and the case's own index goes: item_case_outcome (case,
outcome) and item_unique_key_per_case (case, key) both start with the case, so every lookup by case keeps an index,
and each item written updates one index fewer.

The case index is dropped by its name (Django's, the same on PostgreSQL and SQLite) rather than by altering the
foreign key, which would drop and re-add its constraint (PostgreSQL re-checks every item) or rebuild the table
(SQLite). Rebuilding item_key reads every item: seconds for a million."""

import django.db.models.deletion
from django.db import migrations, models

CASE_INDEX = "cases_reporteditem_case_id_ffb3d8b1"


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0022_audit_hash_not_unique'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='reporteditem',
            name='item_key',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='reporteditem',
                    name='case',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='items', to='cases.case'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{CASE_INDEX}"',
                    f'CREATE INDEX "{CASE_INDEX}" ON "cases_reporteditem" ("case_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='reporteditem',
            index=models.Index(fields=['key'], include=('case',), name='item_key'),
        ),
    ]
