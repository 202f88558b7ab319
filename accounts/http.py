"""The request a signed-in page receives, typed: its user is a person, and django-htmx has read its headers."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from .models import User


class AuthenticatedRequest(HttpRequest):
    """For views behind `login_required` (the decorator guarantees a User, never AnonymousUser)."""

    user: User  # narrowed from User | AnonymousUser: login_required lets only a signed-in person through
    htmx: HtmxDetails
