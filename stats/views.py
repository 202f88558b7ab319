"""The figures' pages: the dashboard of each reader's scope, and the public transparency page with its files."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.http import AuthenticatedRequest
from accounts.models import Organization
from accounts.permissions import membership_of
from accounts.roles import OrgKind
from cases.choices import Outcome
from cases.permissions.figures import can_choose_authority, figures_scope

from . import presentation, transparency
from .figures import Group, Period, figures, state_priority_table

PRESETS = {"30d": 30, "90d": 90}
LONGEST_PERIOD = timedelta(days=366 * 5)


def parse_period(query: Any, today: date) -> tuple[Period, str, str]:
    """The chosen period (UTC days), the preset it came from and an error to show (empty when none)."""
    preset = query.get("period", "") or ("custom" if query.get("from") or query.get("to") else "12m")
    if preset in PRESETS:
        return Period(today - timedelta(days=PRESETS[preset] - 1), today), preset, ""
    if preset == "year":
        return Period(today.replace(month=1, day=1), today), preset, ""
    if preset == "custom":
        try:
            first = date.fromisoformat(query.get("from", "")[:10])
            last = date.fromisoformat(query.get("to", "")[:10])
        except ValueError:
            first = last = None  # type: ignore[assignment]  # reported below
        if first is not None and last is not None and first <= last and last - first <= LONGEST_PERIOD:
            return Period(first, last), preset, ""
        error = _("Choose a first and a last day, the first not after the last, at most five years apart.")
    else:
        error = ""
    start = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    return Period(start, today), "12m", error


def _group_row(group: Group) -> dict[str, Any]:
    return {"label": group.label, "cases": presentation.count(group.cases), "items": presentation.count(group.items),
            "removed": presentation.count(group.outcomes.get(Outcome.REMOVED, 0)),
            "acknowledge_on_time": presentation.rate(group.acknowledge_on_time),
            "resolve_on_time": presentation.rate(group.resolve_on_time),
            "acknowledge_median": presentation.duration(group.acknowledge_median),
            "acknowledge_p90": presentation.duration(group.acknowledge_p90),
            "resolve_median": presentation.duration(group.resolve_median),
            "resolve_p90": presentation.duration(group.resolve_p90)}


def _chart(groups: list[Group]) -> list[tuple[str, float, str]]:
    return [(group.label, group.cases, presentation.count(group.cases)) for group in groups]


@login_required
@require_GET
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    scope = figures_scope(user)
    if scope is None:
        raise PermissionDenied(_("Your role has no figures to show."))
    today = timezone.now().date()
    period, preset, error = parse_period(request.GET, today)
    platform = can_choose_authority(user)
    authorities = list(Organization.objects.filter(kind=OrgKind.AUTHORITY).order_by("name")) if platform else []
    chosen = request.GET.get("authority", "")
    authority = next((org for org in authorities if str(org.pk) == chosen), None)
    membership = membership_of(user)
    dimensions = [("month", _("By month"), _("Cases received by month")),
                  ("category", _("By category"), _("Cases received by category"))]
    if platform:
        dimensions.insert(0, ("authority", _("By authority"), _("Cases received by authority")))
        dimensions.append(("queue", _("By queue"), _("Cases received by queue")))
    result = figures(scope, period, authority_id=authority.pk if authority else None,
                     dimensions=tuple(key for key, _heading, _title in dimensions))
    outcomes = [(str(Outcome(outcome).label), value, presentation.count(value))
                for outcome, value in result.total.outcomes.items()]
    context = {
        "figures": result, "period": period, "preset": preset, "period_error": error,
        "presets": [("30d", _("Last 30 days")), ("90d", _("Last 90 days")), ("12m", _("Last 12 months")),
                    ("year", _("This year")), ("custom", _("Chosen days"))],
        "authorities": authorities, "authority": authority, "platform": platform,
        "scope_name": membership.organization.name if membership else "",
        "open_table": state_priority_table(result.open_work),
        "total": _group_row(result.total), "outcomes": outcomes,
        "sections": [{"key": key, "heading": heading, "chart_title": title, "chart": _chart(result.by[key]),
                      "rows": [_group_row(g) for g in result.by[key]]} for key, heading, title in dimensions],
        "refreshed_at": result.as_of,
    }
    return render(request, "stats/dashboard.html", context)


def _year(request: HttpRequest) -> tuple[int, int | None]:
    this_year = timezone.now().year
    raw, month = request.GET.get("year", ""), request.GET.get("month", "")
    year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= this_year else this_year
    return year, int(month) if month.isdigit() and 1 <= int(month) <= 12 else None


@require_GET
def transparency_page(request: HttpRequest) -> HttpResponse:
    year, month = _year(request)
    report = transparency.public_figures(year, month)
    return render(request, "stats/transparency.html", {
        "report": report, "year": year, "month": month, "years": transparency.years_with_figures(year),
        "months": [(number, date(year, number, 1)) for number in range(1, 13)],
        "charts": transparency.charts(report), "threshold": transparency.threshold(),
    })


@require_GET
def transparency_csv(request: HttpRequest) -> HttpResponse:
    year, month = _year(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(transparency.csv_rows(transparency.public_figures(year, month)))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="liaison-transparency-{year}.csv"'
    return response


@require_GET
def transparency_json(request: HttpRequest) -> HttpResponse:
    year, month = _year(request)
    payload = transparency.as_json(transparency.public_figures(year, month))
    response = HttpResponse(json.dumps(payload, ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="liaison-transparency-{year}.json"'
    return response
