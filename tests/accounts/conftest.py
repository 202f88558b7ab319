from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _forget_failed_sign_ins() -> Iterator[None]:
    """Sign-in counts live in the cache (process memory in tests): each test starts with none and leaves none."""
    cache.clear()
    yield
    cache.clear()
