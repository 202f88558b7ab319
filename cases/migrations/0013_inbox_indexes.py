"""The inbox at national scale: covering indexes for its two orders, and on PostgreSQL trigram indexes so a word
of a title or a part of a reference is found without reading every case (icontains compares UPPER(column))."""

from django.conf import settings
from django.db import migrations, models


TRIGRAMS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS case_title_trgm ON cases_case USING gin (UPPER(title::text) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS case_reference_trgm ON cases_case USING gin (UPPER(reference::text) gin_trgm_ops);
"""
NO_TRIGRAMS = """
DROP INDEX IF EXISTS case_title_trgm;
DROP INDEX IF EXISTS case_reference_trgm;
"""


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGRAMS)


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_TRIGRAMS)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('cases', '0012_inbound_authentication'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='case',
            name='case_inbox_order',
        ),
        migrations.RemoveIndex(
            model_name='case',
            name='case_created',
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['-priority_rank', 'submitted_at', 'id'], include=('responding_org', 'requesting_org', 'status', 'tlp', 'queue', 'assignee'), name='case_inbox_order'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['-created_at', '-id'], include=('requesting_org', 'responding_org', 'status', 'tlp'), name='case_created'),
        ),
        migrations.RunPython(add_trigram_indexes, drop_trigram_indexes),
    ]
