"""The public figures: requests received by country and category, items removed, restricted and declined by reason,
median handling time, by month and by day; and the yearly figures in the shapes of the EU terrorist-content
regulation (Art. 7) and the DSA transparency templates (Art. 15(1)(a)).

Nothing here names a case, a target, a person or an organisation: only countries, categories, outcomes, days and
counts. Every count from 1 to LIAISON_TRANSPARENCY_MIN_COUNT − 1 is suppressed ("<10"), and where a published total
would give one suppressed count away, the next smallest count of the same breakdown is suppressed with it. A median
over fewer cases than the threshold is not published. All from grouped queries over the figures' summary.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.choices import Outcome, RequestType
from cases.models import Category

from . import percentiles, presentation, summary
from .models import CaseFigures
from .summary import ITEM_FIELDS

ACTED = {"removed": Outcome.REMOVED, "restricted": Outcome.RESTRICTED}
DECLINED = {"not_illegal": Outcome.NO_ACTION_NOT_ILLEGAL, "insufficient_information": Outcome.NO_ACTION_INSUFFICIENT,
            "not_found": Outcome.NO_ACTION_NOT_FOUND, "already_removed": Outcome.NO_ACTION_ALREADY_REMOVED,
            "duplicate": Outcome.DUPLICATE}
OUTCOMES = {**ACTED, **DECLINED}
# DSA Art. 9 (orders to act against illegal content) and Art. 10 (orders to provide information).
ORDERS_TO_ACT = (RequestType.REMOVAL, RequestType.GEO_RESTRICTION, RequestType.ACCOUNT_ACTION)
ORDERS_FOR_INFORMATION = (RequestType.INFORMATION_REQUEST,)


def threshold() -> int:
    return max(int(settings.LIAISON_TRANSPARENCY_MIN_COUNT), 1)


@dataclass(frozen=True)
class Shown:
    """A published count: its value, or suppressed."""

    value: int
    suppressed: bool = False

    def public(self) -> int | str:
        return f"<{threshold()}" if self.suppressed else self.value

    def text(self) -> str:
        return f"<{threshold()}" if self.suppressed else presentation.count(self.value)


def suppress(counts: dict[Any, int], *, total_published: bool = True) -> dict[Any, Shown]:
    """Primary suppression of small counts, and complementary suppression where a published total would let one
    suppressed count be worked out from the others."""
    limit = threshold()
    hidden = {key for key, value in counts.items() if 0 < value < limit}
    if total_published and len(hidden) == 1:
        others = sorted((value, str(key), key) for key, value in counts.items() if key not in hidden and value > 0)
        if others:
            hidden.add(others[0][2])
    return {key: Shown(value, key in hidden) for key, value in counts.items()}


def protect_grid(rows: list[dict[str, Shown]]) -> None:
    """Complementary suppression across a grid whose row and column totals are published (each row a breakdown of
    one period, each column one key over the periods): wherever a row or a column holds exactly one suppressed
    count, its smallest other count is suppressed too, until nothing changes. Changes the rows in place."""
    changed = True
    while changed:
        changed = False
        columns: dict[str, list[dict[str, Shown]]] = {}
        for row in rows:
            for key in row:
                columns.setdefault(key, []).append(row)
        lines = [[(row, key) for key in row] for row in rows]
        lines += [[(row, key) for row in holders] for key, holders in columns.items()]
        for line in lines:
            hidden = [(row, key) for row, key in line if row[key].suppressed and row[key].value > 0]
            if len(hidden) != 1:
                continue
            others = sorted(((row[key].value, key, id(row)), row, key) for row, key in line
                            if not row[key].suppressed and row[key].value > 0)
            if others:
                _order, row, key = others[0]
                row[key] = Shown(row[key].value, True)
                changed = True


def shown(value: int) -> Shown:
    return Shown(value, 0 < value < threshold())


@dataclass
class Breakdown:
    """Counts of one period (a month or a day, or the year) by country and by category."""

    requests: Shown
    by_country: dict[str, Shown]
    by_category: dict[str, Shown]


@dataclass
class Month:
    month: date
    breakdown: Breakdown
    items: dict[str, Shown]
    median_handling_seconds: float | None


@dataclass
class PublicFigures:
    year: int
    month: int | None
    months: list[Month]
    days: list[tuple[date, Breakdown]]
    year_breakdown: Breakdown
    year_items: dict[str, Shown]
    median_acknowledge_seconds: float | None
    median_handling_seconds: float | None
    category_names: dict[str, str] = field(default_factory=dict)


def _rows(first: date, last: date) -> Any:
    return CaseFigures.objects.filter(received_on__gte=first, received_on__lte=last)


def _item_sums() -> dict[str, Any]:
    return {name: Coalesce(Sum(ITEM_FIELDS[outcome]), 0) for name, outcome in OUTCOMES.items()}


def _medians(rows: Any, group: str | None, columns: tuple[str, ...]) -> dict[Any, dict[str, float | None]]:
    """Medians of each column per group (or one group, keyed None), in one grouped query on PostgreSQL; unpublished
    where fewer cases than the threshold stand behind them."""
    counts = {f"n_{column}": Count(column) for column in columns}
    native = {f"m_{column}": percentiles.PercentileCont(0.5, column) for column in columns} \
        if percentiles.native() else {}
    if group:
        found = {row.pop(group): row for row in rows.order_by().values(group).annotate(**counts, **native)}
    else:
        found = {None: rows.aggregate(**counts, **native)}
    if not native:
        for column in columns:
            for key, values in percentiles.percentiles_by(rows, group, column, {"m": 0.5}).items():
                found.setdefault(key, {})[f"m_{column}"] = values["m"]
    return {key: {column: (round(value, 1) if (value := values.get(f"m_{column}")) is not None
                           and values.get(f"n_{column}", 0) >= threshold() else None) for column in columns}
            for key, values in found.items()}


def _daily(rows: Any, categories: dict[int, str]) -> dict[date, tuple[dict[str, int], dict[str, int]]]:
    """Requests per day by country and by category: two grouped queries (a few thousand groups a year)."""
    days: dict[date, tuple[dict[str, int], dict[str, int]]] = {}
    for day, country, n in rows.order_by().values_list("received_on", "country").annotate(n=Count("pk")):
        days.setdefault(day, ({}, {}))[0][country] = n
    for day, category_id, n in rows.order_by().values_list("received_on", "category_id").annotate(n=Count("pk")):
        slug = categories.get(category_id, str(category_id))
        by_category = days.setdefault(day, ({}, {}))[1]
        by_category[slug] = by_category.get(slug, 0) + n
    return days


def _add(into: dict[str, int], counts: dict[str, int]) -> None:
    for key, n in counts.items():
        into[key] = into.get(key, 0) + n


def _empty() -> Breakdown:
    return Breakdown(Shown(0), {}, {})


def public_figures(year: int, month: int | None = None) -> PublicFigures:
    """The year's public figures, computed once per version of the summary, threshold and language."""
    return summary.cached(("transparency", year, month, threshold(), translation.get_language(), *summary.version()),
                          lambda: compute_public_figures(year, month))


def compute_public_figures(year: int, month: int | None = None) -> PublicFigures:
    """The same, uncached."""
    with percentiles.roomy_sorts():
        return _public_figures(year, month)


def _public_figures(year: int, month: int | None) -> PublicFigures:
    """Five grouped queries: requests per day by country and by category (months and the year are their sums),
    items per month, the median handling time per month, and the year's medians."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    rows = _rows(first, last)
    category_rows = list(Category.objects.values_list("pk", "slug", "name", "name_id"))
    slugs = {pk: slug for pk, slug, _name, _name_id in category_rows}
    daily = _daily(rows, slugs)
    items_by_month = {row.pop("received_month"): row for row in
                      rows.order_by().values("received_month").annotate(**_item_sums())}
    handling = _medians(rows, "received_month", ("resolve_seconds",))
    year_medians = _medians(rows, None, ("acknowledge_seconds", "resolve_seconds")).get(None, {})
    month_counts: dict[date, tuple[dict[str, int], dict[str, int]]] = {}
    year_countries: dict[str, int] = {}
    year_categories: dict[str, int] = {}
    days = []
    day = first
    while day <= last:
        countries, categories = daily.get(day, ({}, {}))
        total = sum(countries.values())
        days.append((day, Breakdown(shown(total), suppress(countries), suppress(categories))))
        monthly = month_counts.setdefault(day.replace(day=1), ({}, {}))
        _add(monthly[0], countries)
        _add(monthly[1], categories)
        _add(year_countries, countries)
        _add(year_categories, categories)
        day += timedelta(days=1)
    months = []
    for number in range(1, 13):
        key = date(year, number, 1)
        countries, categories = month_counts.get(key, ({}, {}))
        items = items_by_month.get(key, {name: 0 for name in OUTCOMES})
        months.append(Month(key, Breakdown(shown(sum(countries.values())), suppress(countries), suppress(categories)),
                            suppress(items, total_published=False),
                            handling.get(key, {}).get("resolve_seconds")))
    # The months add up to the year's published total: one suppressed month would be given away by the others.
    for key, suppressed in suppress({m.month: m.breakdown.requests.value for m in months}).items():
        next(m for m in months if m.month == key).breakdown.requests = suppressed
    # Days within a month whose total is published: one suppressed day would be given away by the others.
    by_day = dict(days)
    for number in range(1, 13):
        in_month = {d: b.requests.value for d, b in days if d.month == number}
        for d, suppressed in suppress(in_month).items():
            by_day[d].requests = suppressed
    # Countries and categories are published per day, per month and for the year: a country's months add up to its
    # year, its days to its month, so each of those grids is protected across both ways.
    for attribute in ("by_country", "by_category"):
        protect_grid([getattr(m.breakdown, attribute) for m in months])
        for number in range(1, 13):
            protect_grid([getattr(b, attribute) for d, b in days if d.month == number])
    year_breakdown = Breakdown(shown(sum(year_countries.values())), suppress(year_countries),
                               suppress(year_categories))
    year_items = {name: sum(items.get(name, 0) for items in items_by_month.values()) for name in OUTCOMES}
    names = {slug: (name_id if translation.get_language() == "id" and name_id else name)
             for _pk, slug, name, name_id in category_rows}
    return PublicFigures(
        year=year, month=month, months=months, days=days, year_breakdown=year_breakdown,
        year_items=suppress(year_items, total_published=False),
        median_acknowledge_seconds=year_medians.get("acknowledge_seconds"),
        median_handling_seconds=year_medians.get("resolve_seconds"),
        category_names=names)


def years_with_figures(current: int) -> list[int]:
    first = CaseFigures.objects.order_by("received_on").values_list("received_on", flat=True).first()
    start = first.year if first else current
    this_year = timezone.now().year
    return list(range(this_year, min(start, current) - 1, -1))


# --- As a page, as files -----------------------------------------------------------------------------------------


def _chart_rows(counts: dict[str, Shown], names: dict[str, str] | None = None) -> list[tuple[str, float, str]]:
    return [((names or {}).get(key, key), 0 if value.suppressed else value.value, value.text())
            for key, value in sorted(counts.items(), key=lambda kv: (kv[1].suppressed, -kv[1].value, kv[0]))]


def outcome_labels() -> dict[str, str]:
    return {name: str(Outcome(outcome).label) for name, outcome in OUTCOMES.items()}


def charts(report: PublicFigures) -> dict[str, Any]:
    """What the page draws: requests by month, by country and by category over the year, items by outcome, and the
    chosen month's days."""
    month_rows = [(date_format(m.month, "YEAR_MONTH_FORMAT"), 0 if m.breakdown.requests.suppressed
                   else m.breakdown.requests.value, m.breakdown.requests.text()) for m in report.months]
    chosen = report.month
    days = [(d, b) for d, b in report.days if chosen and d.month == chosen]
    return {
        "months": month_rows,
        "countries": _chart_rows(report.year_breakdown.by_country),
        "categories": _chart_rows(report.year_breakdown.by_category, report.category_names),
        "items": [(label, 0 if report.year_items[name].suppressed else report.year_items[name].value,
                   report.year_items[name].text()) for name, label in outcome_labels().items()],
        "days": [(date_format(d, "SHORT_DATE_FORMAT"), 0 if b.requests.suppressed else b.requests.value,
                  b.requests.text()) for d, b in days],
        "month_rows": [{"label": date_format(m.month, "YEAR_MONTH_FORMAT"), "requests": m.breakdown.requests.text(),
                        "removed": m.items["removed"].text(), "restricted": m.items["restricted"].text(),
                        "declined": [m.items[name].text() for name in DECLINED],
                        "median": presentation.duration(m.median_handling_seconds)} for m in report.months],
        "declined_labels": [outcome_labels()[name] for name in DECLINED],
        "chosen_month": date(report.year, chosen, 1) if chosen else None,
        "median_handling": presentation.duration(report.median_handling_seconds),
        "median_acknowledge": presentation.duration(report.median_acknowledge_seconds),
        "year_requests": report.year_breakdown.requests.text(),
    }


def _public(counts: dict[str, Shown]) -> dict[str, int | str]:
    return {key: value.public() for key, value in sorted(counts.items())}


def _hours(seconds: float | None) -> float | None:
    return round(seconds / 3600, 2) if seconds is not None else None


def as_json(report: PublicFigures) -> dict[str, Any]:
    return {
        "year": report.year,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "suppressed_below": threshold(),
        "note": _("Requests are counted on the UTC day they were received; counts from 1 to %(n)s are shown as "
                  "\"<%(limit)s\"; medians over fewer cases are not published.") % {
            "n": threshold() - 1, "limit": threshold()},
        "year_totals": {"requests": report.year_breakdown.requests.public(),
                        "requests_by_country": _public(report.year_breakdown.by_country),
                        "requests_by_category": _public(report.year_breakdown.by_category),
                        "items": _public(report.year_items),
                        "median_time_to_acknowledge_hours": _hours(report.median_acknowledge_seconds),
                        "median_handling_time_hours": _hours(report.median_handling_seconds)},
        "months": [{"month": f"{m.month:%Y-%m}", "requests": m.breakdown.requests.public(),
                    "requests_by_country": _public(m.breakdown.by_country),
                    "requests_by_category": _public(m.breakdown.by_category),
                    "items": _public(m.items), "median_handling_time_hours": _hours(m.median_handling_seconds)}
                   for m in report.months],
        "days": [{"date": d.isoformat(), "requests": b.requests.public(),
                  "requests_by_country": _public(b.by_country), "requests_by_category": _public(b.by_category)}
                 for d, b in report.days],
    }


def csv_rows(report: PublicFigures) -> list[list[Any]]:
    """One figure a line: period, date, measure, breakdown, key, value."""
    data = as_json(report)
    rows: list[list[Any]] = [["period", "date", "measure", "breakdown", "key", "value"]]
    totals = data["year_totals"]
    rows.append(["year", str(report.year), "requests", "", "", totals["requests"]])
    for breakdown in ("requests_by_country", "requests_by_category"):
        rows += [["year", str(report.year), "requests", breakdown[len("requests_by_"):], k, v]
                 for k, v in totals[breakdown].items()]
    rows += [["year", str(report.year), "items", "outcome", k, v] for k, v in totals["items"].items()]
    rows.append(["year", str(report.year), "median_time_to_acknowledge_hours", "", "",
                 totals["median_time_to_acknowledge_hours"]])
    rows.append(["year", str(report.year), "median_handling_time_hours", "", "", totals["median_handling_time_hours"]])
    for period, entries, key in (("month", data["months"], "month"), ("day", data["days"], "date")):
        for entry in entries:
            rows.append([period, entry[key], "requests", "", "", entry["requests"]])
            for breakdown in ("requests_by_country", "requests_by_category"):
                rows += [[period, entry[key], "requests", breakdown[len("requests_by_"):], k, v]
                         for k, v in entry[breakdown].items()]
            if period == "month":
                rows += [[period, entry[key], "items", "outcome", k, v] for k, v in entry["items"].items()]
                rows.append([period, entry[key], "median_handling_time_hours", "", "",
                             entry["median_handling_time_hours"]])
    return rows


# --- The yearly report ------------------------------------------------------------------------------------------


def _counts_by(rows: Any, column: str) -> dict[str, Shown]:
    return suppress(dict(rows.order_by().values_list(column).annotate(n=Count("pk"))))


def yearly_report(year: int) -> dict[str, Any]:
    """The year's figures as the TCO regulation (EU) 2021/784 Art. 7(3) and the DSA Art. 15(1)(a) (implementing
    regulation (EU) 2024/2835 templates) ask for them; what Liaison does not record is null with a note."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    rows = _rows(first, last)
    terrorism = rows.filter(category__slug="terrorism")
    decided = ~Q(items_total=F("items_pending"))
    refused = Count("pk", filter=decided & Q(items_removed=0, items_restricted=0))
    tco_items = terrorism.aggregate(**_item_sums(), orders=Count("pk"), orders_not_acted=refused)
    to_act, for_information = rows.filter(request_type__in=ORDERS_TO_ACT), rows.filter(
        request_type__in=ORDERS_FOR_INFORMATION)
    not_recorded = _("Not recorded in Liaison: to be completed by the provider.")

    def orders(selected: Any) -> dict[str, Any]:
        medians = _medians(selected, None, ("acknowledge_seconds", "resolve_seconds")).get(None, {})
        pairs: dict[str, int] = {}
        for country, slug, n in selected.order_by().values_list("country", "category__slug").annotate(n=Count("pk")):
            pairs[f"{country}/{slug}"] = n
        return {"total": shown(selected.count()).public(),
                "by_member_state": _public(_counts_by(selected, "country")),
                "by_type_of_illegal_content": _public(_counts_by(selected, "category__slug")),
                "by_member_state_and_type_of_illegal_content": _public(suppress(pairs)),
                "median_time_to_inform_of_receipt_hours": _hours(medians.get("acknowledge_seconds")),
                "median_time_to_give_effect_hours": _hours(medians.get("resolve_seconds"))}

    return {
        "year": year,
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "suppressed_below": threshold(),
        "tco_regulation_2021_784_article_7": {
            "a_measures_to_identify_and_remove": None,
            "b_measures_against_reappearance": None,
            "c_items_removed_or_access_disabled": {
                "removal_orders_received": shown(tco_items["orders"]).public(),
                "items_removed": shown(tco_items["removed"]).public(),
                "items_access_disabled": shown(tco_items["restricted"]).public(),
                "removal_orders_not_acted_upon": shown(tco_items["orders_not_acted"]).public(),
                "grounds_items_not_acted_upon": _public(suppress(
                    {name: tco_items[name] for name in DECLINED}, total_published=False)),
            },
            "d_complaints_number_and_outcome": None,
            "e_review_proceedings_number_and_outcome": None,
            "f_reinstated_after_review": None,
            "g_reinstated_after_complaint": None,
            "note": not_recorded,
        },
        "dsa_article_15_1_a": {
            "orders_to_act_against_illegal_content_article_9": orders(to_act),
            "orders_to_provide_information_article_10": orders(for_information),
            "note": _("Member state: the issuing authority's country (ISO 3166-1); type of illegal content: the "
                      "request's category."),
        },
        "days_in_year": 366 if calendar.isleap(year) else 365,
    }


def yearly_csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """The yearly report flattened: section, field, key, value."""
    rows: list[list[Any]] = [["section", "field", "key", "value"]]

    def walk(section: str, prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(section, f"{prefix}.{key}" if prefix else key, inner)
            return
        field_name, _dot, key = prefix.partition(".by_")
        rows.append([section, field_name, key, "" if value is None else value])

    for section in ("tco_regulation_2021_784_article_7", "dsa_article_15_1_a"):
        walk(section, "", report[section])
    return rows
