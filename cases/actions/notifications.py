"""Who hears of what, in the portal and by e-mail.

Notifications are created by tasks after the change commits. Each (person, kind, source) pair exists once,
so a task delivered twice notifies nobody twice; an e-mail is sent only for a notification not yet e-mailed.
Internal notes reach only the author's side, and e-mails never carry files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from accounts.models import User
from accounts.roles import OrgKind

from .. import permissions, queries
from ..event_text import notification_text
from ..instants import zone_named
from ..markdown import find_mentions, plain_text
from ..models import Case, Message, Notification, NotificationKind, NotificationPreference
from ..reply_addresses import reply_address


def _mode(user: User, kind: str) -> str:
    pref = NotificationPreference.objects.filter(user=user, kind=kind).values_list("mode", flat=True).first()
    return pref or NotificationPreference.Mode.IMMEDIATE


def _written_for(user: User, event: Mapping[str, Any] | None, title: str, body: str) -> tuple[str, str]:
    """The title and body stored with a notification: the event as this person reads it now (language and zone),
    kept as the fallback; pages and e-mails write the event afresh when they show it."""
    if not event:
        return title[:300], body
    with translation.override(user.preferred_language or "en"), timezone.override(zone_named(user.time_zone)):
        text = notification_text(event, zone=timezone.get_current_timezone())
    if text is None:
        return title[:300], body
    return text[0][:300], text[1] if text[1] is not None else body


def notify(*, users: Iterable[User], kind: str, source_key: str, case: Case | None, title: str, body: str = "",
           url: str = "", event: Mapping[str, Any] | None = None) -> list[Notification]:
    """Create each person's notification once and send the immediate e-mails. `event` is what it says, as data
    (an action and its parameters, cases/event_text.py), written in each reader's language and zone when read;
    `title` and `body` say it for events that have no such form (and for older rows)."""
    created = []
    for user in users:
        mode = _mode(user, kind)
        stored_title, stored_body = _written_for(user, event, title, body)
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    user=user, case=case, kind=kind, source_key=source_key, title=stored_title, body=stored_body,
                    url=url, event=dict(event or {}), digest=mode == NotificationPreference.Mode.DIGEST,
                )
        except IntegrityError:
            # Already notified of this (a task delivered again): only an e-mail that did not go out goes now.
            if mode == NotificationPreference.Mode.IMMEDIATE:
                _send_unsent_emails(Notification.objects.filter(user=user, kind=kind, source_key=source_key))
            continue
        created.append(notification)
        if mode == NotificationPreference.Mode.IMMEDIATE:
            send_notification_email(notification.pk)
    return created


@dataclass(frozen=True)
class Notice:
    """One event to tell some people of, for `notify_many`: the arguments of `notify`."""

    users: Sequence[User]
    kind: str
    source_key: str
    case: Case | None
    title: str
    body: str = ""
    url: str = ""
    event: Mapping[str, Any] | None = None


def notify_many(notices: Sequence[Notice]) -> list[Notification]:
    """`notify` for many events at once (the deadline sweep's batch): each person's preference read, the
    notifications written and the immediate e-mails sent together, in a fixed number of queries. Each (person,
    kind, source) still exists once: if another writer got there first, each notice goes through `notify`."""
    wanted: dict[tuple[int, str, str], tuple[Notice, User]] = {}
    for notice in notices:
        for user in notice.users:
            wanted.setdefault((user.pk, notice.kind, notice.source_key), (notice, user))
    if not wanted:
        return []
    user_ids = {user_id for user_id, _kind, _key in wanted}
    kinds = {kind for _user, kind, _key in wanted}
    modes = {(user_id, kind): mode for user_id, kind, mode in NotificationPreference.objects.filter(
        user_id__in=user_ids, kind__in=kinds).values_list("user_id", "kind", "mode")}
    unsent: list[int] = []
    for pk, user_id, kind, source_key, emailed_at, digest in Notification.objects.filter(
            user_id__in=user_ids, kind__in=kinds, source_key__in={key for _u, _k, key in wanted}).values_list(
            "pk", "user_id", "kind", "source_key", "emailed_at", "digest"):
        if wanted.pop((user_id, kind, source_key), None) is not None and emailed_at is None and not digest and \
                modes.get((user_id, kind), NotificationPreference.Mode.IMMEDIATE) == NotificationPreference.Mode.IMMEDIATE:
            unsent.append(pk)  # already notified of this, but its e-mail did not go out (a task delivered again)
    rows = []
    for notice, user in wanted.values():
        title, body = _written_for(user, notice.event, notice.title, notice.body)
        rows.append(Notification(user=user, case=notice.case, kind=notice.kind, source_key=notice.source_key,
                                 title=title, body=body, url=notice.url, event=dict(notice.event or {}),
                                 digest=modes.get((user.pk, notice.kind)) == NotificationPreference.Mode.DIGEST))
    try:
        with transaction.atomic():
            created = Notification.objects.bulk_create(rows)
    except IntegrityError:  # a concurrent writer: one at a time, each (person, kind, source) once
        return [n for notice in notices for n in notify(users=notice.users, kind=notice.kind,
                                                        source_key=notice.source_key, case=notice.case,
                                                        title=notice.title, body=notice.body, url=notice.url,
                                                        event=notice.event)]
    send_notification_emails(unsent + [n.pk for n in created if modes.get(
        (n.user_id, n.kind), NotificationPreference.Mode.IMMEDIATE) == NotificationPreference.Mode.IMMEDIATE])
    return created


def send_notification_emails(notification_ids: Sequence[int]) -> int:
    """`send_notification_email` for many: the rows locked, rendered, sent over one connection and marked in one
    transaction."""
    if not notification_ids:
        return 0
    with transaction.atomic():
        pending = list(
            Notification.objects.select_for_update(of=("self",)).select_related("user", "case")
            .filter(pk__in=notification_ids, emailed_at__isnull=True, user__is_active=True).order_by("id")
        )
        if not pending:
            return 0
        get_connection().send_messages([_email(notification) for notification in pending])
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=timezone.now())
    return len(pending)


def _email(notification: Notification) -> EmailMessage:
    """The e-mail of one notification, written in its recipient's language and time zone."""
    user, case = notification.user, notification.case
    with translation.override(user.preferred_language or "en"), timezone.override(zone_named(user.time_zone)):
        text = notification_text(notification.event, zone=timezone.get_current_timezone())
        title = text[0] if text is not None else notification.title
        subject = f"[Liaison {case.reference}] {title}" if case else f"[Liaison] {title}"
        body = render_to_string("cases/email/notification.txt", {
            "notification": notification, "user": user, "case": case,
            "link": settings.SITE_URL + (notification.url or "/"),
        })
    return EmailMessage(subject=subject, body=body, to=[user.email],
                        reply_to=[reply_address(case, user)] if case else None,
                        headers={"X-Liaison-Case": case.reference} if case else None)


def _send_unsent_emails(notifications: QuerySet[Notification]) -> None:
    """E-mail those of `notifications` that are immediate and were never e-mailed (a task that stopped between
    writing a notification and sending its e-mail, delivered again)."""
    for pk in notifications.filter(emailed_at__isnull=True, digest=False).values_list("pk", flat=True):
        send_notification_email(pk)


def send_notification_email(notification_id: int) -> bool:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",)).select_related("user", "case")
            .filter(pk=notification_id).first()
        )
        if notification is None or notification.emailed_at is not None or not notification.user.is_active:
            return False
        _email(notification).send()
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True


def send_digests() -> int:
    """One e-mail per person with everything they chose to receive as a daily digest."""
    sent = 0
    pending = Notification.objects.filter(digest=True, emailed_at__isnull=True).select_related("user", "case")
    by_user: dict[int, list[Notification]] = {}
    for notification in pending.order_by("user_id", "id"):
        by_user.setdefault(notification.user_id, []).append(notification)
    for notifications in by_user.values():
        user = notifications[0].user
        if not user.is_active:
            continue
        with translation.override(user.preferred_language or "en"), timezone.override(zone_named(user.time_zone)):
            body = render_to_string("cases/email/digest.txt", {"user": user, "notifications": notifications,
                                                                 "site": settings.SITE_URL})
            subject = "[Liaison] " + ngettext("Daily digest: %(n)d update", "Daily digest: %(n)d updates",
                                              len(notifications)) % {"n": len(notifications)}
        with transaction.atomic():
            ids = [n.pk for n in notifications]
            updated = Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(
                emailed_at=timezone.now())
            if updated:
                EmailMessage(subject=subject, body=body, to=[user.email]).send()
                sent += 1
    return sent


def case_url(case: Case, anchor: str = "") -> str:
    return reverse("cases:detail", args=[case.reference]) + anchor


def notify_message(message: Message) -> int:
    """A new message: the other side's people on the case for shared ones, the own side for internal notes,
    and whoever is mentioned."""
    case = message.case
    author = message.author
    if author is None:
        return 0
    author_side = permissions.side_of(author)
    on_case = queries.people_on_case(case)
    org = author.membership.organization.name if hasattr(author, "membership") else ""
    excerpt = plain_text(message.body)[:1500]
    url = case_url(case, f"#message-{message.pk}")
    count = 0
    if message.kind == Message.Kind.INTERNAL:
        recipients = {u for u in on_case.get(author_side, set()) if u.pk != author.pk}
        count += len(notify(users=recipients, kind=NotificationKind.INTERNAL_NOTE, source_key=f"message:{message.pk}",
                            case=case, title=f"Internal note from {author.full_name}", body=excerpt, url=url,
                            event={"action": "message.internal", "who": author.full_name}))
    else:
        other = OrgKind.PLATFORM if author_side == OrgKind.AUTHORITY else OrgKind.AUTHORITY
        recipients = on_case.get(other, set())
        count += len(notify(users=recipients, kind=NotificationKind.SHARED_MESSAGE,
                            source_key=f"message:{message.pk}", case=case,
                            title=f"New message from {author.full_name} ({org})", body=excerpt, url=url,
                            event={"action": "message.shared", "who": author.full_name, "org": org}))
    mentioned = User.objects.filter(email__in=find_mentions(message.body), is_active=True).exclude(pk=author.pk)
    allowed = [u for u in mentioned if permissions.can_view_case(u, case) and (
        message.kind != Message.Kind.INTERNAL or permissions.side_of(u) == author_side)]
    count += len(notify(users=allowed, kind=NotificationKind.MENTION, source_key=f"message:{message.pk}",
                        case=case, title=f"{author.full_name} mentioned you", body=excerpt, url=url,
                        event={"action": "message.mention", "who": author.full_name}))
    return count


def notify_case_event(*, case: Case, kind: str, source_key: str, title: str, actor_id: int | None,
                      side: str = "", users: Iterable[User] | None = None,
                      event: Mapping[str, Any] | None = None) -> int:
    """State changes go to both sides' people on the case; platform-only events to the platform only."""
    if users is None:
        on_case = queries.people_on_case(case)
        pool = on_case.get(OrgKind.PLATFORM, set()) if side == OrgKind.PLATFORM else \
            on_case.get(OrgKind.AUTHORITY, set()) | on_case.get(OrgKind.PLATFORM, set())
    else:
        pool = {u for u in users if permissions.can_view_case(u, case)}
    recipients = [u for u in pool if u.pk != actor_id]
    return len(notify(users=recipients, kind=kind, source_key=source_key, case=case, title=title,
                      url=case_url(case), event=event))


def open_notification(*, notification: Notification) -> None:
    """Opening a notification marks it read."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])


def mark_notifications_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def set_notification_preferences(*, user: User, modes: dict[str, str]) -> None:
    """How each kind of notification reaches this person: immediately, in a daily digest, or in the portal only."""
    for kind, mode in modes.items():
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"mode": mode})
