"""The one door from actions to the task queue.

Actions never import tasks (tasks call actions; an import back would make a loop). They name the task and its
keyword arguments here, and it is written to the outbox (outbox/relay.py) in the action's own transaction: a
rolled-back change asks for nothing, a committed one loses nothing when the broker is down, and a task never runs
before the rows it reads exist. The relay sends it with an `outbox_id` (at least once), so every task named here
is an `outbox.receipts.OutboxTask` that accepts `outbox_id` and is idempotent.
"""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMessage

from outbox import relay

# Every task an action may start, by its Celery name (the dotted path of the function).
TASKS = frozenset({
    "cases.tasks.notify_message_task",
    "cases.tasks.notify_case_event_task",
    "cases.tasks.generate_report_task",
    "cases.tasks.notify_report_issued_task",
})


def enqueue(task_name: str, **kwargs: Any) -> None:
    """Write `task_name` with `kwargs` to the outbox in the current transaction; it is sent once that commits."""
    if task_name not in TASKS:
        raise ValueError(f"unknown task {task_name!r}; add it to cases.jobs.TASKS")
    relay.enqueue(task_name, **kwargs)


def enqueue_email(email: EmailMessage) -> None:
    """Write `email` to the outbox in the current transaction; a worker hands it to the mail server once."""
    relay.enqueue_email(email)
