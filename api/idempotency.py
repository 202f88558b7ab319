"""`Idempotency-Key` on creating requests: the first successful answer is kept with a fingerprint of the request;
the same key with the same request replays it (nothing is created twice), the same key with another request is
refused (422). The answer is stored in the same transaction as what the request created, so a request that fails
leaves no record and may be retried with its key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from .models import IdempotencyRecord
from .problems import problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def fingerprint(request: Request, extra: str = "") -> str:
    """The method, path, query and body; a multipart body (random boundaries) is fingerprinted by its fields and
    its files' names and sizes, given by the view as `extra`."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    if extra:
        digest.update(extra.encode())
    else:
        digest.update(request._request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, view: Any) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if record.location:
        headers["Location"] = record.location
    unseal = getattr(view, "idempotency_unseal", None)
    return Response(unseal(record.data) if unseal else record.data, status=record.status_code, headers=headers)


def _mismatch() -> Response:
    return problem(422, "Idempotency key reused", "This Idempotency-Key was used with another request.",
                   code="idempotency_key_reused")


def _find(user_id: int, key: str) -> IdempotencyRecord | None:
    cutoff = timezone.now() - timedelta(hours=settings.LIAISON_API_IDEMPOTENCY_HOURS)
    return IdempotencyRecord.objects.filter(user_id=user_id, key=key, created_at__gte=cutoff).first()


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorates a view's `post`; the view may define `idempotency_extra(request) -> str` for multipart bodies, and
    `idempotency_seal(data) -> data` / `idempotency_unseal(data) -> data` for an answer holding a secret that must
    not be stored as it is (a webhook endpoint's signing secret is kept encrypted)."""

    @wraps(method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "")
        if not key:
            return method(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return problem(400, "Invalid request", f"{HEADER}: at most {MAX_KEY_LENGTH} printable characters.",
                           code="invalid_idempotency_key")
        extra_of = getattr(view, "idempotency_extra", None)
        request_hash = fingerprint(request, extra_of(request) if extra_of else "")
        user_id = request.user.pk
        existing = _find(user_id, key)
        if existing is not None:
            return _replay(existing, view) if existing.request_hash == request_hash else _mismatch()
        IdempotencyRecord.objects.filter(user_id=user_id, key=key).delete()  # an expired one
        try:
            with transaction.atomic():
                response = method(view, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    seal = getattr(view, "idempotency_seal", None)
                    IdempotencyRecord.objects.create(
                        user_id=user_id, key=key, request_hash=request_hash, status_code=response.status_code,
                        data=json.loads(json.dumps(seal(response.data) if seal else response.data, cls=JSONEncoder)),
                        location=response.headers.get("Location", ""))
        except IntegrityError:
            # The same key raced in from another request, which committed first: its answer stands.
            existing = _find(user_id, key)
            if existing is None:
                raise
            return _replay(existing, view) if existing.request_hash == request_hash else _mismatch()
        return response

    return wrapper
