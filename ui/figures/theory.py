"""The Theory page's figures: a target with Gaussian or grid-CAVI q's drawn over it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ui.contours import contour_segments
from ui.figures.shared import axis_layout, cavi_radius, coarse_axes, ellipses, target_lines

if TYPE_CHECKING:
    from ui.compute import GaussianQ, Grid, GridProductQ

__all__ = ["q_figure", "q_trace"]


def q_trace(grid: Grid, q: GaussianQ | GridProductQ, colour: str, name: str, dash: str = "solid") -> dict:
    """q's 1, 2, 3σ contours (ellipses for a Gaussian, level lines for a grid product)."""
    if getattr(q, "chol", None) is not None:  # a Gaussian q: its 1, 2, 3σ ellipses
        x, y = ellipses(q.mean, q.chol)
    else:
        cx, cy = coarse_axes(grid)
        x, y = contour_segments(cx, cy, cavi_radius(grid, q.w1, q.w2), (1, 2, 3))
    return dict(type="scatter", x=x, y=y, mode="lines", line=dict(color=colour, width=2.5, dash=dash), name=name)


def _mean_marker(q, colour: str) -> dict:
    m = q.mean
    return dict(
        type="scatter", x=[float(m[0])], y=[float(m[1])], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(color=colour, size=10, symbol="x"),
    )  # fmt: skip


def q_figure(grid: Grid, qs: list[tuple], title: str = "", height: int = 400) -> dict:
    """The target's contours (blue) with each q's 1, 2, 3σ contours over them.

    qs: [(q, colour, legend name, dash)]. Returns a Plotly figure dict.
    """
    target = {**target_lines(grid, "x", "y"), "name": "target p(z|X)", "showlegend": True}
    data = [target]
    for q, colour, name, dash in qs:
        data += [q_trace(grid, q, colour, name, dash), _mean_marker(q, colour)]
    xa, ya = axis_layout(grid)
    return dict(
        data=data,
        layout=dict(
            title=dict(text=title, font=dict(size=14)),
            xaxis=xa,  # equal scales on both axes (see shared.equal_axes)
            yaxis=ya,
            height=height,
            margin=dict(l=50, r=10, t=40 if title else 10, b=40),
            font=dict(size=13),
            legend=dict(orientation="h", x=0, y=-0.18),
        ),
    )
