"""The figures on a laptop (1280×800) in English and in Bahasa Indonesia, and on a phone (390×844): the dashboard of a
T&S manager and of an authority lead on the demo data, and the public transparency page; no sideways scroll (a wide
table scrolls inside its own focusable region), every table inside its card,
the charts drawn as named images, and no serious or critical axe-core finding. Screenshots in var/test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from stats.summary import refresh_case_figures

from .conftest import VIEWPORTS, log_in, run_outside_event_loop, save_screenshot, switch_language

pytestmark = [pytest.mark.e2e]

PEOPLE = {"manager": "manager@platform.example", "lead": "lead@ministry-id.example"}
LAPTOP = VIEWPORTS["laptop"]


def check_layout(page: Any, label: str, assert_fits_the_screen: Any, assert_accessible: Any) -> None:
    assert_fits_the_screen(page, label)
    spilled = page.evaluate("""() => [...document.querySelectorAll('.lx-card')]
        .filter(card => card.scrollWidth > card.clientWidth + 1)
        .map(card => `${card.querySelector('[data-testid]')?.dataset.testid}: ${card.scrollWidth} > ${card.clientWidth}`)""")
    assert spilled == [], f"{label}: a table or chart is wider than its card: {spilled}"
    charts = page.locator("svg[role=img]")
    assert charts.count() >= 2
    for index in range(charts.count()):
        name = charts.nth(index).evaluate(
            "svg => svg.getAttribute('aria-labelledby').split(' ').map(id => document.getElementById(id).textContent).join(' ')")
        assert name.strip(), f"{label}: chart {index} has no accessible name"
    assert_accessible(page, label)


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize("person", list(PEOPLE))
def test_the_dashboard_fits_a_laptop_in_both_languages(demo: None, live_server: Any, browser: Any, person: str,
                                                      language: str, assert_fits_the_screen: Any,
                                                      assert_accessible: Any) -> None:
    run_outside_event_loop(refresh_case_figures)
    context = browser.new_context(viewport=LAPTOP, locale="en-GB")
    page = context.new_page()
    try:
        log_in(page, live_server.url, PEOPLE[person])
        page.goto(f"{live_server.url}/dashboard/")
        switch_language(page, language)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_test_id("chart-month")).to_be_visible()
        expect(page.get_by_test_id("table-month").locator("tbody tr").first).to_be_visible()
        assert int(page.get_by_test_id("total-cases").inner_text().replace(",", "").replace(".", "")) > 0
        # The platform's people see the breakdown by authority and queue, an authority's people do not.
        assert (page.get_by_test_id("table-authority").count() == 1) == (person == "manager")
        save_screenshot(page, f"dashboard-{person}-{language}-{LAPTOP['width']}x{LAPTOP['height']}")
        check_layout(page, f"the dashboard of a {person} in {language}", assert_fits_the_screen, assert_accessible)
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_transparency_page_fits_a_laptop_in_both_languages(demo: None, live_server: Any, browser: Any,
                                                              language: str, assert_fits_the_screen: Any,
                                                              assert_accessible: Any) -> None:
    run_outside_event_loop(refresh_case_figures)
    context = browser.new_context(viewport=LAPTOP, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/transparency/")
        switch_language(page, language)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_test_id("chart-months")).to_be_visible()
        save_screenshot(page, f"transparency-{language}-{LAPTOP['width']}x{LAPTOP['height']}")
        check_layout(page, f"the transparency page in {language}", assert_fits_the_screen, assert_accessible)
    finally:
        context.close()


PHONE = VIEWPORTS["phone"]


@pytest.mark.parametrize("person", list(PEOPLE))
def test_the_dashboard_fits_a_phone(demo: None, live_server: Any, browser: Any, person: str,
                                    assert_fits_the_screen: Any, assert_accessible: Any) -> None:
    run_outside_event_loop(refresh_case_figures)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    try:
        log_in(page, live_server.url, PEOPLE[person])
        page.goto(f"{live_server.url}/dashboard/")
        expect(page.get_by_test_id("chart-month")).to_be_visible()
        expect(page.get_by_test_id("table-month").locator("tbody tr").first).to_be_visible()
        save_screenshot(page, f"dashboard-{person}-phone-{PHONE['width']}x{PHONE['height']}")
        check_layout(page, f"the dashboard of a {person} on a phone", assert_fits_the_screen, assert_accessible)
    finally:
        context.close()


def test_the_transparency_page_fits_a_phone(demo: None, live_server: Any, browser: Any,
                                            assert_fits_the_screen: Any, assert_accessible: Any) -> None:
    run_outside_event_loop(refresh_case_figures)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/transparency/")
        expect(page.get_by_test_id("chart-months")).to_be_visible()
        save_screenshot(page, f"transparency-phone-{PHONE['width']}x{PHONE['height']}")
        check_layout(page, "the transparency page on a phone", assert_fits_the_screen, assert_accessible)
    finally:
        context.close()
