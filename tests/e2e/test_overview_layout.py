"""The overview page `/` on a laptop (1280×800) and a phone (390×844), for a liaison and for a moderator with long
case titles: no sideways scroll, the attention table stacked into cards on the phone, the authority column only for
the platform, and no serious or critical axe-core finding. Screenshots land in var/test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from cases.choices import Status
from cases.models import Case

from .conftest import VIEWPORTS, log_in, run_outside_event_loop, save_screenshot

pytestmark = [pytest.mark.e2e]

PEOPLE = {"liaison": "liaison@ministry-id.example", "moderator": "moderator@platform.example"}
LONG_TITLE = ("Jaringan kanal propaganda yang menyebarkan seruan kekerasan terhadap aparat dan warga sipil di "
              "beberapa provinsi, termasuk tautan undangan grup tertutup dan arsip video")
UNBROKEN = "https://t.me/s/kanal_propaganda_dengan_nama_yang_sangat_panjang_tanpa_spasi_sama_sekali_2026"


def _lengthen_titles() -> None:
    """Real requests carry long titles, and now and then a pasted link with no space to break at."""
    for number, case in enumerate(Case.objects.exclude(status=Status.DRAFT).order_by("pk")):
        title = f"{LONG_TITLE} ({case.reference})" if number % 3 else f"{UNBROKEN} {case.reference}"
        Case.objects.filter(pk=case.pk).update(title=title)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("person", list(PEOPLE))
def test_the_overview_fits_a_laptop_and_a_phone(demo: None, live_server: Any, browser: Any, person: str,
                                                viewport: str, assert_fits_the_screen: Any,
                                                assert_accessible: Any) -> None:
    run_outside_event_loop(_lengthen_titles)
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
    page = context.new_page()
    try:
        log_in(page, live_server.url, PEOPLE[person])
        page.goto(f"{live_server.url}/")
        table = page.get_by_test_id("attention-table")
        expect(table.locator("tbody tr").first).to_be_visible()
        expect(table).to_contain_text(LONG_TITLE)
        save_screenshot(page, f"overview-{person}-{viewport}-{VIEWPORTS[viewport]['width']}x"
                              f"{VIEWPORTS[viewport]['height']}")

        assert_fits_the_screen(page, f"the overview of a {person} on a {viewport}")
        card = table.locator("xpath=ancestor::div[contains(@class, 'lx-card')][1]")
        assert card.evaluate("el => el.scrollWidth <= el.clientWidth"), "the table scrolls inside its card"
        # Every column is on screen: nothing is cut off behind a sideways scroll.
        right_edge = page.evaluate("() => document.documentElement.clientWidth")
        for cell in table.locator("tbody tr").first.locator("td").all():
            box = cell.bounding_box()
            assert box is not None and box["x"] + box["width"] <= right_edge + 0.5, (cell.get_attribute("class"), box)
        # Nothing spills out of its cell over the next one (a long badge, an unbroken link).
        spilled = table.evaluate("""t => [...t.querySelectorAll('td')]
            .filter(td => td.scrollWidth > td.clientWidth + 1)
            .map(td => `${td.className}: ${td.scrollWidth} > ${td.clientWidth} (${td.innerText.slice(0, 40)})`)""")
        assert spilled == [], spilled
        # The title reads as lines of words, not a narrow column of single words.
        title = table.locator("td.lx-c-title").first.bounding_box()
        assert title is not None and title["width"] >= 180, title
        # The authority column says something only to the platform.
        authority = table.locator("td.lx-c-org")
        assert (authority.count() > 0) if person == "moderator" else (authority.count() == 0), authority.count()
        if viewport == "phone":
            # Stacked: each line names its column.
            label = table.locator("td.lx-c-state").first.evaluate("cell => getComputedStyle(cell, '::before').content")
            assert label.strip('"') == table.locator("thead th").nth(2).text_content(), label
        assert_accessible(page, f"the overview of a {person} on a {viewport}")
    finally:
        context.close()
