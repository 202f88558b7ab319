"""Kept statements on PostgreSQL (cases.kept_statements): their constants are written into their text, so the server
can reuse one plan for them, and psycopg converts their placeholders once per process, though they hold more
parameters (a person's named cases, a page's 50 ids) than its own default bound."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from cases.kept_statements import (
    CONVERTED_STATEMENT_LENGTH,
    CONVERTED_STATEMENT_PARAMETERS,
    run_kept_sql,
)

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's plans and psycopg's statement conversion: PostgreSQL only; CI runs it there")]


def test_the_bounds_are_raised_at_start() -> None:
    # A psycopg release that renames them fails here instead of silently converting every statement again.
    from psycopg import _queries

    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= CONVERTED_STATEMENT_LENGTH
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= CONVERTED_STATEMENT_PARAMETERS


def test_a_statement_with_a_page_of_ids_is_converted_once() -> None:
    from psycopg import _queries

    ids = list(range(1, 62))  # more than psycopg's own bound of 50 parameters, as the inbox's rows of a page
    sql = f"SELECT count(*) FROM (VALUES {', '.join(['(%s)'] * len(ids))}) AS v(n) WHERE n > 0"  # noqa: S608
    assert run_kept_sql(sql, ids, database=connection.alias) == [(61,)]
    hits = _queries._query2pg.cache_info().hits
    assert run_kept_sql(sql, [-n for n in ids], database=connection.alias) == [(0,)]  # new values, same text
    assert _queries._query2pg.cache_info().hits == hits + 1


def test_a_longer_statement_is_still_converted_each_time() -> None:
    from psycopg import _queries

    ids = list(range(1, CONVERTED_STATEMENT_PARAMETERS + 2))
    sql = f"SELECT count(*) FROM (VALUES {', '.join(['(%s)'] * len(ids))}) AS v(n)"  # noqa: S608
    before = _queries._query2pg.cache_info()
    assert run_kept_sql(sql, ids, database=connection.alias) == [(len(ids),)]
    assert run_kept_sql(sql, ids, database=connection.alias) == [(len(ids),)]
    after = _queries._query2pg.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)  # never looked up: the bulk case stays bounded


def test_constants_are_written_into_the_text_and_the_bound_values_stay_parameters() -> None:
    from psycopg.types.numeric import Int2

    from cases.choices import Status
    from cases.kept_statements import with_constants_written

    sql = "SELECT %s::int + %s::int, %s::text, %s::text, %s::text, %s::timestamptz IS NOT NULL, '100%%'"
    params = (Int2(2), -5, Status.SUBMITTED, "o'clock; --", "x", datetime(2026, 12, 4, tzinfo=UTC))
    written, left, where = with_constants_written(sql, params, {4}, connection.alias)
    # Numbers and plain words in the text; typed text with a quote and the value bound on each run stay parameters.
    assert "submitted" in written and " -5" in written and "100%%" in written
    assert left == ("o'clock; --", "x", datetime(2026, 12, 4, tzinfo=UTC))
    assert where == {3: 0, 4: 1, 5: 2}
    assert run_kept_sql(written, left, database=connection.alias) == \
        run_kept_sql(sql, params, database=connection.alias) == [(-3, "submitted", "o'clock; --", "x", True, "100%")]


def test_the_inbox_statements_bind_only_what_changes_between_requests(login: Any, world: Any) -> None:
    """The counts, a page's keys and the badges are kept with the statuses, the organisation and the person written
    in: the server can then reuse one plan for them (a parameter in place of the open statuses hides the partial
    indexes of open work from a reusable plan)."""
    client = login(world.moderator)
    client.get("/cases/")
    statements: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert client.get("/cases/").status_code == 200
    counts = [p for sql, p in statements if 'AS "open"' in sql]
    badges = [p for sql, p in statements if "cases_notification" in sql]
    assert counts and all(isinstance(value, datetime) for value in counts[0])  # the clock only
    assert badges == [()]
