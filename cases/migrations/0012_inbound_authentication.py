"""Inbound e-mail fails closed: the sender's authentication verdict and the reason code are kept, a quarantined
reply remembers the case it claims to answer, and the same bytes (not the same Message-ID) are one row."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0011_audit_checkpoints")]

    operations = [
        migrations.AddField(
            model_name="inboundemail",
            name="authentication",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="inboundemail",
            name="reason_code",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="inboundemail",
            name="reply_case",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to="cases.case"),
        ),
        migrations.AlterField(
            model_name="inboundemail",
            name="message_id",
            field=models.CharField(db_index=True, max_length=255),
        ),
        migrations.AddConstraint(
            model_name="inboundemail",
            constraint=models.UniqueConstraint(condition=models.Q(("raw_sha256", ""), _negated=True),
                                               fields=("raw_sha256",), name="inbound_once_per_bytes"),
        ),
    ]
