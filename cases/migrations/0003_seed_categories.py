"""The categories of DESIGN.md, each with a default priority. They are data: managers may add more."""

from django.db import migrations

CATEGORIES = [
    ("terrorism", "Terrorism and violent extremism", "Terorisme dan ekstremisme kekerasan", "urgent"),
    ("csam", "Child sexual abuse material", "Materi pelecehan seksual anak", "urgent"),
    ("illegal-gambling", "Illegal gambling", "Perjudian ilegal", "normal"),
    ("fraud", "Fraud and scams", "Penipuan", "high"),
    ("hate-speech", "Hate speech", "Ujaran kebencian", "high"),
    ("disinformation", "Disinformation", "Disinformasi", "normal"),
    ("privacy", "Privacy", "Privasi", "normal"),
    ("intellectual-property", "Intellectual property", "Kekayaan intelektual", "normal"),
    ("other", "Other", "Lainnya", "normal"),
]


def seed(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    for order, (slug, name, name_id, priority) in enumerate(CATEGORIES, start=1):
        Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "name_id": name_id, "default_priority": priority,
                                 "sort_order": order * 10},
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_audit_append_only")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
