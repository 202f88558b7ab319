"""{% figures_nav_item %}: the navigation's link to the dashboard, for those who may see figures (no query)."""

from __future__ import annotations

from typing import Any

from django import template

from cases.permissions.figures import can_view_figures

register = template.Library()


@register.inclusion_tag("stats/_nav_item.html", takes_context=True)
def figures_nav_item(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    shown = user is not None and user.is_authenticated and can_view_figures(user)
    match = getattr(request, "resolver_match", None)
    return {"shown": shown, "active": match is not None and match.view_name == "stats:dashboard"}
