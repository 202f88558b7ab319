"""Changes to people: invitations, acceptance, deactivation."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from outbox.relay import enqueue

from . import permissions
from .models import Invitation, Membership, Organization, Queue, User, hash_token
from .roles import role_fits_kind
from .signals import account_event


class InvitationError(Exception):
    """An invitation link that cannot be used; the message says why."""


def _emit(*, actor: User | None, action: str, organization: Organization, target: object, **data: object) -> None:
    account_event.send(
        sender=Organization, actor=actor, action=action, organization=organization, target=target, data=data
    )


@transaction.atomic
def invite_member(
    *,
    actor: User,
    organization: Organization,
    email: str,
    role: str,
    full_name: str = "",
    queues: list[Queue] | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link (through the outbox). Returns the invitation and the raw token."""
    if not role_fits_kind(role, organization.kind):
        raise ValidationError(_("This role does not exist in an organisation of this kind."))
    if not permissions.can_invite(actor, organization, role):
        raise PermissionDenied(_("You may not invite this person into this organisation."))
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(_("A person with this e-mail address already has an account."))
    # A new invitation replaces any pending one for the same address.
    Invitation.objects.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        full_name=full_name.strip(),
        role=role,
        token_hash=hash_token(token),
        invited_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.LIAISON_INVITATION_DAYS),
    )
    if queues:
        invitation.queues.set([q for q in queues if q.organization_id == organization.pk])
    _emit(actor=actor, action="invitation.sent", organization=organization, target=invitation,
          email=email, role=role)
    # Written to the outbox with the invitation: a broker or mail server that is down delays the e-mail, never
    # loses it or fails the invitation.
    enqueue("accounts.tasks.send_invitation_email_task", invitation_id=invitation.pk, token=token)
    return invitation, token


def find_invitation(token: str) -> Invitation:
    """The usable invitation for a raw token, or InvitationError with the reason."""
    invitation = Invitation.objects.select_related("organization").filter(token_hash=hash_token(token)).first()
    if invitation is None:
        raise InvitationError(_("This invitation link is not valid."))
    if invitation.accepted_at is not None:
        raise InvitationError(_("This invitation has already been used. Log in with your e-mail address."))
    if invitation.revoked_at is not None:
        raise InvitationError(_("This invitation was withdrawn. Ask for a new one."))
    if invitation.expires_at <= timezone.now():
        raise InvitationError(_("This invitation has expired. Ask the person who invited you for a new one."))
    return invitation


@transaction.atomic
def accept_invitation(*, token: str, full_name: str, password: str) -> User:
    """Create the account an invitation promised; the link cannot be used again."""
    invitation = find_invitation(token)
    # Lock the row so two submissions of the same link create one account.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvitationError(_("This invitation has already been used. Log in with your e-mail address."))
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationError(_("A person with this e-mail address already has an account."))
    user = User(email=invitation.email, full_name=full_name.strip() or invitation.full_name,
                preferred_language=invitation.organization.default_language,
                time_zone=invitation.organization.time_zone)
    from django.contrib.auth.password_validation import validate_password

    validate_password(password, user)
    user.set_password(password)
    user.save()
    membership = Membership.objects.create(user=user, organization=invitation.organization, role=invitation.role)
    membership.queues.set(invitation.queues.all())
    from allauth.account.models import EmailAddress

    # The address received the link, so it is verified.
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    _emit(actor=user, action="invitation.accepted", organization=invitation.organization, target=invitation,
          email=user.email, role=invitation.role)
    return user


@transaction.atomic
def revoke_invitation(*, actor: User, invitation: Invitation) -> Invitation:
    if not permissions.can_invite(actor, invitation.organization, invitation.role):
        raise PermissionDenied(_("You may not withdraw this invitation."))
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        _emit(actor=actor, action="invitation.revoked", organization=invitation.organization, target=invitation,
              email=invitation.email)
    return invitation


@transaction.atomic
def deactivate_member(*, actor: User, membership: Membership) -> Membership:
    """The person can no longer log in or act; their history stays."""
    if not permissions.can_deactivate(actor, membership):
        raise PermissionDenied(_("You may not deactivate this person."))
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if membership.deactivated_at is None:
        membership.deactivated_at = timezone.now()
        membership.deactivated_by = actor
        membership.save(update_fields=["deactivated_at", "deactivated_by"])
        membership.user.is_active = False
        membership.user.save(update_fields=["is_active"])
        _emit(actor=actor, action="member.deactivated", organization=membership.organization,
              target=membership.user, email=membership.user.email)
    return membership


@transaction.atomic
def reactivate_member(*, actor: User, membership: Membership) -> Membership:
    if not permissions.can_deactivate(actor, membership):
        raise PermissionDenied(_("You may not reactivate this person."))
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if membership.deactivated_at is not None:
        membership.deactivated_at = None
        membership.deactivated_by = None
        membership.save(update_fields=["deactivated_at", "deactivated_by"])
        membership.user.is_active = True
        membership.user.save(update_fields=["is_active"])
        _emit(actor=actor, action="member.reactivated", organization=membership.organization,
              target=membership.user, email=membership.user.email)
    return membership
