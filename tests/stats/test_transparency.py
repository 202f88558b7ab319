"""The public transparency page and files on the hand-built data set: the figures, small counts suppressed (and the
count that would give a suppressed one away), nothing that names a case, a target, a person or an authority, and the
yearly report in the TCO Art. 7 and DSA Art. 15(1)(a) shapes."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization, User
from stats.summary import refresh_case_figures
from stats.transparency import Shown, public_figures, suppress, yearly_report
from tests.cases.conftest import make_case

from .conftest import Built

pytestmark = pytest.mark.django_db


def test_every_figure_without_suppression(settings, built: Built):
    settings.LIAISON_TRANSPARENCY_MIN_COUNT = 1
    report = public_figures(2026)
    year = report.year_breakdown
    assert year.requests == Shown(6)
    assert {k: v.value for k, v in year.by_country.items()} == {"ID": 4, "MY": 2}
    assert {k: v.value for k, v in year.by_category.items()} == {"terrorism": 2, "hate-speech": 3, "disinformation": 1}
    assert {k: v.value for k, v in report.year_items.items() if v.value} == {
        "removed": 7, "restricted": 1, "not_illegal": 1}
    assert (report.median_acknowledge_seconds, report.median_handling_seconds) == (5400.0, 36000.0)
    months = {m.month.month: m for m in report.months}
    assert (months[3].breakdown.requests.value, months[4].breakdown.requests.value) == (5, 1)
    assert {k: v.value for k, v in months[3].breakdown.by_country.items()} == {"ID": 3, "MY": 2}
    assert months[3].median_handling_seconds == 36000.0 and months[4].median_handling_seconds is None
    days = {d.isoformat(): b.requests.value for d, b in report.days if b.requests.value}
    assert days == {"2026-03-02": 3, "2026-03-03": 1, "2026-03-05": 1, "2026-04-01": 1}
    assert len(report.days) == 365


def test_small_counts_are_suppressed_by_default(client, built: Built):
    report = public_figures(2026)  # threshold 10: every count here is small
    assert report.year_breakdown.requests.public() == "<10"
    assert all(v.public() == "<10" for v in report.year_breakdown.by_country.values())
    assert report.year_items["removed"].public() == "<10" and report.year_items["duplicate"].public() == 0
    assert report.median_handling_seconds is None  # 3 resolved cases: too few for a median
    html = client.get(reverse("stats:transparency"), {"year": 2026, "month": 3}).content.decode()
    assert "&lt;10" in html
    for testid in ("year-requests", "median-handling"):
        assert f'data-testid="{testid}">' in html
    assert 'data-testid="year-requests">&lt;10<' in html


def test_a_count_a_total_would_give_away_is_suppressed_too(settings, built: Built):
    settings.LIAISON_TRANSPARENCY_MIN_COUNT = 3
    assert suppress({"a": 40, "b": 2, "c": 12}) == {"a": Shown(40), "b": Shown(2, True), "c": Shown(12, True)}
    assert suppress({"a": 40, "b": 2, "c": 1}) == {"a": Shown(40), "b": Shown(2, True), "c": Shown(1, True)}
    assert suppress({"a": 40, "b": 0}) == {"a": Shown(40), "b": Shown(0)}
    assert suppress({"a": 40, "b": 2}, total_published=False) == {"a": Shown(40), "b": Shown(2, True)}
    report = public_figures(2026)
    # ID 4 and MY 2 of a published 6: MY alone would be 6 − 4.
    assert report.year_breakdown.requests == Shown(6)
    assert report.year_breakdown.by_country == {"ID": Shown(4, True), "MY": Shown(2, True)}
    # March 5 and April 1 of the year's 6: April alone would be 6 − 5.
    months = {m.month.month: m.breakdown.requests for m in report.months}
    assert (months[3], months[4]) == (Shown(5, True), Shown(1, True))
    assert report.median_handling_seconds == 36000.0  # 3 resolved cases: enough at this threshold


def identifying(world, built: Built) -> list[str]:
    values = []
    for case in built.cases.values():
        values += [case.reference, case.title]
        values += list(case.items.values_list("target", flat=True)) + list(case.items.values_list("key", flat=True))
    for user in User.objects.all():
        values += [user.email, user.full_name]
    values += list(Organization.objects.values_list("name", flat=True))
    values += ["figures_a1", "t.me/"]
    return [v for v in values if v]


def test_the_page_and_files_name_no_case_target_person_or_authority(client, settings, world, built: Built):
    settings.LIAISON_TRANSPARENCY_MIN_COUNT = 1  # every figure shown: the worst case for a leak
    client.logout()
    responses = {
        "page": client.get(reverse("stats:transparency"), {"year": 2026, "month": 3}),
        "csv": client.get(reverse("stats:transparency_csv"), {"year": 2026}),
        "json": client.get(reverse("stats:transparency_json"), {"year": 2026}),
    }
    for name, response in responses.items():
        assert response.status_code == 200, name
        text = response.content.decode()
        for value in identifying(world, built):
            assert value not in text, (name, value)
    rows = list(csv.reader(io.StringIO(responses["csv"].content.decode())))
    assert rows[0] == ["period", "date", "measure", "breakdown", "key", "value"]
    assert ["year", "2026", "requests", "country", "ID", "4"] in rows
    assert ["month", "2026-03", "items", "outcome", "removed", "7"] in rows
    assert ["day", "2026-03-02", "requests", "", "", "3"] in rows
    payload = json.loads(responses["json"].content)
    assert payload["year_totals"]["requests_by_category"] == {"disinformation": 1, "hate-speech": 3, "terrorism": 2}
    assert payload["year_totals"]["median_handling_time_hours"] == 10.0
    assert responses["csv"]["Content-Type"].startswith("text/csv")


def test_the_page_needs_no_login_and_works_in_indonesian(client, built: Built):
    response = client.get(reverse("stats:transparency"), {"year": 2026}, HTTP_ACCEPT_LANGUAGE="id")
    assert response.status_code == 200
    assert '<html lang="id"' in response.content.decode()


def test_the_yearly_report_in_the_tco_and_dsa_shapes(settings, tmp_path, world, built: Built):
    settings.LIAISON_TRANSPARENCY_MIN_COUNT = 1
    report = yearly_report(2026)
    tco = report["tco_regulation_2021_784_article_7"]["c_items_removed_or_access_disabled"]
    assert tco == {"removal_orders_received": 2, "items_removed": 6, "items_access_disabled": 1,
                   "removal_orders_not_acted_upon": 0,
                   "grounds_items_not_acted_upon": {"already_removed": 0, "duplicate": 0,
                                                    "insufficient_information": 0, "not_found": 0,
                                                    "not_illegal": 0}}
    orders = report["dsa_article_15_1_a"]["orders_to_act_against_illegal_content_article_9"]
    assert orders["total"] == 6 and orders["by_member_state"] == {"ID": 4, "MY": 2}
    assert orders["by_member_state_and_type_of_illegal_content"]["ID/hate-speech"] == 2
    assert (orders["median_time_to_inform_of_receipt_hours"], orders["median_time_to_give_effect_hours"]) == (1.5, 10.0)
    assert report["dsa_article_15_1_a"]["orders_to_provide_information_article_10"]["total"] == 0

    call_command("transparency_report", "--year", "2026", "--output", str(tmp_path), stdout=io.StringIO())
    written = json.loads((tmp_path / "transparency-2026.json").read_text())
    assert written["tco_regulation_2021_784_article_7"]["c_items_removed_or_access_disabled"] == tco
    lines = list(csv.reader((tmp_path / "transparency-2026.csv").open()))
    assert lines[0] == ["section", "field", "key", "value"]
    assert ["dsa_article_15_1_a", "orders_to_act_against_illegal_content_article_9", "member_state.ID", "4"] in lines
    text = (tmp_path / "transparency-2026.json").read_text() + (tmp_path / "transparency-2026.csv").read_text()
    for value in identifying(world, built):
        assert value not in text, value


def test_the_yearly_report_suppresses_small_counts(tmp_path, built: Built):
    report = yearly_report(2026)
    assert report["tco_regulation_2021_784_article_7"]["c_items_removed_or_access_disabled"][
        "items_removed"] == "<10"
    assert report["dsa_article_15_1_a"]["orders_to_act_against_illegal_content_article_9"][
        "median_time_to_give_effect_hours"] is None


def test_the_public_figures_cost_the_same_queries_for_few_or_many_cases(world, built: Built, clock):
    with CaptureQueriesContext(connection) as few:
        public_figures(2026)
    for _ in range(5):
        make_case(world, state="resolved", category="fraud")
    refresh_case_figures()
    with CaptureQueriesContext(connection) as many:
        report = public_figures(2026)
    assert report.year_breakdown.requests.value == 11
    assert len(many) == len(few) <= 12


def test_a_countrys_months_cannot_give_away_a_suppressed_month(settings):
    from stats.transparency import protect_grid

    settings.LIAISON_TRANSPARENCY_MIN_COUNT = 10
    # ID: January 50, February 3 (suppressed); the year's ID total (53) is published, so January goes too; MY's
    # February 40 then stands alone in February beside the hidden ID count, and is hidden as well.
    months = [{"ID": Shown(50), "MY": Shown(20)}, {"ID": Shown(3, True), "MY": Shown(40)}]
    protect_grid(months)
    assert months[0]["ID"].suppressed and months[1]["ID"].suppressed
    assert months[1]["MY"].suppressed
    hidden_per_line = [sum(row[k].suppressed for row in months) for k in ("ID", "MY")] + \
        [sum(v.suppressed for v in row.values()) for row in months]
    assert all(n != 1 for n in hidden_per_line)
