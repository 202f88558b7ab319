"""Small horizontal bar charts as geometry for a server-rendered SVG: no script, no library, no network.

The template (stats/_bar_chart.html) draws what `bar_chart` returns with presentation attributes only (the content
security policy allows no inline style), inside a role="img" SVG named by its title and description, followed by
the same numbers as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 230
VALUE_WIDTH = 70
ROW_HEIGHT = 26
BAR_HEIGHT = 16
PADDING = 6
LABEL_CHARACTERS = 30


@dataclass(frozen=True)
class Bar:
    label: str  # as drawn (shortened)
    full_label: str
    value: float
    shown: str  # the value as written beside the bar
    y: int
    width: float
    text_y: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    bar_x: int
    bar_height: int
    value_x_pad: int

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def shorten(label: str, limit: int = LABEL_CHARACTERS) -> str:
    return label if len(label) <= limit else label[:limit - 1].rstrip() + "…"


def bar_chart(rows: Sequence[tuple[str, float, str]]) -> Chart:
    """rows: (label, value, value as text). Bars scale to the largest value; a zero draws no bar."""
    largest = max((value for _label, value, _shown in rows), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, value, shown) in enumerate(rows):
        y = PADDING + index * ROW_HEIGHT
        bars.append(Bar(label=shorten(label), full_label=label, value=value, shown=shown, y=y,
                        width=round(max(value, 0) / largest * room, 1), text_y=y + BAR_HEIGHT - 3))
    return Chart(bars=bars, width=WIDTH, height=PADDING * 2 + max(len(rows), 1) * ROW_HEIGHT, bar_x=LABEL_WIDTH,
                 bar_height=BAR_HEIGHT, value_x_pad=6)
