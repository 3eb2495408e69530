"""Charts of the HTML audit report: inline SVG drawn here, so the page needs no script
library and prints as it shows.

One primitive, a horizontal bar chart whose bars may be stacked segments; colours come from
the page's stylesheet (``class="seg-…"``), never from ``style`` attributes (the page's
Content-Security-Policy allows no inline style attributes). Every label and title is
HTML-escaped: names come from the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Bar", "Segment", "bar_chart"]

_WIDTH = 720
_LABEL_WIDTH = 230
_VALUE_WIDTH = 90
_ROW = 22
_BAR = 15
_TOP = 6
_AXIS = 22
#: Characters of a label drawn in full; longer ones are cut (the full text is the tooltip).
_LABEL_CHARS = 30


def _e(value: object) -> str:
    return escape(str(value), quote=True)


@dataclass(frozen=True)
class Segment:
    """A part of one bar: ``value`` units drawn in the colour of CSS class ``seg-<kind>``."""

    value: float
    kind: str
    #: What the segment means, for its tooltip (e.g. "3 denied").
    title: str


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    #: Printed after the bar (default: the sum of the segments).
    note: str | None = None


def _label(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    *,
    scale_max: float | None = None,
    ticks: Sequence[tuple[float, str]] = (),
) -> str:
    """A ``<figure>`` with an SVG bar chart; ``scale_max`` is the value a full bar stands for
    (default: the largest bar); ``ticks`` are ``(value, label)`` marks under the bars."""
    totals = [sum(max(s.value, 0) for s in bar.segments) for bar in bars]
    top = scale_max if scale_max is not None else max([*totals, 1])
    top = top if top > 0 else 1
    span = _WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    height = _TOP + _ROW * max(len(bars), 1) + (_AXIS if ticks else 6)
    parts = [
        f'<figure class="chart" id="{_e(chart_id)}"><figcaption>{_e(title)}</figcaption>',
        f'<svg class="chart-svg" role="img" aria-label="{_e(title)}" width="{_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_WIDTH} {height}" preserveAspectRatio="xMinYMin meet">',
    ]
    if not bars:
        parts.append(f'<text class="chart-empty" x="{_LABEL_WIDTH}" y="{_TOP + 15}">none</text>')
    for index, (bar, total) in enumerate(zip(bars, totals, strict=True)):
        y = _TOP + index * _ROW
        parts.append(
            f'<g class="bar"><title>{_e(bar.label)}</title>'
            f'<text class="chart-label" x="{_LABEL_WIDTH - 8}" y="{y + _BAR - 3}" '
            f'text-anchor="end">{_e(_label(bar.label))}</text></g>'
        )
        x = float(_LABEL_WIDTH)
        for segment in bar.segments:
            width = span * min(max(segment.value, 0), top) / top
            if width <= 0:
                continue
            width = min(width, _LABEL_WIDTH + span - x)
            parts.append(
                f'<rect class="seg seg-{_e(segment.kind)}" x="{x:.1f}" y="{y}" '
                f'width="{max(width, 1.5):.1f}" height="{_BAR}">'
                f"<title>{_e(bar.label)}: {_e(segment.title)}</title></rect>"
            )
            x += width
        note = bar.note if bar.note is not None else _number(total)
        parts.append(
            f'<text class="chart-value" x="{x + 6:.1f}" y="{y + _BAR - 3}">{_e(note)}</text>'
        )
    if ticks:
        axis_y = _TOP + _ROW * len(bars) + 2
        parts.append(
            f'<line class="chart-axis" x1="{_LABEL_WIDTH}" x2="{_LABEL_WIDTH + span}" '
            f'y1="{axis_y}" y2="{axis_y}"/>'
        )
        for value, text in ticks:
            x = _LABEL_WIDTH + span * min(max(value, 0), top) / top
            parts.append(
                f'<line class="chart-axis" x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" '
                f'y2="{axis_y + 4}"/><text class="chart-tick" x="{x:.1f}" y="{axis_y + 16}" '
                f'text-anchor="middle">{_e(text)}</text>'
            )
    parts.append("</svg></figure>")
    return "".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
