"""Authentication backends that load a signed-in person with their membership and organisation in one query:
every page asks for them (the access policy, the navigation), and each would otherwise be a query of its own."""

from __future__ import annotations

from typing import Any

from allauth.account import auth_backends
from django.contrib.auth import backends

from .models import User


def _user_with_membership(backend: backends.ModelBackend, user_id: Any) -> User | None:
    # By primary key, unordered: first() would order by the model's ordering (name, e-mail), which the query compiles
    # and the database sorts for nothing on every page.
    found = User._default_manager.select_related("membership__organization").filter(pk=user_id).order_by()[:1]
    user = next(iter(found), None)
    return user if user is not None and backend.user_can_authenticate(user) else None


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        return _user_with_membership(self, user_id)


class AuthenticationBackend(auth_backends.AuthenticationBackend):
    """allauth's backend (logging in by e-mail), with the same loading."""

    def get_user(self, user_id: Any) -> User | None:
        return _user_with_membership(self, user_id)
