from __future__ import annotations

import pytest
from django.urls import reverse

from liaison.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_health_is_200_when_database_and_broker_answer(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_health_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    previous = celery_app.conf.broker_url
    # Nothing listens on port 9 of this machine: a real, refused connection. Celery prefers the
    # CELERY_BROKER_URL variable (set in CI) to its configuration, so both are pointed there.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    try:
        response = client.get(reverse("health"))
    finally:
        celery_app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "fail"}
