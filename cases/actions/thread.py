"""The thread: shared messages and internal notes, edits within the window, system entries, read markers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User

from .. import audit, jobs, permissions
from ..markdown import find_mentions
from ..models import Case, Message, MessageRevision, ReadMarker

MAX_MESSAGE_LENGTH = 20000


def _check_mentions(*, actor: User, case: Case, body: str, internal: bool) -> None:
    side = permissions.side_of(actor)
    refused = []
    for email in find_mentions(body):
        person = User.objects.filter(email__iexact=email, is_active=True).first()
        if person is None or not permissions.can_view_case(person, case):
            refused.append(email)
        elif internal and permissions.side_of(person) != side:
            refused.append(email)
    if refused:
        raise ValidationError(
            _("You mentioned %(who)s, who cannot see this %(what)s. Nothing was posted; remove the mention or "
              "give them access first.") % {"who": ", ".join(refused),
                                             "what": _("internal note") if internal else _("case")}
        )


@transaction.atomic
def post_message(
    *,
    actor: User,
    case: Case,
    body: str,
    internal: bool = False,
    evidence_ids: Sequence[int] = (),
    email_message_id: str | None = None,
) -> Message:
    """A shared message or an internal note; the other side hears of shared ones after commit."""
    permissions.ensure_can_view(actor, case)
    if not permissions.can_post_message(actor, case, internal=internal):
        raise PermissionDenied(_("You may not post in this case."))
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("Write a message first."))
    if len(body) > MAX_MESSAGE_LENGTH:
        raise ValidationError(_("A message holds at most %(n)d characters.") % {"n": MAX_MESSAGE_LENGTH})
    _check_mentions(actor=actor, case=case, body=body, internal=internal)
    side = permissions.side_of(actor)
    message = Message.objects.create(
        case=case, kind=Message.Kind.INTERNAL if internal else Message.Kind.SHARED, side=side if internal else "",
        author=actor, body=body, email_message_id=email_message_id,
    )
    if evidence_ids:
        visible = permissions.evidence_visible_to(actor, case).filter(pk__in=list(evidence_ids))
        if not internal:
            visible = visible.filter(internal=False)
        message.evidence.set(visible)
    audit.record(actor=actor, action="message.posted", case=case, obj=message, side=message.side,
                 data={"kind": message.kind, "length": len(body)})
    # The read markers only after the audit chain's lock, as every other action takes them (a transition's system
    # entry, another post): updating them first deadlocked two people posting to one case at once (load test).
    _note_last_message([message])
    mark_read(user=actor, case=case, up_to=message.pk)
    jobs.enqueue("cases.tasks.notify_message_task", message_id=message.pk)
    return message


@transaction.atomic
def edit_message(*, actor: User, message: Message, body: str) -> Message:
    """Authors correct a message within the edit window; the previous text stays visible."""
    message = Message.objects.select_for_update().select_related("case").get(pk=message.pk)
    if not permissions.can_edit_message(actor, message):
        raise PermissionDenied(_("Messages can be edited by their author for %(n)d minutes.")
                               % {"n": settings.LIAISON_MESSAGE_EDIT_MINUTES})
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("A message cannot be emptied; post a correction instead."))
    if body == message.body:
        return message
    _check_mentions(actor=actor, case=message.case, body=body, internal=message.is_internal)
    MessageRevision.objects.create(message=message, body=message.body)
    message.body, message.edited_at = body, timezone.now()
    message.save(update_fields=["body", "edited_at"])
    audit.record(actor=actor, action="message.edited", case=message.case, obj=message, side=message.side,
                 data={"length": len(body)})
    return message


def add_system_entry(*, case: Case, action: str, params: Mapping[str, Any], actor: User | None = None,
                     side: str = "") -> Message:
    """State, deadline and report events in the thread, in order with the messages. Stored as data, the action and
    its parameters (codes, ISO instants from `instants.as_iso`, counts, versions, names as they are now), never as
    a sentence: each reader reads it in their own language and zone (cases/event_text.py)."""
    entry = Message.objects.create(case=case, kind=Message.Kind.SYSTEM, side=side, author=actor, body="",
                                   system_action=action, system_params=dict(params))
    _note_last_message([entry])
    return entry


def add_system_entries(entries: Sequence[tuple[Case, str, Mapping[str, Any]]]) -> list[Message]:
    """`add_system_entry` for many (case, action, params) at once, shared and by nobody, in one INSERT (the deadline
    sweep's batches)."""
    created = Message.objects.bulk_create([Message(case=case, kind=Message.Kind.SYSTEM, side="", author=None,
                                                   body="", system_action=action, system_params=dict(params))
                                           for case, action, params in entries])
    _note_last_message(created)
    return created


def _note_last_message(messages: Sequence[Message]) -> None:
    """Move the read markers of the people who may see a new entry forward to it (`ReadMarker.news_up_to`): one
    UPDATE for a single entry, one for a batch. Only forward, so concurrent posts cannot move a marker back."""
    if len(messages) == 1:
        message = messages[0]
        markers = ReadMarker.objects.filter(case_id=message.case_id, news_up_to__lt=message.pk)
        if message.author_id is not None:
            markers = markers.exclude(user_id=message.author_id)
        if message.side:
            markers = markers.filter(user__membership__organization__kind=message.side)
        markers.update(news_up_to=message.pk)
    elif messages:
        refresh_news(ReadMarker.objects.filter(case_id__in={message.case_id for message in messages}))


def refresh_news(markers: QuerySet[ReadMarker]) -> int:
    """Recompute `news_up_to` of these markers from their threads: the newest entry each person may see and did
    not write (after a batch of entries, and after bulk loads that bypass the actions)."""
    side_of_person = Membership.objects.filter(user_id=OuterRef(OuterRef("user_id"))).values("organization__kind")[:1]
    visible = (Message.objects.filter(case_id=OuterRef("case_id"))
               .filter(Q(kind__in=[Message.Kind.SHARED, Message.Kind.SYSTEM], side="")
                       | Q(side=Subquery(side_of_person)))
               .filter(Q(author_id__isnull=True) | ~Q(author_id=OuterRef("user_id"))).order_by("-id").values("id")[:1])
    return markers.update(news_up_to=Greatest(F("news_up_to"), Coalesce(Subquery(visible), 0)))


def mark_read(*, user: User, case: Case, up_to: int | None = None) -> None:
    if up_to is None:
        up_to = permissions.messages_visible_to(user, case).order_by("-id").values_list("id", flat=True).first() or 0
    marker, created = ReadMarker.objects.get_or_create(user=user, case=case,
                                                       defaults={"last_read_message_id": up_to})
    if not created and marker.last_read_message_id < up_to:
        ReadMarker.objects.filter(pk=marker.pk, last_read_message_id__lt=up_to).update(
            last_read_message_id=up_to, updated_at=timezone.now())


def mark_all_read(*, user: User) -> int:
    """Every visible case with an unread message is marked read up to its newest visible message."""
    visible_cases = permissions.cases_visible_to(user).values("pk")
    latest = (
        Message.objects.filter(case_id__in=visible_cases).filter(permissions.message_visibility(user))
        .values("case_id").annotate(last=Max("id"))
    )
    count = 0
    for row in latest:
        mark_read(user=user, case=Case(pk=row["case_id"]), up_to=row["last"])
        count += 1
    return count
