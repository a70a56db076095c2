"""The Lessons page's figure: a small static picture of a lesson's target."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ui.figures.shared import target_figure

if TYPE_CHECKING:
    from ui.compute import Grid

__all__ = ["preview_figure"]


def preview_figure(grid: Grid) -> dict:
    """The target's level lines, 200 px high, without tick labels or titles."""
    fig = target_figure(grid)
    fig["layout"].update(height=200, margin=dict(l=5, r=5, t=5, b=5))
    fig["layout"]["xaxis"].update(showticklabels=False, title=None)
    fig["layout"]["yaxis"].update(showticklabels=False, title=None)
    return fig
