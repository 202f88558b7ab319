"""Each case carries the summary of its clocks (next due time, breached or not), filled here from its deadlines and
kept by the actions from now on, so the inbox counts and sorts them without reading the deadlines table."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery


def summarise(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    Deadline = apps.get_model("cases", "Deadline")
    running = Deadline.objects.filter(case=OuterRef("pk"), status="open", paused_at__isnull=True)
    Case.objects.update(
        next_due_at=Subquery(running.order_by("due_at").values("due_at")[:1]),
        has_breached_deadline=Exists(Deadline.objects.filter(case=OuterRef("pk"), status="breached")),
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0013_inbox_indexes")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="has_breached_deadline",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="case",
            name="next_due_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="next deadline"),
        ),
        migrations.RunPython(summarise, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('status', 'submitted'), ('status', 'in_progress'), ('status', 'awaiting_information'), _connector='OR'), fields=['responding_org', 'status'], include=('id', 'tlp', 'queue', 'assignee', 'priority_rank', 'next_due_at', 'has_breached_deadline'), name='case_open_received'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('status', 'submitted'), ('status', 'in_progress'), ('status', 'awaiting_information'), _connector='OR'), fields=['requesting_org', 'status'], include=('id', 'tlp', 'assignee', 'priority_rank', 'next_due_at', 'has_breached_deadline'), name='case_open_requested'),
        ),
    ]
