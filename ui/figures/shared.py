"""Helpers every figure shares: colours, float32 traces, density level lines, equal-scale axes.

Pure functions, no Streamlit. Level lines are drawn as Scatter traces (ui.contours), since
Plotly's contour traces vanish once an animation plays. Every 2D density panel keeps equal
scales on its two axes (a circle stays a circle), unless the target says its two coordinates
are different kinds of quantity.
"""

from __future__ import annotations

import base64
import functools
import html
import math
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from ui.contours import contour_segments

if TYPE_CHECKING:
    from ui.compute import Grid

__all__ = [
    "BEST_COLOUR",
    "BURN_OPACITY",
    "COARSE",
    "DRAW_OPACITY",
    "FONT",
    "FRAME_MS",
    "KL_COLOUR",
    "KL_MARKER",
    "MAX_POINTS",
    "MCMC_COLOUR",
    "N_FRAMES",
    "TARGET_COLOUR",
    "TARGET_LEVELS",
    "TRUTH_COLOUR",
    "VI_COLOUR",
    "WALKER_COLOUR",
    "axis_layout",
    "chart_layout",
    "coarse_axes",
    "equal_axes",
    "f32",
    "picture_xy",
    "radius",
    "ready",
    "scatter",
    "target_figure",
    "target_lines",
]

# Okabe-Ito colours: told apart with any colour vision; compared lines also differ in dash.
VI_COLOUR = "#D55E00"  # vermillion
MCMC_COLOUR = "#0072B2"  # blue
WALKER_COLOUR = "#E69F00"  # orange
KL_COLOUR = "#F0E442"  # yellow
BEST_COLOUR = "#009E73"  # bluish green
KL_MARKER = dict(color=KL_COLOUR, line=dict(color="#8a7d00", width=1))
TRUTH_COLOUR = "#2b2b2b"
TARGET_COLOUR = "#7a9cc6"
DRAW_OPACITY = 0.45
BURN_OPACITY = 0.12  # burn-in draws: shown, but faded
TARGET_LEVELS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
N_FRAMES = 40
FRAME_MS = 90
COARSE = 70  # cells per side of the contour grids sent to the browser
MAX_POINTS = 2500  # MCMC draws drawn in total; the rest are thinned away (browser draw time grows with points)
FONT = dict(size=13, family="Source Sans, sans-serif")  # the app's font: charts drawn with theme=None keep it


class _Ready(go.Figure):
    """A Figure that is only a carrier: its to_dict() is the builder's dict, with the default template."""

    def __init__(self, spec: dict):
        super().__init__()
        self._spec = spec

    def to_dict(self) -> dict:
        layout = self._spec.get("layout") or {}
        template = _template(pio.templates.default)
        if "template" in layout or template is None:
            return self._spec
        return {**self._spec, "layout": {**layout, "template": template}}  # shallow: the dict may be shared


@functools.cache
def _template(name: str | None) -> dict | None:
    """The default template as go.Figure would attach it (Streamlit makes its own the default on import)."""
    return go.Figure().to_dict()["layout"].get("template") if name else None


def ready(spec: dict) -> go.Figure:
    """A builder's figure dict, for st.plotly_chart to send as it is.

    Handed a dict, st.plotly_chart validates it by building a go.Figure and sends that figure's to_dict():
    for the race's 40 frames 0.12 s of every first view, most of a page's own work when a class opens it
    at once. Handed a Figure it only calls to_dict(). So that the page gets what the validated figure would
    give, the dict's numpy arrays become Plotly's base64 typed arrays here (in place, once: float32 as 4
    bytes, not 17-digit decimals) and to_dict() adds the default template. The builders are validated by the
    tests instead: every chart the app tests render goes through go.Figure (tests/app/conftest.py)."""
    _typed_arrays(spec)
    return _Ready(spec)


# plotly.js's typed-array codes; 64-bit integers are narrowed to the smallest type of their sign that holds them,
# as Plotly's own conversion does (plotly.js has none). Keyed by dtype: str(dtype) costs more than the lookup.
_CODES = {np.dtype(k): v for k, v in {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4",
          "uint32": "u4", "float32": "f4", "float64": "f8"}.items()}  # fmt: skip
_NARROWER = {np.dtype("int64"): (np.int8, np.int16, np.int32), np.dtype("uint64"): (np.uint8, np.uint16, np.uint32)}
_NOT_TYPED = frozenset({"geojson", "layer", "layers", "range"})  # keys Plotly leaves as they are
_LEAVES = (str, float, int, bool, type(None))  # nothing to walk into


def _typed(a: np.ndarray):
    """A numeric array as plotly.js's typed-array spec ``{"dtype", "bdata"[, "shape"]}``; others unchanged."""
    if a.size == 0:
        return a
    narrower = _NARROWER.get(a.dtype)
    if narrower:
        lo, hi = a.min(), a.max()
        a = next((a.astype(t) for t in narrower if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max), a)
    code = _CODES.get(a.dtype)
    if code is None:
        return a
    out = {"dtype": code, "bdata": base64.b64encode(np.ascontiguousarray(a)).decode("ascii")}
    if a.ndim > 1:
        out["shape"] = ", ".join(map(str, a.shape))
    return out


def _typed_arrays(obj) -> None:
    """Every numpy array in a figure dict (in place) as a typed-array spec, as go.Figure.to_dict() converts them:
    Plotly's own walk costs ~50 ms on the race (it inspects each value with pandas and narwhals in mind)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, _LEAVES) or key in _NOT_TYPED:
                continue
            if isinstance(value, np.ndarray):
                obj[key] = _typed(value)
            else:
                _typed_arrays(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            if not isinstance(value, _LEAVES):
                _typed_arrays(value)


def f32(a):
    """float32 array for the browser; tiny ones as plain lists, since Plotly's validation and
    serialisation cost is per array, and hundreds of 1-element arrays (markers, bars) dominate it."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 1 and a.size <= 4:  # NaN (a gap) as None: JSON's null, as Plotly's encoder writes it
        return [v if math.isfinite(v) else None for v in a.tolist()]
    return a


def scatter(x, y, axis: str = "", **style) -> dict:
    """A Scatter trace on subplot ``axis`` ('' for the first, '2', '3', ...), float32 data."""
    return dict(type="scatter", x=f32(x), y=f32(y), xaxis=f"x{axis}", yaxis=f"y{axis}", **style)


def coarse_axes(grid: Grid, m: int = COARSE):
    x0, x1, y0, y1 = grid.box
    return np.linspace(x0, x1, m), np.linspace(y0, y1, m)


def radius(log_density: np.ndarray) -> np.ndarray:
    """sqrt(-2 ln(p / max p)): equals the Mahalanobis radius for a Gaussian, so contour
    levels 1, 2, 3 are the 1, 2, 3 sigma ellipses for every shape."""
    lp = log_density - np.max(log_density[np.isfinite(log_density)])
    with np.errstate(invalid="ignore"):
        r = np.sqrt(np.maximum(-2.0 * lp, 0.0))
    return np.where(np.isfinite(r), np.minimum(r, 4.0), 4.0)


def target_lines(grid: Grid, xaxis: str, yaxis: str) -> dict:
    """The target's 0.5 ... 3 'sigma' level lines (see radius) as one Scatter trace."""
    cx, cy = coarse_axes(grid, 90)
    pts = np.stack(np.meshgrid(cx, cy, indexing="xy"), axis=-1)  # (y, x, 2): rows follow y
    with np.errstate(all="ignore"):
        lp = np.asarray(grid.target.log_density(pts), dtype=float)
    lp = np.where(np.isnan(lp), -np.inf, lp)
    x, y = contour_segments(cx, cy, radius(lp), TARGET_LEVELS)
    return dict(
        type="scatter",
        x=x,
        y=y,
        mode="lines",
        line=dict(color=TARGET_COLOUR, width=1.3),
        xaxis=xaxis,
        yaxis=yaxis,
        hoverinfo="skip",
        name="target p(z|X)",
        showlegend=False,
    )


def equal_axes(xaxis: dict, yaxis: dict, x_id: str = "x", same_units: bool = True) -> None:
    """Make a 2D density subplot keep equal scales on its axes, in place: one unit of y is
    drawn as long as one unit of x, and the fixed ranges are kept by shrinking the plot area
    (``constrain="domain"``), not by widening a range. x_id: the subplot's x axis ('x2', ...).
    With same_units False (two different kinds of quantity) the axes keep their own scales
    and the y title says so."""
    if not same_units:
        title = yaxis.setdefault("title", {})
        title["text"] = f"{title.get('text', '')} (not to scale with {_title(xaxis)})".strip()
        return
    xaxis["constrain"] = "domain"
    yaxis.update(scaleanchor=x_id, scaleratio=1, constrain="domain")


def _title(axis: dict) -> str:
    return (axis.get("title") or {}).get("text") or "x"


def _same_units(grid: Grid) -> bool:
    """Whether the target's two coordinates are the same kind of quantity (drawn to one scale)."""
    return bool(getattr(grid.target, "same_units", True))


def axis_layout(grid: Grid, x_id: str = "x") -> tuple[dict, dict]:
    """Axes for a 2D density panel over the grid's box, with equal scales (see equal_axes)."""
    x0, x1, y0, y1 = grid.box
    lx, ly = grid.target.labels
    xa = dict(range=[x0, x1], title=dict(text=lx), zeroline=False, showgrid=False)
    ya = dict(range=[y0, y1], title=dict(text=ly), zeroline=False, showgrid=False)
    equal_axes(xa, ya, x_id, _same_units(grid))
    return xa, ya


def chart_layout(height: int, xaxis: dict, yaxis: dict, left: int = 55) -> dict:
    """A line chart's layout: the legend in a row above the plot area, anchored at its bottom, so it never
    covers the curves or an axis title."""
    return dict(
        height=height,
        margin=dict(l=left, r=10, t=75, b=45),
        font=FONT,
        xaxis=xaxis,
        yaxis=yaxis,
        legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"),
    )


def target_figure(grid: Grid, title: str = "") -> dict:
    """The target's contours alone: what is on screen before any Run. A long title is
    wrapped into lines that fit a phone."""
    xa, ya = axis_layout(grid)
    lines = _wrap(title, 46)
    return dict(
        data=[target_lines(grid, "x", "y")],
        layout=dict(
            # the title may quote a typed expression (its # comment can hold any text): Plotly reads tags and
            # links in a title, so the text goes in as entities and shows as typed
            title=dict(text="<br>".join(html.escape(s, quote=False) for s in lines), font=dict(size=14)),
            xaxis=xa,
            yaxis=ya,
            height=430 + 18 * max(len(lines) - 1, 0),
            margin=dict(l=50, r=10, t=22 + 18 * max(len(lines), 1), b=40),
            font=FONT,
        ),
    )


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most ``width`` characters (a longer word gets a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def picture_xy(picture) -> tuple[np.ndarray, np.ndarray, str]:
    """A q's picture (vi_core.families.Picture) as (x, y, Plotly mode): curves as they are, level functions as their
    lines at 1, 2, 3 (the 1, 2, 3 sigma contours for a Gaussian), particles as markers. Figures know these three
    kinds, not the families."""
    if picture.kind == "curves":
        return f32(picture.x), f32(picture.y), "lines"
    if picture.kind == "levels":
        x, y = contour_segments(picture.x, picture.y, picture.z, (1, 2, 3))
        return x, y, "lines"
    if picture.kind == "points":
        return f32(picture.x), f32(picture.y), "markers"
    raise ValueError(f"a picture's kind is curves, levels or points, got {picture.kind!r}")
