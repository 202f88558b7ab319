"""`{% case_url %}`: Django's `{% url %}` written through cases.addresses (the address reversed once per process and
filled in with the arguments), for the case page's many addresses of one case. Same arguments and same output as
`{% url %}`; with keyword arguments or `as`, or arguments of another kind, it is `{% url %}`."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaulttags import URLNode, url
from django.utils.html import conditional_escape

from cases.addresses import address

register = template.Library()


class CaseURLNode(URLNode):
    def render(self, context: Any) -> str:
        if self.kwargs or self.asvar:
            return super().render(context)
        text = address(self.view_name.resolve(context), *(arg.resolve(context) for arg in self.args))
        return conditional_escape(text) if context.autoescape else text


@register.tag
def case_url(parser: Any, token: Any) -> CaseURLNode:
    node = url(parser, token)
    node.__class__ = CaseURLNode
    return node  # type: ignore[return-value]  # now a CaseURLNode
