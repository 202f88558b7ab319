"""The outbox's fast path while the broker refuses connections: the request goes on, the rows wait, and none is kept
from the relay longer than its retry pause (no broker process needed: nothing listens on the port)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from outbox import relay
from outbox.models import OutboxMessage
from tests.integration.processes import celery_on, free_port

pytestmark = pytest.mark.django_db


def test_rows_written_during_an_outage_are_due_for_the_relay_within_the_first_retry_pause(
        monkeypatch: Any, django_capture_on_commit_callbacks: Any) -> None:
    monkeypatch.setattr(relay, "_quiet_until", 0.0)
    with celery_on(f"redis://127.0.0.1:{free_port()}/0", "liaison-nowhere"):
        with django_capture_on_commit_callbacks(execute=True):
            first = relay.enqueue_email(EmailMessage("One", "Body", to=["a@example.test"]))
        with django_capture_on_commit_callbacks(execute=True):
            second = relay.enqueue_email(EmailMessage("Two", "Body", to=["b@example.test"]))
        now = timezone.now()
        first.refresh_from_db()
        second.refresh_from_db()
        # The first offer was refused: counted, with the reason, and offered again after the first pause.
        assert (first.attempts, first.sent_at, first.claim) == (1, None, "")
        assert "Connection refused" in first.last_error or "Error 111" in first.last_error
        assert now < first.due_at <= now + relay.retry_delay(1)
        # The second was not offered (the process leaves the broker alone a few seconds) and is not held either:
        # the relay's next pass takes it, rather than after the minute a sender holds a row for.
        assert (second.attempts, second.sent_at, second.claim) == (0, None, "")
        assert second.due_at <= now
        assert relay.relay_due() == relay.Relayed(sent=0, failed=1)
        second.refresh_from_db()
        assert second.attempts == 1 and second.due_at > now
    assert OutboxMessage.objects.filter(done_at__isnull=True).count() == 2
    assert relay.HOLD > timedelta(seconds=relay.FIRST_RETRY_SECONDS)
