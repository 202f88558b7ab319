"""`manage.py check --deploy`: what the outcome reports need from the host beyond Pango."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from .report_rendering import font_subsetter, renderer_unavailable


@register(deploy=True)
def check_report_font_subsetter(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # A host without Pango makes no PDF at all, and says so where a report fails (RENDERER_MISSING).
    if renderer_unavailable() is not None or font_subsetter() == "HarfBuzz":
        return []
    return [Warning(
        "Outcome reports cut their embedded fonts down with fontTools, WeasyPrint's pure-Python fallback: the same "
        "PDF, but a 1,000-item report takes about twice as long to make.",
        hint="Install HarfBuzz's subsetter (Debian/Ubuntu: apt-get install libharfbuzz-subset0) and restart the "
             "workers.",
        id="cases.W001",
    )]
