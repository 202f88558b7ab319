"""Sessions kept in the database and read through the cache, which is only a copy: when the cache server does not
answer (Redis down, as with the broker it usually shares), each session is read from and written to the database
alone, so an outage fails no page and signs nobody out.

Django's `cached_db` already reads past a failing cache and writes past one, but not the copy it makes after reading
from the database, nor `exists` or `delete`; those are caught here. A session deleted while the cache is unreachable
keeps its cached copy if the cache server comes back with its data: the idle limit (LIAISON_SESSION_IDLE_MINUTES)
still ends it, as it ends any session left unused.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache.backends.base import BaseCache

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    _cache: BaseCache  # set by cached_db's __init__ (not in the type stubs)

    def load(self) -> dict[str, Any]:
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # the cache is down, or (memcached) the key is invalid: the database is the record
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()  # type: ignore[attr-defined]  # Django's, not in the type stubs
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except Exception as exc:
            logger.warning("sessions: the cache did not take a copy (%s: %s)", type(exc).__name__, exc)
        return data

    def exists(self, session_key: str | None) -> bool:
        try:
            return bool(super().exists(session_key))  # type: ignore[arg-type]  # Django asks with None too
        except Exception as exc:
            logger.warning("sessions: the cache did not answer (%s: %s)", type(exc).__name__, exc)
            return bool(session_key) and DBStore.exists(self, str(session_key))

    def delete(self, session_key: str | None = None) -> None:
        DBStore.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception as exc:
            logger.warning("sessions: the cache did not drop a deleted session (%s: %s)", type(exc).__name__, exc)
