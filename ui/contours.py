"""Contour lines as NaN-separated polylines (contourpy), for Plotly Scatter traces.

Plotly's contour and heatmap traces vanish once an animation plays (plotly.js #4491,
plotly.py #2151 -- seen here inside Streamlit even with redraw=True), while Scatter
traces survive. So levels are traced on the server by contourpy (the matplotlib team's,
numpy-only), whose ``ChunkCombinedNan`` line type already joins each level's lines into
one array separated by NaN: one Scatter trace draws a whole family of levels.
"""

from __future__ import annotations

import contourpy
import numpy as np

__all__ = ["contour_segments"]


def contour_segments(x: np.ndarray, y: np.ndarray, f: np.ndarray, levels) -> tuple[np.ndarray, np.ndarray]:
    """The level sets {f = c} for c in levels, as polylines.

    x (nx,), y (ny,): grid lines; f (ny, nx): values (rows follow y, as Plotly's z); non-finite
    values are masked. Returns xs, ys (P,) float32: the polylines' vertices, each polyline
    followed by one NaN (closed lines end where they start).
    """
    f = np.asarray(f, dtype=float)
    if not np.isfinite(f).all():  # a masked array only when needed: contourpy's mask handling costs ~0.1 ms a call
        f = np.ma.masked_invalid(f)
    gen = contourpy.contour_generator(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float), f, line_type="ChunkCombinedNan"
    )
    parts = []
    for c in np.atleast_1d(levels):
        for pts in gen.lines(float(c))[0]:
            if pts is not None and len(pts):
                parts += [pts, np.full((1, 2), np.nan)]
    if not parts:
        return np.empty(0, np.float32), np.empty(0, np.float32)
    xy = np.concatenate(parts).astype(np.float32)
    return xy[:, 0], xy[:, 1]
