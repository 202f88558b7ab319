"""The inbox, the case page and the new-case form as people use them: a constant number of queries however
many rows, a preview that saves nothing, confirmation that saves once, bad files and rows reported, and
other cases of the same target shown only to those who may know of them."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook  # type: ignore[import-untyped]  # openpyxl ships no type information

from cases import audit
from cases.actions.cases import (
    acknowledge_case,
    assign_case,
    grant_access,
    provide_information,
    request_information,
    resolve_case,
)
from cases.actions.items import add_items, set_item_outcomes
from cases.choices import TLP, Outcome, Priority, Status
from cases.models import AuditEvent, Case, Category, ReportedItem
from tests.factories import World

from .conftest import LEGAL_BASIS, listed_refs, make_case, page_messages, rows, section, unique_targets

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
HOSTILE_IMG = '<img src=x onerror="alert(2)">'


# --- Constant queries ----------------------------------------------------------------------------


def clone_cases(world: World, count: int) -> None:
    """Many varied cases at once (the query count must not care how they were made)."""
    year = timezone.now().year
    categories = list(Category.objects.all())
    now = timezone.now()
    cases = []
    for n in range(count):
        org = (world.ministry, world.commission)[n % 2]
        cases.append(Case(
            reference=f"Z{'IM'[n % 2]}-{year}-{n + 1:06d}", title=f"Bulk case {n}",
            category=categories[n % len(categories)],
            legal_basis=LEGAL_BASIS, priority=(Priority.URGENT, Priority.HIGH, Priority.NORMAL)[n % 3],
            requesting_org=org, responding_org=world.platform, created_by=world.liaison,
            queue=(world.queue_id, world.queue_my)[n % 2],
            assignee=((world.moderator, world.manager, None), (world.moderator_my, None, None))[n % 2][n % 3],
            status=(Status.SUBMITTED, Status.IN_PROGRESS, Status.AWAITING_INFORMATION, Status.RESOLVED)[n % 4],
            submitted_at=now, tlp=TLP.AMBER,
        ))
    created = Case.objects.bulk_create(cases)
    ReportedItem.objects.bulk_create([
        ReportedItem(case=case, position=p, target=f"https://t.me/bulk_{case.pk}_{p}", key=f"t.me/bulk_{case.pk}_{p}",
                     kind="channel", outcome=(Outcome.PENDING, Outcome.REMOVED)[p % 2])
        for case in created for p in range(1, 4)
    ])


def queries_of(client, url: str) -> int:
    client.get(url)  # warm up: the first request of a session may do one-off work
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_list_page_queries_do_not_grow_with_cases(world, mfa_client, django_assert_max_num_queries):
    for n in range(10):
        make_case(world, actor=(world.liaison, world.lead)[n % 2], state=(Status.SUBMITTED, Status.IN_PROGRESS)[n % 2])
    assign_case(actor=world.manager, case=Case.objects.first(), assignee=world.moderator)
    url = reverse("cases:list")
    searched = {"q": "bulk", "status": "open", "sort": "newest", "page": "2"}
    personas = ("manager", "moderator", "liaison")
    with_ten, shown = {}, {}
    for persona in personas:
        mfa_client.force_login(getattr(world, persona))
        with_ten[persona] = queries_of(mfa_client, url)
        shown[persona] = len(listed_refs(mfa_client.get(url).content))

    # The inbox's budget at any size (issue 12): the person, the grants, the page's ids and rows (with their item
    # and unread counts), the counts of open work (the platform's default list takes its total from them), the
    # badges, the filter choices; a search adds its own capped total.
    assert max(with_ten.values()) <= 9, with_ten
    clone_cases(world, 200)
    for persona in personas:
        mfa_client.force_login(getattr(world, persona))
        mfa_client.get(url)
        with django_assert_max_num_queries(with_ten[persona]):
            response = mfa_client.get(url)
        assert len(listed_refs(response.content)) > shown[persona], persona
        with django_assert_max_num_queries(min(with_ten[persona] + 1, 10)):
            response = mfa_client.get(url, searched)
        assert listed_refs(response.content), persona


def test_list_page_shows_fifty_rows_and_counts_them_all(world, mfa_client):
    clone_cases(world, 120)
    mfa_client.force_login(world.manager)
    page = mfa_client.get(reverse("cases:list"), {"status": ""}).content.decode()  # "Any" status
    assert len(listed_refs(page)) == 50
    assert "120 cases" in page
    assert "page 1 of 3" in page
    third = mfa_client.get(reverse("cases:list"), {"status": "", "page": 3}).content
    assert len(listed_refs(third)) == 20


def test_the_platform_inbox_opens_on_open_work_and_shows_closed_cases_when_asked(world, mfa_client):
    clone_cases(world, 12)  # every fourth one resolved (all the commission's); one of the ministry's too
    Case.objects.filter(pk=Case.objects.filter(requesting_org=world.ministry).values("pk")[:1]).update(
        status=Status.RESOLVED)
    resolved = set(Case.objects.filter(status=Status.RESOLVED).values_list("reference", flat=True))
    mfa_client.force_login(world.manager)
    page = mfa_client.get(reverse("cases:list")).content.decode()
    assert resolved and not resolved & listed_refs(page)
    assert '<option value="open" selected>' in page  # the filter says so
    assert resolved <= listed_refs(mfa_client.get(reverse("cases:list"), {"status": ""}).content)
    closed = sorted(resolved)[0]  # a search link (no status chosen) finds a closed case too
    assert closed in listed_refs(mfa_client.get(reverse("cases:list"), {"q": closed}).content)
    mfa_client.force_login(world.liaison)  # an authority's list keeps everything it sent, newest first
    sent = set(Case.objects.filter(status=Status.RESOLVED, requesting_org=world.ministry)
               .values_list("reference", flat=True))
    assert sent and sent <= listed_refs(mfa_client.get(reverse("cases:list")).content)


def test_case_page_queries_do_not_grow_with_items_and_events(world, mfa_client, django_assert_max_num_queries):
    case = make_case(world, state=Status.IN_PROGRESS, targets=unique_targets(10, "big"))
    items = list(case.items.all())
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[items[0].pk], outcome=Outcome.REMOVED)
    grant_access(actor=world.manager, case=case, user=world.moderator_my, reason="Second pair of eyes")
    # Another authority's open case sharing one target: a deconfliction note on the row.
    make_case(world, actor=world.other_liaison, targets=[items[1].target])
    url = case.get_absolute_url()
    counts = {}
    for persona in ("manager", "liaison"):
        mfa_client.force_login(getattr(world, persona))
        counts[persona] = queries_of(mfa_client, url)
    assert max(counts.values()) <= 25, counts  # the case page's budget (issue 12)

    targets = unique_targets(190, "big")
    add_items(actor=world.liaison, case=case, rows=rows(targets))
    make_case(world, actor=world.other_liaison, targets=targets[:60])
    make_case(world, actor=world.liaison, targets=targets[60:90])
    pending = list(case.items.filter(outcome=Outcome.PENDING).values_list("pk", flat=True))
    for n, chunk in enumerate(range(0, 100, 5)):
        set_item_outcomes(actor=(world.moderator, world.manager)[n % 2], case=case,
                                  item_ids=pending[chunk:chunk + 5],
                                  outcome=(Outcome.REMOVED, Outcome.NO_ACTION_NOT_ILLEGAL)[n % 2], reason="Checked")
    for persona in ("lead", "legal", "auditor"):
        grant_access(actor=world.liaison, case=case, user=getattr(world, persona), reason="Named")
    for n in range(170):
        audit.record(action=("evidence.viewed", "case.assigned", "items.decided")[n % 3],
                     actor=(world.manager, world.liaison, world.moderator, world.legal)[n % 4], case=case,
                     side=("", "platform", "authority")[n % 3], data={"count": n, "outcome": "removed"})
    assert case.items.count() == 200
    assert case.events.count() >= 200

    for persona in ("manager", "liaison"):
        mfa_client.force_login(getattr(world, persona))
        mfa_client.get(url)  # the first request of a session does one-off work (the second factor is checked)
        with django_assert_max_num_queries(counts[persona]):
            response = mfa_client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert page.count('class="lx-target"') == 100  # the first page of items
        # Platform staff see every other open case of these targets; the ministry only its own.
        assert page.count("also reported in") == (91 if persona == "manager" else 30)


# --- New case: preview, confirm once ---------------------------------------------------------------


def case_form(world: World, **overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Gambling channels", "request_type": "removal",
        "category": Category.objects.get(slug="illegal-gambling").pk, "priority": "", "tlp": TLP.AMBER,
        "legal_basis": LEGAL_BASIS, "legal_article": "Art. 27(2)", "description": "", "language": "id",
        "territorial_scope": "ID", "responding_org": world.platform.pk,
    }
    data.update(overrides)
    return data


def preview(client, world: World, **fields):
    return client.post(reverse("cases:new"), {**case_form(world), "step": "preview", **fields})


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "no confirmation token on the page"
    return match.group(1)


def counts_in_preview(response) -> dict[str, int]:
    counts = section(response.content, "preview-counts")
    found = re.findall(r'<span class="badge [^"]*">(\d+)</span>\s*([a-z ]+)', counts)
    return {label.strip(): int(n) for n, label in found}


def test_pasting_five_links_previews_and_saves_nothing(world, mfa_client):
    mfa_client.force_login(world.liaison)
    links = "\n".join(unique_targets(4, "paste")) + "\n@paste_handle_one, the admin account"
    before = (Case.objects.count(), ReportedItem.objects.count(), AuditEvent.objects.count())
    response = preview(mfa_client, world, pasted=links)
    assert response.status_code == 200
    counts = counts_in_preview(response)
    assert counts["accepted"] == 5 and counts["rejected"] == 0 and counts["duplicates in the list"] == 0
    assert "Preview: nothing is saved yet" in response.content.decode()
    assert "Submit case with 5 items" in response.content.decode()
    assert "the admin account" in section(response.content, "accepted-rows")
    assert (Case.objects.count(), ReportedItem.objects.count()) == before[:2]
    assert not AuditEvent.objects.filter(action__startswith="case.").exists()


def test_confirming_creates_the_case_with_its_items_and_twice_creates_nothing_twice(world, mfa_client):
    mfa_client.force_login(world.liaison)
    links = unique_targets(5, "confirm")
    token = token_of(preview(mfa_client, world, pasted="\n".join(links)))
    response = mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "submit", "token": token})
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == case.get_absolute_url()
    assert case.status == Status.SUBMITTED
    assert sorted(case.items.values_list("target", flat=True)) == sorted(links)
    page = mfa_client.get(response["Location"])
    assert f"Case {case.reference} was submitted to Platform (test)." in page_messages(page)

    again = mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "submit", "token": token}, follow=True)
    assert Case.objects.count() == 1
    assert ReportedItem.objects.count() == 5
    assert any("already used" in m and "Nothing was saved twice" in m for m in page_messages(again))


def test_saving_a_draft_from_the_preview(world, mfa_client):
    mfa_client.force_login(world.lead)
    token = token_of(preview(mfa_client, world, pasted="\n".join(unique_targets(2))))
    page = mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "draft", "token": token}, follow=True)
    case = Case.objects.get()
    assert case.status == Status.DRAFT
    assert f"Draft {case.reference} saved with 2 item(s)." in " ".join(page_messages(page))


def test_a_forged_token_saves_nothing(world, mfa_client):
    mfa_client.force_login(world.liaison)
    preview(mfa_client, world, pasted=unique_targets(1)[0])
    mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "submit", "token": "made-up"})
    assert not Case.objects.exists()


def test_a_list_whose_every_row_was_rejected_saves_nothing_and_says_why(world, mfa_client):
    mfa_client.force_login(world.liaison)
    response = preview(mfa_client, world, pasted="not a link at all\nftp://files.example/x")
    assert response.status_code == 200
    assert counts_in_preview(response)["accepted"] == 0 and counts_in_preview(response)["rejected"] == 2
    page = response.content.decode()
    assert 'name="token"' not in page and 'value="draft"' not in page and 'value="submit"' not in page
    assert "No row was accepted. Correct the list and preview again." in section(page, "nothing-accepted")
    assert "Only web (http, https) and Telegram links" in section(page, "rejected-rows")
    for step in ("draft", "submit"):
        mfa_client.post(reverse("cases:new"), {**case_form(world), "step": step, "token": ""})
    assert not Case.objects.exists()


def test_an_empty_preview_kept_in_the_session_saves_no_empty_draft(world, mfa_client):
    """Previews of rejected rows only were once stored (an empty list); confirming one saves nothing."""
    mfa_client.force_login(world.liaison)
    for step in ("draft", "submit"):
        session = mfa_client.session
        session["intake:empty-list"] = []
        session.save()
        response = mfa_client.post(reverse("cases:new"), {**case_form(world), "step": step, "token": "empty-list"})
        assert response.status_code == 400
        assert "No row was accepted. Correct the list and preview again." in page_messages(response)
    assert not Case.objects.exists()
    assert not AuditEvent.objects.filter(action="case.created").exists()


def test_adding_a_list_whose_every_row_was_rejected_adds_nothing(world, mfa_client):
    case = make_case(world, targets=unique_targets(1))
    mfa_client.force_login(world.liaison)
    url = reverse("cases:add_items", args=[case.reference])
    page = mfa_client.post(url, {"step": "preview", "pasted": "not a link at all"}).content.decode()
    assert 'name="token"' not in page and 'value="confirm"' not in page
    assert "No row was accepted" in section(page, "nothing-accepted")
    session = mfa_client.session
    session["intake:empty-list"] = []
    session.save()
    events = AuditEvent.objects.count()
    response = mfa_client.post(url, {"step": "confirm", "token": "empty-list"}, follow=True)
    assert "No row was accepted. Correct the list and preview again." in page_messages(response)
    assert case.items.count() == 1 and AuditEvent.objects.count() == events
    with pytest.raises(ValidationError):
        add_items(actor=world.liaison, case=case, rows=[])


def test_threat_to_life_from_the_form_makes_the_case_urgent(world, mfa_client):
    mfa_client.force_login(world.liaison)
    form = case_form(world, priority=Priority.NORMAL, threat_to_life="on")
    token = token_of(mfa_client.post(reverse("cases:new"), {**form, "step": "preview",
                                                            "pasted": unique_targets(1)[0]}))
    mfa_client.post(reverse("cases:new"), {**form, "step": "submit", "token": token})
    case = Case.objects.get()
    assert (case.priority, case.threat_to_life) == (Priority.URGENT, True)


def test_platform_staff_cannot_open_cases(world, mfa_client):
    for persona in ("manager", "authority_auditor"):
        mfa_client.force_login(getattr(world, persona))
        assert mfa_client.get(reverse("cases:new")).status_code == 403
        assert preview(mfa_client, world, pasted=unique_targets(1)[0]).status_code == 403
    assert not Case.objects.exists()


# --- Uploads -----------------------------------------------------------------------------------------


BAD_CSV = (
    "url,note\n"
    "https://t.me/good_channel_one,first\n"
    "not a link at all,\n"
    "=cmd|' /C calc'!A0,evil\n"
    "https://t.me/good_channel_two,=HYPERLINK(\"http://evil.example\")\n"
    "ftp://files.example/x,\n"
    "https://t.me/good_channel_one,again\n"
)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_csv_with_malformed_rows_and_formulas_is_reported_by_line_and_saves_nothing(world, mfa_client):
    mfa_client.force_login(world.liaison)
    response = preview(mfa_client, world, upload=upload("list.csv", BAD_CSV.encode()))
    assert response.status_code == 200
    counts = counts_in_preview(response)
    assert counts["accepted"] == 2 and counts["rejected"] == 3 and counts["duplicates in the list"] == 1
    rejected = section(response.content, "rejected-rows")
    lines = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", rejected)]
    assert lines == [3, 4, 6]
    assert "spreadsheet formula" in rejected
    assert "cannot contain spaces" in rejected
    assert "Only web (http, https) and Telegram links" in rejected
    # The formula note is kept inert.
    accepted = section(response.content, "accepted-rows")
    assert "&#x27;=HYPERLINK(" in accepted
    assert not Case.objects.exists() and not ReportedItem.objects.exists()

    mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "draft", "token": token_of(response)})
    case = Case.objects.get()
    assert sorted(case.items.values_list("target", flat=True)) == ["https://t.me/good_channel_one",
                                                                   "https://t.me/good_channel_two"]
    assert case.items.get(target="https://t.me/good_channel_two").note.startswith("'=")
    assert not case.items.filter(target__startswith="=").exists()


@pytest.mark.parametrize("name, content, message", [
    ("payload.exe", b"MZ\x90\x00\x03" + b"\x00" * 200, "Upload the list as a CSV, a text file or an XLSX workbook."),
    ("list.xlsx", b"PK\x03\x04 this is not really a workbook", "The file could not be read."),
    ("list.csv", b"\x00\x01\x02binary\x00", "The file could not be read."),
])
def test_a_rejected_file_shows_an_error_and_changes_nothing(world, mfa_client, name, content, message):
    case = make_case(world, state=Status.DRAFT, targets=unique_targets(1))
    mfa_client.force_login(world.liaison)
    before = (Case.objects.count(), ReportedItem.objects.count(), AuditEvent.objects.count())
    response = preview(mfa_client, world, upload=upload(name, content))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'name="token"' not in response.content.decode()
    # The same on a case's "add items".
    response = mfa_client.post(reverse("cases:add_items", args=[case.reference]),
                               {"step": "preview", "upload": upload(name, content)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Case.objects.count(), ReportedItem.objects.count(), AuditEvent.objects.count()) == before


def test_xlsx_upload_previews_its_rows(world, mfa_client):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Daftar akun"])
    sheet.append(["No", "Link", "Keterangan"])
    for n, target in enumerate(unique_targets(3, "xlsx"), start=1):
        sheet.append([n, target, f"judi {n}"])
    sheet.append([4, "bukan tautan", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    mfa_client.force_login(world.liaison)
    response = preview(mfa_client, world, upload=upload("daftar.xlsx", buffer.getvalue()))
    counts = counts_in_preview(response)
    assert (counts["accepted"], counts["rejected"]) == (3, 1)
    assert re.findall(r"<tr><td>(\d+)</td>", section(response.content, "rejected-rows")) == ["6"]
    assert not ReportedItem.objects.exists()


def test_ten_thousand_rows_end_to_end(world, mfa_client):
    targets = unique_targets(10_000, "bulk")
    csv_bytes = ("url,note\n" + "\n".join(f"{t},row {n}" for n, t in enumerate(targets, start=2))).encode()
    mfa_client.force_login(world.liaison)
    started = time.monotonic()
    response = preview(mfa_client, world, upload=upload("big.csv", csv_bytes))
    assert response.status_code == 200
    assert counts_in_preview(response)["accepted"] == 10_000
    assert "and 9700 more accepted rows." in response.content.decode()
    assert not ReportedItem.objects.exists()
    response = mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "submit",
                                                      "token": token_of(response)})
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.status == Status.SUBMITTED
    assert case.items.count() == 10_000
    assert case.items.order_by("position").last().target == targets[-1]
    assert time.monotonic() - started < 60
    # The inbox still lists it, with its item count.
    mfa_client.force_login(world.manager)
    listing = mfa_client.get(reverse("cases:list")).content.decode()
    assert case.reference in listed_refs(listing)
    assert "10000" in listing


# --- Look-alike addresses (issue 11) ------------------------------------------------------------------

LOOK_ALIKE = "https://t.\u043c\u0435/kanal_resmi"  # Cyrillic "ме": not Telegram


def test_a_look_alike_host_is_flagged_in_the_preview_and_on_the_saved_item(world, mfa_client):
    mfa_client.force_login(world.liaison)
    response = preview(mfa_client, world, pasted=f"https://t.me/kanal_resmi\n{LOOK_ALIKE}")
    counts = counts_in_preview(response)
    assert counts["accepted"] == 2 and counts["duplicates in the list"] == 0
    assert counts["addresses to check"] == 1
    accepted = section(response.content, "accepted-rows")
    assert accepted.count('data-testid="target-warning"') == 1
    assert "Look-alike address" in accepted and "mixes letters of different alphabets" in accepted
    assert "Line 2" in section(response.content, "target-warnings")
    mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "draft", "token": token_of(response)})
    case = Case.objects.get()
    assert "t.\u043c\u0435" in case.items.get(target=LOOK_ALIKE).warning
    assert case.items.get(target="https://t.me/kanal_resmi").warning == ""
    page = mfa_client.get(case.get_absolute_url()).content.decode()
    assert page.count('data-testid="target-warning"') == 1
    assert "mixes letters of different alphabets" in section(page, "items-table")


def test_items_added_to_a_case_keep_their_warning(world, mfa_client):
    case = make_case(world, targets=["https://t.me/kanal_resmi"])
    mfa_client.force_login(world.liaison)
    response = mfa_client.post(reverse("cases:add_items", args=[case.reference]),
                               {"step": "preview", "pasted": LOOK_ALIKE})
    assert 'data-testid="target-warning"' in section(response.content, "accepted-rows")
    mfa_client.post(reverse("cases:add_items", args=[case.reference]),
                    {"step": "confirm", "token": token_of(response)})
    assert case.items.get(target=LOOK_ALIKE).warning


def test_a_long_list_added_to_a_case_counts_the_targets_it_already_has(world, mfa_client):
    """Past the kept statements' sizes (512 keys) the keys are looked up as one array; the count is the same."""
    held = unique_targets(3, "held")
    case = make_case(world, targets=held)
    mfa_client.force_login(world.liaison)
    pasted = "\n".join([held[0], held[2], *unique_targets(600, "long")])
    response = mfa_client.post(reverse("cases:add_items", args=[case.reference]),
                               {"step": "preview", "pasted": pasted})
    assert response.status_code == 200
    assert "2 targets are already in this case and will be skipped." in response.content.decode()
    mfa_client.post(reverse("cases:add_items", args=[case.reference]),
                    {"step": "confirm", "token": token_of(response)})
    assert case.items.count() == 603
    assert list(case.items.order_by("position").values_list("position", flat=True)) == list(range(1, 604))


def test_a_preview_stored_before_warnings_existed_still_saves(world, mfa_client):
    mfa_client.force_login(world.liaison)
    session = mfa_client.session
    session["intake:stored-earlier"] = [[1, "t.me/older_channel", "", "t.me/older_channel", "channel"]]
    session.save()
    mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "draft", "token": "stored-earlier"})
    item = Case.objects.get().items.get()
    assert (item.key, item.warning) == ("t.me/older_channel", "")


# --- Deconfliction -----------------------------------------------------------------------------------


def test_cross_case_duplicates_are_shown_to_those_who_may_know(world, mfa_client):
    shared = "https://t.me/shared_channel"
    commission_case = make_case(world, actor=world.other_liaison, targets=[shared], title="Commission report")
    own_earlier = make_case(world, actor=world.lead, targets=["https://t.me/own_channel"], title="Earlier report")

    # The ministry previews a list with both channels, spelled differently.
    mfa_client.force_login(world.liaison)
    response = preview(mfa_client, world, pasted="telegram.me/s/Shared_Channel\n@own_channel")
    page = response.content.decode()
    sightings = section(page, "sightings")
    assert f"also reported in {own_earlier.reference} by Ministry (test)" in sightings
    assert commission_case.reference not in page
    assert "Commission (test)" not in sightings
    mfa_client.post(reverse("cases:new"), {**case_form(world), "step": "submit", "token": token_of(response)})
    ministry_case = Case.objects.latest("id")

    # Platform staff see both ways.
    mfa_client.force_login(world.manager)
    page = mfa_client.get(ministry_case.get_absolute_url()).content.decode()
    assert f"also reported in {commission_case.reference} by Commission (test)" in page
    page = mfa_client.get(commission_case.get_absolute_url()).content.decode()
    assert f"also reported in {ministry_case.reference} by Ministry (test)" in page

    # Neither authority learns of the other's case, on the page or by search.
    mfa_client.force_login(world.other_liaison)
    page = mfa_client.get(commission_case.get_absolute_url()).content.decode()
    assert ministry_case.reference not in page and "Ministry (test)" not in page
    assert listed_refs(mfa_client.get(reverse("cases:list"), {"q": shared}).content) == {commission_case.reference}
    response = mfa_client.post(reverse("cases:add_items", args=[commission_case.reference]),
                               {"step": "preview", "pasted": "@own_channel\nt.me/shared_channel"})
    assert ministry_case.reference not in response.content.decode()
    assert own_earlier.reference not in response.content.decode()
    mfa_client.force_login(world.liaison)
    page = mfa_client.get(ministry_case.get_absolute_url()).content.decode()
    assert commission_case.reference not in page and "Commission (test)" not in page


def test_red_cases_are_never_revealed_by_deconfliction(world, mfa_client):
    secret = make_case(world, actor=world.other_liaison, tlp=TLP.RED, targets=["https://t.me/secret_channel"])
    case = make_case(world, targets=["https://t.me/secret_channel"])
    mfa_client.force_login(world.moderator)
    assert secret.reference not in mfa_client.get(case.get_absolute_url()).content.decode()


# --- Hostile input -------------------------------------------------------------------------------------


def test_hostile_text_is_escaped_everywhere_it_is_shown(world, mfa_client):
    case = make_case(world, title=f"Report {HOSTILE}", legal_basis=f"Law {HOSTILE_IMG}",
                     targets=["https://t.me/hostile_channel"], note=HOSTILE)
    acknowledge_case(case=case, actor=world.moderator, note=HOSTILE_IMG)
    request_information(case=case, actor=world.moderator, note=f"Which? {HOSTILE}")
    provide_information(case=case, actor=world.liaison, note=HOSTILE)
    decide_reason = f"Because {HOSTILE}"
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[case.items.get().pk],
                              outcome=Outcome.NO_ACTION_NOT_ILLEGAL, reason=decide_reason)
    resolve_case(case=case, actor=world.moderator, outcome_summary=HOSTILE)
    for persona in ("liaison", "manager"):
        mfa_client.force_login(getattr(world, persona))
        for url in (case.get_absolute_url(), reverse("cases:list") + "?status=",
                    reverse("cases:list") + "?status=&q=" + HOSTILE):
            page = mfa_client.get(url).content.decode()
            assert HOSTILE not in page, (persona, url)
            assert "onerror=" not in page.replace("onerror=&quot;", ""), (persona, url)
        listing = mfa_client.get(reverse("cases:list"), {"status": ""}).content.decode()
        assert case.reference in listed_refs(listing)
        assert "Report &lt;script&gt;alert(1)&lt;/script&gt;" in listing  # the row shows it, escaped
        page = mfa_client.get(case.get_absolute_url()).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page


def test_hostile_text_in_the_new_case_preview_is_escaped(world, mfa_client):
    mfa_client.force_login(world.liaison)
    response = preview(mfa_client, world, title=HOSTILE,
                       pasted=f"https://t.me/fine_channel\t{HOSTILE}\n{HOSTILE_IMG}")
    page = response.content.decode()
    assert HOSTILE not in page
    assert HOSTILE_IMG not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section(page, "accepted-rows")


# --- Large cases and long lists ----------------------------------------------------------------------------


def test_a_large_cases_items_are_filtered_by_outcome_and_searched_on_the_server(world, mfa_client):
    targets = unique_targets(150, "many")
    case = make_case(world, state=Status.IN_PROGRESS, targets=targets)
    items = list(case.items.order_by("position"))
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[i.pk for i in items[:120]],
                      outcome=Outcome.REMOVED)
    set_item_outcomes(actor=world.moderator, case=case, item_ids=[i.pk for i in items[120:123]],
                      outcome=Outcome.NO_ACTION_NOT_ILLEGAL, reason="Satire")
    mfa_client.force_login(world.liaison)
    url = case.get_absolute_url()

    page = mfa_client.get(url).content.decode()
    filters = section(page, "item-filters")
    assert "Pending" in filters and "27" in filters and "No action: not illegal" in filters

    declined = mfa_client.get(url, {"show": Outcome.NO_ACTION_NOT_ILLEGAL}).content.decode()
    assert declined.count('class="lx-target"') == 3
    assert "3 items match." in declined
    assert all(item.target in declined for item in items[120:123])

    pending = mfa_client.get(url, {"show": "pending"}).content.decode()
    assert pending.count('class="lx-target"') == 27

    found = mfa_client.get(url, {"item_q": items[77].target.split("/")[-1]}).content.decode()
    assert found.count('class="lx-target"') == 1 and items[77].target in found
    by_number = mfa_client.get(url, {"item_q": "#140"}).content.decode()
    assert items[139].target in by_number

    second = mfa_client.get(url, {"show": "removed", "items_page": "2"}).content.decode()
    assert second.count('class="lx-target"') == 20  # 120 removed, 100 a page
    assert "show=removed&amp;items_page=1" in second
    for hostile in ("%", "'", "99999999999999999999", "²", "<script>"):
        assert mfa_client.get(url, {"item_q": hostile, "items_page": hostile}).status_code == 200
    assert mfa_client.get(url, {"item_q": "\x00"}).status_code == 400  # liaison/input_policy.py


def test_the_inbox_total_is_capped_and_its_pages_still_lead_on(world, mfa_client, settings, monkeypatch):
    from cases.queries import inbox

    monkeypatch.setattr(inbox, "COUNT_CAP", 3)
    settings.LIAISON_CASES_PER_PAGE = 2
    for _ in range(5):
        make_case(world)
    mfa_client.force_login(world.manager)

    first = mfa_client.get(reverse("cases:list"), {"status": ""}).content.decode()
    assert "More than 3 cases" in section(first, "case-total")
    assert 'rel="next"' in first
    last = mfa_client.get(reverse("cases:list"), {"status": "", "page": "3"}).content.decode()
    assert len(listed_refs(last.encode())) == 1
    assert 'rel="next"' not in last and 'rel="prev"' in last


def test_a_page_past_the_cap_says_more_than_the_cap_without_counting_again(world, mfa_client, settings, monkeypatch):
    from cases.queries import inbox

    monkeypatch.setattr(inbox, "COUNT_CAP", 3)
    settings.LIAISON_CASES_PER_PAGE = 2
    for _ in range(6):
        make_case(world)
    mfa_client.force_login(world.manager)
    url = reverse("cases:list")

    first, second = (f"{url}?status=&page={n}" for n in (1, 2))
    counted, proved = queries_of(mfa_client, first), queries_of(mfa_client, second)
    page_one, page_two = (mfa_client.get(page).content.decode() for page in (first, second))
    # Page 2 ends at row 4 and has a next row: more than 3 cases, proved by the page itself.
    assert "More than 3 cases" in section(page_one, "case-total")
    assert "More than 3 cases" in section(page_two, "case-total")
    assert 'rel="next"' in page_two and len(listed_refs(page_two)) == 2
    assert proved == counted - 1


def test_the_inbox_counts_and_deadline_filters_follow_the_clock_on_every_request(world, mfa_client, monkeypatch):
    """The inbox's statements are built once per process (cases.queries.inbox._run_kept): each request still binds
    its own now(), so a case slides into 'Due soon' and then 'Breached' as time passes, in the badges and the lists."""
    case = make_case(world)
    started = timezone.now()
    Case.objects.filter(pk=case.pk).update(next_due_at=started + timedelta(hours=3))
    mfa_client.force_login(world.manager)
    url = reverse("cases:list")

    def seen(at) -> tuple[str, str, set[str], set[str]]:
        monkeypatch.setattr(timezone, "now", lambda: at)
        page = mfa_client.get(url).content.decode()
        soon = mfa_client.get(url, {"deadline": "due_soon", "status": "open"}).content
        breached = mfa_client.get(url, {"deadline": "breached", "status": "open"}).content
        return (re.sub(r"\D", "", section(page, "due-soon-filter")), re.sub(r"\D", "", section(page, "breached-filter")),
                listed_refs(soon), listed_refs(breached))

    for _ in range(2):  # the second time through kept statements
        assert seen(started) == ("0", "0", set(), set())
        assert seen(started + timedelta(hours=2)) == ("1", "0", {case.reference}, set())
        assert seen(started + timedelta(hours=4)) == ("1", "1", {case.reference}, {case.reference})
