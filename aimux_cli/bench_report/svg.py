"""Small inline-SVG charts for the HTML report: a histogram and a line chart, several series overlaid.

Contract: `histogram(...)` and `line_chart(...)` return one `<svg>` element as text (no JavaScript, no external
reference); `legend(labels)` the HTML legend that goes with them. Every label, title and description is HTML-escaped
here (secrets registered in the process scrubbed first, since escaping could change their form), so callers pass
plain text. Series are told apart by colour AND by a dash pattern and a marker shape
(`style(i)`), so a chart reads in greyscale or without colour vision; each chart carries a `<title>` and a `<desc>`
(role="img") for screen readers, and each bar or point a `<title>` with its figures (a tooltip on hover).
"""

from __future__ import annotations

import bisect
import math
import sys
from collections.abc import Sequence
from html import escape as _escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies (yellow left out: unreadable on white)
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "7 3", "2 2", "9 3 2 3", "4 4", "1 3", "12 4 2 4 2 4")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "down", "plus")
WIDTH, HEIGHT = 640, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 62, 16, 12, 44


def escape(value: object) -> str:
    """Text made safe for HTML and SVG: registered secrets scrubbed (when aimux_cli.redact is loaded: no secret can
    be registered without it), then escaped, quotes included."""
    text = value if isinstance(value, str) else str(value)
    redact = sys.modules.get("aimux_cli.redact")
    if redact is not None:
        text = redact.scrub(text)
    return _escape(text, quote=True)


def style(i: int) -> tuple[str, str, str]:
    """(colour, dash pattern, marker) of series `i`; the three cycle at different lengths past 7 series."""
    return COLOURS[i % len(COLOURS)], DASHES[i % len(DASHES)], MARKERS[(i + i // len(MARKERS)) % len(MARKERS)]


def fmt(value: float) -> str:
    """A figure for an axis or a tooltip: 3 significant digits, thousands grouped, no exponent below 1e9."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(magnitude)))
    text = f"{value:.{min(decimals, 6)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: about `count` of them, 1/2/5 x 10^k apart."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(lo / step), math.ceil(hi / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


class _Frame:
    """The plot area of one chart: value -> pixel mapping, the axes and their labels."""

    def __init__(self, x_range: tuple[float, float], y_max: float, x_label: str, y_label: str) -> None:
        self.x_ticks = ticks(*x_range)
        self.x0, self.x1 = min(x_range[0], self.x_ticks[0]), max(x_range[1], self.x_ticks[-1])
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        self.y_ticks = ticks(0, y_max if y_max > 0 else 1)
        self.y1 = max(self.y_ticks[-1], y_max) or 1
        self.x_label, self.y_label = x_label, y_label

    def x(self, value: float) -> float:
        return round(_LEFT + (value - self.x0) / (self.x1 - self.x0) * (WIDTH - _LEFT - _RIGHT), 2)

    def y(self, value: float) -> float:
        return round(HEIGHT - _BOTTOM - value / self.y1 * (HEIGHT - _TOP - _BOTTOM), 2)

    def axes(self) -> str:
        bottom, parts = HEIGHT - _BOTTOM, []
        for t in self.y_ticks:
            y = self.y(t)
            parts.append(f'<line class="grid" x1="{_LEFT}" y1="{y}" x2="{WIDTH - _RIGHT}" y2="{y}"/>'
                         f'<text class="tick" x="{_LEFT - 6}" y="{y + 4}" text-anchor="end">{fmt(t)}</text>')
        for t in self.x_ticks:
            x = self.x(t)
            parts.append(f'<line class="axis" x1="{x}" y1="{bottom}" x2="{x}" y2="{bottom + 4}"/>'
                         f'<text class="tick" x="{x}" y="{bottom + 16}" text-anchor="middle">{fmt(t)}</text>')
        parts.append(f'<line class="axis" x1="{_LEFT}" y1="{bottom}" x2="{WIDTH - _RIGHT}" y2="{bottom}"/>'
                     f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}"/>'
                     f'<text class="label" x="{(_LEFT + WIDTH - _RIGHT) / 2}" y="{HEIGHT - 6}" '
                     f'text-anchor="middle">{escape(self.x_label)}</text>'
                     f'<text class="label" transform="translate(14 {(_TOP + bottom) / 2}) rotate(-90)" '
                     f'text-anchor="middle">{escape(self.y_label)}</text>')
        return "".join(parts)


def _open(chart_id: str, title: str, desc: str) -> str:
    return (f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
            f'xmlns="http://www.w3.org/2000/svg"><title id="{escape(chart_id)}-t">{escape(title)}</title>'
            f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>')


def empty(chart_id: str, title: str, why: str) -> str:
    """A chart-sized box saying why there is nothing to draw (no samples, no completed request)."""
    return (_open(chart_id, title, why) + f'<rect class="frame" x="1" y="1" width="{WIDTH - 2}" '
            f'height="{HEIGHT - 2}"/><text class="none" x="{WIDTH / 2}" y="{HEIGHT / 2}" '
            f'text-anchor="middle">{escape(why)}</text></svg>')


def histogram(chart_id: str, title: str, series: Sequence[tuple[str, Sequence[float]]], unit: str,
              x_label: str = "", bins: int = 24) -> str:
    """Share of each series' values per bin (so runs of different sizes compare), bins shared by all series over
    [lowest value, highest p99]; values above are counted in the last bin, and the description says how many. One
    series is drawn as bars, several as outlined steps in their own colour and dash."""
    drawn = [(label, sorted(values)) for label, values in series if values]
    if not drawn:
        return empty(chart_id, title, "no samples to draw")
    lo = min(v[0] for _, v in drawn)
    hi = max(v[min(len(v) - 1, math.ceil(0.99 * (len(v) - 1)))] for _, v in drawn)
    if hi <= lo:
        hi = lo + max(abs(lo) * 0.1, 1.0)
    width = (hi - lo) / bins
    shares, clipped = [], 0
    edges = [lo + i * width for i in range(1, bins)]  # inner edges; the last bin takes all above, as clipped
    for _, values in drawn:  # sorted: each bin's count is the distance between two bisections
        cuts = [0] + [bisect.bisect_left(values, e) for e in edges] + [len(values)]
        counts = [cuts[i + 1] - cuts[i] for i in range(bins)]
        clipped += len(values) - bisect.bisect_right(values, hi)
        shares.append([100 * c / len(values) for c in counts])
    frame = _Frame((lo, hi), max(max(s) for s in shares), f"{x_label or title} ({unit})", "% of samples")
    desc = (f"Histogram of {x_label or title} in {unit}, {bins} bins from {fmt(lo)} to {fmt(hi)}; "
            + "; ".join(f"{label}: {len(v)} samples, median {fmt(v[len(v) // 2])}" for label, v in drawn)
            + (f". {clipped} values above {fmt(hi)} are counted in the last bin." if clipped else "."))
    parts = [_open(chart_id, title, desc), frame.axes()]
    for i, ((label, values), share) in enumerate(zip(drawn, shares)):
        colour, dash, _ = style(_index(series, label))
        if len(drawn) == 1:
            parts.append(_bars(frame, lo, width, share, values, colour, label, unit))
        else:
            parts.append(_steps(frame, lo, width, share, colour, dash, label))
    parts.append("</svg>")
    return "".join(parts)


def _index(series: Sequence[tuple[str, object]], label: str) -> int:
    return next(i for i, (name, _) in enumerate(series) if name == label)


def _bars(frame: _Frame, lo: float, width: float, share: list[float], values: list[float], colour: str,
          label: str, unit: str) -> str:
    parts = [f'<g class="series" fill="{colour}">']
    base = frame.y(0)
    for i, pct in enumerate(share):
        if not pct:
            continue
        left, right, top = frame.x(lo + i * width), frame.x(lo + (i + 1) * width), frame.y(pct)
        count = round(pct * len(values) / 100)
        wide, high = round(max(right - left - 1, 1), 2), round(base - top, 2)
        parts.append(f'<rect x="{left}" y="{top}" width="{wide}" height="{high}">'
                     f'<title>{escape(label)}: {fmt(lo + i * width)}–{fmt(lo + (i + 1) * width)} {escape(unit)}: '
                     f'{count} ({fmt(pct)} %)</title></rect>')
    parts.append("</g>")
    return "".join(parts)


def _steps(frame: _Frame, lo: float, width: float, share: list[float], colour: str, dash: str, label: str) -> str:
    points = [(frame.x(lo), frame.y(0))]
    for i, pct in enumerate(share):
        points += [(frame.x(lo + i * width), frame.y(pct)), (frame.x(lo + (i + 1) * width), frame.y(pct))]
    points.append((frame.x(lo + len(share) * width), frame.y(0)))
    path = " ".join(f"{x},{y}" for x, y in points)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polygon class="area" points="{path}" fill="{colour}" fill-opacity="0.10"/>'
            f'<polyline class="series" points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashed}>'
            f'<title>{escape(label)}</title></polyline>')


def line_chart(chart_id: str, title: str, series: Sequence[tuple[str, int, Sequence[tuple[float, float]]]],
               x_label: str, y_label: str, unit: str = "") -> str:
    """Series of (x, y) points as lines, each in its style (`series` = (label, style index, points)), a marker on
    every point up to 80 per series (each with a tooltip of its figures)."""
    drawn = [(label, i, points) for label, i, points in series if points]
    if not drawn:
        return empty(chart_id, title, "no samples to draw")
    xs = [x for _, _, p in drawn for x, _ in p]
    y_max = max(y for _, _, p in drawn for _, y in p)
    frame = _Frame((0.0, max(xs)), y_max, x_label, y_label)
    desc = f"{title}: {y_label} against {x_label}; " + "; ".join(
        f"{label}: {len(p)} points, highest {fmt(max(y for _, y in p))}" for label, _, p in drawn) + "."
    parts = [_open(chart_id, title, desc), frame.axes()]
    for label, index, points in drawn:
        colour, dash, marker = style(index)
        path = " ".join(f"{frame.x(x)},{frame.y(y)}" for x, y in points)
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="series"><polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
                     f'{dashed}><title>{escape(label)}</title></polyline>')
        if len(points) <= 80:
            for x, y in points:
                tip = f"{escape(label)}: {fmt(y)}{escape(unit)} at {fmt(x)} s"
                parts.append(_marker(marker, frame.x(x), frame.y(y), colour, tip))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _marker(kind: str, x: float, y: float, colour: str, tip: str, r: float = 3.5) -> str:
    """A marker shape centred on (x, y), with a tooltip."""
    tail = f' fill="{colour}" stroke="{colour}"><title>{tip}</title>'
    if kind == "circle":
        return f'<circle cx="{x}" cy="{y}" r="{r}"{tail}</circle>'
    if kind == "square":
        return f'<rect x="{x - r}" y="{y - r}" width="{2 * r}" height="{2 * r}"{tail}</rect>'
    shapes = {"triangle": [(0, -1.2), (1.1, 0.9), (-1.1, 0.9)], "down": [(0, 1.2), (1.1, -0.9), (-1.1, -0.9)],
              "diamond": [(0, -1.3), (1.1, 0), (0, 1.3), (-1.1, 0)],
              "cross": [(-1, -1), (0, -0.3), (1, -1), (0.3, 0), (1, 1), (0, 0.3), (-1, 1), (-0.3, 0)],
              "plus": [(-0.3, -1.1), (0.3, -1.1), (0.3, -0.3), (1.1, -0.3), (1.1, 0.3), (0.3, 0.3), (0.3, 1.1),
                       (-0.3, 1.1), (-0.3, 0.3), (-1.1, 0.3), (-1.1, -0.3), (-0.3, -0.3)]}
    points = " ".join(f"{round(x + dx * r, 2)},{round(y + dy * r, 2)}" for dx, dy in shapes[kind])
    return f'<polygon points="{points}"{tail}</polygon>'


def swatch(index: int) -> str:
    """A small SVG sample of series `index`'s line, dash and marker, for a legend."""
    colour, dash, marker = style(index)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<svg class="swatch" width="40" height="14" viewBox="0 0 40 14" aria-hidden="true">'
            f'<line x1="1" y1="7" x2="39" y2="7" stroke="{colour}" stroke-width="2"{dashed}/>'
            f'{_marker(marker, 20, 7, colour, "")}</svg>')


def legend(labels: Sequence[str]) -> str:
    """The legend of a chart: one entry per run, its swatch and its label."""
    items = "".join(f"<li>{swatch(i)}<span>{escape(label)}</span></li>" for i, label in enumerate(labels))
    return f'<ul class="legend">{items}</ul>'
