"""Contour lines as line segments (marching squares), for Plotly Scatter traces.

Plotly's contour and heatmap traces vanish once an animation plays (plotly.js #4491,
plotly.py #2151 -- seen here inside Streamlit even with redraw=True), while Scatter
traces survive. So levels are traced on the server: each grid cell crossed by a level
contributes one segment (two for a saddle), and segments are separated by NaN so one
Scatter trace draws a whole family of levels without joining them into paths.
"""

from __future__ import annotations

import numpy as np

__all__ = ["contour_segments"]


def contour_segments(x: np.ndarray, y: np.ndarray, f: np.ndarray, levels) -> tuple[np.ndarray, np.ndarray]:
    """Segments of the level sets {f = c} for c in levels.

    x (nx,), y (ny,): grid lines; f (ny, nx): values (rows follow y, as Plotly's z).
    Returns xs, ys (3 S,) float32: S segments as (start, end, NaN) triples.
    """
    xs_all, ys_all = [], []
    f = np.asarray(f, dtype=float)
    for c in np.atleast_1d(levels):
        sx, sy = _level(x, y, f - c)
        xs_all.append(sx)
        ys_all.append(sy)
    if not xs_all:
        return np.empty(0, np.float32), np.empty(0, np.float32)
    return np.concatenate(xs_all).astype(np.float32), np.concatenate(ys_all).astype(np.float32)


def _cross(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether the edge a-b crosses zero, and where (fraction from a)."""
    hit = (a > 0) != (b > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(hit, a / (a - b), 0.0)
    return hit & np.isfinite(a) & np.isfinite(b), t


def _level(x, y, g):
    v00, v01 = g[:-1, :-1], g[:-1, 1:]  # bottom-left, bottom-right (row = y index)
    v10, v11 = g[1:, :-1], g[1:, 1:]  # top-left, top-right
    x0, x1 = x[None, :-1], x[None, 1:]
    y0, y1 = y[:-1, None], y[1:, None]
    shape = v00.shape
    # Edge crossings in a fixed order: bottom, right, top, left.
    hb, tb = _cross(v00, v01)
    hr, tr = _cross(v01, v11)
    ht, tt = _cross(v10, v11)
    hl, tl = _cross(v00, v10)
    px = np.stack([np.broadcast_to(x0 + tb * (x1 - x0), shape), np.broadcast_to(x1, shape),
                   np.broadcast_to(x0 + tt * (x1 - x0), shape), np.broadcast_to(x0, shape)])  # fmt: skip
    py = np.stack([np.broadcast_to(y0, shape), np.broadcast_to(y0 + tr * (y1 - y0), shape),
                   np.broadcast_to(y1, shape), np.broadcast_to(y0 + tl * (y1 - y0), shape)])  # fmt: skip
    hits = np.stack([hb, hr, ht, hl])
    n = hits.sum(axis=0)
    segs = []
    two = n == 2
    if two.any():
        # the two crossed edges of each cell, in edge order
        order = np.argsort(~hits[:, two], axis=0, kind="stable")[:2]
        cols = np.nonzero(two.ravel())[0]
        pxf, pyf = px.reshape(4, -1)[:, cols], py.reshape(4, -1)[:, cols]
        k = np.arange(cols.size)
        segs.append((pxf[order[0], k], pyf[order[0], k], pxf[order[1], k], pyf[order[1], k]))
    four = n == 4
    if four.any():
        # saddle: the cell centre's sign decides which corners are joined
        centre = (v00 + v01 + v10 + v11)[four] / 4.0
        pxf, pyf = px[:, four], py[:, four]
        same = (centre > 0) == (v00[four] > 0)
        a = np.where(same, 0, 0), np.where(same, 1, 3)  # centre like bottom-left: (bottom,right), (top,left)
        b = np.where(same, 2, 2), np.where(same, 3, 1)
        k = np.arange(centre.size)
        for i, j in (a, b):
            segs.append((pxf[i, k], pyf[i, k], pxf[j, k], pyf[j, k]))
    if not segs:
        return np.empty(0), np.empty(0)
    xa, ya, xb, yb = (np.concatenate(p) for p in zip(*segs, strict=True))
    nan = np.full_like(xa, np.nan)
    return np.stack([xa, xb, nan], axis=1).ravel(), np.stack([ya, yb, nan], axis=1).ravel()
