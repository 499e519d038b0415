"""The funnel plot: each authority's rate per 10,000 against its population, with the
regional rate and its 95% and 99.8% control limits, as server-rendered SVG (no
JavaScript) with a text alternative; the page shows the same numbers in a table."""

from __future__ import annotations

from html import escape
from typing import Any

from joinedup.region.combine import PER, funnel_limits

__all__ = ["funnel_svg"]

_W, _H, _L, _R, _T, _B = 640, 360, 64, 20, 20, 48


def funnel_svg(question: dict[str, Any]) -> str | None:
    """The SVG of one question's funnel, or None when no authority's rate is shown."""
    rows = [r for r in question["rows"] if isinstance(r.get("rate"), int | float)]
    p0_rate = question["region"]["benchmark_rate"]
    if not rows or p0_rate is None:
        return None
    p0 = p0_rate / PER
    n_max = float(max(r["population"] for r in rows)) * 1.1
    n_min = max(1.0, min(r["population"] for r in rows) * 0.5)
    ns = [n_min + (n_max - n_min) * i / 60 for i in range(61)]
    lims = [funnel_limits(p0, int(n)) for n in ns]
    y_max = max([r["rate"] for r in rows] + [lim["high998"] for lim in lims]) * 1.1 or 1.0

    def x(n: float) -> float:
        return _L + (n / n_max) * (_W - _L - _R)

    def y(v: float) -> float:
        return float(_H - _B - (v / y_max) * (_H - _T - _B))

    def line(key: str, dash: str) -> str:
        pts = " ".join(f"{x(n):.1f},{y(lim[key]):.1f}" for n, lim in zip(ns, lims, strict=True))
        return f'<polyline points="{pts}" fill="none" stroke="#505a5f" stroke-dasharray="{dash}"/>'

    label = (
        f"Funnel plot: rate per 10,000 by authority population, against the regional rate "
        f"of {p0_rate}; {sum(1 for r in rows if r.get('compared') == 'similar')} of "
        f"{len(rows)} authorities are within the 95% limits."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-labelledby="funnel-title" class="funnel">',
        f'<title id="funnel-title">{escape(label)}</title>',
        f'<line x1="{_L}" y1="{_H - _B}" x2="{_W - _R}" y2="{_H - _B}" stroke="#0b0c0c"/>',
        f'<line x1="{_L}" y1="{_T}" x2="{_L}" y2="{_H - _B}" stroke="#0b0c0c"/>',
        f'<line x1="{_L}" y1="{y(p0_rate):.1f}" x2="{_W - _R}" y2="{y(p0_rate):.1f}" '
        'stroke="#1d70b8" stroke-width="2"/>',
        line("low95", "4 3"), line("high95", "4 3"), line("low998", "1 3"), line("high998", "1 3"),
        f'<text x="{(_L + _W) / 2:.0f}" y="{_H - 10}" text-anchor="middle" font-size="13">'
        "Population (residents of the ages counted)</text>",
        f'<text x="14" y="{(_T + _H - _B) / 2:.0f}" font-size="13" text-anchor="middle" '
        f'transform="rotate(-90 14 {(_T + _H - _B) / 2:.0f})">Rate per 10,000</text>',
        f'<text x="{_L - 6}" y="{y(0):.1f}" text-anchor="end" font-size="12">0</text>',
        f'<text x="{x(n_max / 1.1):.1f}" y="{_H - _B + 16}" text-anchor="middle" '
        f'font-size="12">{n_max / 1.1:,.0f}</text>',
        f'<text x="{_L - 6}" y="{y(y_max / 1.1):.1f}" text-anchor="end" font-size="12">'
        f"{y_max / 1.1:.0f}</text>",
    ]  # fmt: skip
    for r in rows:
        colour = {"higher": "#d4351c", "lower": "#00703c"}.get(str(r.get("compared")), "#0b0c0c")
        parts.append(
            f'<circle cx="{x(r["population"]):.1f}" cy="{y(r["rate"]):.1f}" r="5" '
            f'fill="{colour}"><title>{escape(str(r["authority"]))}: {r["rate"]}</title></circle>'
        )
        right = x(r["population"]) > _L + 0.6 * (_W - _L - _R)
        lx = x(r["population"]) + (-7 if right else 7)
        parts.append(
            f'<text x="{lx:.1f}" y="{y(r["rate"]) + 4:.1f}" font-size="12" '
            f'text-anchor="{"end" if right else "start"}">{escape(str(r["authority"]))}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
