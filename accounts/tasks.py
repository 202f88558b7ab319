from __future__ import annotations

from datetime import UTC

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from outbox.receipts import OutboxTask, exclusive

from .models import Invitation


@shared_task(base=OutboxTask, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email_task(*, invitation_id: int, token: str, outbox_id: int | None = None) -> None:
    """E-mail an invitation's link, once per outbox row (the outbox delivers at least once)."""
    invitation = Invitation.objects.select_related("organization", "invited_by").get(pk=invitation_id)
    if not invitation.is_pending:
        return
    link = settings.SITE_URL + reverse("accounts:accept_invitation", kwargs={"token": token})
    # The e-mail says its time is in UTC: make it so, wherever the task runs (eagerly, the inviter's zone is active).
    with translation.override(invitation.organization.default_language), timezone.override(UTC):
        context = {"invitation": invitation, "link": link}
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        body = render_to_string("accounts/email/invitation_body.txt", context)
    with exclusive(outbox_id) as pending:
        if pending:
            send_mail(subject, body, None, [invitation.email])
