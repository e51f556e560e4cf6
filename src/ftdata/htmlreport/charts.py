"""Histograms as inline SVG (no script, no outside resource): log axes where the values or the counts are skewed,
as `ftdata stats --plot` draws them; every label escaped."""

from __future__ import annotations

import math
from html import escape
from statistics import median

BINS = 30
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 520, 240, 52, 40, 34  # the plot area is inside the margins


def log_axes(values: list[int]) -> tuple[bool, bool]:
    """(log x, log y): log x when the positive values span two decades or more (short chats beside long
    documents), log y when the tallest bar is 20 times the median bar or more (the rule of `ftdata stats --plot`)."""
    positive = [v for v in values if v > 0]
    log_x = bool(positive) and max(positive) / min(positive) >= 100
    counts = [c for c in bins(values, log_x)[1] if c]
    return log_x, len(counts) > 1 and max(counts) >= 20 * median(counts)


def bins(values: list[int], log_x: bool) -> tuple[list[float], list[int]]:
    """Bin edges (BINS + 1; geometric with `log_x`, over the positive values only) and the count in each bin."""
    shown = [v for v in values if v > 0] if log_x else values
    if not shown:
        return [0.0, 1.0], [0]
    low, high = min(shown), max(shown)
    if high == low:
        return [low - 0.5, high + 0.5], [len(shown)]
    if log_x:
        step = (math.log(high) - math.log(low)) / BINS
        edges = [math.exp(math.log(low) + i * step) for i in range(BINS + 1)]
    else:
        edges = [low + i * (high - low) / BINS for i in range(BINS + 1)]
    counts = [0] * BINS
    for v in shown:
        at = (math.log(v) - math.log(low)) / step if log_x else (v - low) / (high - low) * BINS
        counts[min(BINS - 1, int(at))] += 1
    return edges, counts


def _x(value: float, edges: list[float], log_x: bool) -> float:
    """Where `value` falls on the x axis, in pixels."""
    low, high = edges[0], edges[-1]
    if log_x:
        value, low, high = math.log(max(value, low)), math.log(low), math.log(high)
    share = (value - low) / (high - low) if high > low else 0.0
    return LEFT + min(max(share, 0.0), 1.0) * (WIDTH - LEFT - 10)


def _y(count: int, tallest: int, log_y: bool) -> float:
    """The height in pixels of a bar of `count` records."""
    room = HEIGHT - BOTTOM - TOP
    if count <= 0:
        return 0.0
    return room * (math.log1p(count) / math.log1p(tallest) if log_y else count / tallest)


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.2g}"


def histogram(title: str, values: list[int], name: str, limit: int | None = None) -> str:
    """One histogram as an <svg> element: `title` and the data's `name` on top, a bar per bin (its range and count
    on hover), the axes' scales said in the labels; `limit` (max length) as a red dashed line."""
    log_x, log_y = log_axes(values)
    edges, counts = bins(values, log_x)
    tallest = max(counts) or 1
    base = HEIGHT - BOTTOM
    parts = [(f'<svg class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
              f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}: {escape(name)}</title>'),
             f'<text x="{WIDTH / 2}" y="14" class="t">{escape(title)}</text>',
             f'<text x="{WIDTH / 2}" y="28" class="n">{escape(name)}</text>',
             f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" class="axis"/>']
    for i, n in enumerate(counts):
        x0, x1 = _x(edges[i], edges, log_x), _x(edges[i + 1], edges, log_x)
        h = _y(n, tallest, log_y)
        parts.append(f'<rect x="{x0:.1f}" y="{base - h:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" height="{h:.1f}">'
                     f'<title>{_number(edges[i])} to {_number(edges[i + 1])}: {n} records</title></rect>')
    if limit is not None and edges[0] <= limit <= edges[-1]:
        x = _x(limit, edges, log_x)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{base}" class="limit"><title>max length '
                     f'{limit}</title></line>')
    left_out = len(values) - sum(counts)
    x_label = ("log scale" if log_x else "linear") + (f"; {left_out} records of 0 left out" if left_out else "")
    if limit is not None and not edges[0] <= limit <= edges[-1]:
        x_label += f"; max length {limit}: " + ("every bar is over it" if limit < edges[0] else "no bar reaches it")
    parts += [f'<text x="{LEFT}" y="{base + 14}" class="a s">{_number(edges[0])}</text>',
              f'<text x="{WIDTH - 10}" y="{base + 14}" class="a e">{_number(edges[-1])}</text>',
              f'<text x="{WIDTH / 2}" y="{base + 30}" class="a">{escape(x_label)}</text>',
              f'<text x="{LEFT - 6}" y="{TOP + 8}" class="a e">{tallest}</text>',
              (f'<text x="12" y="{TOP + (base - TOP) / 2}" class="a" transform="rotate(-90 12 '
               f'{TOP + (base - TOP) / 2})">records{" (log)" if log_y else ""}</text>'), "</svg>"]
    return "".join(parts)
