"""The case page as a work surface for a 300-link case: the liaison finds the declined items in two clicks, the
moderator decides every pending item across pages from the sticky bulk bar, the platform's question stands out with
its answer box under it, and the page fits a 1280 px screen and a 390 px phone without a sideways scroll."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO
from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import Organization, User
from accounts.roles import OrgKind
from cases.actions.cases import acknowledge_case, create_case, submit_case
from cases.actions.evidence import add_evidence
from cases.actions.items import set_item_outcomes
from cases.choices import Outcome, Status
from cases.item_lists import AcceptedRow
from cases.link_identity import normalise_target
from cases.models import Case, Category

from .conftest import VIEWPORTS, save_screenshot

pytestmark = [pytest.mark.e2e]

LIAISON = "liaison@ministry-id.example"
MODERATOR = "moderator@platform.example"
DECLINED_AT = (17, 154, 288)  # positions of the three items the platform declined
PENDING = 47


def png(colour: tuple[int, int, int]) -> bytes:
    raw = b"".join(b"\x00" + bytes(colour) * 32 for _ in range(20))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 20, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def three_hundred_link_case() -> Case:
    """A case as a ministry sends them: 300 channel links, worked by the platform: 250 removed, 3 declined, 47 still
    pending; four screenshots with long names."""
    liaison = User.objects.get(email=LIAISON)
    moderator = User.objects.get(email=MODERATOR)
    rows = []
    for line in range(1, 301):
        # Channels, their messages, and now and then a long address on a video site (it must wrap, not widen).
        target = (f"https://t.me/s/kanal_propaganda{line:03d}" if line % 3 else
                  f"https://t.me/kanal_propaganda{line:03d}/{line * 1013}" if line % 10 else
                  f"https://video.example.org/channel/propaganda-{line}/videos/{'segmen-panjang-' * 6}{line}?t=42")
        normalised = normalise_target(target)
        rows.append(AcceptedRow(line=line, target=normalised.target, note="", key=normalised.key,
                                kind=normalised.kind, warning=normalised.warning))
    case = create_case(actor=liaison, title="Jaringan kanal propaganda: 300 tautan",
                       category=Category.objects.get(slug="terrorism"),
                       responding_org=Organization.objects.get(kind=OrgKind.PLATFORM),
                       legal_basis="UU No. 5 Tahun 2018", language="id", items=rows)
    case = submit_case(case=case, actor=liaison)
    case = acknowledge_case(case=case, actor=moderator)
    items = {item.position: item.pk for item in case.items.all()}
    set_item_outcomes(actor=moderator, case=case, outcome=Outcome.NO_ACTION_NOT_ILLEGAL,
                      reason="Berita, bukan propaganda", item_ids=[items[p] for p in DECLINED_AT])
    decided = [pk for position, pk in sorted(items.items()) if position not in DECLINED_AT][:250]
    set_item_outcomes(actor=moderator, case=case, outcome=Outcome.REMOVED, item_ids=decided)
    for n, colour in enumerate([(200, 40, 40), (40, 120, 200), (40, 160, 60), (90, 90, 90)], start=1):
        add_evidence(actor=liaison, case=case, source=BytesIO(png(colour)),
                     original_name=f"tangkapan-layar-kanal-propaganda-bagian-{n:02d}-dengan-nama-berkas-panjang.png")
    assert case.items.filter(outcome=Outcome.PENDING).count() == PENDING
    return case


@pytest.fixture
def big_case(demo: None) -> Case:
    return three_hundred_link_case()


# Both tables inside their cards, and no cell of theirs reaching out of it (a table squeezed into its card can still
# push a cell past the edge).
TABLES_OUTSIDE_THEIR_CARDS = """() => {
  const found = [];
  for (const id of ["items-table", "evidence-table"]) {
    const table = document.querySelector(`[data-testid="${id}"]`);
    if (!table) { found.push(`${id}: missing`); continue; }
    const card = table.closest("section").getBoundingClientRect();
    const own = table.getBoundingClientRect();
    if (own.left < card.left - 0.5 || own.right > card.right + 0.5) {
      found.push(`${id}: ${own.left}..${own.right} outside its card ${card.left}..${card.right}`);
    }
    for (const cell of table.querySelectorAll("th, td")) {
      const box = cell.getBoundingClientRect();
      if (box.width && (box.right > card.right + 0.5 || box.left < card.left - 0.5)) {
        found.push(`${id}: a cell reaches ${box.left}..${box.right}`); break;
      }
    }
  }
  return found;
}"""


def check_layout(page: Any, assert_fits_the_screen: Any, assert_accessible: Any, label: str) -> None:
    """At 1280×800 and 390×844: no sideways scroll, both tables inside their cards, a screenshot kept, axe-core."""
    for name, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.wait_for_function(f"() => document.documentElement.clientWidth <= {size['width']}")
        where = f"the 300-item case page of a {label} at {size['width']}×{size['height']}"
        assert_fits_the_screen(page, where)
        assert page.evaluate(TABLES_OUTSIDE_THEIR_CARDS) == [], where
        save_screenshot(page, f"case-page-300-{label}-{name}")
        assert_accessible(page, where)


def test_the_liaison_finds_the_three_declined_items_in_two_clicks(big_case: Case, live_server: Any, sign_in: Any,
                                                                   assert_fits_the_screen: Any,
                                                                   assert_accessible: Any) -> None:
    liaison = sign_in(LIAISON, language="en")
    liaison.goto(f"{live_server.url}/cases/")
    liaison.get_by_role("link", name=big_case.reference, exact=True).click()  # one
    expect(liaison.get_by_test_id("decided-count")).to_have_text("253 of 300 decided")
    filters = liaison.get_by_test_id("item-filters")
    expect(filters.get_by_test_id("show-pending")).to_contain_text(str(PENDING))
    filters.get_by_role("link", name="No action: not illegal").click()  # two

    rows = liaison.get_by_test_id("items-table").locator("tbody tr")
    expect(rows).to_have_count(3)
    for position in DECLINED_AT:
        expect(liaison.get_by_test_id(f"outcome-{position}")).to_contain_text("No action: not illegal")
        expect(liaison.get_by_test_id(f"outcome-{position}")).to_contain_text("Berita, bukan propaganda")
    expect(liaison.get_by_test_id("items-shown")).to_contain_text("3 items match.")
    expect(filters.get_by_role("link", name="No action: not illegal")).to_have_attribute("aria-current", "true")

    # The whole list, for the layout checks: 100 rows a page, three pages.
    liaison.get_by_test_id("show-all").click()
    expect(rows).to_have_count(100)
    check_layout(liaison, assert_fits_the_screen, assert_accessible, "liaison")


def test_the_moderator_decides_every_pending_item_across_pages_from_the_bulk_bar(
        big_case: Case, live_server: Any, sign_in: Any, assert_fits_the_screen: Any, assert_accessible: Any) -> None:
    moderator = sign_in(MODERATOR, language="en")
    moderator.goto(f"{live_server.url}/cases/{big_case.reference}/#items")
    check_layout(moderator, assert_fits_the_screen, assert_accessible, "moderator")
    moderator.set_viewport_size({"width": 1280, "height": 800})

    moderator.get_by_test_id("show-pending").click()
    moderator.get_by_test_id("per-page-25").click()
    rows = moderator.get_by_test_id("items-table").locator("tbody tr")
    expect(rows).to_have_count(25)
    expect(moderator.get_by_test_id("items-shown")).to_contain_text("Showing 1–25 of 47.")
    bar = moderator.get_by_test_id("bulk-bar")
    expect(bar).to_be_in_viewport()  # sticky at the bottom of the screen, with 25 rows above it

    # The keyboard: Space ticks, the arrows move, Shift+Space ticks the range from the last box.
    boxes = moderator.locator(".lx-item-check")
    boxes.first.focus()
    moderator.keyboard.press("Space")
    for _ in range(3):
        moderator.keyboard.press("ArrowDown")
    moderator.keyboard.press("Shift+Space")
    expect(moderator.locator(".lx-item-check:checked")).to_have_count(4)
    expect(bar.locator("[data-ticked-count]")).to_have_text("4")

    # Every row of the page, then every pending item of the case on both pages.
    moderator.get_by_label("Select all items on this page").check()
    expect(bar.locator("[data-ticked-count]")).to_have_text("25")
    bar.get_by_role("button", name="Select all 47 matching items, on every page").click()
    expect(bar.get_by_label("All 47 items matching this filter")).to_be_checked()
    bar.get_by_label("Outcome for the selected items").select_option("removed")
    bar.get_by_test_id("apply-outcome").click()

    expect(moderator.get_by_role("alert")).to_contain_text("Outcome recorded for 47 item(s).")
    expect(moderator.get_by_test_id("decided-count")).to_have_text("300 of 300 decided")
    expect(moderator.get_by_test_id("items-table")).to_contain_text("No item matches.")
    assert not big_case.items.filter(outcome=Outcome.PENDING).exists()


def test_the_platforms_question_stands_out_with_the_answer_box_under_it(big_case: Case, live_server: Any,
                                                                        sign_in: Any, assert_accessible: Any) -> None:
    moderator = sign_in(MODERATOR, language="en")
    moderator.goto(f"{live_server.url}/cases/{big_case.reference}/")
    moderator.get_by_text("Request information…").click()
    moderator.get_by_label("Your question to the requesting authority (required)").fill(
        "Which of the 47 pending channels were still active on 1 December?")
    moderator.get_by_test_id("do-request_information").click()
    expect(moderator.locator("main .lx-status").first).to_have_text("Awaiting information")
    expect(moderator.get_by_test_id("information-request")).to_contain_text("Waiting for the requesting authority")
    moderator.context.close()

    liaison = sign_in(LIAISON, language="en")
    liaison.goto(f"{live_server.url}/cases/{big_case.reference}/")
    card = liaison.get_by_test_id("information-request")
    expect(card.get_by_role("heading")).to_have_text("The platform asks for information")
    expect(card.get_by_test_id("question")).to_have_text(
        "Which of the 47 pending channels were still active on 1 December?")
    # The answer box sits under the question, its button under the box; no other form is in between.
    assert card.locator("textarea").count() == 1
    assert_accessible(liaison, "the case page with an open question")
    card.get_by_label("Your answer").fill("All 47 were active; screenshots are attached as evidence.")
    card.get_by_test_id("do-provide_information").click()
    expect(liaison.locator("main .lx-status").first).to_have_text("In progress")
    answered = liaison.get_by_test_id("information-request")
    expect(answered).to_contain_text("Information provided")
    expect(answered.get_by_test_id("answer")).to_have_text("All 47 were active; screenshots are attached as evidence.")
    assert Case.objects.get(pk=big_case.pk).status == Status.IN_PROGRESS
