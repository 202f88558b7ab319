"""When the cache server (Redis) does not answer: pages that need it (signing in, which keeps failed sign-in counts
and allauth's limits there; the public verification page's limit) answer 503 with the portal's own page and a
Retry-After, instead of the server error page. They fail closed: nothing is let through uncounted. Pages that need
only sessions go on working (accounts/sessions.py reads them from the database).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template import loader
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class CacheOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RedisConnectionError | RedisTimeoutError):
            return None
        logger.error("%s %s: the cache server did not answer", request.method, request.path, exc_info=exception)
        # Rendered without the request, as the server error page is: the session or the database may be what failed.
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
