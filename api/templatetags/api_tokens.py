"""`{% api_tokens_panel %}`: the person's API tokens and the form for a new one, on the preferences page."""

from __future__ import annotations

from typing import Any

from django import template

from .. import actions
from ..forms import ApiTokenForm

register = template.Library()


@register.inclusion_tag("api/tokens_panel.html", takes_context=True)
def api_tokens_panel(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    return {"tokens": actions.tokens_of(request.user), "form": ApiTokenForm(), "request": request,
            "csrf_token": context.get("csrf_token")}
