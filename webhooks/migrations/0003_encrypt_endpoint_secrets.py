"""Every stored signing secret encrypted under LIAISON_WEBHOOK_SECRET_KEY (webhooks/secret_encryption.py); backwards,
decrypted into the clear columns again. A database without endpoints needs no key."""

from typing import Any

from django.db import migrations


def encrypt_secrets(apps: Any, schema_editor: Any) -> None:
    from webhooks import secret_encryption

    Endpoint = apps.get_model("webhooks", "Endpoint")
    for endpoint in Endpoint.objects.using(schema_editor.connection.alias).filter(secret_encrypted="").iterator():
        endpoint.secret_encrypted = secret_encryption.encrypt(endpoint.secret)
        endpoint.previous_secret_encrypted = (secret_encryption.encrypt(endpoint.previous_secret)
                                              if endpoint.previous_secret else "")
        endpoint.secret = ""
        endpoint.previous_secret = ""
        endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "secret", "previous_secret"])


def decrypt_secrets(apps: Any, schema_editor: Any) -> None:
    from webhooks import secret_encryption

    Endpoint = apps.get_model("webhooks", "Endpoint")
    for endpoint in Endpoint.objects.using(schema_editor.connection.alias).exclude(secret_encrypted="").iterator():
        endpoint.secret = secret_encryption.decrypt(endpoint.secret_encrypted)
        endpoint.previous_secret = (secret_encryption.decrypt(endpoint.previous_secret_encrypted)
                                    if endpoint.previous_secret_encrypted else "")
        endpoint.secret_encrypted = ""
        endpoint.previous_secret_encrypted = ""
        endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "secret", "previous_secret"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_endpoint_secret_encrypted"),
    ]

    operations = [
        migrations.RunPython(encrypt_secrets, decrypt_secrets, elidable=False),
    ]
