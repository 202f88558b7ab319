"""{% bar_chart rows title=… description=… %}: a server-drawn SVG bar chart (stats/charts.py)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from django import template

from ..charts import bar_chart as build

register = template.Library()
_ids = itertools.count(1)


@register.inclusion_tag("stats/_bar_chart.html")
def bar_chart(rows: Sequence[tuple[str, float, str]], title: str, description: str = "",
              testid: str = "") -> dict[str, Any]:
    return {"chart": build(rows), "title": title, "description": description, "chart_id": f"lx-chart-{next(_ids)}",
            "testid": testid}
