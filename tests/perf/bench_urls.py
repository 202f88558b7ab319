"""The site's URLs plus the benchmark's floor: a bare Django view that fetches 50 case rows with one indexed query;
and the page frame: a signed-in page of base.html with no content of its own (what every page pays for its
navigation, bell, badges and footer, with the context processors).

It goes through the same middleware (session, user, second-factor check) as every page, and renders a plain table
with Django's template engine, without the base template or context processors: what the portal's lists cost
beyond that is the price of their features.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from cases.models import Case
from liaison.urls import urlpatterns as site

TEMPLATE = engines["django"].from_string(
    "<!doctype html><title>cases</title><table>{% for c in cases %}<tr><td><a href=\"/cases/{{ c.0 }}/\">{{ c.0 }}"
    "</a></td><td>{{ c.1 }}</td><td>{{ c.2 }}</td><td>{{ c.3 }}</td></tr>{% endfor %}</table>")


FRAME = engines["django"].from_string("{% extends 'base.html' %}{% block content %}{% endblock %}")


@login_required
def bare_cases(request: HttpRequest) -> HttpResponse:
    # The inbox order, served by the index case_inbox_order: one query.
    rows = list(Case.objects.order_by("-priority_rank", "submitted_at", "id")
                .values_list("reference", "title", "status", "priority")[:50])
    return HttpResponse(TEMPLATE.render({"cases": rows}))


@login_required
def frame(request: HttpRequest) -> HttpResponse:
    return HttpResponse(FRAME.render({}, request))


urlpatterns = [path("bench/bare/", bare_cases, name="bench_bare"), path("bench/frame/", frame, name="bench_frame"), *site]
