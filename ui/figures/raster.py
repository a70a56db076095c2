"""The race drawn as still pictures with Pillow: on the server, without a browser, for the GIF, MP4 and PNG exports.

The frames are the animated figure's (``race.frame_plan``: the same VI state and MCMC step per frame, the same
thinned draws, burn-in faded) with every panel of the race -- VI's q over the target, the MCMC draws and the
walkers now, the ELBO trace, the distance to the truth against wall-clock time and the gauge
ln p(X) = ELBO + KL -- a time stamp per frame and no Play/Pause or slider. Both density panels keep equal scales
(one unit of z₂ is as many pixels as one unit of z₁) unless the target says its coordinates are different kinds of
quantity, as the app does.

Lines and points are drawn at twice the size and halved (anti-aliasing), text afterwards at the final size, in the
app's own font (Source Sans 3, shipped inside Streamlit; Pillow's built-in font where it is missing). The layout is
in units of a 960 × 540 picture, scaled to the width asked for (16:9).
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ui.figures import race
from ui.figures.shared import (
    BEST_COLOUR,
    BURN_OPACITY,
    DRAW_OPACITY,
    KL_COLOUR,
    MCMC_COLOUR,
    TARGET_COLOUR,
    TRUTH_COLOUR,
    VI_COLOUR,
    WALKER_COLOUR,
    axis_layout,
    target_lines,
)

if TYPE_CHECKING:
    from ui.compute import Grid, McmcResult, ViResult

__all__ = ["BASE", "height_for", "palette_image", "quantize", "race_frame", "race_frames", "stamp"]

BASE = (960, 540)  # layout units; a picture of width W is drawn at W / 960 pixels per unit
SS = 2  # lines and points are drawn at SS times the size, then reduced (anti-aliasing)
MC_LIGHT = "#f3b592"  # the ELBO's Monte Carlo estimate, as in the race
KL_EDGE = "#8a7d00"
AXIS_GREY = "#9a9a9a"
GRID_GREY = "#ececec"
TEXT = TRUTH_COLOUR
MUTED = "#6b6b6b"

# Layout, in units (left, top, right, bottom): the two density panels' cells, the ELBO and MMD plot areas,
# the gauge's bar.
_DENSITY_CELLS = ((8, 58, 328, 408), (338, 58, 658, 408))
_DENSITY_MARGIN = (36, 4, 6, 34)  # left, top, right, bottom inside a cell: tick labels and axis titles
_ELBO_RECT = (712, 78, 948, 214)
_MMD_RECT = (712, 270, 948, 398)
_GAUGE_BAR = (16, 480, 944, 498)


def height_for(width: int) -> int:
    """The picture's height for a width: 16:9, rounded to an even number of pixels (video encoders need it)."""
    return 2 * round(width * BASE[1] / BASE[0] / 2)


# ---------------------------------------------------------------------------------------------- text


_FALLBACK = str.maketrans({"₁": "1", "₂": "2", "−": "-", "μ": "mu", "τ": "tau", "α": "alpha", "β": "beta", "‖": "||"})


@functools.cache
def _font_file() -> str | None:
    """Source Sans 3 (the app's font), as shipped inside Streamlit's static files; None when not found."""
    spec = importlib.util.find_spec("streamlit")  # finds the package without importing it (~1 s)
    for root in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(glob.glob(os.path.join(root, "static", "static", "media", "SourceSansVF-Upright*.woff2")))
        if found:
            return found[0]
    return None


@functools.cache
def _font(size: int, weight: int = 400) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _font_file()
    if path is not None:
        try:
            font = ImageFont.truetype(path, size)
            font.set_variation_by_axes([weight])  # a variable font: its default is ExtraLight
            return font
        except OSError:  # a FreeType without WOFF2 (brotli) support
            pass
    return ImageFont.load_default(size)


def _text(s: str) -> str:
    """Text as the font in use can draw it: Pillow's built-in font has no Greek letters or subscripts."""
    return s if _font_file() is not None else s.translate(_FALLBACK)


def _num(v: float, digits: int = 3) -> str:
    """A number with a real minus sign, as Plotly writes it."""
    return f"{v:.{digits}f}".replace("-", "−") if math.isfinite(v) else "—"


# ---------------------------------------------------------------------------------------------- axes


def _nice_step(span: float, n: int) -> float:
    raw = span / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= raw:
            return m * mag
    return 10.0 * mag


def _ticks(lo: float, hi: float, n: int = 5, step: float | None = None) -> list[tuple[float, str]]:
    """About n round values in [lo, hi] (or every ``step``) with their labels."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return []
    step = step or _nice_step(hi - lo, n)
    decimals = len(f"{step:.10f}".rstrip("0").split(".")[1])
    first = math.ceil(lo / step - 1e-9)
    out = []
    for i in range(first, first + n * 3):
        v = i * step
        if v > hi + 1e-9 * step:
            break
        out.append((v, _num(0.0 if abs(v) < step * 1e-9 else v, decimals)))
    return out


def _log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks on a log axis spanning 10^lo .. 10^hi: the decades, with 2 and 5 between when there are few."""
    decades = range(math.floor(lo), math.ceil(hi) + 1)
    mults = (1,) if hi - lo >= 2 else (1, 2, 5)
    out = []
    for e in decades:
        for m in mults:
            v = m * 10.0**e
            if lo - 1e-9 <= math.log10(v) <= hi + 1e-9:
                out.append((math.log10(v), f"{v:g}"))
    return out


class _Axes:
    """A plot area: rect in layout units (left, top, right, bottom) and data ranges; log axes in log10 units."""

    def __init__(self, rect, xr, yr, xlog: bool = False, ylog: bool = False, step: float | None = None):
        self.rect, self.xr, self.yr, self.xlog, self.ylog = rect, xr, yr, xlog, ylog
        self.step = step  # one tick step for both axes (a density panel drawn to one scale), else each its own

    def box(self, scale: float) -> tuple[int, int, int, int]:
        """The plot area in pixels at ``scale`` pixels per unit (areas of one size in units: one size in pixels)."""
        x0, y0 = round(self.rect[0] * scale), round(self.rect[1] * scale)
        return (
            x0,
            y0,
            x0 + round((self.rect[2] - self.rect[0]) * scale),
            y0 + round((self.rect[3] - self.rect[1]) * scale),
        )

    def local(self, x, y, scale: float) -> np.ndarray:
        """Data -> pixels inside the plot area (origin at its top-left corner), (N, 2); non-finite stays NaN."""
        x0, y0, x1, y1 = self.box(scale)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        with np.errstate(all="ignore"):
            if self.xlog:
                x = np.log10(x)
            if self.ylog:
                y = np.log10(y)
            px = (x - self.xr[0]) / (self.xr[1] - self.xr[0]) * (x1 - x0)
            py = (1.0 - (y - self.yr[0]) / (self.yr[1] - self.yr[0])) * (y1 - y0)
        lim = 4.0 * max(x1 - x0, y1 - y0)  # far-away points are pulled in: the plot area clips them anyway
        return np.clip(np.stack([px, py], axis=-1), -lim, lim)

    def unit(self, x: float, y: float) -> tuple[float, float]:
        """Data -> layout units (for text)."""
        p = self.local([x], [y], 1.0)[0]
        return self.rect[0] + p[0], self.rect[1] + p[1]


def _equal_rect(cell, box, equal: bool):
    """The plot area inside a density panel's cell: the box drawn to one scale on both axes (centred, as Plotly's
    constrain="domain"), or filling the cell when the two coordinates are different kinds of quantity."""
    left, top = cell[0] + _DENSITY_MARGIN[0], cell[1] + _DENSITY_MARGIN[1]
    right, bottom = cell[2] - _DENSITY_MARGIN[2], cell[3] - _DENSITY_MARGIN[3]
    if not equal:
        return (left, top, right, bottom)
    w, h = right - left, bottom - top
    bx, by = box[1] - box[0], box[3] - box[2]
    s = min(w / bx, h / by)
    pw, ph = bx * s, by * s
    cx, cy = left + w / 2, top + h / 2
    return (cx - pw / 2, cy - ph / 2, cx + pw / 2, cy + ph / 2)


# ---------------------------------------------------------------------------------------------- drawing


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _mix(colour: str, alpha: float) -> tuple[int, int, int]:
    """colour at opacity alpha over white."""
    return tuple(round(255 + alpha * (v - 255)) for v in _rgb(colour))


def _pieces(xy: np.ndarray) -> list[list[tuple[float, float]]]:
    """A NaN-separated polyline as its pieces of at least two points."""
    ok = np.isfinite(xy).all(axis=1)
    out, start = [], None
    for i, good in enumerate(np.append(ok, False)):
        if good and start is None:
            start = i
        elif not good and start is not None:
            if i - start >= 2:
                out.append([tuple(p) for p in xy[start:i].tolist()])
            start = None
    return out


def _polyline(draw: ImageDraw.ImageDraw, xy: np.ndarray, fill, width: float, dash: tuple[float, float] | None = None):
    w = max(1, round(width))
    for piece in _pieces(xy):
        if dash is None:
            draw.line(piece, fill=fill, width=w, joint="curve" if w > 2 else None)
        else:
            for seg in _dashes(np.asarray(piece), *dash):
                draw.line(seg, fill=fill, width=w)


def _dashes(pts: np.ndarray, on: float, off: float) -> list[list[tuple[float, float]]]:
    """The 'on' stretches of a dashed polyline, as polylines."""
    seg = np.diff(pts, axis=0)
    length = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(length)])
    out = []
    period = on + off
    s = 0.0
    while s < cum[-1]:
        e = min(s + on, cum[-1])
        inside = (cum > s) & (cum < e)
        ts = np.concatenate([[s], cum[inside], [e]])
        xs = np.interp(ts, cum, pts[:, 0])
        ys = np.interp(ts, cum, pts[:, 1])
        out.append(list(zip(xs.tolist(), ys.tolist(), strict=True)))
        s += period
    return out


def _dots(draw: ImageDraw.ImageDraw, xy: np.ndarray, r: float, fill, outline=None, width: int = 0) -> None:
    for x, y in xy[np.isfinite(xy).all(axis=1)].tolist():
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=outline, width=width)


def _cross(draw: ImageDraw.ImageDraw, xy: np.ndarray, r: float, fill, width: int) -> None:
    for x, y in xy[np.isfinite(xy).all(axis=1)].tolist():
        draw.line((x - r, y - r, x + r, y + r), fill=fill, width=width)
        draw.line((x - r, y + r, x + r, y - r), fill=fill, width=width)


def _xy(trace: dict) -> np.ndarray:
    return np.stack([np.asarray(trace["x"], dtype=float), np.asarray(trace["y"], dtype=float)], axis=-1)


# ---------------------------------------------------------------------------------------------- the race


def _target_title(grid: Grid) -> str:
    t = grid.target
    if getattr(t, "expr", None):
        expr = " ".join(str(t.expr).split())
        return f"ln p(x, y) = {expr[:70]}{'…' if len(expr) > 70 else ''}"
    name = (t.description or t.name).split(":")[0]
    params = ", ".join(f"{k} = {v:g}" for k, v in t.param_values().items())
    return f"{name} · {params}" if params else name


def _fmt_time(t: float) -> str:
    return race._fmt_time(float(t))


class _Race:
    """The race's static parts, drawn once; ``frame(k)`` adds what changes. Frames drawn in order reuse the MCMC
    panel's draws so far (they only accumulate)."""

    def __init__(self, grid: Grid, vi: ViResult, mc: McmcResult, clock: str, width: int):
        if width < 320:
            raise ValueError(f"width must be at least 320 pixels, got {width}")
        self.grid, self.vi, self.mc, self.clock = grid, vi, mc, clock
        self.width, self.height = int(width), height_for(int(width))
        self.u = self.width / BASE[0]  # pixels per unit in the final picture
        self.k = self.u * SS  # ... while drawing lines and points
        self.vi_idx, self.mc_idx, _, self.instants = race.frame_plan(vi, mc, clock)
        self.n = len(self.vi_idx)
        self.log_z = float(grid.log_z)
        self.chunks = race._sample_chunks(mc, self.mc_idx)
        self.gauge = race._Gauge.for_run(vi, self.vi_idx, self.log_z)
        xa, ya = axis_layout(grid, "x")
        self.equal = "scaleanchor" in ya
        self.axis_titles = (xa["title"]["text"], ya["title"]["text"])
        box = grid.box
        step = _nice_step(min(box[1] - box[0], box[3] - box[2]), 5) if self.equal else None
        self.density = [
            _Axes(_equal_rect(cell, box, self.equal), (box[0], box[1]), (box[2], box[3]), step=step)
            for cell in _DENSITY_CELLS
        ]
        self._elbo_axes()
        self._mmd_axes()
        self._static_lines()
        self._draws_done = -1
        self._draws = self._density_bg.copy()

    # -- axes and ranges, as the race's layout has them

    def _elbo_axes(self) -> None:
        vi = self.vi
        lo, hi = race._elbo_range(vi, self.log_z)
        if self.clock == "iteration":
            self.elbo_x = np.arange(vi.times.size, dtype=float)
            xr, xlog = (0.0, max(vi.times.size - 1, 1)), False
        else:
            self.elbo_x = np.maximum(vi.times, 1e-6)
            xr, xlog = self._log_time_range(), True
        self.elbo = _Axes(_ELBO_RECT, xr, (lo, hi), xlog=xlog)

    def _log_time_range(self) -> tuple[float, float]:
        t_all = np.concatenate([self.vi.times[1:], self.mc.times])
        t_lo = max(float(np.min(t_all[t_all > 0])) if (t_all > 0).any() else 1e-5, 1e-6)
        t_hi = max(float(np.max(t_all)), 10 * t_lo)
        return math.log10(t_lo) - 0.1, math.log10(t_hi) + 0.1

    def _mmd_axes(self) -> None:
        vi, mc = self.vi, self.mc
        mmd_hi = float(np.nanmax(np.concatenate([vi.mmd, mc.mmd]))) if len(mc.mmd) else 1.0
        mmd_hi = mmd_hi if math.isfinite(mmd_hi) else 1.0
        self.mmd = _Axes(_MMD_RECT, self._log_time_range(), (0.0, mmd_hi * 1.1 + 1e-3), xlog=True)

    # -- what every frame shares

    def _plot_image(self, axes: _Axes) -> Image.Image:
        x0, y0, x1, y1 = axes.box(self.k)
        return Image.new("RGB", (max(x1 - x0, 1), max(y1 - y0, 1)), "white")

    def _static_lines(self) -> None:
        k = self.k
        # the target's level lines, under both density panels (the same box and scale on both)
        self._density_bg = self._plot_image(self.density[0])
        d = ImageDraw.Draw(self._density_bg)
        lines = target_lines(self.grid, "x", "y")
        _polyline(d, self.density[0].local(lines["x"], lines["y"], k), TARGET_COLOUR, 1.3 * k)

        # the ELBO panel: the whole trace, ln p(X) and the family's best, as in the race
        vi, ax = self.vi, self.elbo
        self._elbo_bg = img = self._plot_image(ax)
        d = ImageDraw.Draw(img)
        self._grid_lines(img, ax)
        _polyline(d, ax.local(self.elbo_x, vi.elbo_mc, k), MC_LIGHT, 1.0 * k)
        _polyline(d, ax.local(self.elbo_x, vi.elbo, k), VI_COLOUR, 2.0 * k)
        ends = [self.elbo_x[0], self.elbo_x[-1]]
        _polyline(d, ax.local(ends, [self.log_z] * 2, k), TRUTH_COLOUR, 1.5 * k, dash=(6 * k, 4 * k))
        best = float(getattr(vi, "elbo_best", math.nan))
        self.best = best if math.isfinite(best) else None
        if self.best is not None:
            _polyline(d, ax.local(ends, [best] * 2, k), BEST_COLOUR, 2.0 * k, dash=(2 * k, 3 * k))

        # the MMD panel: both methods on one yardstick against wall-clock time
        mc, ax = self.mc, self.mmd
        self._mmd_bg = img = self._plot_image(ax)
        d = ImageDraw.Draw(img)
        self._grid_lines(img, ax)
        vt = np.maximum(vi.times[vi.snap], 1e-6)
        _polyline(d, ax.local(vt, vi.mmd, k), VI_COLOUR, 2.0 * k)
        _polyline(d, ax.local(mc.times[mc.snap], mc.mmd, k), MCMC_COLOUR, 2.0 * k, dash=(7 * k, 4 * k))

    def _grid_lines(self, img: Image.Image, ax: _Axes) -> None:
        """Light horizontal lines at the y ticks of a line chart."""
        d = ImageDraw.Draw(img)
        for v, _ in self._yticks(ax):
            y = ax.local([10 ** ax.xr[0] if ax.xlog else ax.xr[0]], [v], self.k)[0, 1]
            d.line((0, y, img.width, y), fill=GRID_GREY, width=max(1, round(self.k)))

    @staticmethod
    def _xticks(ax: _Axes, n: int = 5) -> list[tuple[float, str]]:
        if ax.xlog:
            return [(10**v, s) for v, s in _log_ticks(*ax.xr)]
        return _ticks(*ax.xr, n, ax.step)

    @staticmethod
    def _yticks(ax: _Axes, n: int = 4) -> list[tuple[float, str]]:
        return _ticks(*ax.yr, n, ax.step)

    # -- one frame

    def frame(self, k: int) -> Image.Image:
        """Frame k (0 .. n - 1; negative counts from the end) as an RGB picture."""
        if not -self.n <= k < self.n:
            raise IndexError(f"frame {k} out of range: this race has {self.n} frames (0 to {self.n - 1})")
        k %= self.n
        v, j = int(self.vi_idx[k]), int(self.mc_idx[k])
        big = Image.new("RGB", (round(self.width * SS), round(self.height * SS)), "white")
        s = self.k

        # VI: q's 1, 2, 3 sd contours over the target, and q's mean
        ax = self.density[0]
        img = self._density_bg.copy()
        d = ImageDraw.Draw(img)
        _polyline(d, ax.local(*_vi_xy(self, v), s), VI_COLOUR, 2.5 * s)
        m = self.vi.mean[v]
        _cross(d, ax.local(m[:1], m[1:], s), 4.5 * s, VI_COLOUR, max(1, round(2.2 * s)))
        big.paste(img, ax.box(s)[:2])

        # MCMC: the draws so far (burn-in faded), the sampler's last moves, the walkers now
        ax = self.density[1]
        img = self._draws_until(k).copy()
        d = ImageDraw.Draw(img)
        if self.mc.paths is not None:
            acc, rej, div = race._move_traces(self.mc, j)
            _polyline(d, ax.local(acc["x"], acc["y"], s), race.PATH_COLOUR, 1.3 * s)
            _polyline(d, ax.local(rej["x"], rej["y"], s), race.PATH_COLOUR, 1.0 * s, dash=(2 * s, 2 * s))
            _cross(d, ax.local(div["x"], div["y"], s), 3.5 * s, race.DIVERGENT_COLOUR, max(1, round(1.6 * s)))
        w = self.mc.chain[j]
        _dots(d, ax.local(w[:, 0], w[:, 1], s), 3.0 * s, WALKER_COLOUR, outline="white", width=max(1, round(s)))
        big.paste(img, ax.box(s)[:2])

        # the ELBO so far and the distance to the truth: moving markers on the whole traces
        ax = self.elbo
        img = self._elbo_bg.copy()
        _dots(ImageDraw.Draw(img), ax.local(self.elbo_x[[v]], self.vi.elbo[[v]], s), 5 * s, VI_COLOUR)
        big.paste(img, ax.box(s)[:2])
        ax = self.mmd
        img = self._mmd_bg.copy()
        d = ImageDraw.Draw(img)
        pv = race._mmd_point(self.vi.times, self.vi.snap, self.vi.mmd, v)
        pm = race._mmd_point(self.mc.times, self.mc.snap, self.mc.mmd, j)
        _dots(d, ax.local(pv["x"], pv["y"], s), 5 * s, VI_COLOUR)
        _dots(d, ax.local(pm["x"], pm["y"], s), 5 * s, MCMC_COLOUR)
        big.paste(img, ax.box(s)[:2])

        self._gauge_shapes(ImageDraw.Draw(big), v)
        self._frames_and_ticks(ImageDraw.Draw(big))
        self._out = big  # text too is drawn large and reduced: hinted small sizes space their letters unevenly
        self._texts(ImageDraw.Draw(big), k, v, j)
        return big.reduce(SS) if SS > 1 else big

    def _draws_until(self, k: int) -> Image.Image:
        """The MCMC panel's target lines and every draw revealed by frame k (drawn once, in frame order)."""
        if k < self._draws_done:
            self._draws, self._draws_done = self._density_bg.copy(), -1
        d = ImageDraw.Draw(self._draws, "RGBA")
        ax, s = self.density[1], self.k
        blue = _rgb(MCMC_COLOUR)
        for c, burn, f in self.chunks:
            if self._draws_done < f <= k:
                alpha = round(255 * (BURN_OPACITY if burn else DRAW_OPACITY))
                _dots(d, ax.local(c[:, 0], c[:, 1], s), 1.6 * s, (*blue, alpha))
        self._draws_done = k
        return self._draws

    def _gauge_x(self, value: float) -> float:
        g = self.gauge
        x0, _, x1, _ = _GAUGE_BAR
        return x0 + (value - g.left) / (g.right - g.left) * (x1 - x0)

    def _gauge_shapes(self, d: ImageDraw.ImageDraw, v: int) -> None:
        s, g = self.k, self.gauge
        x0, y0, _, y1 = _GAUGE_BAR
        elbo = float(self.vi.elbo[v])
        e = min(max(elbo, g.left), g.right) if math.isfinite(elbo) else g.left
        xe, xz = self._gauge_x(e), self._gauge_x(self.log_z)
        d.rectangle((x0 * s, y0 * s, xe * s, y1 * s), fill=VI_COLOUR)
        if xz - xe > 0.05:
            d.rectangle((xe * s, y0 * s, xz * s, y1 * s), fill=KL_COLOUR, outline=KL_EDGE, width=max(1, round(s)))
        t = g.right - g.left  # two white slashes near the left edge: the ELBO bar is cut there
        for off in (0.0, 0.006):
            xa = self._gauge_x(g.left + (0.035 + off) * t)
            dx = 0.004 * t / (g.right - g.left) * (_GAUGE_BAR[2] - x0)
            d.line(((xa - dx) * s, (y1 + 2) * s, (xa + dx) * s, (y0 - 2) * s), fill="white", width=round(2.5 * s))
        for a, b in _dashes(np.array([[xz * s, (y0 - 5) * s], [xz * s, (y1 + 5) * s]]), 3 * s, 2 * s):
            d.line((a, b), fill=TRUTH_COLOUR, width=max(1, round(2 * s)))

    def _frames_and_ticks(self, d: ImageDraw.ImageDraw) -> None:
        s = self.k
        line = max(1, round(s))
        for ax in (*self.density, self.elbo, self.mmd):
            x0, y0, x1, y1 = ax.box(s)
            d.rectangle((x0, y0, x1, y1), outline=AXIS_GREY, width=line)
            for v, _ in self._xticks(ax):
                px = x0 + ax.local([v], [ax.yr[0]], s)[0, 0]
                d.line((px, y1, px, y1 + 4 * s), fill=AXIS_GREY, width=line)
            for v, _ in self._yticks(ax):
                py = y0 + ax.local([10 ** ax.xr[0] if ax.xlog else ax.xr[0]], [v], s)[0, 1]
                d.line((x0 - 4 * s, py, x0, py), fill=AXIS_GREY, width=line)
        _, _, _, y1 = _GAUGE_BAR
        for v, _ in _ticks(self.gauge.left, self.gauge.right, 8):
            px = self._gauge_x(v) * s
            d.line((px, (y1 + 2) * s, px, (y1 + 6) * s), fill=AXIS_GREY, width=line)

    # -- text, at the final size

    def _put(self, d, xy, text, size=12, fill=TEXT, anchor="la", weight=400) -> float:
        """Text at layout units xy; returns its right end in units."""
        font = _font(max(6, round(size * self.k)), weight)
        pos = (xy[0] * self.k, xy[1] * self.k)
        d.text(pos, _text(text), font=font, fill=fill, anchor=anchor)
        return d.textbbox(pos, _text(text), font=font, anchor=anchor)[2] / self.k

    def _texts(self, d: ImageDraw.ImageDraw, k: int, v: int, j: int) -> None:
        vi, mc = self.vi, self.mc
        # the header: what runs on what, and this frame's time stamp
        left = self._put(
            d, (948, 8), stamp(vi, mc, self.clock, v, j, float(self.instants[k])), 15, anchor="ra", weight=600
        ) - self._width(stamp(vi, mc, self.clock, v, j, float(self.instants[k])), 15, 600)
        self._put(d, (12, 8), self._fit(_target_title(self.grid), 15, 600, left - 12 - 24), 15, weight=600)

        # the density panels: titles, status, ticks, axis titles, legends
        n_draws = (j + 1) * mc.chain.shape[1]
        titles = (
            (f"VI · {vi.label}", VI_COLOUR, f"step {v}/{vi.times.size - 1} · {_fmt_time(vi.times[v])}"),
            (f"MCMC · {mc.label}", MCMC_COLOUR, f"{n_draws:,} draws · {_fmt_time(mc.times[j])}"),
        )
        for ax, cell, (title, colour, status) in zip(self.density, _DENSITY_CELLS, titles, strict=True):
            self._put(d, (cell[0] + _DENSITY_MARGIN[0], 46), title, 13, colour, anchor="ls", weight=600)
            self._put(d, (cell[2] - _DENSITY_MARGIN[2], 46), status, 11, MUTED, anchor="rs")
            self._tick_labels(d, ax)
            x0, y0, x1, y1 = ax.rect
            self._put(d, ((x0 + x1) / 2, y1 + 17), self.axis_titles[0], 12, anchor="mt")
            self._vertical(d, (x0 - 34, (y0 + y1) / 2), self.axis_titles[1], 12)
        self._legend(d, 424, _DENSITY_CELLS[0][0] + 8, [
            ("line", TARGET_COLOUR, "exact posterior"), ("line", VI_COLOUR, "q (VI): 1, 2, 3 sd"),
            ("cross", VI_COLOUR, "mean of q"),
        ])  # fmt: skip
        items = [
            ("dot", _mix(MCMC_COLOUR, 0.7), "MCMC draws"),
            ("dot", _mix(MCMC_COLOUR, 0.2), "burn-in (first quarter, faded)"),
            ("walker", WALKER_COLOUR, "walkers now"),
        ]
        if mc.paths is not None:
            items.append(("line", race.PATH_COLOUR, f"moves, last {race.TRAIL_STEPS} steps"))
        if mc.divergent is not None and mc.divergent[mc.burn_in :].any():
            items.append(("xred", race.DIVERGENT_COLOUR, "divergent (after warm-up)"))
        self._legend(d, 424, _DENSITY_CELLS[1][0] + 8, items, right=_DENSITY_CELLS[1][2] + 40)

        # the ELBO panel
        ax = self.elbo
        self._put(d, (ax.rect[0], 60), "ELBO · light: Monte Carlo estimate", 12, weight=600)
        self._tick_labels(d, ax)
        self._put(d, ((ax.rect[0] + ax.rect[2]) / 2, ax.rect[3] + 17),
                  "VI step" if self.clock == "iteration" else "time (s)", 11, anchor="mt")  # fmt: skip
        self._vertical(d, (ax.rect[0] - 40, (ax.rect[1] + ax.rect[3]) / 2), "nats", 11)
        xr = self.elbo_x[-1]
        self._put(d, (*self._clamp_y(ax, xr, self.log_z, -2),), "ln p(X)", 11, TRUTH_COLOUR, anchor="rb")
        if self.best is not None:
            self._put(d, (*self._clamp_y(ax, xr, self.best, 2),), "best in family", 11, BEST_COLOUR, anchor="rt")

        # the MMD panel, with its legend in the title
        ax = self.mmd
        x = self._put(d, (ax.rect[0], 252), "MMD to the truth", 12, weight=600)
        self._legend(d, 258, x + 10, [("line", VI_COLOUR, "VI"), ("dash", MCMC_COLOUR, "MCMC")], size=11)
        self._tick_labels(d, ax)
        self._put(d, ((ax.rect[0] + ax.rect[2]) / 2, ax.rect[3] + 17), "wall-clock time (s)", 11, anchor="mt")

        # the gauge: ln p(X) = ELBO + KL with numbers
        elbo, kl = float(vi.elbo[v]), float(vi.kl[v])
        x0, y0, x1, y1 = _GAUGE_BAR
        self._put(d, (x0, 452), f"ln p(X) = {_num(self.log_z)} = ELBO + KL (nats)", 13, weight=600)
        self._put(d, (x1, 452), "the ELBO bar is cut at the slashes; the KL bar is to scale", 11, MUTED, anchor="ra")
        self._put(d, (x0 + 2, y0 - 2), f"ELBO {_num(elbo)}", 12, VI_COLOUR, anchor="lb", weight=600)
        xz = self._gauge_x(self.log_z)
        self._put(d, (xz, y0 - 2), f"KL {_num(kl)}", 12, TEXT, anchor="rb", weight=600)
        self._put(d, (xz + 4, y1 + 1), "ln p(X)", 11, TRUTH_COLOUR, anchor="lt")
        for val, label in _ticks(self.gauge.left, self.gauge.right, 8):
            px = self._gauge_x(val)
            if abs(px - xz) > 40:  # keep clear of the ln p(X) label
                self._put(d, (px, y1 + 7), label, 10, MUTED, anchor="mt")

    def _width(self, text: str, size: int, weight: int = 400) -> float:
        """A text's width in layout units."""
        return _font(max(6, round(size * self.k)), weight).getlength(_text(text)) / self.k

    def _fit(self, text: str, size: int, weight: int, width: float) -> str:
        """text, cut short with an ellipsis to fit ``width`` units."""
        if self._width(text, size, weight) <= width:
            return text
        while len(text) > 1 and self._width(text + "…", size, weight) > width:
            text = text[:-1]
        return text.rstrip() + "…"

    @staticmethod
    def _clamp_y(ax: _Axes, x: float, y: float, dy: float) -> tuple[float, float]:
        ux, uy = ax.unit(x, y)
        return ux - 2, min(max(uy + dy, ax.rect[1] + 10), ax.rect[3] - 2)

    def _tick_labels(self, d, ax: _Axes) -> None:
        x0, _, _, y1 = ax.rect
        for v, label in self._xticks(ax):
            ux, _ = ax.unit(v, 10 ** ax.yr[0] if ax.ylog else ax.yr[0])
            self._put(d, (ux, y1 + 5), label, 10, MUTED, anchor="mt")
        for v, label in self._yticks(ax):
            _, uy = ax.unit(10 ** ax.xr[0] if ax.xlog else ax.xr[0], v)
            self._put(d, (x0 - 6, uy), label, 10, MUTED, anchor="rm")

    def _vertical(self, d, centre, text: str, size: int) -> None:
        """Text turned a quarter to the left, centred on a point given in units, its top at the point's x."""
        font = _font(max(6, round(size * self.k)))
        t = _text(text)
        box = font.getbbox(t)
        w, h = box[2] - box[0] + 2, round(size * self.k * 1.4)
        img = Image.new("L", (max(w, 1), max(h, 1)), 0)
        ImageDraw.Draw(img).text((1 - box[0], h / 2), t, font=font, fill=255, anchor="lm")
        img = img.rotate(90, expand=True)
        pos = (round(centre[0] * self.k), round(centre[1] * self.k - img.height / 2))
        self._out.paste(Image.new("RGB", img.size, TEXT), pos, img)

    def _legend(
        self, d, y: float, x: float, items: Sequence[tuple[str, object, str]], size: int = 11, right: float = 1e9
    ) -> float:
        """Legend entries (kind: line, dash, dot, walker, cross, xred) with their text, at layout units, in rows
        that wrap before ``right``."""
        u = self.k
        cy, left = y, x
        for kind, colour, label in items:
            width = 22 + _font(max(6, round(size * u))).getlength(_text(label)) / u
            if x > left and x + width > right:
                x, cy = left, cy + 15
            if kind in ("line", "dash"):
                width = max(1, round(2 * u))
                if kind == "line":
                    d.line((x * u, cy * u, (x + 18) * u, cy * u), fill=colour, width=width)
                else:
                    for a in (0, 7, 14):
                        d.line(((x + a) * u, cy * u, (x + a + 4.5) * u, cy * u), fill=colour, width=width)
                x += 22
            elif kind in ("cross", "xred"):
                r = (4 if kind == "cross" else 3.5) * u
                d.line(
                    ((x + 5) * u - r, cy * u - r, (x + 5) * u + r, cy * u + r), fill=colour, width=max(1, round(2 * u))
                )
                d.line(
                    ((x + 5) * u - r, cy * u + r, (x + 5) * u + r, cy * u - r), fill=colour, width=max(1, round(2 * u))
                )
                x += 14
            else:
                r = (3.2 if kind == "walker" else 2.6) * u
                d.ellipse(((x + 4) * u - r, cy * u - r, (x + 4) * u + r, cy * u + r), fill=colour)
                x += 12
            x = self._put(d, (x, cy), label, size, TEXT, anchor="lm") + 12
        return x


def _vi_xy(race_: _Race, v: int) -> tuple[np.ndarray, np.ndarray]:
    """q's 1, 2, 3 sd contours at VI state v, as the race draws them."""
    trace = race._vi_trace(race_.grid, race_.vi, v)
    return trace["x"], trace["y"]


def stamp(vi: ViResult, mc: McmcResult, clock: str, v: int, j: int, instant: float) -> str:
    """A frame's time stamp: both methods' steps and the time in the iteration clock, the instant in the time clock."""
    if clock == "time":
        return f"t = {_fmt_time(instant)} · VI step {v} · MCMC step {j + 1}"
    return f"VI step {v}/{vi.times.size - 1} · MCMC step {j + 1}/{mc.times.size} · {_fmt_time(instant)}"


# ---------------------------------------------------------------------------------------------- public


def _nothing() -> None:
    pass


def race_frames(
    grid: Grid,
    vi: ViResult,
    mc: McmcResult,
    clock: str = "iteration",
    width: int = BASE[0],
    checkpoint: Callable[[], None] = _nothing,
) -> Iterator[Image.Image]:
    """The race's frames (``race.frame_plan``) as RGB pictures width × height_for(width), in order. ``checkpoint``
    is called before each frame (the app passes its run budget's, ui.compute.checkpoint, so a run's deadline and
    cancellation apply; figures import no engine)."""
    checkpoint()
    r = _Race(grid, vi, mc, clock, width)
    for k in range(r.n):
        checkpoint()
        yield r.frame(k)


def race_frame(
    grid: Grid,
    vi: ViResult,
    mc: McmcResult,
    clock: str = "iteration",
    frame: int = -1,
    width: int = BASE[0],
    checkpoint: Callable[[], None] = _nothing,
) -> Image.Image:
    """One frame of the race (negative counts from the end: -1 is the last) as an RGB picture."""
    checkpoint()
    return _Race(grid, vi, mc, clock, width).frame(frame)


# The colours a frame can hold: each colour of the race at opacities over white (anti-aliased edges, faded
# draws), and a few mixtures where lines cross. One fixed palette: no dithering, no flicker between frames.
_PALETTE_COLOURS = (TEXT, MUTED, AXIS_GREY, TARGET_COLOUR, VI_COLOUR, MC_LIGHT, MCMC_COLOUR, WALKER_COLOUR,
                    KL_COLOUR, KL_EDGE, BEST_COLOUR, race.PATH_COLOUR, race.DIVERGENT_COLOUR)  # fmt: skip
_LEVELS = (1.0, 0.85, 0.7, 0.55, 0.42, 0.3, 0.2, 0.12, 0.06)


@functools.cache
def _palette() -> np.ndarray:
    """The fixed palette every GIF frame is mapped to, (N, 3) uint8, white first."""
    colours = [(255, 255, 255), _rgb(GRID_GREY)]
    colours += [_mix(c, a) for c in _PALETTE_COLOURS for a in _LEVELS]
    # draws stacked on draws, and VI or walker lines over the draws and target lines
    blue = _rgb(MCMC_COLOUR)
    colours += [tuple(round(255 + (1 - (1 - DRAW_OPACITY) ** n) * (b - 255)) for b in blue) for n in (2, 3, 4, 6)]
    for a in (VI_COLOUR, WALKER_COLOUR, TARGET_COLOUR):
        for b in (MCMC_COLOUR, TARGET_COLOUR, _mix(MCMC_COLOUR, DRAW_OPACITY)):
            ca, cb = _rgb(a), _rgb(b) if isinstance(b, str) else b
            if ca != cb:
                colours.append(tuple(round((x + y) / 2) for x, y in zip(ca, cb, strict=True)))
    return np.array(list(dict.fromkeys(colours))[:256], dtype=np.uint8)


def palette_image() -> Image.Image:
    """The fixed palette as a 'P' image (for Pillow's own quantize)."""
    pal = Image.new("P", (1, 1))
    pal.putpalette(_palette().ravel().tolist())
    return pal


def quantize(img: Image.Image) -> Image.Image:
    """An RGB frame mapped to the fixed palette: each colour to its nearest (no dithering). Exact, unlike
    Pillow's palette cache, which maps white to a tinted near-white."""
    a = np.asarray(img.convert("RGB"), dtype=np.uint32)
    key = (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]
    out = np.zeros(key.shape, dtype=np.uint8)  # white, most of every frame, is index 0
    mask = key != 0xFFFFFF
    colours, inverse = np.unique(key[mask], return_inverse=True)
    if colours.size:
        rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=-1).astype(np.int32)
        pal = _palette().astype(np.int32)
        nearest = np.empty(colours.size, dtype=np.uint8)
        for i in range(0, colours.size, 4096):  # bounded memory: 4096 colours x N palette entries at a time
            d = ((rgb[i : i + 4096, None, :] - pal[None, :, :]) ** 2).sum(axis=-1)
            nearest[i : i + 4096] = np.argmin(d, axis=1)
        out[mask] = nearest[inverse]
    q = Image.frombytes("P", (out.shape[1], out.shape[0]), out.tobytes())
    q.putpalette(_palette().ravel().tolist())
    return q
