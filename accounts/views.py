from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import actions
from .forms import AcceptInvitationForm, InvitationForm, PreferencesForm
from .http import AuthenticatedRequest
from .models import Invitation, Membership, Queue
from .permissions import can_deactivate, can_manage_members, membership_of
from .reauthentication import reauthentication_response


def _own_membership(request: AuthenticatedRequest) -> Membership:
    membership = membership_of(request.user)
    if membership is None:
        raise PermissionDenied(_("Your account has no active organisation."))
    return membership


@login_required
def organization(request: AuthenticatedRequest) -> HttpResponse:
    membership = _own_membership(request)
    org = membership.organization
    manage = can_manage_members(request.user, org)
    members = (
        Membership.objects.filter(organization=org)
        .select_related("user", "deactivated_by")
        .prefetch_related(Prefetch("queues", queryset=Queue.objects.order_by("name")))
        .order_by("deactivated_at", "user__full_name")
    )
    invitations = (
        Invitation.objects.filter(Q(organization=org) | Q(invited_by__membership__organization=org), accepted_at__isnull=True)
        .select_related("organization", "invited_by")
        .order_by("-created_at")[:50]
        if manage
        else []
    )
    form = InvitationForm(inviter_org=org, inviter_role=membership.role) if manage else None
    return render(request, "accounts/organization.html", {
        "organization": org, "members": members, "invitations": invitations, "form": form, "manage": manage,
        "queues": org.queues.all() if org.is_platform else [],
    })


@login_required
@require_POST
def invite(request: AuthenticatedRequest) -> HttpResponse:
    membership = _own_membership(request)
    if not can_manage_members(request.user, membership.organization):
        raise PermissionDenied
    if (reauthenticate := reauthentication_response(request)) is not None:
        return reauthenticate
    form = InvitationForm(request.POST, inviter_org=membership.organization, inviter_role=membership.role)
    if form.is_valid():
        try:
            actions.invite_member(
                actor=request.user,
                organization=form.cleaned_data["organization"],
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                full_name=form.cleaned_data["full_name"],
                queues=list(form.cleaned_data.get("queues") or []),
            )
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("accounts:organization")
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            text = " ".join(str(error) for error in errors)
            messages.error(request, f"{label}: {text}" if label else text)
    return redirect("accounts:organization")


@login_required
@require_POST
def revoke_invitation(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    membership = _own_membership(request)
    invitation = get_object_or_404(
        Invitation.objects.filter(
            Q(organization=membership.organization) | Q(invited_by__membership__organization=membership.organization)
        ),
        pk=pk,
    )
    actions.revoke_invitation(actor=request.user, invitation=invitation)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("accounts:organization")


@login_required
@require_POST
def deactivate(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    own = _own_membership(request)
    target = get_object_or_404(Membership.objects.select_related("user", "organization"), pk=pk,
                               organization=own.organization)
    if not can_deactivate(request.user, target):
        raise PermissionDenied(_("You may not deactivate this person."))
    if (reauthenticate := reauthentication_response(request)) is not None:
        return reauthenticate
    actions.deactivate_member(actor=request.user, membership=target)
    messages.success(request, _("%(name)s can no longer log in. Their history is kept.") % {"name": target.user})
    return redirect("accounts:organization")


@login_required
@require_POST
def reactivate(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    own = _own_membership(request)
    target = get_object_or_404(Membership.objects.select_related("user", "organization"), pk=pk,
                               organization=own.organization)
    if not can_deactivate(request.user, target):
        raise PermissionDenied(_("You may not reactivate this person."))
    if (reauthenticate := reauthentication_response(request)) is not None:
        return reauthenticate
    actions.reactivate_member(actor=request.user, membership=target)
    messages.success(request, _("%(name)s can log in again.") % {"name": target.user})
    return redirect("accounts:organization")


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = actions.find_invitation(token)
    except actions.InvitationError as exc:
        return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=410)
    form = AcceptInvitationForm(request.POST or None, initial={"full_name": invitation.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            user = actions.accept_invitation(
                token=token, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password1"]
            )
        except ValidationError as exc:
            form.add_error("password1", exc)
        except actions.InvitationError as exc:
            return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=410)
        else:
            login(request, user, backend="accounts.backends.ModelBackend")
            messages.success(request, _("Welcome to Liaison. Protect your account with a second factor now."))
            return redirect(reverse("mfa_index"))
    return render(request, "accounts/accept_invitation.html", {"invitation": invitation, "form": form})


@login_required
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        response = redirect("accounts:preferences")
        response.set_cookie("django_language", form.cleaned_data["preferred_language"], samesite="Lax")
        messages.success(request, _("Your preferences are saved."))
        return response
    return render(request, "accounts/preferences.html", {"form": form})
