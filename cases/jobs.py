"""The one door from actions to the task queue.

Actions never import tasks (tasks call actions; an import back would make a loop). They name the task and
its keyword arguments here, and the task is sent when the surrounding transaction commits: a rolled-back
change sends nothing, and a task never runs before the rows it reads exist.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.db import transaction

# Every task an action may start, by its Celery name (the dotted path of the function).
TASKS = frozenset({
    "cases.tasks.notify_message_task",
    "cases.tasks.notify_case_event_task",
    "cases.tasks.generate_report_task",
})


def enqueue(task_name: str, **kwargs: Any) -> None:
    """Send `task_name` with `kwargs` once the current transaction commits (at once outside one)."""
    if task_name not in TASKS:
        raise ValueError(f"unknown task {task_name!r}; add it to cases.jobs.TASKS")
    transaction.on_commit(lambda: _task(task_name).apply_async(kwargs=kwargs))


def _task(task_name: str) -> Any:
    # Imported by name at send time, so no module below the tasks imports them.
    module, _dot, attribute = task_name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)
