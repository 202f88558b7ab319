"""A request from intake to outcome: the liaison opens a case, the moderator of its queue works it, the liaison
reads the result."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from cases.models import Case

pytestmark = [pytest.mark.e2e]

LIAISON = "liaison@ministry-id.example"
MODERATOR = "moderator@platform.example"
TITLE = "Saluran penjualan senjata ilegal"
CHANNELS = [
    "https://t.me/senjata_rakitan_murah",
    "https://t.me/s/jual_amunisi_id",
    "https://t.me/pasar_gelap_senpi",
    "https://telegram.me/airsoft_ilegal_jkt",
    "https://t.me/bengkel_senjata_api/77",
]


def test_liaison_submits_moderator_removes_liaison_sees_outcome(demo: None, live_server: Any, sign_in: Any,
                                                                 assert_accessible: Any) -> None:
    liaison = sign_in(LIAISON, language="en")
    liaison.goto(f"{live_server.url}/cases/")
    expect(liaison.get_by_role("heading", level=1)).to_have_text("Cases")
    assert_accessible(liaison, "the case list of a liaison")

    liaison.get_by_role("link", name="New case").click()
    expect(liaison).to_have_url(f"{live_server.url}/cases/new/")
    assert_accessible(liaison, "the new-case page")
    liaison.get_by_label("Title").fill(TITLE)
    liaison.get_by_label("Category").select_option(label="Terrorism and violent extremism")
    liaison.get_by_label("Legal basis").fill("Undang-Undang No. 1 Tahun 2024 tentang ITE")
    liaison.get_by_label("Paste targets").fill("\n".join(CHANNELS))
    liaison.get_by_test_id("preview").click()

    expect(liaison.get_by_role("heading", name="Preview: nothing is saved yet")).to_be_visible()
    expect(liaison.get_by_test_id("accepted-rows").locator("tbody tr")).to_have_count(5)
    for channel in CHANNELS:
        expect(liaison.get_by_test_id("accepted-rows")).to_contain_text(re.sub(r"^https://", "", channel))
    expect(liaison.get_by_test_id("preview-counts")).to_contain_text("5 accepted")
    expect(liaison.get_by_test_id("rejected-rows")).to_have_count(0)
    assert not Case.objects.filter(title=TITLE).exists()
    assert_accessible(liaison, "the new-case preview")

    liaison.get_by_test_id("confirm-submit").click()
    expect(liaison.locator("main .lx-status").first).to_have_text("Submitted")
    reference = liaison.get_by_test_id("reference").inner_text().strip()
    assert re.fullmatch(r"ID-\d{4}-\d+", reference), reference
    expect(liaison.get_by_role("alert")).to_contain_text(f"Case {reference} was submitted")
    expect(liaison.get_by_test_id("items-table").locator("tbody tr")).to_have_count(5)
    assert_accessible(liaison, "the case page of a liaison")
    liaison.context.close()

    # The moderator of the Indonesian queue finds it in the queue and works it.
    moderator = sign_in(MODERATOR, language="en")
    moderator.goto(f"{live_server.url}/cases/")
    row = moderator.locator("tbody tr", has=moderator.get_by_role("link", name=reference, exact=True))
    expect(row).to_contain_text(TITLE)
    expect(row.locator(".lx-status")).to_have_text("Submitted")
    assert_accessible(moderator, "the queue of a moderator")
    row.get_by_role("link", name=reference, exact=True).click()
    expect(moderator.get_by_test_id("reference")).to_have_text(reference)

    moderator.get_by_test_id("do-acknowledge").click()
    expect(moderator.locator("main .lx-status").first).to_have_text("In progress")
    expect(moderator.get_by_test_id("acknowledged-at")).not_to_have_text("—")
    assert_accessible(moderator, "the case page of a moderator")

    moderator.get_by_label("Select all items").check()
    expect(moderator.locator(".lx-item-check:checked")).to_have_count(5)
    moderator.get_by_label("Outcome for the selected items").select_option("removed")
    moderator.get_by_test_id("apply-outcome").click()
    expect(moderator.get_by_role("alert")).to_contain_text("Outcome recorded for 5 item(s).")
    expect(moderator.get_by_test_id("decided-count")).to_have_text("5 of 5 decided")

    moderator.get_by_test_id("do-resolve").click()
    expect(moderator.locator("main .lx-status").first).to_have_text("Resolved")
    moderator.context.close()

    # The liaison signs in again, in her own language, and reads the outcome of every item.
    liaison = sign_in(LIAISON)
    expect(liaison.locator("html")).to_have_attribute("lang", "id")
    liaison.goto(f"{live_server.url}/cases/{reference}/")
    expect(liaison.locator("main .lx-status").first).to_have_text("Diselesaikan")
    for position in range(1, 6):
        expect(liaison.get_by_test_id(f"outcome-{position}")).to_contain_text("Dihapus")
    expect(liaison.get_by_test_id("items-table")).not_to_contain_text("Belum diputuskan")
