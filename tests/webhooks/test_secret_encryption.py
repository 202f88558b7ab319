"""Signing secrets at rest: nothing in the database reveals one, only the configured key opens them, a delivery
without that key is never sent, keys rotate, production refuses to start without one, and the migration encrypts
the secrets an older database kept in clear."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from standardwebhooks.webhooks import Webhook

from cases.case_events import CaseEvent
from tests.cases.conftest import make_case
from tests.factories import World, build_world
from webhooks import secret_encryption
from webhooks.actions import reencrypt_secrets, rotate_secret, send_delivery
from webhooks.models import Delivery, Endpoint

from .conftest import Receiver, subscribe

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def every_stored_value() -> str:
    """Every row of every table of the project, as text: what a dump of the database would hold."""
    rows = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608 (table names)
            rows += [repr(row) for row in cursor.fetchall()]
    return "\n".join(rows)


def test_no_signing_secret_is_readable_in_the_database(world: World, receiver: Receiver,
                                                       django_capture_on_commit_callbacks: Any) -> None:
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    first = endpoint.secret
    second = rotate_secret(actor=world.lead, endpoint=endpoint).secret
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)  # a delivery signed with both secrets (the previous one still signs)
    assert len(receiver.requests) == 1
    stored = every_stored_value()
    for secret in (first, second):
        key = secret.removeprefix("whsec_")
        hex_key = base64.b64decode(key).hex()
        assert secret not in stored and key not in stored and hex_key not in stored
    # What is stored opens with the configured key only, and then signs what the receiver checked.
    endpoint.refresh_from_db()
    assert secret_encryption.decrypt(endpoint.secret_encrypted) == second
    Webhook(second).verify(receiver.requests[0].body, receiver.requests[0].headers)
    Webhook(first).verify(receiver.requests[0].body, receiver.requests[0].headers)


def test_without_the_key_nothing_is_sent(world: World, receiver: Receiver, settings: Any,
                                         django_capture_on_commit_callbacks: Any) -> None:
    subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    settings.LIAISON_WEBHOOK_SECRET_KEYS = [Fernet.generate_key().decode()]  # another key: the stored ones fail
    with pytest.raises(secret_encryption.SecretUnavailable, match="cannot be decrypted"):
        with django_capture_on_commit_callbacks(execute=True):
            make_case(world)
    delivery = Delivery.objects.get()
    assert receiver.requests == []
    assert delivery.attempts == 0 and delivery.status == Delivery.Status.PENDING  # waits for the key, not failed
    settings.LIAISON_WEBHOOK_SECRET_KEYS, settings.LIAISON_WEBHOOK_DEV_KEY_FILE = [], ""
    with pytest.raises(secret_encryption.SecretUnavailable, match="LIAISON_WEBHOOK_SECRET_KEY"):
        send_delivery(delivery_id=delivery.pk, attempt=0)
    assert receiver.requests == []


def test_keys_rotate_the_first_encrypts_every_one_decrypts(world: World, settings: Any, tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LIAISON_WEBHOOK_SECRET_KEYS = [old]
    endpoint = subscribe(world.lead, "https://hooks.example.org/liaison")
    rotated = rotate_secret(actor=world.lead, endpoint=endpoint)
    settings.LIAISON_WEBHOOK_SECRET_KEYS = [new, old]
    stored = Endpoint.objects.get()
    assert secret_encryption.decrypt(stored.secret_encrypted) == rotated.secret  # the old key still opens it
    assert reencrypt_secrets() == 1
    settings.LIAISON_WEBHOOK_SECRET_KEYS = [new]  # the old key dropped
    stored.refresh_from_db()
    assert secret_encryption.decrypt(stored.secret_encrypted) == rotated.secret
    assert secret_encryption.decrypt(stored.previous_secret_encrypted) == endpoint.secret
    settings.LIAISON_WEBHOOK_SECRET_KEYS = ["not-a-fernet-key"]
    with pytest.raises(secret_encryption.SecretUnavailable, match="not a Fernet key"):
        secret_encryption.decrypt(stored.secret_encrypted)


def test_the_development_key_is_made_once_under_var(settings: Any, tmp_path: Path) -> None:
    settings.LIAISON_WEBHOOK_SECRET_KEYS = []
    settings.LIAISON_WEBHOOK_DEV_KEY_FILE = str(tmp_path / "var" / "webhook_secret_key")
    token = secret_encryption.encrypt("whsec_abc")
    key_file = tmp_path / "var" / "webhook_secret_key"
    assert key_file.is_file() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert secret_encryption.decrypt(token) == "whsec_abc"
    assert Fernet(key_file.read_bytes().strip()).decrypt(token.encode()) == b"whsec_abc"
    assert [p.name for p in key_file.parent.iterdir()] == ["webhook_secret_key"]  # no temporary file left


def _settings_process(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DJANGO", "DEBUG", "SECRET", "ALLOWED", "LIAISON_WEBHOOK_SECRET"))}
    return subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='liaison.settings'; "
                               "django.setup()"],
        cwd=ROOT, env={**clean, "DEBUG": "false", "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "a.example", **env},
        capture_output=True, text=True, timeout=60)


def test_production_without_the_key_does_not_start(tmp_path: Path) -> None:
    refused = _settings_process({})
    assert refused.returncode != 0 and "LIAISON_WEBHOOK_SECRET_KEY" in refused.stderr
    key_file = tmp_path / "webhook_key"
    key_file.write_text(Fernet.generate_key().decode() + "\n")
    assert _settings_process({"LIAISON_WEBHOOK_SECRET_KEY_FILE": str(key_file)}).returncode == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_encrypts_the_secrets_kept_in_clear() -> None:
    world = build_world()
    before, after = [("webhooks", "0002_endpoint_secret_encrypted")], [("webhooks", "0004_remove_endpoint_clear_secrets")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("webhooks", "Endpoint")
    clear = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    previous = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    old.objects.create(organization_id=world.ministry.pk, url="https://hooks.example.org/liaison", events=["case.submitted"],
                       secret=clear, previous_secret=previous, created_by_id=world.lead.pk)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    endpoint = Endpoint.objects.get()
    assert secret_encryption.decrypt(endpoint.secret_encrypted) == clear
    assert secret_encryption.decrypt(endpoint.previous_secret_encrypted) == previous
    assert clear not in every_stored_value() and previous not in every_stored_value()
