"""The broker is down while people work (issue 14): every page answers, the work waits in the outbox, and once the
broker is back a real worker process does each piece exactly once; relaying again does nothing twice.

Real processes: a redis-server of the test's own (killed and started again), a Celery worker and the relay command
(`manage.py relay_outbox`, what the beat job runs), all on the test's PostgreSQL database.
"""

from __future__ import annotations

import time
from collections import Counter
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Role, User
from cases.actions.cases import assign_case
from cases.choices import Status
from cases.models import AuditEvent, Case, Notification, OutcomeReport
from outbox.models import OutboxMessage
from tests.cases.conftest import make_case
from tests.factories import PASSWORD, World

from .processes import Processes, celery_on, processes, redis_server, require_shared_database, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cache_of(broker: Any) -> str:
    return broker.url.rsplit("/", 1)[0] + "/1"


def subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def pending() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(done_at__isnull=True).order_by("id"))


def relay_until_sent(running: Processes, timeout: float = 40) -> None:
    """Run the relay (as the beat would, every few seconds) until it has handed every row to the broker."""
    def all_sent() -> bool:
        running.manage("relay_outbox")
        return not OutboxMessage.objects.filter(done_at__isnull=True, sent_at__isnull=True).exists()

    wait_for(all_sent, timeout=timeout, what="the relay to hand every waiting row to the broker", every=1.0)


def test_while_the_broker_is_down_every_page_answers_and_each_task_runs_once_when_it_is_back(
        world: World, settings: Any, tmp_path: Path) -> None:
    require_shared_database()
    settings.LIAISON_REQUIRE_MFA = False
    # Set up while tasks still run in this process.
    talk = make_case(world, state=Status.IN_PROGRESS)
    assign_case(actor=world.manager, case=talk, assignee=world.moderator)
    new = make_case(world)
    resolved = make_case(world, state=Status.RESOLVED)
    assert not pending()
    before = set(OutboxMessage.objects.values_list("pk", flat=True))
    notified_before = set(Notification.objects.values_list("pk", flat=True))

    with redis_server(tmp_path) as broker, processes(tmp_path, broker.url, CACHE_URL=cache_of(broker)) as running, \
            celery_on(broker.url, running.queue):
        # As deployed (docs/deploy.md): one Redis is the broker (db 0) and the cache (db 1) of sessions and sign-in
        # counts. People signed in before it went down.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": cache_of(broker)}}
        liaison, moderator, manager, lead = (signed_in(person) for person in (
            world.liaison, world.moderator, world.manager, world.lead))
        assert liaison.get(talk.get_absolute_url()).status_code == 200  # its session is in the cache now
        broker.stop()

        # --- Redis is down: each page answers as usual. ---------------------------------------------------------
        started = time.monotonic()
        answer = liaison.post(reverse("cases:post_message", args=[talk.reference]),
                              {"body": "Mohon segera ditindaklanjuti."})
        assert answer.status_code == 302
        answer = moderator.post(reverse("cases:transition", args=[new.reference, "acknowledge"]))
        assert answer.status_code == 302
        answer = manager.post(reverse("cases:request_report", args=[resolved.reference]), {"language": "en"})
        assert answer.status_code == 302
        answer = lead.post(reverse("accounts:invite"), {
            "email": "new-liaison@ministry.test", "full_name": "New Liaison", "organization": world.ministry.pk,
            "role": Role.LIAISON}, follow=True)
        assert answer.status_code == 200 and b"Invitation sent to new-liaison@ministry.test" in answer.content
        assert liaison.get(talk.get_absolute_url()).status_code == 200
        # A refused connection costs a request little (no request waits out a timeout).
        assert time.monotonic() - started < 20
        # Signing in needs the cache (failed sign-in counts): refused for now with the portal's 503, never a 500.
        refused = Client().post(reverse("account_login"), {"login": world.legal.email, "password": PASSWORD})
        assert refused.status_code == 503 and refused["Retry-After"]

        waiting = pending()
        tasks = Counter(row.task for row in waiting)
        for task in ("cases.tasks.notify_message_task", "cases.tasks.notify_case_event_task",
                     "cases.tasks.generate_report_task", "accounts.tasks.send_invitation_email_task"):
            assert tasks[task] == 1, tasks
        assert all(row.sent_at is None for row in waiting)
        assert Case.objects.get(pk=new.pk).status == Status.IN_PROGRESS
        report = OutcomeReport.objects.get(case=resolved)
        assert report.status == OutcomeReport.Status.QUEUED
        assert not Notification.objects.exclude(pk__in=notified_before).exists()

        # The relay runs during the outage too: it fails, keeps every row, and tries again later.
        output = running.manage("relay_outbox")
        assert "sent 0" in output
        assert not OutboxMessage.objects.filter(done_at__isnull=True, sent_at__isnull=False).exists()

        # --- The broker is back (empty): a worker starts and the relay hands over what waited. -----------------
        broker.start()
        assert liaison.get(talk.get_absolute_url()).status_code == 200
        signing_in = Client()
        assert signing_in.post(reverse("account_login"), {"login": world.legal.email, "password": PASSWORD}
                               ).status_code == 302 and "_auth_user_id" in signing_in.session
        running.worker()
        relay_until_sent(running)
        wait_for(lambda: not pending(), timeout=45, what="the worker to finish every task")
        # The report's issue queued its own notice from the worker, at once (the broker is up again).
        wait_for(lambda: Notification.objects.filter(source_key=f"report:{report.pk}").exists(), timeout=20,
                 what="the report's notices")
        wait_for(lambda: not pending(), timeout=20, what="the worker to finish the report's notices")

        def outcome() -> tuple[Any, ...]:
            notes = Counter(Notification.objects.exclude(pk__in=notified_before).values_list("user_id",
                                                                                              "source_key"))
            mails = Counter((m["To"], subject(m)) for m in running.sent_mail())
            return (notes, mails, OutcomeReport.objects.filter(case=resolved).count(),
                    AuditEvent.objects.filter(action="report.issued", case=resolved).count())

        first = outcome()
        notes, mails, reports, issued = first
        assert notes and set(notes.values()) == {1}
        assert mails and set(mails.values()) == {1}, mails
        assert reports == 1 and issued == 1
        report.refresh_from_db()
        assert report.status == OutcomeReport.Status.READY and report.version == 1
        assert len(list(running.files_dir.joinpath("reports").rglob("*.pdf"))) == 1
        # Each piece of work was done: the mentioned and the assigned heard of the message, the authority of the
        # acknowledgement and of the report, and the invitee got their link.
        recipients = Counter(to for to, _subject in mails)
        assert recipients["new-liaison@ministry.test"] == 1
        assert any(to == "rizky@platform.test" and talk.reference in title for to, title in mails)
        assert any(new.reference in title for _to, title in mails)
        assert any(to == "dewi@ministry.test" and resolved.reference in title for to, title in mails)
        emailed = Notification.objects.exclude(pk__in=notified_before).filter(emailed_at__isnull=False).count()
        assert emailed == sum(1 for _to, title in mails if title.startswith("[Liaison "))
        assert Invitation.objects.get(email="new-liaison@ministry.test").is_pending
        # Every row was sent to the broker once and done once.
        rows = OutboxMessage.objects.exclude(pk__in=before)
        assert all(row.done_at is not None and row.sends == 1 for row in rows), [
            (row.task, row.sends, row.done_at) for row in rows]

        # --- The relay again, and a while for anything sent twice to arrive: nothing doubles. -----------------
        assert "sent 0, failed 0" in running.manage("relay_outbox")
        time.sleep(2)
        assert outcome() == first


def test_messages_the_broker_lost_and_messages_sent_twice_are_each_done_once(
        world: World, settings: Any, tmp_path: Path) -> None:
    """A broker that crashes forgets what it held: the relay sends again what was sent but never done (after
    LIAISON_OUTBOX_REDELIVER_SECONDS), and a message that was only slow is then in the queue twice."""
    require_shared_database()
    settings.LIAISON_REQUIRE_MFA = False
    settings.LIAISON_OUTBOX_REDELIVER_SECONDS = 3
    lost = make_case(world, state=Status.IN_PROGRESS)
    assign_case(actor=world.manager, case=lost, assignee=world.moderator)
    slow = make_case(world, state=Status.IN_PROGRESS)
    assign_case(actor=world.manager, case=slow, assignee=world.moderator)
    new = make_case(world)
    before = set(OutboxMessage.objects.values_list("pk", flat=True))
    notified_before = set(Notification.objects.values_list("pk", flat=True))
    liaison, moderator = signed_in(world.liaison), signed_in(world.moderator)

    with redis_server(tmp_path) as broker, processes(tmp_path, broker.url) as running, \
            celery_on(broker.url, running.queue):
        # Sent while the broker is up, with no worker yet; then the broker crashes and comes back empty.
        assert liaison.post(reverse("cases:post_message", args=[lost.reference]),
                            {"body": "Lost with the broker"}).status_code == 302
        assert moderator.post(reverse("cases:transition", args=[new.reference, "acknowledge"])).status_code == 302
        assert all(row.sends == 1 for row in pending())
        broker.stop()
        broker.start()
        # Sent to the new broker, and still waiting for a worker when the relay sends everything again.
        assert liaison.post(reverse("cases:post_message", args=[slow.reference]),
                            {"body": "Only slow"}).status_code == 302
        waiting = len(pending())
        assert waiting >= 3  # the two messages' notices and the acknowledgement's
        time.sleep(settings.LIAISON_OUTBOX_REDELIVER_SECONDS)
        assert f"sent {waiting}, failed 0" in running.manage("relay_outbox")
        assert all(row.sends == 2 for row in pending())

        running.worker()
        wait_for(lambda: not pending(), timeout=30, what="the worker to finish every task")
        time.sleep(2)  # the duplicate of the slow message runs after its first: skipped
        assert "sent 0, failed 0" in running.manage("relay_outbox")

        notes = Counter(Notification.objects.exclude(pk__in=notified_before).values_list("user_id", "source_key"))
        mails = Counter((m["To"], subject(m)) for m in running.sent_mail())
        assert notes and set(notes.values()) == {1}
        assert mails and set(mails.values()) == {1}, mails
        lost_message = lost.messages.get(body="Lost with the broker")
        assert (world.moderator.pk, f"message:{lost_message.pk}") in notes
        for case in (lost, slow, new):
            assert any(case.reference in title for _to, title in mails), case.reference
        assert "skipped" in running.log("worker")  # the second copy found its row done
        rows = OutboxMessage.objects.exclude(pk__in=before)
        assert [(row.sends, row.done_at is not None) for row in rows] == [(2, True)] * waiting
