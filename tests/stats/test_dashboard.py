"""The dashboard page: by role, the period picker, charts with their tables, and what each reader may not see."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from stats.summary import refresh_case_figures
from tests.cases.conftest import make_case, section

from .conftest import Built

pytestmark = pytest.mark.django_db

MARCH_APRIL = {"period": "custom", "from": "2026-03-01", "to": "2026-04-30"}


def page(client, person, **query) -> str:
    client.force_login(person)
    response = client.get(reverse("stats:dashboard"), {**MARCH_APRIL, **query})
    assert response.status_code == 200
    return response.content.decode()


def stat(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert match, testid
    return match.group(1).strip()


def test_the_platform_dashboard_shows_the_hand_computed_figures(mfa_client, world, built: Built):
    html = page(mfa_client, world.manager)
    assert (stat(html, "total-cases"), stat(html, "total-items")) == ("6", "13")
    assert (stat(html, "total-ack-rate"), stat(html, "total-resolve-rate")) == ("50.0 %", "66.7 %")
    # 5,400 s and 14,760 s to acknowledge; 36,000 s and 64,800 s to resolve.
    assert (stat(html, "ack-median"), stat(html, "ack-p90")) == ("1 h 30 min", "4 h 6 min")
    assert (stat(html, "resolve-median"), stat(html, "resolve-p90")) == ("10 h 0 min", "18 h 0 min")
    assert (stat(html, "open-total"), stat(html, "open-due-soon"), stat(html, "open-breached")) == ("2", "2", "1")
    authorities = section(html, "table-authority")
    assert "Ministry (test)" in authorities and "Commission (test)" in authorities
    assert 'data-testid="table-queue"' in html


def test_an_authority_lead_sees_the_platforms_figures_for_the_authority(mfa_client, world, built: Built):
    lead = page(mfa_client, world.lead)
    platform = page(mfa_client, world.manager, authority=str(world.ministry.pk))
    for testid in ("total-cases", "total-items", "total-ack-rate", "total-resolve-rate", "ack-median", "ack-p90",
                   "resolve-median", "resolve-p90", "open-total", "open-due-soon", "open-breached"):
        assert stat(lead, testid) == stat(platform, testid), testid
    assert (stat(lead, "total-cases"), stat(lead, "total-ack-rate"), stat(lead, "total-resolve-rate")) == (
        "4", "66.7 %", "100.0 %")
    assert section(lead, "table-month") == section(platform, "table-month")
    # No authority column, no queue column, no other authority's name anywhere.
    assert 'data-testid="table-authority"' not in lead and 'data-testid="table-queue"' not in lead
    assert "Commission (test)" not in lead


def test_an_authority_cannot_ask_for_another_authority(mfa_client, world, built: Built):
    html = page(mfa_client, world.other_lead, authority=str(world.ministry.pk))
    assert stat(html, "total-cases") == "2"  # its own, the parameter ignored
    assert "Ministry (test)" not in html


def test_every_chart_is_an_image_with_a_name_and_a_table_with_a_caption(mfa_client, world, built: Built):
    html = page(mfa_client, world.manager)
    charts = re.findall(r'<svg [^>]*role="img" aria-labelledby="([^"]+)"', html)
    assert len(charts) == 5  # outcomes, authority, month, category, queue
    for labelled_by in charts:
        for element_id in labelled_by.split():
            assert f'id="{element_id}"' in html
    assert html.count("<caption") >= len(charts)
    outcomes = section(html, "outcomes-table")
    assert "Removed" in outcomes and ">7<" in outcomes
    assert "<script" not in section(html, "chart-outcomes")


def test_the_period_picker_keeps_the_choice_and_reports_a_bad_one(mfa_client, world, built: Built):
    html = page(mfa_client, world.manager, **{"from": "2026-04-30", "to": "2026-03-01"})
    assert 'role="alert"' in html
    html = page(mfa_client, world.manager, period="custom", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert stat(html, "total-cases") == "5"
    assert 'value="2026-03-01"' in html and 'value="2026-03-31"' in html


def test_the_navigation_links_the_dashboard_for_those_who_may_see_it(mfa_client, world):
    for person in (world.liaison, world.lead, world.moderator, world.manager, world.legal):
        mfa_client.force_login(person)
        assert 'data-testid="nav-dashboard"' in mfa_client.get("/").content.decode()


def test_the_dashboard_needs_a_login(client, world):
    response = client.get(reverse("stats:dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_page_costs_the_same_queries_for_few_or_many_cases(mfa_client, world, built: Built):
    mfa_client.force_login(world.manager)
    url = reverse("stats:dashboard")
    mfa_client.get(url, MARCH_APRIL)
    cache.clear()  # the figures computed, not read from the cache
    with CaptureQueriesContext(connection) as few:
        mfa_client.get(url, MARCH_APRIL)
    for _ in range(6):
        make_case(world, state="resolved")
    refresh_case_figures()
    cache.clear()  # as above (the session is read again from the database both times)
    with CaptureQueriesContext(connection) as many:
        mfa_client.get(url, MARCH_APRIL)
    assert len(many) == len(few)
