from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import actions
from accounts.models import Invitation, Membership, User
from accounts.roles import Role

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


def _link_from_mail() -> str:
    body = mail.outbox[-1].body
    match = re.search(r"https?://\S+/invitations/(\S+)/", body)
    assert match, body
    return match.group(0)


def test_lead_invites_liaison_and_the_email_carries_a_working_link(world, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = actions.invite_member(actor=world.lead, organization=world.ministry,
                                                  email="New.Person@Ministry.test", role=Role.LIAISON)
    assert invitation.email == "new.person@ministry.test"
    assert invitation.token_hash != token  # only the hash is stored
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@ministry.test"]
    link = _link_from_mail()
    assert token in link

    page = client.get(reverse("accounts:accept_invitation", kwargs={"token": token}))
    assert page.status_code == 200
    assert b"Ministry (test)" in page.content

    response = client.post(reverse("accounts:accept_invitation", kwargs={"token": token}),
                           {"full_name": "New Person", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
    user = User.objects.get(email="new.person@ministry.test")
    assert user.check_password(NEW_PASSWORD)
    assert user.membership.organization == world.ministry
    assert user.membership.role == Role.LIAISON
    assert user.emailaddress_set.get().verified


def test_invitation_link_cannot_be_used_twice(world, client):
    _, token = actions.invite_member(actor=world.lead, organization=world.ministry,
                                     email="once@ministry.test", role=Role.LIAISON)
    url = reverse("accounts:accept_invitation", kwargs={"token": token})
    data = {"full_name": "Once", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post(url, data).status_code == 302
    client.logout()
    second = client.post(url, data)
    assert second.status_code == 410
    assert b"already been used" in second.content
    assert User.objects.filter(email="once@ministry.test").count() == 1


def test_expired_invitation_is_refused_and_creates_nothing(world, client):
    invitation, token = actions.invite_member(actor=world.lead, organization=world.ministry,
                                              email="late@ministry.test", role=Role.LIAISON)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    url = reverse("accounts:accept_invitation", kwargs={"token": token})
    response = client.post(url, {"full_name": "Late", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert b"expired" in response.content
    assert not User.objects.filter(email="late@ministry.test").exists()


def test_unknown_token_is_refused(client, db):
    response = client.get(reverse("accounts:accept_invitation", kwargs={"token": "forged-token"}))
    assert response.status_code == 410


def test_weak_password_is_refused_with_a_message(world, client):
    _, token = actions.invite_member(actor=world.lead, organization=world.ministry,
                                     email="weak@ministry.test", role=Role.LIAISON)
    url = reverse("accounts:accept_invitation", kwargs={"token": token})
    response = client.post(url, {"full_name": "Weak", "password1": "password", "password2": "password"})
    assert response.status_code == 200
    assert b"too short" in response.content or b"too common" in response.content
    assert not User.objects.filter(email="weak@ministry.test").exists()


def test_a_new_invitation_replaces_the_pending_one(world):
    first, first_token = actions.invite_member(actor=world.lead, organization=world.ministry,
                                               email="twice@ministry.test", role=Role.LIAISON)
    actions.invite_member(actor=world.lead, organization=world.ministry, email="twice@ministry.test",
                          role=Role.AUDITOR)
    with pytest.raises(actions.InvitationError, match="withdrawn"):
        actions.find_invitation(first_token)


def test_lead_cannot_invite_into_another_organisation(world):
    with pytest.raises(PermissionDenied):
        actions.invite_member(actor=world.lead, organization=world.commission,
                              email="x@commission.test", role=Role.LIAISON)
    assert not Invitation.objects.exists()


def test_lead_cannot_grant_a_platform_role(world):
    with pytest.raises(ValidationError):
        actions.invite_member(actor=world.lead, organization=world.ministry,
                              email="x@ministry.test", role=Role.MODERATOR)
    with pytest.raises(PermissionDenied):
        actions.invite_member(actor=world.lead, organization=world.platform,
                              email="x@platform.test", role=Role.MODERATOR)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("persona", ["liaison", "moderator", "legal", "auditor", "authority_auditor"])
def test_people_who_do_not_manage_members_cannot_invite(world, persona):
    actor = getattr(world, persona)
    org = actor.membership.organization
    role = Role.LIAISON if org.is_authority else Role.MODERATOR
    with pytest.raises(PermissionDenied):
        actions.invite_member(actor=actor, organization=org, email="x@example.test", role=role)


def test_manager_invites_platform_staff_and_authority_leads_only(world):
    actions.invite_member(actor=world.manager, organization=world.platform, email="mod@platform.test",
                          role=Role.MODERATOR, queues=[world.queue_id])
    actions.invite_member(actor=world.manager, organization=world.commission, email="lead2@commission.test",
                          role=Role.AUTHORITY_LEAD)
    with pytest.raises(PermissionDenied):
        actions.invite_member(actor=world.manager, organization=world.commission, email="l@commission.test",
                              role=Role.LIAISON)
    assert set(Invitation.objects.values_list("email", flat=True)) == {"mod@platform.test",
                                                                        "lead2@commission.test"}


def test_moderator_invitation_carries_queues_into_the_membership(world, client):
    _, token = actions.invite_member(actor=world.manager, organization=world.platform, email="q@platform.test",
                                     role=Role.MODERATOR, queues=[world.queue_my])
    actions.accept_invitation(token=token, full_name="Queue Person", password=NEW_PASSWORD)
    membership = Membership.objects.get(user__email="q@platform.test")
    assert list(membership.queues.all()) == [world.queue_my]


def test_role_must_fit_the_kind_of_organisation(world):
    membership = Membership(user=world.liaison, organization=world.platform, role=Role.LIAISON)
    with pytest.raises(ValidationError):
        membership.clean()
    Membership(user=world.liaison, organization=world.platform, role=Role.AUDITOR).clean()  # auditors: either side


def test_existing_account_cannot_be_invited_again(world):
    with pytest.raises(ValidationError):
        actions.invite_member(actor=world.lead, organization=world.ministry, email="DEWI@ministry.test",
                              role=Role.LIAISON)


def test_organisation_page_invites_through_the_form(world, mfa_client, django_capture_on_commit_callbacks):
    mfa_client.force_login(world.lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = mfa_client.post(reverse("accounts:invite"), {
            "email": "via-form@ministry.test", "full_name": "Via Form", "organization": world.ministry.pk,
            "role": Role.LIAISON,
        }, follow=True)
    assert b"Invitation sent to via-form@ministry.test" in response.content
    assert b"via-form@ministry.test" in response.content
    assert len(mail.outbox) == 1


def test_organisation_page_refuses_a_forged_organisation(world, mfa_client):
    mfa_client.force_login(world.lead)
    mfa_client.post(reverse("accounts:invite"), {
        "email": "forged@commission.test", "organization": world.commission.pk, "role": Role.LIAISON,
    })
    assert not Invitation.objects.exists()


def test_liaison_sees_members_but_no_invitation_form(world, mfa_client):
    mfa_client.force_login(world.liaison)
    response = mfa_client.get(reverse("accounts:organization"))
    assert response.status_code == 200
    assert b"Budi Lead" in response.content
    assert b"Invite a person" not in response.content
    assert b"Aisyah" not in response.content  # another authority's people
    assert mfa_client.post(reverse("accounts:invite"), {"email": "x@y.test"}).status_code == 403
