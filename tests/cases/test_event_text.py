"""Stored instants and recorded events, written for their reader (cases/instants.py, cases/event_text.py): pure, no
database."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.utils import translation

from cases import event_text
from cases.event_text import event_details, event_label, notification_text, system_line
from cases.instants import as_iso, format_instant, from_iso, zone_named

JAKARTA, DUBLIN = zone_named("Asia/Jakarta"), zone_named("Europe/Dublin")
# 17:00 in Jakarta on 5 December 2026 is 10:00 UTC (and 10:00 in Dublin, on GMT in winter).
FIVE_PM_WIB = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("zone", "summer", "winter"), [
    ("Asia/Jakarta", "5 Jul 2026, 17:00 WIB (UTC+07:00)", "5 Dec 2026, 17:00 WIB (UTC+07:00)"),
    ("Europe/Dublin", "5 Jul 2026, 11:00 IST (UTC+01:00)", "5 Dec 2026, 10:00 GMT (UTC+00:00)"),
    ("UTC", "5 Jul 2026, 10:00 UTC", "5 Dec 2026, 10:00 UTC"),
    ("Asia/Dubai", "5 Jul 2026, 14:00 (UTC+04:00)", "5 Dec 2026, 14:00 (UTC+04:00)"),
    ("America/St_Johns", "5 Jul 2026, 07:30 NDT (UTC-02:30)", "5 Dec 2026, 06:30 NST (UTC-03:30)"),
])
def test_an_instant_reads_in_the_readers_zone_with_its_offset(zone, summer, winter):
    assert format_instant(datetime(2026, 7, 5, 10, 0, tzinfo=UTC), zone_named(zone)) == summer
    assert format_instant(FIVE_PM_WIB, zone_named(zone)) == winter


def test_months_follow_the_language_and_records_keep_the_second():
    with translation.override("id"):
        assert format_instant(FIVE_PM_WIB, JAKARTA) == "5 Des 2026, 17:00 WIB (UTC+07:00)"
    assert format_instant(datetime(2026, 12, 5, 10, 0, 7, 900, tzinfo=UTC), JAKARTA,
                          seconds=True) == "5 Dec 2026, 17:00:07 WIB (UTC+07:00)"


def test_instants_are_stored_in_utc_and_read_back_whatever_the_offset():
    local = datetime(2026, 12, 5, 17, 0, tzinfo=JAKARTA)
    assert as_iso(local) == "2026-12-05T10:00:00Z"
    assert from_iso("2026-12-05T10:00:00Z") == from_iso("2026-12-05T17:00:00+07:00") == FIVE_PM_WIB
    assert from_iso("2026-12-05T10:00:00") == FIVE_PM_WIB  # no zone: stored in UTC
    assert from_iso("") is None and from_iso("next Friday") is None and from_iso(None) is None
    assert zone_named("Mars/Olympus") is UTC and zone_named("") is UTC


def proposal(**extra):
    return {"proposal": 7, "kind": "change_due", "deadline_kind": "resolve", "deadline_title": "",
            "due_at": "2026-12-05T10:00:00Z", "title": "", "reason": "Rapat kabinet", **extra}


def test_a_proposed_due_time_is_written_in_each_readers_zone_and_language():
    assert system_line("deadline.proposed", proposal(), who="Dewi", zone=JAKARTA) == (
        "Dewi proposed a new due time (5 Dec 2026, 17:00 WIB (UTC+07:00)) for the resolve deadline: Rapat kabinet")
    assert system_line("deadline.proposed", proposal(), who="Dewi", zone=DUBLIN) == (
        "Dewi proposed a new due time (5 Dec 2026, 10:00 GMT (UTC+00:00)) for the resolve deadline: Rapat kabinet")
    custom = proposal(kind="new_custom", deadline_kind="", title="Data pelanggan")
    assert "a new deadline “Data pelanggan” due 5 Dec 2026, 10:00 UTC" in system_line(
        "deadline.proposed", custom, who="Dewi", zone=UTC)


def test_a_state_change_reads_in_the_readers_language_whoever_acted():
    params = {"from": "in_progress", "to": "awaiting_information", "note": "Send the screenshots."}
    assert system_line("case.awaiting_information", params, who="Rizky", zone=UTC) == (
        "Rizky changed the status from In progress to Awaiting information. Send the screenshots.")
    with translation.override("id"):
        line = system_line("case.awaiting_information", params, who="Rizky", zone=UTC)
    assert line.startswith("Rizky mengubah status dari ") and "changed the status" not in line
    assert line.endswith(" Send the screenshots.")  # what the person wrote stays as written


def test_entries_without_parameters_show_their_stored_sentence_and_never_a_code():
    assert system_line("case.submitted", {}, who="Dewi", zone=UTC,
                       fallback="Dewi mengubah status dari Draf menjadi Diajukan.") == (
        "Dewi mengubah status dari Draf menjadi Diajukan.")
    assert system_line("something.new", {}, who="", zone=UTC) == "Recorded event"
    assert system_line("case.closed", {}, who="", zone=UTC) == "Closed"
    assert event_label("case.acknowledge") == "Acknowledge"
    assert event_label("audit.mystery") == "Recorded event"


def test_notifications_are_written_for_their_reader():
    breach = {"action": "deadline.breached", "kind": "acknowledge", "title": "", "reference": "ID-2026-000001",
              "due_at": "2026-12-05T10:00:00Z"}
    title, body = notification_text(breach, zone=JAKARTA)
    assert title == "BREACHED: Acknowledge deadline of ID-2026-000001 was due 5 Dec 2026, 17:00 WIB (UTC+07:00)"
    assert body == "The acknowledge deadline was due at 5 Dec 2026, 17:00 WIB (UTC+07:00) and was not met."
    with translation.override("id"):
        title, body = notification_text({"action": "case.status", "reference": "ID-2026-000001",
                                         "to": "in_progress"}, zone=JAKARTA)
    assert (title, body) == ("Status ID-2026-000001 sekarang Diproses.", "")
    message = notification_text({"action": "message.shared", "who": "Dewi", "org": "Kementerian"}, zone=UTC)
    assert message == ("New message from Dewi (Kementerian)", None)  # the body is the message's own words
    assert notification_text({}, zone=UTC) is None and notification_text({"action": "?"}, zone=UTC) is None


def test_the_timeline_names_kinds_and_times_instead_of_codes():
    details = event_details("deadline.proposed", {"kind": "change_due", "due_at": "2026-12-05T17:00:00+07:00",
                                                  "reason": "Rapat kabinet"}, zone=DUBLIN)
    assert details == "New due time · Due 5 Dec 2026, 10:00 GMT (UTC+00:00) · Rapat kabinet"
    assert event_details("message.posted", {"kind": "shared", "length": 12}, zone=UTC) == "Shared with both sides"
    with translation.override("id"):
        shared = event_details("message.posted", {"kind": "shared"}, zone=UTC)
    assert shared and "shared" not in shared
    moved = event_details("deadline.changed", {"from": "2026-12-04T10:00:00+00:00", "to": "2026-12-05T10:00:00+00:00",
                                               "proposal": 3}, zone=JAKARTA)
    assert moved == "4 Dec 2026, 17:00 WIB (UTC+07:00) → 5 Dec 2026, 17:00 WIB (UTC+07:00)"


def msgids() -> list[str]:
    with translation.override("en"):  # English is the source language: a sentence is its own msgid
        return [str(sentence) for sentence in event_text.sentences()]


def untranslated() -> list[str]:
    with translation.override("id"):
        return sorted(msgid for msgid in msgids() if translation.gettext(msgid) == msgid)


def test_every_event_sentence_has_its_indonesian_translation():
    """An Indonesian reader never meets an English system line: every event sentence is in the catalogue."""
    assert untranslated() == []


def english_words_of_translated_sentences() -> set[str]:
    """The fixed English words of every event sentence Indonesian has a translation for (placeholders removed):
    none of them may appear on a page written for an Indonesian reader. Words that a sentence still awaiting its
    translation also uses are left out (that sentence shows in English until it is translated, which
    test_every_event_sentence_has_its_indonesian_translation reports)."""
    missing = set(untranslated())
    fragments = set()
    for msgid in msgids():
        if msgid in missing:
            continue
        for piece in re.split(r"%\(\w+\)[sd]", msgid):
            piece = piece.strip(" .,:;()“”")
            if len(piece) >= 6 and re.search(r"[a-z]{3}", piece) and piece not in {"SHA-256"}:
                fragments.add(piece)
    return {piece for piece in fragments if not any(piece in msgid for msgid in missing)}


def test_the_english_words_looked_for_are_real_sentences():
    words = english_words_of_translated_sentences()
    assert {"changed the status from", "accepted the deadline proposal", "approved outcome report version"} <= words
