"""Personal API tokens: created (the secret returned once, only its hash kept), revoked, checked on each request."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from cases import audit
from cases.kept_statements import run_prepared

from . import tokens
from .models import ApiToken, IdempotencyRecord, TokenScope

MAX_NAME_LENGTH = 100
# last_used_at is written at most this often per token, so a busy script does not write a row per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenRefused(Exception):
    """The presented token is unknown, malformed, revoked, expired, or its person can no longer act."""


def token_lifetime() -> timedelta:
    return timedelta(days=settings.LIAISON_API_TOKEN_DAYS)


def _may_hold_tokens(user: User) -> bool:
    membership = getattr(user, "membership", None)
    return user.is_active and membership is not None and membership.deactivated_at is None


@transaction.atomic
def create_api_token(*, actor: User, name: str, read_only: bool = False,
                     expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token of the actor's; returns the row and the token itself, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Name the token after the system that will use it."))
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(_("Use at most %(n)d characters for the name.") % {"n": MAX_NAME_LENGTH})
    if not _may_hold_tokens(actor):
        raise PermissionDenied(_("Only active members of an organisation hold API tokens."))
    now = timezone.now()
    expires_at = expires_at or now + token_lifetime()
    if expires_at <= now:
        raise ValidationError(_("The expiry must be in the future."))
    secret = tokens.new_secret()
    token = ApiToken.objects.create(
        user=actor, name=name, scope=TokenScope.READ_ONLY if read_only else TokenScope.READ_WRITE,
        prefix=secret.prefix, digest=secret.digest, created_at=now, expires_at=expires_at)
    audit.record(actor=actor, action="api.token_created", obj=token,
                 data={"name": name, "scope": token.scope, "prefix": token.prefix,
                       "expires_at": expires_at.isoformat()})
    return token, secret.token


@transaction.atomic
def revoke_api_token(*, actor: User, token: ApiToken) -> ApiToken:
    """The owner revokes one of their tokens; it fails from the next request on."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != actor.pk:
        raise PermissionDenied(_("You may revoke only your own tokens."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(actor=actor, action="api.token_revoked", obj=token,
                     data={"name": token.name, "prefix": token.prefix})
    return token


def tokens_of(user: User) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at", "-id")[:100])


def authenticate_token(raw: str) -> tuple[User, ApiToken]:
    """The person a presented token acts for, and the token; TokenRefused when it may not act (one answer for
    every reason, so a caller learns nothing about which tokens exist)."""
    prefix = tokens.prefix_of(raw)
    if prefix is None:
        raise TokenRefused
    token = _token_by_prefix(prefix)
    now = timezone.now()
    if token is None or not tokens.matches(raw, token.digest) or not token.is_usable(now):
        raise TokenRefused
    if not _may_hold_tokens(token.user):
        raise TokenRefused
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


# The token with its person, membership and organisation, as select_related("user", "user__membership",
# "user__membership__organization").filter(prefix=…).first() reads them, in one statement compiled once per process
# (kept_statements.run_prepared; building it through the ORM cost more Python than running it): the prefix is bound on
# every run, and each row is loaded into its model as the ORM loads a selected relation.
_TOKEN_PATHS: tuple[tuple[str, type[Model]], ...] = (
    ("", ApiToken), ("user__", User), ("user__membership__", Membership),
    ("user__membership__organization__", Organization))


def _token_columns() -> list[str]:
    return [path + field.attname for path, model in _TOKEN_PATHS for field in model._meta.concrete_fields]


def _token_query(key: tuple[()], prefix: str) -> QuerySet[ApiToken, tuple[Any, ...]]:
    """(For run_prepared.) The newest token with this prefix, as the values of _token_columns."""
    return ApiToken.objects.filter(prefix=prefix).values_list(*_token_columns())[:1]


def _token_by_prefix(prefix: str) -> ApiToken | None:
    database = ApiToken.objects.db
    rows = run_prepared(_token_query, (), prefix, database=database)
    if not rows:
        return None
    values, loaded = list(rows[0]), []
    for _path, model in _TOKEN_PATHS:
        width = len(model._meta.concrete_fields)
        row, values = values[:width], values[width:]
        names = [field.attname for field in model._meta.concrete_fields]
        loaded.append(None if row[0] is None else model.from_db(database, names, row))
    token, user, membership, organization = loaded
    assert isinstance(token, ApiToken) and isinstance(user, User)
    token.user = user
    if membership is None:
        User.membership.related.set_cached_value(user, None)  # known to have none, as select_related leaves it
    else:
        assert isinstance(membership, Membership) and isinstance(organization, Organization)
        user.membership = membership
        membership.organization = organization
    return token


def prune_idempotency_records(*, now: datetime | None = None) -> int:
    """Forget the kept answers older than LIAISON_API_IDEMPOTENCY_HOURS (their keys can no longer replay)."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.LIAISON_API_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
