"""Small SVG charts, drawn by hand: horizontal bars and vertical columns, each stacked
from one or more series. Every chart is one well-formed ``<svg>`` element (valid XML
as well as HTML), needs no script, font or stylesheet, and escapes every text it shows.

Values are floats here: they only place shapes (money stays exact in the tables).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
FONT = 'font-family="system-ui, -apple-system, \'Segoe UI\', sans-serif" font-size="12"'
TEXT = "#222"
GRID = "#ddd"
#: Colors that stay apart for the color-blind (Okabe-Ito).
BLUE, ORANGE, GREEN, RED, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#999999"

Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    name: str
    color: str


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= ``x`` (1 for nothing)."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    base = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * base >= x * (1 - 1e-12):
            return m * base
    return 10.0 * base


def _svg(height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" {FONT}>'
        f"<title>{escape(title)}</title>"
        f'<text x="0" y="14" font-weight="600" fill="{TEXT}">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _legend(series: Sequence[Series], y: float) -> list[str]:
    if len(series) < 2:
        return []
    out, x = [], 0.0
    for s in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{s.color}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="{y:.1f}" fill="{TEXT}">{escape(s.name)}</text>')
        x += 24 + 7 * len(s.name)
    return out


def _empty(title: str) -> str:
    return _svg(48, title, [f'<text x="0" y="38" fill="{GREY}">no data</text>'])


def hbars(
    title: str,
    rows: Sequence[tuple[str, Sequence[float], str]],
    series: Sequence[Series],
    *,
    scale_max: float | None = None,
) -> str:
    """One bar per row (``label, values per series, text at its end``), stacked left to
    right, on a scale from 0 to ``scale_max`` (default: a nice ceiling of the largest)."""
    if not rows:
        return _empty(title)
    label_w, text_w, row_h = 170.0, 96.0, 22.0
    top = 24.0 + (18.0 if len(series) > 1 else 0.0)
    plot_w = WIDTH - label_w - text_w
    top_value = max((sum(max(0.0, v) for v in values) for _, values, _ in rows), default=0.0)
    scale = scale_max or nice_ceiling(top_value)
    body = _legend(series, 34.0)
    for i, (label, values, text) in enumerate(rows):
        y = top + i * row_h
        body.append(
            f'<text x="{label_w - 6:.1f}" y="{y + 15:.1f}" text-anchor="end" fill="{TEXT}">'
            f"<title>{escape(label)}</title>{escape(_short(label, 24))}</text>"
        )
        x = label_w
        for s, v in zip(series, values, strict=True):
            w = plot_w * max(0.0, v) / scale
            if w > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{y + 3:.1f}" width="{w:.1f}" height="{row_h - 6:.1f}" '
                    f'fill="{s.color}"><title>{escape(s.name)}: {v:g}</title></rect>'
                )
            x += w
        body.append(f'<text x="{x + 4:.1f}" y="{y + 15:.1f}" fill="{TEXT}">{escape(text)}</text>')
    bottom = top + len(rows) * row_h
    body.append(
        f'<line x1="{label_w:.1f}" y1="{top:.1f}" x2="{label_w:.1f}" y2="{bottom:.1f}" '
        f'stroke="{GRID}"/>'
    )
    return _svg(bottom + 6, title, body)


def columns(
    title: str,
    cols: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[Series],
    *,
    fmt: Format,
    counts: bool = False,
) -> str:
    """One column per entry (``label, values per series``), stacked bottom up, with a
    value axis of 4 gridlines (whole numbers when ``counts``); as many column labels as
    fit without overlapping."""
    if not cols:
        return _empty(title)
    left, right, top, bottom = 84.0, 8.0, 32.0 + (20.0 if len(series) > 1 else 0.0), 36.0
    height = 260.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    top_value = max((sum(max(0.0, v) for v in values) for _, values in cols), default=0.0)
    scale = 4.0 * math.ceil(top_value / 4) if counts else nice_ceiling(top_value)
    scale = scale or 1.0
    body = _legend(series, 38.0)
    for k in range(5):
        y = top + plot_h * (1 - k / 4)
        body.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{WIDTH - right:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
            f'<text x="{left - 4:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{escape(fmt(scale * k / 4))}</text>"
        )
    step = plot_w / len(cols)
    label_w = 7.0 * max(len(_short(label, 14)) for label, _ in cols) + 12.0
    every = max(1, math.ceil(label_w / step))
    for i, (label, values) in enumerate(cols):
        x = left + i * step
        y = top + plot_h
        for s, v in zip(series, values, strict=True):
            h = plot_h * max(0.0, v) / scale
            if h > 0:
                body.append(
                    f'<rect x="{x + step * 0.1:.1f}" y="{y - h:.1f}" width="{step * 0.8:.1f}" '
                    f'height="{h:.1f}" fill="{s.color}">'
                    f"<title>{escape(label)} {escape(s.name)}: {escape(fmt(v))}</title></rect>"
                )
            y -= h
        if i % every == 0:
            body.append(
                f'<text x="{x + step / 2:.1f}" y="{top + plot_h + 16:.1f}" text-anchor="middle" '
                f'fill="{TEXT}">{escape(_short(label, 14))}</text>'
            )
    return _svg(height, title, body)
