"""The race drawn as still pictures with Pillow: on the server, without a browser, for the GIF, MP4 and PNG exports.

The frames are the animated figure's (``frames.frame_plan``: the same VI state and MCMC step per frame, the same
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

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from ui.figures import canvas, frames
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
    from ui.compute import Grid, McmcDraws, McmcResult, ViResult

__all__ = ["race_frame", "race_frames", "stamp"]


def _target_title(grid: Grid) -> str:
    t = grid.target
    if getattr(t, "expr", None):
        expr = " ".join(str(t.expr).split())
        return f"ln p(x, y) = {expr[:70]}{'…' if len(expr) > 70 else ''}"
    name = (t.description or t.name).split(":")[0]
    params = ", ".join(f"{k} = {v:g}" for k, v in t.param_values().items())
    return f"{name} · {params}" if params else name


def _fmt_time(t: float) -> str:
    return frames.fmt_time(float(t))


class _Race:
    """The race's static parts, drawn once; ``frame(k)`` adds what changes. Frames drawn in order reuse the MCMC
    panel's draws so far (they only accumulate)."""

    def __init__(self, grid: Grid, vi: ViResult, mc: McmcDraws | McmcResult, clock: str, width: int):
        if width < 320:
            raise ValueError(f"width must be at least 320 pixels, got {width}")
        self.grid, self.vi, self.mc, self.clock = grid, vi, mc, clock
        self.width, self.height = int(width), canvas.height_for(int(width))
        self.u = self.width / canvas.BASE[0]  # pixels per unit in the final picture
        self.k = self.u * canvas.SS  # ... while drawing lines and points
        self.vi_idx, self.mc_idx, _, self.instants = frames.frame_plan(vi, mc, clock)
        self.n = len(self.vi_idx)
        self.log_z = float(grid.log_z)
        self.chunks = frames.sample_chunks(mc, self.mc_idx)
        self.gauge = frames.Gauge.for_run(vi, self.vi_idx, self.log_z)
        xa, ya = axis_layout(grid, "x")
        self.equal = "scaleanchor" in ya
        self.axis_titles = (xa["title"]["text"], ya["title"]["text"])
        box = grid.box
        step = canvas.nice_step(min(box[1] - box[0], box[3] - box[2]), 5) if self.equal else None
        self.density = [
            canvas.Axes(canvas.equal_rect(cell, box, self.equal), (box[0], box[1]), (box[2], box[3]), step=step)
            for cell in canvas.DENSITY_CELLS
        ]
        self._elbo_axes()
        self._mmd_axes()
        self._static_lines()
        self._draws_done = -1
        self._draws = self._density_bg.copy()

    # -- axes and ranges, as the race's layout has them

    def _elbo_axes(self) -> None:
        vi = self.vi
        lo, hi = frames.elbo_range(vi, self.log_z)
        if self.clock == "iteration":
            self.elbo_x = np.arange(vi.times.size, dtype=float)
            xr, xlog = (0.0, max(vi.times.size - 1, 1)), False
        else:
            self.elbo_x = np.maximum(vi.times, 1e-6)
            xr, xlog = self._log_time_range(), True
        self.elbo = canvas.Axes(canvas.ELBO_RECT, xr, (lo, hi), xlog=xlog)

    def _log_time_range(self) -> tuple[float, float]:
        t_all = np.concatenate([self.vi.times[1:], self.mc.times])
        t_lo = max(float(np.min(t_all[t_all > 0])) if (t_all > 0).any() else 1e-5, 1e-6)
        t_hi = max(float(np.max(t_all)), 10 * t_lo)
        return math.log10(t_lo) - 0.1, math.log10(t_hi) + 0.1

    def _mmd_axes(self) -> None:
        vi, mc = self.vi, self.mc
        mmd_hi = float(np.nanmax(np.concatenate([vi.mmd, mc.mmd]))) if len(mc.mmd) else 1.0
        mmd_hi = mmd_hi if math.isfinite(mmd_hi) else 1.0
        self.mmd = canvas.Axes(canvas.MMD_RECT, self._log_time_range(), (0.0, mmd_hi * 1.1 + 1e-3), xlog=True)

    # -- what every frame shares

    def _plot_image(self, axes: canvas.Axes) -> Image.Image:
        x0, y0, x1, y1 = axes.box(self.k)
        return Image.new("RGB", (max(x1 - x0, 1), max(y1 - y0, 1)), "white")

    def _static_lines(self) -> None:
        k = self.k
        # the target's level lines, under both density panels (the same box and scale on both)
        self._density_bg = self._plot_image(self.density[0])
        d = ImageDraw.Draw(self._density_bg)
        lines = target_lines(self.grid, "x", "y")
        canvas.polyline(d, self.density[0].local(lines["x"], lines["y"], k), TARGET_COLOUR, 1.3 * k)

        # the ELBO panel: the whole trace, ln p(X) and the family's best, as in the race
        vi, ax = self.vi, self.elbo
        self._elbo_bg = img = self._plot_image(ax)
        d = ImageDraw.Draw(img)
        self._grid_lines(img, ax)
        canvas.polyline(d, ax.local(self.elbo_x, vi.elbo_mc, k), canvas.MC_LIGHT, 1.0 * k)
        canvas.polyline(d, ax.local(self.elbo_x, vi.elbo, k), VI_COLOUR, 2.0 * k)
        ends = [self.elbo_x[0], self.elbo_x[-1]]
        canvas.polyline(d, ax.local(ends, [self.log_z] * 2, k), TRUTH_COLOUR, 1.5 * k, dash=(6 * k, 4 * k))
        best = float(getattr(vi, "elbo_best", math.nan))
        self.best = best if math.isfinite(best) else None
        if self.best is not None:
            canvas.polyline(d, ax.local(ends, [best] * 2, k), BEST_COLOUR, 2.0 * k, dash=(2 * k, 3 * k))

        # the MMD panel: both methods on one yardstick against wall-clock time
        mc, ax = self.mc, self.mmd
        self._mmd_bg = img = self._plot_image(ax)
        d = ImageDraw.Draw(img)
        self._grid_lines(img, ax)
        vt = np.maximum(vi.times[vi.snap], 1e-6)
        canvas.polyline(d, ax.local(vt, vi.mmd, k), VI_COLOUR, 2.0 * k)
        canvas.polyline(d, ax.local(mc.times[mc.snap], mc.mmd, k), MCMC_COLOUR, 2.0 * k, dash=(7 * k, 4 * k))

    def _grid_lines(self, img: Image.Image, ax: canvas.Axes) -> None:
        """Light horizontal lines at the y ticks of a line chart."""
        d = ImageDraw.Draw(img)
        for v, _ in self._yticks(ax):
            y = ax.local([10 ** ax.xr[0] if ax.xlog else ax.xr[0]], [v], self.k)[0, 1]
            d.line((0, y, img.width, y), fill=canvas.GRID_GREY, width=max(1, round(self.k)))

    @staticmethod
    def _xticks(ax: canvas.Axes, n: int = 5) -> list[tuple[float, str]]:
        if ax.xlog:
            return [(10**v, s) for v, s in canvas.log_ticks(*ax.xr)]
        return canvas.ticks(*ax.xr, n, ax.step)

    @staticmethod
    def _yticks(ax: canvas.Axes, n: int = 4) -> list[tuple[float, str]]:
        return canvas.ticks(*ax.yr, n, ax.step)

    # -- one frame

    def frame(self, k: int) -> Image.Image:
        """Frame k (0 .. n - 1; negative counts from the end) as an RGB picture."""
        if not -self.n <= k < self.n:
            raise IndexError(f"frame {k} out of range: this race has {self.n} frames (0 to {self.n - 1})")
        k %= self.n
        v, j = int(self.vi_idx[k]), int(self.mc_idx[k])
        big = Image.new("RGB", (round(self.width * canvas.SS), round(self.height * canvas.SS)), "white")
        s = self.k

        # VI: q's 1, 2, 3 sd contours over the target, and q's mean
        ax = self.density[0]
        img = self._density_bg.copy()
        d = ImageDraw.Draw(img)
        trace = frames.vi_trace(self.grid, self.vi, v)
        if trace["mode"] == "markers":  # particles: no density, so dots, not level lines
            canvas.dots(d, ax.local(trace["x"], trace["y"], s), 2.0 * s, VI_COLOUR)
        else:
            canvas.polyline(d, ax.local(trace["x"], trace["y"], s), VI_COLOUR, 2.5 * s)
        parts = frames.parts_trace(self.grid, self.vi, v)
        if parts is not None:  # a mixture's components, dotted as in the race
            canvas.polyline(d, ax.local(parts["x"], parts["y"], s), VI_COLOUR, 1.2 * s, dash=(2 * s, 2 * s))
        m = self.vi.mean[v]
        canvas.cross(d, ax.local(m[:1], m[1:], s), 4.5 * s, VI_COLOUR, max(1, round(2.2 * s)))
        big.paste(img, ax.box(s)[:2])

        # MCMC: the draws so far (burn-in faded), the sampler's last moves, the walkers now
        ax = self.density[1]
        img = self._draws_until(k).copy()
        d = ImageDraw.Draw(img)
        if self.mc.paths is not None:
            acc, rej, div = frames.move_traces(self.mc, j)
            canvas.polyline(d, ax.local(acc["x"], acc["y"], s), frames.PATH_COLOUR, 1.3 * s)
            canvas.polyline(d, ax.local(rej["x"], rej["y"], s), frames.PATH_COLOUR, 1.0 * s, dash=(2 * s, 2 * s))
            canvas.cross(d, ax.local(div["x"], div["y"], s), 3.5 * s, frames.DIVERGENT_COLOUR, max(1, round(1.6 * s)))
        w = self.mc.chain[j]
        canvas.dots(d, ax.local(w[:, 0], w[:, 1], s), 3.0 * s, WALKER_COLOUR, outline="white", width=max(1, round(s)))
        big.paste(img, ax.box(s)[:2])

        # the ELBO so far and the distance to the truth: moving markers on the whole traces
        ax = self.elbo
        img = self._elbo_bg.copy()
        canvas.dots(ImageDraw.Draw(img), ax.local(self.elbo_x[[v]], self.vi.elbo[[v]], s), 5 * s, VI_COLOUR)
        big.paste(img, ax.box(s)[:2])
        ax = self.mmd
        img = self._mmd_bg.copy()
        d = ImageDraw.Draw(img)
        pv = frames.mmd_point(self.vi.times, self.vi.snap, self.vi.mmd, v)
        pm = frames.mmd_point(self.mc.times, self.mc.snap, self.mc.mmd, j)
        canvas.dots(d, ax.local(pv["x"], pv["y"], s), 5 * s, VI_COLOUR)
        canvas.dots(d, ax.local(pm["x"], pm["y"], s), 5 * s, MCMC_COLOUR)
        big.paste(img, ax.box(s)[:2])

        self._gauge_shapes(ImageDraw.Draw(big), v)
        self._frames_and_ticks(ImageDraw.Draw(big))
        self._out = big  # text too is drawn large and reduced: hinted small sizes space their letters unevenly
        self._texts(ImageDraw.Draw(big), k, v, j)
        return big.reduce(canvas.SS) if canvas.SS > 1 else big

    def _draws_until(self, k: int) -> Image.Image:
        """The MCMC panel's target lines and every draw revealed by frame k (drawn once, in frame order)."""
        if k < self._draws_done:
            self._draws, self._draws_done = self._density_bg.copy(), -1
        d = ImageDraw.Draw(self._draws, "RGBA")
        ax, s = self.density[1], self.k
        blue = canvas.rgb(MCMC_COLOUR)
        for c, burn, f in self.chunks:
            if self._draws_done < f <= k:
                alpha = round(255 * (BURN_OPACITY if burn else DRAW_OPACITY))
                canvas.dots(d, ax.local(c[:, 0], c[:, 1], s), 1.6 * s, (*blue, alpha))
        self._draws_done = k
        return self._draws

    def _gauge_x(self, value: float) -> float:
        g = self.gauge
        x0, _, x1, _ = canvas.GAUGE_BAR
        return x0 + (value - g.left) / (g.right - g.left) * (x1 - x0)

    def _gauge_shapes(self, d: ImageDraw.ImageDraw, v: int) -> None:
        s, g = self.k, self.gauge
        x0, y0, _, y1 = canvas.GAUGE_BAR
        elbo = float(self.vi.elbo[v])
        e = min(max(elbo, g.left), g.right) if math.isfinite(elbo) else g.left
        xe, xz = self._gauge_x(e), self._gauge_x(self.log_z)
        d.rectangle((x0 * s, y0 * s, xe * s, y1 * s), fill=VI_COLOUR)
        if xz - xe > 0.05:
            d.rectangle(
                (xe * s, y0 * s, xz * s, y1 * s), fill=KL_COLOUR, outline=canvas.KL_EDGE, width=max(1, round(s))
            )
        t = g.right - g.left  # two white slashes near the left edge: the ELBO bar is cut there
        for off in (0.0, 0.006):
            xa = self._gauge_x(g.left + (0.035 + off) * t)
            dx = 0.004 * t / (g.right - g.left) * (canvas.GAUGE_BAR[2] - x0)
            d.line(((xa - dx) * s, (y1 + 2) * s, (xa + dx) * s, (y0 - 2) * s), fill="white", width=round(2.5 * s))
        for a, b in canvas.dashes(np.array([[xz * s, (y0 - 5) * s], [xz * s, (y1 + 5) * s]]), 3 * s, 2 * s):
            d.line((a, b), fill=TRUTH_COLOUR, width=max(1, round(2 * s)))

    def _frames_and_ticks(self, d: ImageDraw.ImageDraw) -> None:
        s = self.k
        line = max(1, round(s))
        for ax in (*self.density, self.elbo, self.mmd):
            x0, y0, x1, y1 = ax.box(s)
            d.rectangle((x0, y0, x1, y1), outline=canvas.AXIS_GREY, width=line)
            for v, _ in self._xticks(ax):
                px = x0 + ax.local([v], [ax.yr[0]], s)[0, 0]
                d.line((px, y1, px, y1 + 4 * s), fill=canvas.AXIS_GREY, width=line)
            for v, _ in self._yticks(ax):
                py = y0 + ax.local([10 ** ax.xr[0] if ax.xlog else ax.xr[0]], [v], s)[0, 1]
                d.line((x0 - 4 * s, py, x0, py), fill=canvas.AXIS_GREY, width=line)
        _, _, _, y1 = canvas.GAUGE_BAR
        for v, _ in canvas.ticks(self.gauge.left, self.gauge.right, 8):
            px = self._gauge_x(v) * s
            d.line((px, (y1 + 2) * s, px, (y1 + 6) * s), fill=canvas.AXIS_GREY, width=line)

    # -- text, at the final size

    def _put(self, d, xy, text, size=12, fill=canvas.TEXT, anchor="la", weight=400) -> float:
        return canvas.put(d, self.k, xy, text, size, fill, anchor, weight)

    def _texts(self, d: ImageDraw.ImageDraw, k: int, v: int, j: int) -> None:
        vi, mc = self.vi, self.mc
        # the header: what runs on what, and this frame's time stamp
        left = self._put(
            d, (948, 8), stamp(vi, mc, self.clock, v, j, float(self.instants[k])), 15, anchor="ra", weight=600
        ) - canvas.text_width(self.k, stamp(vi, mc, self.clock, v, j, float(self.instants[k])), 15, 600)
        self._put(d, (12, 8), self._fit(_target_title(self.grid), 15, 600, left - 12 - 24), 15, weight=600)

        # the density panels: titles, status, ticks, axis titles, legends
        n_draws = (j + 1) * mc.chain.shape[1]
        titles = (
            (f"VI · {vi.label}", VI_COLOUR, f"step {v}/{vi.times.size - 1} · {_fmt_time(vi.times[v])}"),
            (f"MCMC · {mc.label}", MCMC_COLOUR, f"{n_draws:,} draws · {_fmt_time(mc.times[j])}"),
        )
        for ax, cell, (title, colour, status) in zip(self.density, canvas.DENSITY_CELLS, titles, strict=True):
            self._put(d, (cell[0] + canvas.DENSITY_MARGIN[0], 46), title, 13, colour, anchor="ls", weight=600)
            self._put(d, (cell[2] - canvas.DENSITY_MARGIN[2], 46), status, 11, canvas.MUTED, anchor="rs")
            self._tick_labels(d, ax)
            x0, y0, x1, y1 = ax.rect
            self._put(d, ((x0 + x1) / 2, y1 + 17), self.axis_titles[0], 12, anchor="mt")
            self._vertical(d, (x0 - 34, (y0 + y1) / 2), self.axis_titles[1], 12)
        self._legend(d, 424, canvas.DENSITY_CELLS[0][0] + 8, [
            ("line", TARGET_COLOUR, "exact posterior"), ("line", VI_COLOUR, "q (VI): 1, 2, 3 sd"),
            ("cross", VI_COLOUR, "mean of q"),
        ])  # fmt: skip
        items = [
            ("dot", canvas.mix(MCMC_COLOUR, 0.7), "MCMC draws"),
            ("dot", canvas.mix(MCMC_COLOUR, 0.2), "burn-in (first quarter, faded)"),
            ("walker", WALKER_COLOUR, "walkers now"),
        ]
        if mc.paths is not None:
            items.append(("line", frames.PATH_COLOUR, f"moves, last {frames.TRAIL_STEPS} steps"))
        if mc.divergent is not None and mc.divergent[mc.burn_in :].any():
            items.append(("xred", frames.DIVERGENT_COLOUR, "divergent (after warm-up)"))
        self._legend(d, 424, canvas.DENSITY_CELLS[1][0] + 8, items, right=canvas.DENSITY_CELLS[1][2] + 40)

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
        x0, y0, x1, y1 = canvas.GAUGE_BAR
        self._put(d, (x0, 452), f"ln p(X) = {canvas.num(self.log_z)} = ELBO + KL (nats)", 13, weight=600)
        self._put(
            d, (x1, 452), "the ELBO bar is cut at the slashes; the KL bar is to scale", 11, canvas.MUTED, anchor="ra"
        )
        self._put(d, (x0 + 2, y0 - 2), f"ELBO {canvas.num(elbo)}", 12, VI_COLOUR, anchor="lb", weight=600)
        xz = self._gauge_x(self.log_z)
        self._put(d, (xz, y0 - 2), f"KL {canvas.num(kl)}", 12, canvas.TEXT, anchor="rb", weight=600)
        self._put(d, (xz + 4, y1 + 1), "ln p(X)", 11, TRUTH_COLOUR, anchor="lt")
        for val, label in canvas.ticks(self.gauge.left, self.gauge.right, 8):
            px = self._gauge_x(val)
            if abs(px - xz) > 40:  # keep clear of the ln p(X) label
                self._put(d, (px, y1 + 7), label, 10, canvas.MUTED, anchor="mt")

    def _fit(self, text: str, size: int, weight: int, width: float) -> str:
        return canvas.fit(self.k, text, size, weight, width)

    @staticmethod
    def _clamp_y(ax: canvas.Axes, x: float, y: float, dy: float) -> tuple[float, float]:
        ux, uy = ax.unit(x, y)
        return ux - 2, min(max(uy + dy, ax.rect[1] + 10), ax.rect[3] - 2)

    def _tick_labels(self, d, ax: canvas.Axes) -> None:
        x0, _, _, y1 = ax.rect
        for v, label in self._xticks(ax):
            ux, _ = ax.unit(v, 10 ** ax.yr[0] if ax.ylog else ax.yr[0])
            self._put(d, (ux, y1 + 5), label, 10, canvas.MUTED, anchor="mt")
        for v, label in self._yticks(ax):
            _, uy = ax.unit(10 ** ax.xr[0] if ax.xlog else ax.xr[0], v)
            self._put(d, (x0 - 6, uy), label, 10, canvas.MUTED, anchor="rm")

    def _vertical(self, d, centre, text: str, size: int) -> None:
        """Text turned a quarter to the left, centred on a point given in units, its top at the point's x."""
        font = canvas.font(max(6, round(size * self.k)))
        t = canvas.text(text)
        box = font.getbbox(t)
        w, h = box[2] - box[0] + 2, round(size * self.k * 1.4)
        img = Image.new("L", (max(w, 1), max(h, 1)), 0)
        ImageDraw.Draw(img).text((1 - box[0], h / 2), t, font=font, fill=255, anchor="lm")
        img = img.rotate(90, expand=True)
        pos = (round(centre[0] * self.k), round(centre[1] * self.k - img.height / 2))
        self._out.paste(Image.new("RGB", img.size, canvas.TEXT), pos, img)

    def _legend(self, d, y: float, x: float, items, size: int = 11, right: float = 1e9) -> float:
        return canvas.legend(d, self.k, y, x, items, size, right)


def stamp(vi: ViResult, mc: McmcDraws | McmcResult, clock: str, v: int, j: int, instant: float) -> str:
    """A frame's time stamp: both methods' steps and the time in the iteration clock, the instant in the time clock."""
    if clock == "time":
        return f"t = {_fmt_time(instant)} · VI step {v} · MCMC step {j + 1}"
    return f"VI step {v}/{vi.times.size - 1} · MCMC step {j + 1}/{mc.times.size} · {_fmt_time(instant)}"


def _nothing() -> None:
    pass


def race_frames(
    grid: Grid,
    vi: ViResult,
    mc: McmcDraws | McmcResult,
    clock: str = "iteration",
    width: int = canvas.BASE[0],
    checkpoint: Callable[[], None] = _nothing,
) -> Iterator[Image.Image]:
    """The race's frames (``frames.frame_plan``) as RGB pictures width × canvas.height_for(width), in order.
    ``checkpoint`` is called before each frame (the app passes its run budget's, so a run's deadline and
    cancellation apply; figures import no engine)."""
    checkpoint()
    r = _Race(grid, vi, mc, clock, width)
    for k in range(r.n):
        checkpoint()
        yield r.frame(k)


def race_frame(
    grid: Grid,
    vi: ViResult,
    mc: McmcDraws | McmcResult,
    clock: str = "iteration",
    frame: int = -1,
    width: int = canvas.BASE[0],
    checkpoint: Callable[[], None] = _nothing,
) -> Image.Image:
    """One frame of the race (negative counts from the end: -1 is the last) as an RGB picture."""
    checkpoint()
    return _Race(grid, vi, mc, clock, width).frame(frame)
