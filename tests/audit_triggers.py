"""The audit tables' append-only triggers switched off, as the tables' owner (or a superuser) could.

Tests use it twice: to tamper with the log as an attacker with owner rights would, and to let Django empty the
database between transactional tests (its flush is a TRUNCATE on PostgreSQL and a DELETE on SQLite, which the
triggers refuse, as they should in production).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections

AUDIT_TABLES = ("cases_auditevent", "cases_auditcheckpoint")


@contextmanager
def append_only_suspended(using: str = "default") -> Iterator[None]:
    """Inside the caller's transaction: PostgreSQL's triggers disabled (ALTER TABLE, the owner's right), SQLite's
    dropped and created again afterwards."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while FK checks are pending
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            try:
                yield
            finally:
                for table in AUDIT_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            return
        triggers: list[tuple[str, str]] = []
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                           list(AUDIT_TABLES))
            triggers = list(cursor.fetchall())
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            yield
        finally:
            for _name, sql in triggers:
                cursor.execute(sql)


def flush_past_the_triggers(original: Any) -> Any:
    """Django's execute_sql_flush, with the audit tables' triggers off for the statements."""
    from django.db import transaction

    def execute_sql_flush(self: Any, sql_list: list[str]) -> None:
        with transaction.atomic(using=self.connection.alias):
            with append_only_suspended(self.connection.alias):
                original(self, sql_list)

    return execute_sql_flush
