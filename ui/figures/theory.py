"""The Theory page's figures: a target with Gaussian or grid-CAVI q's drawn over it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ui.figures.shared import axis_layout, picture_xy, target_lines

if TYPE_CHECKING:
    from ui.compute import Family, Grid

__all__ = ["q_figure", "q_trace"]


def q_trace(grid: Grid, q: Family, colour: str, name: str, dash: str = "solid") -> dict:
    """q's picture (its family's own: 1, 2, 3σ ellipses, level lines or particles)."""
    x, y, mode = picture_xy(q.picture(grid))
    style = dict(line=dict(color=colour, width=2.5, dash=dash)) if mode == "lines" else dict(marker=dict(color=colour))
    return dict(type="scatter", x=x, y=y, mode=mode, name=name, **style)


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
