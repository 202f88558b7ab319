"""The case thread as both sides live it: internal notes stay on their side everywhere (pages, the live
fragment, notifications, e-mails, search), shared messages reach the other side's people once each,
mentions, the edit window with its visible history, system entries in order, unread counts, digests,
safe e-mails and inert hostile Markdown — with a case page whose query count does not grow with its thread."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from cases.actions.cases import (
    acknowledge_case,
    assign_case,
    provide_information,
    request_information,
    submit_case,
)
from cases.actions.evidence import add_evidence
from cases.actions.notifications import send_digests
from cases.actions.thread import add_system_entries, edit_message, mark_read, post_message, refresh_news
from cases.choices import Status
from cases.models import (
    Message,
    MessageRevision,
    Notification,
    NotificationKind,
    NotificationPreference,
    ReadMarker,
)
from cases.reply_addresses import read_reply_address
from cases.tasks import notify_message_task
from tests.factories import make_member

from .conftest import listed_refs, make_case, page_messages

pytestmark = pytest.mark.django_db

PLATFORM_SECRET = "Checked with legal: the channel admin is a protected source ZEBRA-7"
PLATFORM_SECRET_EDITED = "Checked with legal: keep the source out of it ZEBRA-8"
AUTHORITY_SECRET = "Catatan internal: penyidik meminta kanal dibiarkan dulu KIJANG-3"
AUTHORITY_PERSONAS = ("liaison", "lead", "authority_auditor")
PLATFORM_PERSONAS = ("moderator", "manager", "legal", "auditor")


def post(capture, **kwargs) -> Message:
    """Post through the action and run what it queued for after the commit (the notification task)."""
    with capture(execute=True):
        return post_message(**kwargs)


def case_page(client, case) -> str:
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def thread_fragment(client, case) -> str:
    response = client.get(reverse("cases:thread", args=[case.reference]))
    assert response.status_code == 200
    return response.content.decode()


def mail_to(outbox, user) -> list:
    return [m for m in outbox if user.email in m.to]


def everything_in(mail) -> str:
    return "\n".join([mail.subject, mail.body, *[str(a) for a in mail.attachments]])


def notified(case, kind: str) -> list[str]:
    return sorted(Notification.objects.filter(case=case, kind=kind).values_list("user__email", flat=True))


def unread_badges(html: str) -> dict[str, int]:
    """Reference → the unread badge next to it on the list page."""
    found = re.findall(r'href="/cases/([A-Z]{2}-\d{4}-\d{6})/">[^<]+</a> <span class="badge[^"]*" '
                       r'title="unread messages">(\d+)', html)
    return {reference: int(n) for reference, n in found}


def nav_unread(html: str) -> int:
    match = re.search(r'data-testid="nav-unread">(\d+)', html)
    return int(match.group(1)) if match else 0


# --- Internal notes stay on their side -------------------------------------------------------------


def test_internal_notes_never_reach_the_other_side(world, mfa_client, django_capture_on_commit_callbacks,
                                                   mailoutbox):
    case = make_case(world, state=Status.IN_PROGRESS, title="Propaganda channels, second wave")
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    # Each side: a shared message (so the other side is e-mailed about something) and an internal note that
    # mentions a colleague (so the note's text goes out by e-mail, to the right side only), edited once.
    post(django_capture_on_commit_callbacks, actor=world.moderator, case=case, body="We are reviewing the list.")
    platform_note = post(django_capture_on_commit_callbacks, actor=world.moderator, case=case, internal=True,
                         body=f"{PLATFORM_SECRET} @maria@platform.test")
    with django_capture_on_commit_callbacks(execute=True):
        edit_message(actor=world.moderator, message=platform_note,
                             body=f"{PLATFORM_SECRET_EDITED} @maria@platform.test")
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=case, body="Terima kasih, kami tunggu.")
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=case, internal=True,
         body=f"{AUTHORITY_SECRET} @budi@ministry.test")

    hidden_from = {
        "authority": ("ZEBRA-7", "ZEBRA-8", "Checked with legal"),
        "platform": ("KIJANG-3", "Catatan internal"),
    }
    own = {"authority": "KIJANG-3", "platform": "ZEBRA-8"}
    for side, personas in (("authority", AUTHORITY_PERSONAS), ("platform", PLATFORM_PERSONAS)):
        for persona in personas:
            user = getattr(world, persona)
            mfa_client.force_login(user)
            page, fragment = case_page(mfa_client, case), thread_fragment(mfa_client, case)
            notifications = mfa_client.get(reverse("cases:notifications")).content.decode()
            bell = mfa_client.get(reverse("cases:bell")).content.decode()
            search = mfa_client.get(reverse("cases:list"), {"q": "ZEBRA-7" if side == "authority" else "KIJANG-3"})
            rows = Notification.objects.filter(user=user)
            mails = mail_to(mailoutbox, user)
            for secret in hidden_from[side]:
                where = {"case page": page, "thread fragment": fragment, "notifications page": notifications,
                         "bell": bell, "notification rows": " ".join(f"{n.title} {n.body}" for n in rows),
                         "e-mails": " ".join(everything_in(m) for m in mails)}
                for name, text in where.items():
                    assert secret not in text, f"{persona} sees {secret!r} in the {name}"
            assert listed_refs(search.content) == set(), f"{persona} finds the case by another side's note"
            # The person's own side's note is there (the checks above could fail).
            assert own[side] in page and own[side] in fragment, persona
    # The other side heard of the shared messages, by e-mail too; the mentioned colleagues of the notes' text.
    assert mail_to(mailoutbox, world.liaison) and mail_to(mailoutbox, world.moderator)
    assert any("ZEBRA-7" in everything_in(m) for m in mail_to(mailoutbox, world.manager))
    assert any("KIJANG-3" in everything_in(m) for m in mail_to(mailoutbox, world.lead))
    assert not Notification.objects.filter(kind=NotificationKind.INTERNAL_NOTE,
                                           user__membership__organization=world.ministry,
                                           body__contains="ZEBRA").exists()
    # And the note's earlier version is shown to its own side.
    mfa_client.force_login(world.manager)
    page = case_page(mfa_client, case)
    assert "ZEBRA-7" in page and "ZEBRA-8" in page and "1 earlier version" in page

    # The outcome report with the shared thread: the shared messages, no note of either side.
    from cases.report_context import report_context

    report = render_to_string("reports/outcome_report.html", report_context(
        case, language="en", include_thread=True, approver=world.manager, version=1, issued_at=timezone.now()))
    assert "We are reviewing the list." in report and "Terima kasih, kami tunggu." in report
    for secret in ("ZEBRA-7", "ZEBRA-8", "KIJANG-3", "Checked with legal", "Catatan internal"):
        assert secret not in report


def test_the_list_search_does_not_match_message_text(world, mfa_client, django_capture_on_commit_callbacks):
    case = make_case(world, state=Status.IN_PROGRESS, title="Slot gambling network")
    post(django_capture_on_commit_callbacks, actor=world.manager, case=case, internal=True,
         body="Checked with legal: escalate to the GALAXY-42 vendor")
    for persona in ("liaison", "manager"):
        mfa_client.force_login(getattr(world, persona))
        assert listed_refs(mfa_client.get(reverse("cases:list"), {"q": "Slot gambling"}).content) == {case.reference}
    mfa_client.force_login(world.liaison)
    assert listed_refs(mfa_client.get(reverse("cases:list"), {"q": "GALAXY-42"}).content) == set()


# --- Who hears of a new message -----------------------------------------------------------------------


def test_shared_messages_notify_the_other_sides_people_on_the_case_once_each(
        world, django_capture_on_commit_callbacks, mailoutbox):
    wayan = make_member(world.platform, Role.MODERATOR, "wayan@platform.test", "Wayan Moderator", [world.queue_id])
    case = make_case(world)  # submitted, in the ID queue, nobody assigned
    message = post(django_capture_on_commit_callbacks, actor=world.liaison, case=case,
                   body="Mohon segera ditindaklanjuti.")
    # Unassigned: the moderators of the case's queue; not the other queue, managers, legal or auditors.
    assert notified(case, NotificationKind.SHARED_MESSAGE) == ["rizky@platform.test", "wayan@platform.test"]
    assert sorted(m.to[0] for m in mailoutbox) == ["rizky@platform.test", "wayan@platform.test"]
    # Delivered twice (a retried task): nobody hears twice.
    with django_capture_on_commit_callbacks(execute=True):
        notify_message_task.delay(message_id=message.pk)
    assert len(mailoutbox) == 2
    assert Notification.objects.filter(case=case).count() == 2

    mailoutbox.clear()
    post(django_capture_on_commit_callbacks, actor=world.moderator, case=case, body="Received, looking now.")
    # The authority side: the person who opened the case (not the lead, not the auditor); not the author.
    new = Notification.objects.filter(case=case, kind=NotificationKind.SHARED_MESSAGE).exclude(
        user__in=[world.moderator, wayan])
    assert [n.user.email for n in new] == ["dewi@ministry.test"]
    assert [m.to for m in mailoutbox] == [["dewi@ministry.test"]]

    # Assigned: the assignee, not the queue's other moderators nor whoever assigned it.
    assigned = make_case(world, state=Status.IN_PROGRESS)
    assign_case(actor=world.manager, case=assigned, assignee=wayan)
    mailoutbox.clear()
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=assigned, body="Ada perkembangan?")
    assert notified(assigned, NotificationKind.SHARED_MESSAGE) == ["wayan@platform.test"]
    assert [m.to for m in mailoutbox] == [["wayan@platform.test"]]


def test_mentioning_someone_who_can_see_the_case_notifies_them(world, django_capture_on_commit_callbacks,
                                                                mailoutbox):
    case = make_case(world, state=Status.IN_PROGRESS)
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=case,
         body="@maria@platform.test could you look at item 2? cc @BUDI@ministry.test")
    assert notified(case, NotificationKind.MENTION) == ["budi@ministry.test", "maria@platform.test"]
    assert any("could you look at item 2" in m.body for m in mail_to(mailoutbox, world.manager))
    # An internal note may mention the own side.
    post(django_capture_on_commit_callbacks, actor=world.moderator, case=case, internal=True,
         body="@jon@platform.test is this lawful to keep up?")
    assert "jon@platform.test" in notified(case, NotificationKind.MENTION)


@pytest.mark.parametrize("internal, author, mentioned", [
    (False, "liaison", "aisyah@commission.test"),   # another authority: cannot see the case
    (False, "moderator", "sam@platform.test"),      # a moderator of another queue
    (False, "liaison", "nobody@nowhere.test"),      # no such person
    (True, "moderator", "dewi@ministry.test"),      # the other side, in an internal note
    (True, "liaison", "rizky@platform.test"),
])
def test_mentioning_someone_who_cannot_see_it_is_refused_and_nothing_is_posted(
        world, mfa_client, django_capture_on_commit_callbacks, mailoutbox, internal, author, mentioned):
    case = make_case(world, state=Status.IN_PROGRESS)
    before = Message.objects.count()
    with pytest.raises(ValidationError) as refused:
        post_message(actor=getattr(world, author), case=case, internal=internal,
                             body=f"Please check, @{mentioned}")
    assert mentioned in str(refused.value) and "cannot see" in str(refused.value)
    assert "Nothing was posted" in str(refused.value)

    mfa_client.force_login(getattr(world, author))
    with django_capture_on_commit_callbacks(execute=True):
        response = mfa_client.post(reverse("cases:post_message", args=[case.reference]),
                                   {"body": f"Please check, @{mentioned}", "internal": "1" if internal else ""},
                                   follow=True)
    assert any(mentioned in m and "cannot see" in m for m in page_messages(response))
    assert Message.objects.count() == before
    assert not Notification.objects.filter(case=case, kind=NotificationKind.MENTION).exists()
    assert mailoutbox == []


# --- Editing ----------------------------------------------------------------------------------------


def test_author_edits_within_fifteen_minutes_and_the_earlier_text_stays_visible(world, mfa_client,
                                                                                 django_capture_on_commit_callbacks):
    case = make_case(world, state=Status.IN_PROGRESS)
    message = post(django_capture_on_commit_callbacks, actor=world.liaison, case=case,
                   body="Kami melaporkan **lima** kanal.")
    edit_url = reverse("cases:edit_message", args=[case.reference, message.pk])
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=14))

    mfa_client.force_login(world.liaison)
    assert f'action="{edit_url}"' in case_page(mfa_client, case)
    response = mfa_client.post(edit_url, {"body": "Kami melaporkan **enam** kanal."})
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.body == "Kami melaporkan **enam** kanal." and message.edited_at is not None
    assert list(MessageRevision.objects.filter(message=message).values_list("body", flat=True)) == [
        "Kami melaporkan **lima** kanal."]

    # Those who can see the message see both texts.
    for persona in ("moderator", "lead"):
        mfa_client.force_login(getattr(world, persona))
        page = case_page(mfa_client, case)
        assert "<strong>enam</strong>" in page and "<strong>lima</strong>" in page, persona
        assert "1 earlier version" in page and "edited" in page
        assert f'action="{edit_url}"' not in page  # nobody else is offered to edit it

    # Someone else, even of the same organisation, may not edit it.
    for persona in ("lead", "moderator"):
        mfa_client.force_login(getattr(world, persona))
        assert mfa_client.post(edit_url, {"body": "Changed by someone else"}).status_code == 403
        with pytest.raises(PermissionDenied):
            edit_message(actor=getattr(world, persona), message=message, body="Changed by someone else")

    # After fifteen minutes, not even the author.
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=16))
    mfa_client.force_login(world.liaison)
    assert f'action="{edit_url}"' not in case_page(mfa_client, case)
    assert mfa_client.post(edit_url, {"body": "Too late"}).status_code == 403
    with pytest.raises(PermissionDenied):
        edit_message(actor=world.liaison, message=message, body="Too late")
    message.refresh_from_db()
    assert message.body == "Kami melaporkan **enam** kanal."
    assert MessageRevision.objects.filter(message=message).count() == 1


def test_the_edit_window_follows_the_clock(world, django_capture_on_commit_callbacks):
    from unittest import mock

    case = make_case(world, state=Status.IN_PROGRESS)
    message = post(django_capture_on_commit_callbacks, actor=world.moderator, case=case, body="First version")
    posted = message.created_at
    with mock.patch("django.utils.timezone.now", return_value=posted + timedelta(minutes=15)):
        edit_message(actor=world.moderator, message=message, body="Second version")
    with mock.patch("django.utils.timezone.now", return_value=posted + timedelta(minutes=15, seconds=1)), \
            pytest.raises(PermissionDenied):
        edit_message(actor=world.moderator, message=message, body="Third version")
    message.refresh_from_db()
    assert message.body == "Second version"


# --- System entries ---------------------------------------------------------------------------------


def test_system_entries_appear_in_order_and_assignment_only_to_the_platform(world, mfa_client,
                                                                            django_capture_on_commit_callbacks):
    case = make_case(world, state=Status.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        case = submit_case(case=case, actor=world.liaison)
        case = assign_case(actor=world.manager, case=case, assignee=world.moderator)
        case = acknowledge_case(case=case, actor=world.moderator)
    post(django_capture_on_commit_callbacks, actor=world.moderator, case=case, body="Which posts exactly?")
    with django_capture_on_commit_callbacks(execute=True):
        case = request_information(case=case, actor=world.moderator, note="Send the screenshots.")
        case = provide_information(case=case, actor=world.liaison, note="Screenshots attached.")

    entries = [
        "changed the status from Draft to Submitted",
        "assigned the case to Rizky Moderator",
        "changed the status from Submitted to In progress",
        "Which posts exactly?",
        "changed the status from In progress to Awaiting information. Send the screenshots.",
        "changed the status from Awaiting information to In progress. Screenshots attached.",
    ]
    for persona in ("moderator", "liaison"):
        mfa_client.force_login(getattr(world, persona))
        thread = thread_fragment(mfa_client, case)
        expected = entries if persona == "moderator" else [e for e in entries if "assigned" not in e]
        positions = [thread.find(text) for text in expected]
        assert -1 not in positions, (persona, dict(zip(expected, positions, strict=True)))
        assert positions == sorted(positions), persona
        if persona == "liaison":
            assert "assigned the case" not in thread and "Rizky Moderator assigned" not in case_page(mfa_client, case)
    # Everyone on the case hears of the state change; the authority never of the assignment.
    assert not Notification.objects.filter(user=world.liaison, kind=NotificationKind.ASSIGNMENT).exists()
    assert Notification.objects.filter(user=world.moderator, kind=NotificationKind.ASSIGNMENT).count() == 1
    assert Notification.objects.filter(user=world.liaison, kind=NotificationKind.STATE_CHANGE).exists()


# --- Unread counts -------------------------------------------------------------------------------------


def test_unread_badges_and_the_nav_count_drop_after_opening_the_case(world, mfa_client,
                                                                      django_capture_on_commit_callbacks):
    first = make_case(world, state=Status.IN_PROGRESS)
    second = make_case(world, state=Status.IN_PROGRESS)
    mfa_client.force_login(world.moderator)
    for case in (first, second):
        case_page(mfa_client, case)
    listing = mfa_client.get(reverse("cases:list")).content.decode()
    assert unread_badges(listing) == {} and nav_unread(listing) == 0

    post(django_capture_on_commit_callbacks, actor=world.moderator, case=second, body="My own message")
    for body in ("Satu", "Dua"):
        post(django_capture_on_commit_callbacks, actor=world.liaison, case=first, body=body)
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=second, body="Tiga")
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=second, internal=True,
         body="Catatan internal: not for the platform")

    listing = mfa_client.get(reverse("cases:list")).content.decode()
    assert unread_badges(listing) == {first.reference: 2, second.reference: 1}
    assert nav_unread(listing) == 3

    page = case_page(mfa_client, first)
    assert page.count('badge text-bg-warning ms-1">new<') == 2  # what was new is marked on the page
    listing = mfa_client.get(reverse("cases:list")).content.decode()
    assert unread_badges(listing) == {second.reference: 1}
    assert nav_unread(listing) == 1

    thread_fragment(mfa_client, second)  # the open page's live thread counts as read too
    listing = mfa_client.get(reverse("cases:list")).content.decode()
    assert unread_badges(listing) == {} and nav_unread(listing) == 0
    # The authority's own view: the platform's reply is unread for the liaison.
    post(django_capture_on_commit_callbacks, actor=world.moderator, case=second, body="Sudah kami hapus.")
    mfa_client.force_login(world.liaison)
    assert unread_badges(mfa_client.get(reverse("cases:list")).content.decode()) == {second.reference: 1}


def test_mark_all_read(world, mfa_client, django_capture_on_commit_callbacks):
    # The moderator acknowledged them, so they hold them and hear of the authority's messages.
    cases = [make_case(world, state=Status.IN_PROGRESS, platform_actor=world.moderator) for _ in range(3)]
    mfa_client.force_login(world.moderator)
    for case in cases:
        case_page(mfa_client, case)
    for case in cases:
        post(django_capture_on_commit_callbacks, actor=world.liaison, case=case, body=f"Update on {case.reference}")
    listing = mfa_client.get(reverse("cases:list")).content.decode()
    assert unread_badges(listing) == {c.reference: 1 for c in cases} and nav_unread(listing) == 3
    assert Notification.objects.filter(user=world.moderator, read_at__isnull=True).count() >= 3
    assert 'data-testid="bell-count"' in mfa_client.get(reverse("cases:bell")).content.decode()

    response = mfa_client.post(reverse("cases:mark_all_read"), {"next": reverse("cases:list")}, follow=True)
    assert any("marked as read" in m for m in page_messages(response))
    listing = response.content.decode()
    assert unread_badges(listing) == {} and nav_unread(listing) == 0
    assert not Notification.objects.filter(user=world.moderator, read_at__isnull=True).exists()
    assert 'data-testid="bell-count"' not in mfa_client.get(reverse("cases:bell")).content.decode()
    # Only for that person.
    mfa_client.force_login(world.manager)
    case_page(mfa_client, cases[0])
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=cases[0], body="One more")
    assert nav_unread(mfa_client.get(reverse("cases:list")).content.decode()) == 1


def test_news_reaches_only_the_markers_of_people_who_may_read_it(world, django_capture_on_commit_callbacks):
    """Each read marker knows the newest entry its person may see: an internal note moves its own side's
    markers only, nobody's own message is news to them, and recomputing from the threads
    (what bulk loads do) gives exactly what the actions kept."""
    case = make_case(world, state=Status.IN_PROGRESS)
    for person in (world.moderator, world.manager, world.liaison):
        mark_read(user=person, case=case)

    def news() -> dict[str, bool]:
        markers = ReadMarker.objects.filter(case=case).select_related("user")
        return {m.user.email: m.news_up_to > m.last_read_message_id for m in markers}

    post(django_capture_on_commit_callbacks, actor=world.moderator, case=case, internal=True, body="Platform only")
    assert news() == {world.moderator.email: False, world.manager.email: True, world.liaison.email: False}
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=case, body="Shared update")
    assert news() == {world.moderator.email: True, world.manager.email: True, world.liaison.email: False}
    add_system_entries([(case, "deadline.proposal_expired", {"proposal": None})])
    assert news() == {world.moderator.email: True, world.manager.email: True, world.liaison.email: True}

    kept = dict(ReadMarker.objects.filter(case=case).values_list("user_id", "news_up_to"))
    ReadMarker.objects.filter(case=case).update(news_up_to=0)
    refresh_news(ReadMarker.objects.filter(case=case))
    assert dict(ReadMarker.objects.filter(case=case).values_list("user_id", "news_up_to")) == kept

    mark_read(user=world.liaison, case=case)
    assert news()[world.liaison.email] is False


def test_the_navigation_badge_says_99_plus_beyond_99_unread(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS)
    mfa_client.force_login(world.moderator)
    case_page(mfa_client, case)
    add_system_entries([(case, "deadline.proposal_expired", {"proposal": n}) for n in range(99)])
    assert nav_unread(mfa_client.get(reverse("cases:list")).content.decode()) == 99
    add_system_entries([(case, "deadline.proposal_expired", {"proposal": 99})])
    listing = mfa_client.get(reverse("cases:list")).content.decode()
    assert 'data-testid="nav-unread">99+<' in listing
    assert unread_badges(listing) == {case.reference: 100}  # the row itself still says exactly how many


def test_mark_all_read_does_not_redirect_off_site(world, mfa_client):
    mfa_client.force_login(world.moderator)
    response = mfa_client.post(reverse("cases:mark_all_read"), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("cases:list")


# --- Notification preferences and e-mails ---------------------------------------------------------------


def test_digest_preference_holds_e_mails_for_one_daily_digest(world, mfa_client, django_capture_on_commit_callbacks,
                                                              mailoutbox):
    mfa_client.force_login(world.moderator)
    choices = {kind: NotificationPreference.Mode.IMMEDIATE for kind in NotificationKind.values}
    choices[NotificationKind.SHARED_MESSAGE] = NotificationPreference.Mode.DIGEST
    response = mfa_client.post(reverse("cases:notification_preferences"), choices, follow=True)
    assert any("preferences saved" in m for m in page_messages(response))
    assert 'value="digest" selected' in response.content.decode() or "digest" in response.content.decode()

    cases = [make_case(world, state=Status.IN_PROGRESS, title=f"Digest case {n}") for n in range(2)]
    for case in cases:
        assign_case(actor=world.manager, case=case, assignee=world.moderator)
    mailoutbox.clear()
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=cases[0], body="Pertama")
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=cases[1], body="Kedua")
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=cases[1], body="Ketiga")
    assert mail_to(mailoutbox, world.moderator) == []  # no immediate e-mail
    assert Notification.objects.filter(user=world.moderator, digest=True, emailed_at__isnull=True).count() == 3

    assert send_digests() == 1
    digest = mail_to(mailoutbox, world.moderator)
    assert len(digest) == 1
    assert "3 update" in digest[0].subject
    assert digest[0].body.count(f"[{cases[0].reference}]") == 1
    assert digest[0].body.count(f"[{cases[1].reference}]") == 2
    assert send_digests() == 0 and len(mail_to(mailoutbox, world.moderator)) == 1
    # Mentions stayed immediate.
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=cases[0], body="@rizky@platform.test cek ya")
    assert any("mentioned you" in m.subject for m in mail_to(mailoutbox, world.moderator))


def test_in_app_only_preference_sends_no_e_mail(world, django_capture_on_commit_callbacks, mailoutbox):
    NotificationPreference.objects.create(user=world.liaison, kind=NotificationKind.SHARED_MESSAGE,
                                          mode=NotificationPreference.Mode.IN_APP)
    case = make_case(world, state=Status.IN_PROGRESS)
    post(django_capture_on_commit_callbacks, actor=world.moderator, case=case, body="Done")
    assert Notification.objects.filter(user=world.liaison, kind=NotificationKind.SHARED_MESSAGE).count() == 1
    assert mail_to(mailoutbox, world.liaison) == []
    assert send_digests() == 0


def test_e_mails_carry_the_reference_a_reply_address_and_never_files(world, django_capture_on_commit_callbacks,
                                                                     mailoutbox):
    case = make_case(world, state=Status.IN_PROGRESS, platform_actor=world.moderator)  # the moderator holds it
    evidence = add_evidence(actor=world.moderator, case=case, source=io.BytesIO(b"Removal log\n" * 50),
                                    original_name="removal-log.txt").evidence
    post(django_capture_on_commit_callbacks, actor=world.moderator, case=case,
         body=f"Removed; the log is #E{evidence.pk}.", evidence_ids=[evidence.pk])
    post(django_capture_on_commit_callbacks, actor=world.liaison, case=case, body="Terima kasih!")
    assert {m.to[0] for m in mailoutbox} == {"dewi@ministry.test", "rizky@platform.test"}
    for mail in mailoutbox:
        user = world.liaison if mail.to == ["dewi@ministry.test"] else world.moderator
        assert case.reference in mail.subject
        assert mail.attachments == []
        assert len(mail.reply_to) == 1
        token = read_reply_address(mail.reply_to[0])
        assert token is not None and token.is_valid
        assert (token.reference, token.user_id) == (case.reference, user.pk)
        assert mail.extra_headers.get("X-Liaison-Case") == case.reference
        assert case.get_absolute_url() in mail.body
        assert "Removal log" not in mail.body
    # A reply address cannot be forged for another person.
    address = mailoutbox[0].reply_to[0]
    forged = re.sub(r"\.(\d+)\.", lambda m: f".{int(m.group(1)) + 1}.", address, count=1)
    forged_token = read_reply_address(forged)
    assert forged_token is not None and forged_token.status == "forged"


# --- Hostile Markdown through the page ---------------------------------------------------------------------

HOSTILE = [
    "<script>alert('s1')</script>",
    '<img src=x onerror="alert(\'s2\')">',
    "[click me](javascript:alert('s3'))",
    "![pixel](https://tracker.example/p.png)",
    '<a href="javascript:alert(\'s4\')">x</a>',
    "<iframe src=\"https://evil.example\"></iframe>",
    "[x](JaVaScRiPt:alert('s5'))",
    '<svg onload="alert(\'s6\')"></svg>',
    "<details open ontoggle=alert('s7')>",
]


def message_bodies(html: str) -> list[str]:
    return re.findall(r'<div class="lx-message-body">(.*?)</div>', html, flags=re.S)


class MarkupOf(HTMLParser):
    """The tags and attributes actually present in some HTML (escaped text is not markup)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def test_hostile_markdown_posted_through_the_page_renders_inert(world, mfa_client):
    case = make_case(world, state=Status.IN_PROGRESS)
    mfa_client.force_login(world.liaison)
    for payload in HOSTILE:
        response = mfa_client.post(reverse("cases:post_message", args=[case.reference]), {"body": payload})
        assert response.status_code == 302
    assert Message.objects.filter(case=case, kind=Message.Kind.SHARED).count() == len(HOSTILE)
    for persona in ("moderator", "liaison"):
        mfa_client.force_login(getattr(world, persona))
        for html in (case_page(mfa_client, case), thread_fragment(mfa_client, case)):
            bodies = message_bodies(html)
            assert len(bodies) == len(HOSTILE)
            markup = MarkupOf("".join(bodies))
            assert markup.tags <= {"p", "a", "br"}, (persona, markup.tags)
            for tag, name, value in markup.attributes:
                assert (tag, name) in {("a", "href"), ("a", "rel")}, (persona, tag, name)
                if name == "href":
                    assert value.startswith("https://"), (persona, value)
            rendered = "".join(bodies)
            assert "tracker.example/p.png" in rendered  # the image is a plain link at most
            # What was typed is shown as text.
            assert "&lt;script&gt;alert" in rendered and "onerror=" in rendered


# --- Query count --------------------------------------------------------------------------------------


def test_case_page_queries_do_not_grow_with_the_thread(world, mfa_client, django_assert_max_num_queries,
                                                       django_capture_on_commit_callbacks):
    case = make_case(world, state=Status.IN_PROGRESS)
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    evidence = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(b"Screenshot text\n" * 40),
                                    original_name="list.txt").evidence
    authors = [(world.liaison, False), (world.moderator, False), (world.manager, True), (world.lead, True)]

    def add_messages(count: int) -> None:
        for n in range(count):
            actor, internal = authors[n % len(authors)]
            message = post_message(actor=actor, case=case, internal=internal,
                                           body=f"Message {n} about **item** #E{evidence.pk} @dewi@ministry.test"
                                           if not internal or actor == world.lead else f"Note {n}",
                                           evidence_ids=[evidence.pk] if n % 3 == 0 else ())
            if n % 5 == 0:
                edit_message(actor=actor, message=message, body=message.body + " (corrected)")

    add_messages(10)
    urls = (case.get_absolute_url(), reverse("cases:thread", args=[case.reference]))
    personas = ("liaison", "moderator", "manager")
    with_ten = {}
    for persona in personas:
        mfa_client.force_login(getattr(world, persona))
        for url in urls:
            mfa_client.get(url)  # warm up
            with CaptureQueriesContext(connection) as captured:
                assert mfa_client.get(url).status_code == 200
            with_ten[persona, url] = len(captured.captured_queries)

    add_messages(90)
    assert case.messages.exclude(kind=Message.Kind.SYSTEM).count() == 100
    for persona in personas:
        mfa_client.force_login(getattr(world, persona))
        for url in urls:
            mfa_client.get(url)
            with django_assert_max_num_queries(with_ten[persona, url]):
                response = mfa_client.get(url)
            # Everyone sees the shared messages and their own side's notes: at least 50 of the 100.
            assert response.content.decode().count('data-testid="message"') >= 50, persona
