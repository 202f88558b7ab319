from django.db import migrations, models


class Migration(migrations.Migration):
    """Columns for the signing secrets encrypted at rest (filled by 0003, the clear ones dropped by 0004)."""

    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        # blank: so that undoing 0004 can add the clear column back to rows (as "", filled by undoing 0003).
        migrations.AlterField(
            model_name="endpoint",
            name="secret",
            field=models.CharField(blank=True, editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="endpoint",
            name="secret_encrypted",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="endpoint",
            name="previous_secret_encrypted",
            field=models.TextField(blank=True, default="", editable=False),
            preserve_default=False,
        ),
    ]
