"""Default SLA policies (wall-clock): urgent terrorism and child sexual abuse material 1 h / 4 h; other urgent
4 h / 4 h; high 4 h / 24 h; normal 24 h / 72 h. T&S managers edit them."""

from django.db import migrations

HOUR = 60


def seed(apps, schema_editor):
    SLAPolicy = apps.get_model("cases", "SLAPolicy")
    Category = apps.get_model("cases", "Category")
    defaults = [
        (None, "urgent", 4 * HOUR, 4 * HOUR),
        (None, "high", 4 * HOUR, 24 * HOUR),
        (None, "normal", 24 * HOUR, 72 * HOUR),
    ]
    for slug in ("terrorism", "csam"):
        category = Category.objects.filter(slug=slug).first()
        if category is not None:
            defaults.append((category, "urgent", 1 * HOUR, 4 * HOUR))
    for category, priority, ack, resolve in defaults:
        SLAPolicy.objects.update_or_create(
            category=category, priority=priority, requesting_org=None,
            defaults={"acknowledge_minutes": ack, "resolve_minutes": resolve},
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_deadlines")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
