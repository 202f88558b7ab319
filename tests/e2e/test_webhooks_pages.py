"""The webhooks pages as an authority lead uses them, on a laptop and on a phone: adding an endpoint shows its
secret once, a delivery to a real receiver on loopback is listed with its status and response, and nothing
scrolls sideways or fails axe. Screenshots land in var/test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import User
from cases.case_events import Announcement, CaseEvent
from cases.models import Case
from tests.webhooks.conftest import Receiver, receiver  # noqa: F401  (the loopback receiver fixture)
from webhooks.actions import record_events

from .conftest import log_in, run_outside_event_loop, save_screenshot

pytestmark = [pytest.mark.e2e]

VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LEAD = "lead@ministry-id.example"


def _announce_a_case_of_the_lead() -> str:
    lead = User.objects.get(email=LEAD)
    case = Case.objects.filter(requesting_org=lead.membership.organization, tlp__in=["amber", "green", "clear"]
                               ).exclude(status="draft").order_by("id").first()
    assert case is not None
    record_events([Announcement(case=case, event=CaseEvent.SUBMITTED,
                                data={"from": "draft", "to": "submitted", "note": ""})])
    return case.reference


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_lead_adds_an_endpoint_and_reads_its_deliveries(
        demo: None, live_server: Any, browser: Any, viewport: str, receiver: Receiver,  # noqa: F811
        assert_accessible: Any, assert_fits_the_screen: Any) -> None:
    receiver.reply = '{"received": true, "note": "' + "long answer " * 40 + '"}'
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")
    page = context.new_page()
    try:
        log_in(page, live_server.url, LEAD)
        page.goto(f"{live_server.url}/organisation/")
        page.get_by_test_id("webhooks-link").click()
        expect(page.get_by_test_id("add-endpoint")).to_be_visible()
        assert_fits_the_screen(page, f"the webhooks page on a {viewport}")
        assert_accessible(page, f"the webhooks page on a {viewport}")

        # By name, not label: the lead reads the portal in Bahasa Indonesia.
        page.locator("input[name=url]").fill(f"{receiver.url}?viewport={viewport}")
        page.locator("input[name=description]").fill("Ministry case system")
        page.locator("input[name=events][value='case.submitted']").check()
        page.locator("input[name=events][value='case.resolved']").check()
        page.get_by_test_id("add-endpoint").click()
        secret = page.get_by_test_id("signing-secret")
        assert secret.input_value().startswith("whsec_")
        assert_fits_the_screen(page, f"the secret page on a {viewport}")
        assert_accessible(page, f"the secret page on a {viewport}")
        save_screenshot(page, f"webhooks-secret-{viewport}")

        reference = run_outside_event_loop(_announce_a_case_of_the_lead)
        page.get_by_test_id("secret-copied").click()
        row = page.get_by_test_id("delivery-row").first
        expect(row).to_contain_text(reference)
        expect(row.get_by_test_id("delivery-status")).to_have_attribute("data-status", "delivered")
        expect(row.get_by_test_id("response-status")).to_have_text("200")
        assert "whsec_" not in page.content()
        assert_fits_the_screen(page, f"the endpoint page on a {viewport}")
        assert_accessible(page, f"the endpoint page on a {viewport}")
        save_screenshot(page, f"webhooks-endpoint-{viewport}")
        assert len(receiver.requests) == 1
    finally:
        context.close()
