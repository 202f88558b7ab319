from django.db import migrations, models


class Migration(migrations.Migration):
    """The clear signing secrets go (0003 encrypted them); backwards, empty clear columns that 0003 fills again."""

    dependencies = [
        ("webhooks", "0003_encrypt_endpoint_secrets"),
    ]

    operations = [
        migrations.RemoveField(model_name="endpoint", name="secret"),
        migrations.RemoveField(model_name="endpoint", name="previous_secret"),
        migrations.AlterField(
            model_name="endpoint",
            name="secret_encrypted",
            field=models.TextField(editable=False),
        ),
    ]
