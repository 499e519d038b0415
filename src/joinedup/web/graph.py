"""Network pictures drawn on the server: a node-link drawing as an accessible SVG.

The layout is computed here, deterministically (the same group always gives the same
picture): members start evenly on a circle in the order of their ids, then a
Fruchterman-Reingold force layout (pure Python, a fixed number of cooling steps) pulls
connected members together, stronger connections more. A member's role is shown by its
shape as well as its colour (circle: child; square: person of concern; triangle: other),
and a connection's strength by the line's width. Members are labelled with a short label
(issue 16: the role's letter and a number, C1, P2, O1, given by the caller) so labels do
not overlap; each member is a link to its row in the members table, reachable by
keyboard, and shows its full pseudonymous id at the top of the picture while it has focus
(or the pointer). Every member and connection is also in the tables the page places
below.

Large groups are drawn with their :data:`MAX_NODES` best-connected members only; the
picture says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from markupsafe import Markup

from joinedup.present.charts import CHART_FONT

__all__ = ["MAX_NODES", "ROLE_STYLE", "NetworkPicture", "force_layout", "network_picture"]

#: Most members drawn in one picture.
MAX_NODES = 150
#: Most members labelled in the picture (short labels: C1, P2).
MAX_LABELLED = 80
#: Height of the line at the top that shows the focused member's full id.
_STATUS_H = 26

_TEXT = "#0b0c0c"
_LINE = "#6f777b"

#: role -> (shape, fill colour, words).
ROLE_STYLE: dict[str, tuple[str, str, str]] = {
    "child": ("circle", "#1d70b8", "Child"),
    "person_of_concern": ("square", "#d4351c", "Person of concern"),
    "other": ("triangle", "#505a5f", "Other"),
}


@dataclass(frozen=True)
class NetworkPicture:
    """A network drawing ready to place in a page."""

    id: str
    title: str
    description: str
    svg_text: str
    drawn: int
    total: int

    @property
    def svg(self) -> Markup:
        return Markup(self.svg_text)

    @property
    def capped(self) -> bool:
        return self.drawn < self.total


@lru_cache(maxsize=64)
def force_layout(
    nodes: tuple[str, ...],
    edges: tuple[tuple[str, str, float], ...],
    iterations: int = 120,
) -> dict[str, tuple[float, float]]:
    """Positions in the unit square for ``nodes`` linked by weighted ``edges``."""
    n = len(nodes)
    if n == 0:
        return {}
    if n == 1:
        return {nodes[0]: (0.5, 0.5)}
    index = {v: i for i, v in enumerate(nodes)}
    xs = [0.5 + 0.45 * math.cos(2 * math.pi * i / n) for i in range(n)]
    ys = [0.5 + 0.45 * math.sin(2 * math.pi * i / n) for i in range(n)]
    links = [(index[a], index[b], w) for a, b, w in edges if a in index and b in index and a != b]
    k = math.sqrt(1.0 / n)
    temperature = 0.1
    cool = temperature / (iterations + 1)
    for _ in range(iterations):
        dx = [0.0] * n
        dy = [0.0] * n
        for i in range(n):
            xi, yi = xs[i], ys[i]
            for j in range(i + 1, n):
                ddx, ddy = xi - xs[j], yi - ys[j]
                dist2 = ddx * ddx + ddy * ddy
                if dist2 < 1e-12:
                    ddx, ddy, dist2 = 1e-3 * ((i % 3) - 1 or 1), 1e-3, 2e-6
                force = k * k / dist2  # repulsion k^2/d, divided by d for the unit vector
                dx[i] += ddx * force
                dy[i] += ddy * force
                dx[j] -= ddx * force
                dy[j] -= ddy * force
        for i, j, w in links:
            ddx, ddy = xs[i] - xs[j], ys[i] - ys[j]
            dist = math.sqrt(ddx * ddx + ddy * ddy) or 1e-6
            force = dist * min(w, 5.0) / k  # attraction d^2/k, times the weight
            dx[i] -= ddx * force
            dy[i] -= ddy * force
            dx[j] += ddx * force
            dy[j] += ddy * force
        for i in range(n):
            length = math.sqrt(dx[i] * dx[i] + dy[i] * dy[i])
            if length > 0:
                step = min(length, temperature)
                xs[i] += dx[i] / length * step
                ys[i] += dy[i] / length * step
        temperature -= cool
    # Fit into the unit square.
    lo_x, hi_x, lo_y, hi_y = min(xs), max(xs), min(ys), max(ys)
    sx = (hi_x - lo_x) or 1.0
    sy = (hi_y - lo_y) or 1.0
    return {v: ((xs[i] - lo_x) / sx, (ys[i] - lo_y) / sy) for i, v in enumerate(nodes)}


def _spread(pos: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Positions eased towards their ranks on each axis, so that a few outlying members do
    not squeeze the rest into the middle where their labels would overlap. The order of
    members along each axis (who is left of whom) is kept."""
    n = len(pos)
    if n < 3:
        return pos
    out: dict[str, list[float]] = {p: [0.0, 0.0] for p in pos}
    for axis in (0, 1):
        ranked = sorted(pos, key=lambda p: (pos[p][axis], p))
        for i, p in enumerate(ranked):
            out[p][axis] = 0.5 * pos[p][axis] + 0.5 * i / (n - 1)
    return {p: (x, y) for p, (x, y) in out.items()}


def _shape(role: str, x: float, y: float, r: float) -> str:
    shape, colour, _ = ROLE_STYLE.get(role, ROLE_STYLE["other"])
    stroke = f'fill="{colour}" stroke="#ffffff" stroke-width="1.5"'
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {stroke}/>'
    if shape == "square":
        s = r * 1.7
        return (
            f'<rect x="{x - s / 2:.1f}" y="{y - s / 2:.1f}" width="{s:.1f}" '
            f'height="{s:.1f}" {stroke}/>'
        )
    h = r * 1.2
    return (
        f'<polygon points="{x:.1f},{y - h * 1.2:.1f} {x + h * 1.1:.1f},{y + h * 0.8:.1f} '
        f'{x - h * 1.1:.1f},{y + h * 0.8:.1f}" {stroke}/>'
    )


def network_picture(
    title: str,
    members: Sequence[tuple[str, str]],
    edges: Sequence[tuple[str, str, float]],
    *,
    picture_id: str = "network",
    width: int = 640,
    height: int = 480,
    max_nodes: int = MAX_NODES,
    labels: Mapping[str, str] | None = None,
    anchor_prefix: str | None = None,
) -> NetworkPicture:
    """A drawing of ``members`` (person id, role) and their weighted ``edges``.

    ``labels`` (person id -> short label) names members in the picture (the id itself
    without it); with ``anchor_prefix`` each member links to ``#<prefix><label>``."""
    short = dict(labels or {})
    degree: dict[str, int] = {pid: 0 for pid, _ in members}
    for a, b, _ in edges:
        if a in degree and b in degree:
            degree[a] += 1
            degree[b] += 1
    chosen = sorted(degree, key=lambda p: (-degree[p], p))[:max_nodes]
    keep = set(chosen)
    role_of = dict(members)
    nodes = tuple(sorted(keep))
    links = tuple(sorted((a, b, float(w)) for a, b, w in edges if a in keep and b in keep))
    pos = _spread(force_layout(nodes, links))
    labelled = len(nodes) <= MAX_LABELLED
    margin_x = 40 if labelled else 20
    legend_h = 40
    top = _STATUS_H + 16
    inner_w = width - 2 * margin_x
    inner_h = height - top - 20 - legend_h
    radius = 9.0 if len(nodes) <= 60 else 6.0

    def at(pid: str) -> tuple[float, float]:
        x, y = pos[pid]
        return margin_x + x * inner_w, top + y * inner_h

    lines = []
    for a, b, w in links:
        (x1, y1), (x2, y2) = at(a), at(b)
        lines.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{_LINE}" '
            f'stroke-width="{1 + min(w, 5.0) * 0.8:.1f}" stroke-linecap="round">'
            f"<title>{escape(short.get(a, a))} and {escape(short.get(b, b))}: strength {w:g}"
            "</title></line>"
        )
    marks = []
    for pid in nodes:
        x, y = at(pid)
        role = role_of.get(pid, "other")
        words = ROLE_STYLE.get(role, ROLE_STYLE["other"])[2]
        name = short.get(pid, pid)
        label = ""
        if labelled:
            anchor = "start" if x < width / 2 else "end"
            dx = radius + 3 if anchor == "start" else -(radius + 3)
            label = (
                f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" font-size="12" font-weight="bold" '
                f'text-anchor="{anchor}" paint-order="stroke" stroke="#ffffff" '
                f'stroke-width="3" aria-hidden="true">{escape(name)}</text>'
            )
        n = degree[pid]
        spoken = (
            f"{name}: {words}, person {pid}, {n} connection{'' if n == 1 else 's'}"
            if name != pid
            else f"{pid}: {words}, {n} connection{'' if n == 1 else 's'}"
        )
        # The full id, shown at the top of the picture while the member has focus.
        full = (
            f'<text class="app-network__full" x="12" y="{_STATUS_H - 8}" font-size="14" '
            f'aria-hidden="true">{escape(name)}: {escape(words.lower())}, person '
            f"{escape(pid)}</text>"
        )
        ring = (
            f'<circle class="app-network__ring" cx="{x:.1f}" cy="{y:.1f}" r="{radius + 5:.1f}" '
            'fill="none" stroke="none"/>'
        )
        body = f"{ring}{_shape(role, x, y, radius)}{label}{full}"
        if anchor_prefix is not None:
            marks.append(
                f'<a class="app-network__node" href="#{escape(anchor_prefix + name)}" '
                f'aria-label="{escape(spoken)}" data-person="{escape(pid)}" '
                f'data-role="{escape(role)}" data-label="{escape(name)}">'
                f"<title>{escape(spoken)}</title>{body}</a>"
            )
        else:
            marks.append(
                f'<g class="app-network__node" data-person="{escape(pid)}" '
                f'data-role="{escape(role)}" data-label="{escape(name)}">'
                f"<title>{escape(spoken)}</title>{body}</g>"
            )
    legend = []
    lx = 20.0
    ly = height - legend_h / 2
    for role, (_, _, words) in ROLE_STYLE.items():
        legend.append(_shape(role, lx + 8, ly, 7.0))
        legend.append(
            f'<text x="{lx + 22:.1f}" y="{ly + 4:.1f}" font-size="13">{escape(words)}</text>'
        )
        lx += 40 + 8 * len(words)
    legend.append(
        f'<text x="{lx:.1f}" y="{ly + 4:.1f}" font-size="13">'
        "Thicker line: stronger connection</text>"
    )
    roles = [role_of.get(p, "other") for p in nodes]
    counts = ", ".join(
        f"{roles.count(r)} {ROLE_STYLE[r][2].lower()}" for r in ROLE_STYLE if roles.count(r)
    )
    capped = len(nodes) < len(members)
    description = (
        f"{title}. {len(nodes)} members drawn ({counts}) and {len(links)} connections. "
        "Children are circles, persons of concern squares, others triangles; a thicker "
        "line is a stronger connection."
        + (
            " Each member is labelled by role and number (C1 is the best-connected child,"
            " P1 the best-connected person of concern, O1 anyone else); moving to a member"
            " shows their full person id."
            if short
            else ""
        )
        + (
            f" Only the {len(nodes)} best-connected of {len(members)} members are drawn."
            if capped
            else ""
        )
        + " Every member and connection is in the tables below the picture."
    )
    svg = (
        f'<svg role="{"group" if anchor_prefix is not None else "img"}" '
        f'aria-labelledby="{picture_id}-title {picture_id}-desc" '
        f'class="app-chart__svg app-network__svg" id="{picture_id}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{CHART_FONT}" fill="{_TEXT}">'
        f'<title id="{picture_id}-title">{escape(title)}</title>'
        f'<desc id="{picture_id}-desc">{escape(description)}</desc>'
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        f'<g class="app-network__edges">{"".join(lines)}</g>'
        f'<text class="app-network__hint" x="12" y="{_STATUS_H - 8}" font-size="14" '
        'aria-hidden="true">'
        f"{'Move to a member to see their full person id.' if short else ''}</text>"
        f'<g class="app-network__nodes">{"".join(marks)}</g>'
        f'<g class="app-network__legend">{"".join(legend)}</g>'
        "</svg>"
    )
    return NetworkPicture(picture_id, title, description, svg, len(nodes), len(members))
