"""The inbox as people see it on a laptop and on a phone: every column readable without a sideways scroll at
1280 px, a stacked card per case at 390 px, nothing that says nothing to the reader, and no serious or critical
accessibility finding. Screenshots land in var/test-artifacts/ for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from cases.models import Case

from .conftest import log_in, run_outside_event_loop

pytestmark = [pytest.mark.e2e]

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"
VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LONG_TITLE = ("Jaringan kanal propaganda yang menyebarkan seruan kekerasan terhadap aparat dan warga sipil di "
              "beberapa provinsi, termasuk tautan undangan grup tertutup")


def overflow(page: Any) -> dict[str, Any]:
    """How far the page and the case table reach past what the reader can see without scrolling sideways."""
    return page.evaluate("""() => {
        const root = document.documentElement;
        const table = document.querySelector('.lx-case-table');
        const card = table && table.closest('.lx-card');
        return {
            page: root.scrollWidth - root.clientWidth,
            table: table && card ? Math.round(table.getBoundingClientRect().right - card.getBoundingClientRect().right) : 0,
            cardScroll: card ? card.scrollWidth - card.clientWidth : 0,
        };
    }""")


def _lengthen_titles() -> None:
    for case in Case.objects.all()[:6]:
        Case.objects.filter(pk=case.pk).update(title=f"{LONG_TITLE} ({case.reference})")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("email", ["liaison@ministry-id.example", "moderator@platform.example",
                                   "manager@platform.example"])
def test_the_inbox_fits_a_laptop_and_a_phone(demo: None, live_server: Any, browser: Any, email: str,
                                             viewport: str, assert_accessible: Any) -> None:
    run_outside_event_loop(_lengthen_titles)
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
    page = context.new_page()
    try:
        log_in(page, live_server.url, email)
        page.goto(f"{live_server.url}/cases/?status=")  # every case, closed ones too
        table = page.locator(".lx-case-table")
        expect(table).to_be_visible()
        expect(table.locator("tbody tr").first).to_be_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"inbox-{email.split('@')[0]}-{viewport}.png"), full_page=True)

        reach = overflow(page)
        assert max(reach.values()) <= 0, (email, viewport, reach)
        # A liaison sees only their own ministry's cases: no authority column to repeat it.
        authority_cells = table.locator("td.lx-c-org").count()
        assert (authority_cells == 0) if email.startswith("liaison") else (authority_cells > 0), authority_cells
        # The title is readable: at least a few words a line, not a narrow column of single words.
        title = table.locator("td.lx-c-title").first
        assert title.bounding_box()["width"] >= 180, title.bounding_box()
        if viewport == "phone":
            # Stacked: each line says which column it is.
            label = title.locator("xpath=..").locator("td.lx-c-state").evaluate(
                "cell => getComputedStyle(cell, '::before').content")
            assert label.strip('"') == table.locator("thead th").nth(2).inner_text()
        assert_accessible(page, f"the inbox for {email} on a {viewport}")
    finally:
        context.close()
