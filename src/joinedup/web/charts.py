"""Server-rendered charts: geometry computed here, SVG drawn by the templates.

A chart is drawn from PROTECTED figures only; a suppressed value ("c") gets no bar and
is labelled "c", so the chart discloses nothing the table beside it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from joinedup.disclosure import Cell

__all__ = ["Bar", "BarChart", "bar_chart"]

_LABEL_WIDTH = 240
_BAR_AREA = 250
_VALUE_WIDTH = 60
_ROW = 32
_BAR = 20


@dataclass(frozen=True)
class Bar:
    label: str
    value: Cell
    y: int
    width: int
    text_x: int


@dataclass(frozen=True)
class BarChart:
    title: str
    description: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int
    bar_height: int
    row_height: int


def bar_chart(title: str, labels: Sequence[str], values: Sequence[Cell]) -> BarChart:
    """A horizontal bar chart of ``values`` (counts or "c") with one bar a label."""
    numbers = [v for v in values if isinstance(v, int)]
    top = max(numbers, default=0) or 1
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        width = round(_BAR_AREA * value / top) if isinstance(value, int) else 0
        if isinstance(value, int) and value > 0:
            width = max(width, 1)
        bars.append(Bar(label, value, i * _ROW, width, _LABEL_WIDTH + width + 6))
    described = "; ".join(f"{b.label}: {b.value}" for b in bars)
    return BarChart(
        title=title,
        description=f"{title}. {described}.",
        bars=tuple(bars),
        width=_LABEL_WIDTH + _BAR_AREA + _VALUE_WIDTH,
        height=max(len(bars), 1) * _ROW,
        label_width=_LABEL_WIDTH,
        bar_height=_BAR,
        row_height=_ROW,
    )
