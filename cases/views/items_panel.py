"""The items panel of the case page, built to work a case of hundreds or thousands of links: counts per outcome as
filter chips, search, server-side pages of a chosen size, and the filter a bulk decision on "all items matching"
applies to. The rows are rendered here rather than in the template: at 100–250 rows a page, the template engine's
per-row work (variable lookups, filters, includes, a translation and a date format per row) was most of the page's
time; labels and formats are prepared once a page instead."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import User
from liaison.input_policy import int_param

from .. import queries
from ..choices import ItemKind, Outcome
from ..models import Case
from ..queries.case_page import ITEM_FILTERS, NO_ACTION_OUTCOMES, ItemTally, item_page
from ..queries.deconfliction import Sighting
from .evidence_rows import url_pattern

PAGE_SIZES = (25, 50, 100, 250)
DEFAULT_PAGE_SIZE = 100
MAX_SEARCH = 200

# An outcome's icon (Bootstrap Icons) and its family, for the "decided or pending at a glance" marks of each row.
OUTCOME_LOOK = {
    Outcome.PENDING: ("hourglass-split", "pending"),
    Outcome.REMOVED: ("check-circle-fill", "removed"),
    Outcome.RESTRICTED: ("geo-alt-fill", "restricted"),
    Outcome.DUPLICATE: ("files", "duplicate"),
    **{outcome: ("dash-circle", "no-action") for outcome in NO_ACTION_OUTCOMES},
}


def positive_int(raw: str, *, default: int) -> int:
    return int_param(raw, default=default, minimum=1, maximum=10**6)


@dataclass(frozen=True)
class ItemFilter:
    """Which items the panel shows: one of ITEM_FILTERS (or all) and a search text. A bulk decision on "all items
    matching this filter" sends the same two values back."""

    show: str = ""
    search: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> ItemFilter:
        show = (data.get("show") or "").strip()
        search = (data.get("item_q") or "").replace("\x00", "").strip()[:MAX_SEARCH]
        return cls(show if show in ITEM_FILTERS else "", search)

    @property
    def active(self) -> bool:
        return bool(self.show or self.search)

    def query(self, **extra: Any) -> str:
        """The query string of this filter (and of `extra` values that are set), for links and redirects."""
        pairs = [("show", self.show), ("item_q", self.search), *extra.items()]
        return urlencode([(key, value) for key, value in pairs if value not in ("", None)])


@dataclass
class Chip:
    value: str
    label: str
    count: int
    href: str
    active: bool


@dataclass
class ItemPanel:
    filter: ItemFilter
    tally: ItemTally
    shown_total: int
    page: int
    pages: int
    per_page: int
    first: int  # position in the filtered list of the first row on this page, from 1
    last: int
    rows: SafeString
    row_count: int
    chips: list[Chip]
    detail_chips: list[Chip]  # the reasons under "No action", while it is chosen
    page_links: list[tuple[int | None, str]]  # (page or None for a gap, href)
    size_links: list[tuple[int, str]]
    previous_href: str = ""
    next_href: str = ""
    show_kind: bool = True
    only_kind: str = ""  # the one kind of every item, when the Kind column would say nothing


def item_panel(user: User, case: Case, *, item_filter: ItemFilter, page: int, per_page: int, can_decide: bool,
               can_remove: bool) -> ItemPanel:
    """One page of the case's items as the person asked for it, with the counts and links around it."""
    tally = queries.item_tally(case)
    per_page = per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE
    shown_total = queries.case_items(case, show=item_filter.show, search=item_filter.search).count() \
        if item_filter.search else tally.count(item_filter.show)
    pages = max((shown_total + per_page - 1) // per_page, 1)
    page = min(page, pages)
    offset = (page - 1) * per_page
    rows = item_page(case, show=item_filter.show, search=item_filter.search, offset=offset, limit=per_page)
    sightings = queries.deconfliction(user, [row["key"] for row in rows], exclude_case=case)
    show_kind = len(tally.kinds) > 1
    labels = RowLabels.prepare(get_language())
    html_rows = render_item_rows(
        rows, sightings, labels=labels, can_decide=can_decide, show_kind=show_kind,
        remove_url=url_pattern("cases:remove_item", case.reference) if can_remove else None,
    )

    def href(**values: Any) -> str:
        chosen = {"show": item_filter.show, "item_q": item_filter.search, "per_page": per_page, **values}
        if chosen["per_page"] == DEFAULT_PAGE_SIZE:
            chosen["per_page"] = None
        pairs = [(k, v) for k, v in chosen.items() if v not in ("", None)]
        return "?" + urlencode(pairs) + "#items"

    outcome_labels = labels.outcomes
    chips = [Chip("", labels.all, tally.total, href(show=""), item_filter.show == ""),
             Chip("pending", outcome_labels[Outcome.PENDING], tally.pending, href(show="pending"),
                  item_filter.show == "pending"),
             Chip("decided", labels.decided, tally.decided, href(show="decided"), item_filter.show == "decided")]
    for outcome in (Outcome.REMOVED, Outcome.RESTRICTED):
        if tally.count(outcome):
            chips.append(Chip(outcome, outcome_labels[outcome], tally.count(outcome), href(show=outcome),
                              item_filter.show == outcome))
    no_action_chosen = item_filter.show == "no_action" or item_filter.show in NO_ACTION_OUTCOMES
    # One chip for the items left up, named for their reason when they share one.
    reasons = [outcome for outcome in NO_ACTION_OUTCOMES if tally.count(outcome)]
    if reasons:
        label = outcome_labels[reasons[0]] if len(reasons) == 1 else labels.no_action
        chips.append(Chip("no_action", label, tally.no_action, href(show="no_action"), no_action_chosen))
    if tally.count(Outcome.DUPLICATE):
        chips.append(Chip(Outcome.DUPLICATE, outcome_labels[Outcome.DUPLICATE], tally.count(Outcome.DUPLICATE),
                          href(show=Outcome.DUPLICATE), item_filter.show == Outcome.DUPLICATE))
    # Under "No action", its reasons, when there is more than one to tell apart.
    detail_chips = [Chip(outcome, outcome_labels[outcome], tally.count(outcome), href(show=outcome),
                         item_filter.show == outcome) for outcome in reasons] if no_action_chosen and len(reasons) > 1 else []
    return ItemPanel(
        filter=item_filter, tally=tally, shown_total=shown_total, page=page, pages=pages, per_page=per_page,
        first=offset + 1 if rows else 0, last=offset + len(rows), rows=html_rows, row_count=len(rows),
        chips=chips, detail_chips=detail_chips,
        page_links=[(number, href(items_page=number) if number else "") for number in page_window(page, pages)],
        size_links=[(size, href(per_page=size, items_page=None)) for size in PAGE_SIZES],
        previous_href=href(items_page=page - 1) if page > 1 else "",
        next_href=href(items_page=page + 1) if page < pages else "",
        show_kind=show_kind, only_kind=labels.kinds.get(tally.kinds[0], "") if len(tally.kinds) == 1 else "",
    )


def page_window(page: int, pages: int, *, around: int = 2) -> list[int | None]:
    """The page numbers to offer: the first, the last and a few around the current one; None marks a gap."""
    wanted = sorted({1, pages, *range(max(page - around, 1), min(page + around, pages) + 1)})
    numbers: list[int | None] = []
    for number in wanted:
        previous = numbers[-1] if numbers else None
        if previous is not None and number - previous > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers




@dataclass(frozen=True)
class RowLabels:
    """Every word the panel and its rows may show, in one language. Translated once per process and language
    (prepare): Django loads a language's catalogue once per process and keeps it, so these are the words that
    translating again would give. Read only."""

    kinds: Mapping[str, str]
    outcomes: Mapping[str, str]
    months: Mapping[int, str]
    also_reported: str
    look_alike: str
    remove: str
    outcome_heading: str
    all: str
    decided: str
    no_action: str

    @staticmethod
    @lru_cache(maxsize=16)
    def prepare(language: str | None) -> RowLabels:
        """The words in `language`, the active one (translation.get_language()): the key of the kept copy."""
        return RowLabels(
            kinds=MappingProxyType({value: str(label) for value, label in ItemKind.choices}),
            outcomes=MappingProxyType({value: str(label) for value, label in Outcome.choices}),
            months=MappingProxyType({number: str(name).title() for number, name in MONTHS_3.items()}),
            also_reported=_("also reported in %(ref)s by %(org)s"),
            look_alike=_("Look-alike address"),
            remove=_("Remove"),
            outcome_heading=_("Outcome"),
            all=_("All"),
            decided=_("Decided"),
            no_action=_("No action"),
        )

    def when(self, moment: datetime) -> tuple[str, str]:
        """The ISO form and the words ("3 Dec 2026, 14:05") of an instant, in the reader's time zone."""
        local = timezone.localtime(moment)
        return local.isoformat(), f"{local.day} {self.months[local.month]} {local.year}, {local.hour:02d}:{local.minute:02d}"


def render_item_rows(rows: Iterable[Mapping[str, Any]], sightings: Mapping[str, list[Sighting]], *, labels: RowLabels,
                     can_decide: bool, show_kind: bool, remove_url: str | None) -> SafeString:
    """The <tr> elements of the items table. Every value is escaped here; nothing else builds these rows."""
    esc = html.escape
    outcome_label = esc(labels.outcome_heading)
    parts: list[str] = []
    for row in rows:
        pk, position, outcome = row["pk"], row["position"], row["outcome"]
        icon, family = OUTCOME_LOOK.get(outcome, ("circle", "decided"))
        state = "pending" if outcome == Outcome.PENDING else "decided"
        parts.append(f'<tr class="lx-item lx-item-{state}" data-outcome="{esc(outcome)}">')
        if can_decide:
            parts.append(f'<td class="lx-i-check"><input class="form-check-input lx-item-check" type="checkbox" '
                         f'name="items" value="{pk}" id="item-{pk}" '
                         f'aria-labelledby="item-pos-{pk} item-target-{pk}"></td>')
        # The kind sits under the number (when the case holds more than one kind): the target gets the width.
        kind = f'<span class="lx-i-kind">{esc(labels.kinds.get(row["kind"], row["kind"]))}</span>' if show_kind else ""
        parts.append(f'<td class="lx-i-pos" id="item-pos-{pk}">#{position}{kind}</td>'
                     f'<td class="lx-i-target"><span class="lx-target" id="item-target-{pk}">{esc(row["target"])}'
                     '</span>')
        if row["warning"]:
            parts.append('<div class="small text-warning-emphasis mt-1" data-testid="target-warning">'
                         '<span class="badge text-bg-warning"><i class="bi bi-exclamation-triangle-fill" '
                         f'aria-hidden="true"></i> {esc(labels.look_alike)}</span> {esc(row["warning"])}</div>')
        if row["note"]:
            parts.append(f'<div class="small lx-muted">{esc(row["note"])}</div>')
        for seen in sightings.get(row["key"], ()):
            text = labels.also_reported % {"ref": seen.reference, "org": seen.organisation}
            parts.append('<div class="small text-warning-emphasis"><i class="bi bi-diagram-2" aria-hidden="true">'
                         f'</i> {esc(text)}</div>')
        parts.append("</td>")
        label = esc(labels.outcomes.get(outcome, outcome))
        parts.append(f'<td class="lx-i-outcome small" data-label="{outcome_label}" '
                     f'data-testid="outcome-{position}"><span class="lx-outcome lx-outcome-{family}">'
                     f'<i class="bi bi-{icon}" aria-hidden="true"></i> ')
        if state == "pending":
            parts.append(f"{label}</span>")
        else:
            parts.append(f"<strong>{label}</strong></span>")
            if row["outcome_reason"]:
                parts.append(f'<div class="lx-muted">{esc(row["outcome_reason"])}</div>')
            who = esc(row["decided_by__full_name"] or "")
            if row["decided_at"] is not None:
                iso, words = labels.when(row["decided_at"])
                parts.append(f'<div class="lx-muted">{who} · <time datetime="{iso}">{words}</time></div>')
            elif who:
                parts.append(f'<div class="lx-muted">{who}</div>')
        parts.append("</td>")
        if remove_url is not None:
            parts.append(f'<td class="lx-i-remove"><button class="btn btn-sm btn-link text-danger" type="submit" '
                         f'form="remove-item" formaction="{esc(remove_url.format(pk))}" '
                         f'aria-describedby="item-target-{pk}">{esc(labels.remove)}</button></td>')
        parts.append("</tr>")
    return mark_safe("".join(parts))  # noqa: S308  every value above is escaped
