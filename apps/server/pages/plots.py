"""Small inline SVG charts for the dashboard: no script, no build step, no image files.

Each chart is a self-contained <svg> with axes, a light grid and a legend; values that are
missing (a day without reviews has no median) leave a gap instead of a false zero.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

COLORS = ["#1f5fbf", "#d48806", "#cf1322", "#389e0d", "#722ed1"]
_W, _H = 560, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 28, 40


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _frame(title: str, x_labels: list[str], top: float, percent: bool) -> list[str]:
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{_LEFT}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    for i in range(5):
        y = _TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e8ec"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#5a6473">{_fmt(top * i / 4, percent)}</text>'
        )
    step = max(1, len(x_labels) // 8)
    for i, label in enumerate(x_labels):
        if i % step:
            continue
        x = _x(i, len(x_labels))
        parts.append(
            f'<text x="{x:.1f}" y="{_H - _BOTTOM + 14}" font-size="10" text-anchor="middle" '
            f'fill="#5a6473">{escape(label[5:] if len(label) == 10 else label)}</text>'
        )
    return parts


def _x(i: int, n: int) -> float:
    plot_w = _W - _LEFT - _RIGHT
    return _LEFT + (plot_w * (i + 0.5) / n if n else 0)


def _y(value: float, top: float) -> float:
    plot_h = _H - _TOP - _BOTTOM
    return _TOP + plot_h - plot_h * (value / top if top else 0)


def _legend(names: list[str]) -> list[str]:
    parts = []
    for k, name in enumerate(names):
        x = _LEFT + 110 * k
        color = COLORS[k % len(COLORS)]
        parts.append(f'<rect x="{x}" y="{_H - 14}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="{_H - 5}" font-size="10">{escape(name)}</text>')
    return parts


def line_chart(
    title: str,
    x_labels: list[str],
    series: dict[str, list[float | None]],
    percent: bool = False,
) -> Markup:
    values = [v for vs in series.values() for v in vs if v is not None]
    top = 1.0 if percent else max(values, default=1.0) * 1.1 or 1.0
    parts = _frame(title, x_labels, top, percent)
    for k, vs in enumerate(series.values()):
        color = COLORS[k % len(COLORS)]
        run: list[str] = []
        for i, v in enumerate(vs):
            if v is None:
                if len(run) > 1:
                    parts.append(_polyline(run, color))
                run = []
                continue
            point = f"{_x(i, len(vs)):.1f},{_y(v, top):.1f}"
            run.append(point)
            parts.append(
                f'<circle cx="{point.split(",")[0]}" cy="{point.split(",")[1]}" r="2.5" fill="{color}"/>'
            )
        if len(run) > 1:
            parts.append(_polyline(run, color))
    parts += _legend(list(series))
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(title: str, x_labels: list[str], values: list[float], name: str) -> Markup:
    top = max(values, default=1.0) * 1.1 or 1.0
    parts = _frame(title, x_labels, top, False)
    plot_w = _W - _LEFT - _RIGHT
    width = max(2.0, plot_w / max(len(values), 1) * 0.7)
    for i, v in enumerate(values):
        y = _y(v, top)
        parts.append(
            f'<rect x="{_x(i, len(values)) - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{_H - _BOTTOM - y:.1f}" fill="{COLORS[0]}"><title>{escape(x_labels[i])}: '
            f"{_fmt(v, False)}</title></rect>"
        )
    parts += _legend([name])
    parts.append("</svg>")
    return Markup("".join(parts))


def _polyline(points: list[str], color: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2"/>'
