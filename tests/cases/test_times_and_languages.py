"""Times and system events in the shared record are stored as data and written for each reader (issue 13): a due time
proposed in Jakarta reads in Dublin time for the moderator, and a case worked in English reads in Bahasa Indonesia
for the liaison — on the case page (thread and timeline), in notifications, in e-mails and in the outcome report."""

from __future__ import annotations

import importlib
import re
from datetime import datetime
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from cases.actions.cases import (
    acknowledge_case,
    assign_case,
    provide_information,
    request_information,
    resolve_case,
    submit_case,
)
from cases.actions.deadlines import answer_proposal, propose_deadline
from cases.actions.reports import generate_report, request_report
from cases.actions.thread import add_system_entries, post_message
from cases.choices import DeadlineKind, MessageKind, Outcome, ProposalKind, Status
from cases.event_text import system_line
from cases.instants import as_iso, format_instant, zone_named
from cases.models import AuditEvent, Case, DeadlineProposal, Message, OutcomeReport
from cases.report_context import report_context
from tests.cases.conftest import decide_all, make_case
from tests.cases.test_event_text import english_words_of_translated_sentences
from tests.factories import World

JAKARTA, DUBLIN = zone_named("Asia/Jakarta"), zone_named("Europe/Dublin")


@pytest.fixture
def readers(world: World) -> World:
    """The ministry works in Jakarta and Bahasa Indonesia; the moderator reads in English in Dublin, the T&S
    manager in English in UTC."""
    world.ministry.time_zone = "Asia/Jakarta"
    world.ministry.save(update_fields=["time_zone"])
    for person, language, zone in ((world.liaison, "id", "Asia/Jakarta"), (world.moderator, "en", "Europe/Dublin"),
                                   (world.manager, "en", "UTC")):
        person.preferred_language, person.time_zone = language, zone
        person.save(update_fields=["preferred_language", "time_zone"])
    return world


def five_pm_in_jakarta() -> datetime:
    """17:00 WIB on 5 December next year: 10:00 UTC, and 10:00 GMT in Dublin (winter time)."""
    return datetime(timezone.now().year + 1, 12, 5, 17, 0, tzinfo=JAKARTA)


class _VisibleText(HTMLParser):
    """The text a reader sees: the page's text nodes, without scripts, styles and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style") and self._hidden > 0

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def raw_codes(case: Case) -> set[str]:
    """Codes that must never reach a reader: the recorded actions, and the values of choices (as codes)."""
    codes = set(AuditEvent.objects.filter(case=case).values_list("action", flat=True))
    codes |= set(Message.objects.filter(case=case, kind=MessageKind.SYSTEM).values_list("system_action", flat=True))
    codes |= {value for choices in (Status, DeadlineKind, ProposalKind, Outcome) for value in choices.values
              if "_" in value}
    codes |= {f"({value})" for value in MessageKind.values}
    return codes


def english_or_codes(text: str, case: Case) -> list[str]:
    found = [words for words in english_words_of_translated_sentences() if words in text]
    found += [code for code in raw_codes(case) if re.search(rf"(?<![\w.]){re.escape(code)}(?![\w])", text)]
    return found


def walk_the_main_workflow(world: World, capture) -> tuple[Case, DeadlineProposal]:
    """Submit, acknowledge, ask and answer, agree a new due time, decide, resolve and issue the report: each by
    the person whose job it is, through the actions, with what they queue after commit (notifications, e-mails)."""
    case = make_case(world, submit=False, title="Kanal teror")
    with capture(execute=True):
        case = submit_case(case=case, actor=world.liaison)
        case = assign_case(actor=world.manager, case=case, assignee=world.moderator)
        case = acknowledge_case(case=case, actor=world.moderator)
        post_message(actor=world.moderator, case=case, body="Which posts exactly?")
        case = request_information(case=case, actor=world.moderator, note="Send the screenshots.")
        case = provide_information(case=case, actor=world.liaison, note="Tangkapan layar terlampir.")
        proposal = propose_deadline(actor=world.liaison, case=case, kind=ProposalKind.CHANGE_DUE,
                                    deadline=case.deadlines.get(kind=DeadlineKind.RESOLVE), due_at=five_pm_in_jakarta(),
                                    reason="Rapat kabinet")
        answer_proposal(actor=world.manager, proposal=proposal, accept=True, note="Agreed")
        decide_all(case, world.moderator)
        case = resolve_case(case=case, actor=world.moderator, outcome_summary="Semua kanal dihapus.")
        report = request_report(actor=world.manager, case=case, language="id", include_thread=True, enqueue=False)
        generate_report(report_id=report.pk)
    proposal.refresh_from_db()
    return case, proposal


def test_no_page_in_bahasa_indonesia_shows_an_english_system_line_or_a_code(readers, mfa_client,
                                                                             django_capture_on_commit_callbacks):
    world = readers
    case, _proposal = walk_the_main_workflow(world, django_capture_on_commit_callbacks)
    assert OutcomeReport.objects.get(case=case).status == OutcomeReport.Status.READY
    mfa_client.force_login(world.liaison)
    pages = {
        "case page": mfa_client.get(case.get_absolute_url()),
        "thread": mfa_client.get(reverse("cases:thread", args=[case.reference])),
        "notifications": mfa_client.get(reverse("cases:notifications")),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        text = visible(response.content.decode())
        assert english_or_codes(text, case) == [], name
    page = visible(pages["case page"].content.decode())
    # What the liaison reads instead: every move of the case, in Indonesian, whoever made it.
    assert page.count("mengubah status dari") == 5
    assert "Rizky Moderator mengubah status dari Diproses menjadi Menunggu informasi. Send the screenshots." in page
    assert "Maria Manager menerima usulan tenggat. Agreed" in page
    assert "menyetujui laporan hasil versi 1" in page
    assert "Dibagikan kepada kedua pihak" in page  # the timeline's "(shared)", in words
    notifications = visible(pages["notifications"].content.decode())
    assert "sekarang Diproses" in notifications and "Laporan hasil" in notifications

    letters = [m for m in mail.outbox if world.liaison.email in m.to]
    assert len(letters) >= 5
    for letter in letters:
        assert english_or_codes(f"{letter.subject}\n{letter.body}", case) == [], letter.subject
    assert any(letter.subject.endswith("sekarang Diselesaikan.") for letter in letters)

    # The outcome report she keeps: its timeline and shared thread, in the report's language (Indonesian here).
    report = OutcomeReport.objects.get(case=case)
    with translation.override("id"):
        context = report_context(case, language="id", include_thread=True, approver=world.manager, version=2,
                                 issued_at=report.issued_at)
    written = " ".join(f"{row['what']} {row['note']}" for row in context["timeline"])
    written += " ".join(row["body"] for row in context["thread"])
    assert english_or_codes(written, case) == []
    assert "mengubah status dari Draf menjadi Diajukan" in written


def test_a_notification_is_written_when_it_is_read(readers, mfa_client, django_capture_on_commit_callbacks):
    """Stored while the moderator read English, it reads in Indonesian once he chooses Indonesian."""
    world = readers
    case = make_case(world, submit=False)
    with django_capture_on_commit_callbacks(execute=True):
        assign_case(actor=world.manager, case=submit_case(case=case, actor=world.liaison), assignee=world.moderator)
    mfa_client.force_login(world.moderator)
    assert f"{case.reference} was assigned to you" in visible(mfa_client.get(reverse("cases:notifications"))
                                                               .content.decode())
    world.moderator.preferred_language = "id"
    world.moderator.save(update_fields=["preferred_language"])
    page = visible(mfa_client.get(reverse("cases:notifications")).content.decode())
    assert f"{case.reference} sekarang Diajukan" in page and "is now" not in page


def test_a_proposed_due_time_is_the_stored_instant_in_each_readers_zone(readers, mfa_client,
                                                                        django_capture_on_commit_callbacks):
    world = readers
    case = make_case(world, platform_actor=world.moderator, state=Status.IN_PROGRESS)
    resolve = case.deadlines.get(kind=DeadlineKind.RESOLVE)
    with django_capture_on_commit_callbacks(execute=True):
        proposal = propose_deadline(actor=world.liaison, case=case, kind=ProposalKind.CHANGE_DUE, deadline=resolve,
                                    due_at=five_pm_in_jakarta(), reason="Rapat kabinet")
    proposal.refresh_from_db()
    entry = Message.objects.get(case=case, system_action="deadline.proposed")
    # Stored as the instant, in UTC: 17:00 in Jakarta is 10:00 UTC.
    assert proposal.proposed_due_at == five_pm_in_jakarta()
    assert entry.system_params["due_at"] == as_iso(proposal.proposed_due_at) == f"{timezone.now().year + 1}-12-05T10:00:00Z"
    assert entry.body == ""

    expected = {
        world.liaison: ("id", JAKARTA, "17:00 WIB (UTC+07:00)"),
        world.moderator: ("en", DUBLIN, "10:00 GMT (UTC+00:00)"),
        world.manager: ("en", zone_named("UTC"), "10:00 UTC"),
    }
    for reader, (language, zone, clock) in expected.items():
        mfa_client.force_login(reader)
        thread = visible(mfa_client.get(reverse("cases:thread", args=[case.reference])).content.decode())
        with translation.override(language):
            announced = format_instant(proposal.proposed_due_at, zone)
        assert announced.endswith(clock), announced
        assert f"({announced})" in thread, (reader, thread)
        assert "17:00 UTC" not in thread  # the old line: Jakarta's wall clock labelled UTC
        # The deadline panel's proposal says the same instant.
        panel = visible(mfa_client.get(case.get_absolute_url()).content.decode())
        assert announced in panel

    with django_capture_on_commit_callbacks(execute=True):
        answer_proposal(actor=world.manager, proposal=proposal, accept=True)
    resolve.refresh_from_db()
    assert resolve.due_at == proposal.proposed_due_at
    mfa_client.force_login(world.moderator)
    assert f"Due {format_instant(resolve.due_at, DUBLIN)}" in visible(mfa_client.get(case.get_absolute_url())
                                                                      .content.decode())


# --- Rows stored before events were data ----------------------------------------------------------------------

LEGACY = importlib.import_module("cases.migrations.0018_structured_events")


def written_the_old_way(entry: Message, proposal: DeadlineProposal | None) -> str:
    """The English sentence the thread actions stored before they stored parameters (with the old bug: a proposed
    time printed in the proposer's zone and labelled UTC)."""
    who, params = entry.author.full_name if entry.author else "", entry.system_params
    labels = {value: str(label) for value, label in Status.choices}
    note = f" {params['note']}" if params.get("note") else ""
    if entry.system_action == "case.assigned":
        return f"{who} assigned the case to {params['to_name']}."
    if entry.system_action.startswith("case."):
        return f"{who} changed the status from {labels[params['from']]} to {labels[params['to']]}.{note}"
    if entry.system_action == "deadline.proposed":
        assert proposal is not None
        local = proposal.proposed_due_at.astimezone(JAKARTA)
        return (f"{who} proposed a new due time ({local:%Y-%m-%d %H:%M} UTC) for the resolve deadline: "
                f"{params['reason']}")
    if entry.system_action == "deadline.answered":
        return f"{who} {'accepted' if params['accepted'] else 'rejected'} the deadline proposal.{note}"
    if entry.system_action == "report.issued":
        return (f"{who} approved outcome report version {params['version']}; it was signed and issued "
                f"(SHA-256 {params['sha256']}).")
    raise AssertionError(entry.system_action)


def test_stored_english_lines_become_data_and_the_rest_stays_readable(readers, django_capture_on_commit_callbacks):
    world = readers
    case, proposal = walk_the_main_workflow(world, django_capture_on_commit_callbacks)
    breach = Message.objects.create(case=case, kind=MessageKind.SYSTEM, system_action="deadline.breached",
                                    body="The acknowledge deadline was due at 2026-03-02 09:30 UTC and was not met.")
    indonesian = Message.objects.create(case=case, kind=MessageKind.SYSTEM, system_action="case.closed",
                                        author=world.liaison, body="Dewi mengubah status dari Selesai menjadi Ditutup.")
    entries = list(Message.objects.filter(case=case, kind=MessageKind.SYSTEM).exclude(pk__in=[breach.pk, indonesian.pk])
                   .select_related("author").order_by("id"))
    readers_see = {}
    for entry in entries:
        for language, zone in (("id", JAKARTA), ("en", DUBLIN)):
            with translation.override(language):
                readers_see[entry.pk, language] = system_line(entry.system_action, entry.system_params, zone=zone,
                                                              who=entry.author.full_name if entry.author else "")
        entry.body, entry.system_params = written_the_old_way(entry, proposal), {}
        entry.save(update_fields=["body", "system_params"])

    LEGACY.convert(apps, None)

    for entry in Message.objects.filter(pk__in=[e.pk for e in entries]).select_related("author"):
        assert entry.system_params, entry.body
        for language, zone in (("id", JAKARTA), ("en", DUBLIN)):
            with translation.override(language):
                again = system_line(entry.system_action, entry.system_params, zone=zone, fallback=entry.body,
                                    who=entry.author.full_name if entry.author else "")
            assert again == readers_see[entry.pk, language], entry.system_action
    converted = Message.objects.get(case=case, system_action="deadline.proposed")
    assert converted.system_params["due_at"] == as_iso(proposal.proposed_due_at)  # from the row, not the text
    breach.refresh_from_db()
    assert breach.system_params == {"kind": "acknowledge", "title": "", "due_at": "2026-03-02T09:30:00Z"}
    with translation.override("en"):
        assert system_line("deadline.breached", breach.system_params, who="", zone=JAKARTA) == (
            "The acknowledge deadline was due at 2 Mar 2026, 16:30 WIB (UTC+07:00) and was not met.")
    indonesian.refresh_from_db()
    assert indonesian.system_params == {}  # not English: shown as it was written
    assert system_line("case.closed", {}, who="", zone=DUBLIN, fallback=indonesian.body) == indonesian.body


def test_a_line_that_does_not_match_keeps_its_sentence(world):
    assert LEGACY.parse_line("case.submitted", "Someone did something.") is None
    assert LEGACY.parse_line("deadline.proposal_expired", "A deadline proposal expired without an answer.") == {
        "proposal": None}
    assert LEGACY.parse_line("case.assigned", "Maria Manager assigned the case to nobody.") == {
        "to": None, "to_name": None}


def test_system_entries_add_no_queries_to_the_case_page(readers, mfa_client, django_capture_on_commit_callbacks):
    world = readers
    case = make_case(world, platform_actor=world.moderator, state=Status.IN_PROGRESS)
    mfa_client.force_login(world.liaison)
    mfa_client.get(case.get_absolute_url())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert mfa_client.get(case.get_absolute_url()).status_code == 200
        return len(captured)

    due = as_iso(five_pm_in_jakarta())

    def add_entries(count: int) -> None:
        add_system_entries([(case, action, params) for _ in range(count) for action, params in (
            ("deadline.breached", {"kind": "acknowledge", "title": "", "due_at": due}),
            ("deadline.proposal_expired", {"proposal": None}),
            ("case.in_progress", {"from": "awaiting_information", "to": "in_progress", "note": "Done"}),
        )])

    add_entries(2)
    few = queries()  # new entries to read, as below
    add_entries(40)
    assert Message.objects.filter(case=case, kind=MessageKind.SYSTEM).count() > 120
    assert queries() == few
