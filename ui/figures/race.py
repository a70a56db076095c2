"""The race: one animated figure of VI against MCMC, and the Playground's result charts.

The race is one figure with frames: the browser plays it (no reruns), one Play/Pause and
one slider drive every panel. Only what changes is in a frame (``traces`` lists which);
arrays are float32. MCMC samples arrive once, as one trace per chunk, and each frame sets
every chunk's marker opacity (shown or 0) instead of resending cumulative arrays. Not
``visible``: played without a full redraw, a chunk switched back to invisible keeps its
points on screen, so a replay or a scrub backwards would show draws from the future.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ui.contours import contour_segments
from ui.figures.shared import (
    BEST_COLOUR,
    BURN_OPACITY,
    DRAW_OPACITY,
    FONT,
    FRAME_MS,
    KL_MARKER,
    MAX_POINTS,
    MCMC_COLOUR,
    N_FRAMES,
    TRUTH_COLOUR,
    VI_COLOUR,
    WALKER_COLOUR,
    axis_layout,
    cavi_radius,
    chart_layout,
    coarse_axes,
    ellipses,
    f32,
    scatter,
    target_lines,
)

if TYPE_CHECKING:
    from ui.compute import Grid, McmcResult, ViResult

__all__ = [
    "COST_AXES",
    "NORMAL",
    "PRESENT",
    "TRAIL_STEPS",
    "YARDSTICKS",
    "Sizes",
    "accuracy_figure",
    "frame_plan",
    "gauge_kl",
    "marginal_figure",
    "race_figure",
]


# ---------------------------------------------------------------------------------- the race


def frame_plan(vi: ViResult, mc: McmcResult, clock: str, n_frames: int = N_FRAMES):
    """Which VI state and MCMC step each frame shows.

    clock 'iteration': frame k shows each method k/(F-1) of the way through its own run.
    clock 'time': frame k is one instant t_k (log-spaced) and each method shows its last
    state recorded at or before t_k -- where it truly was at that moment.
    Returns (vi_idx (F,), mc_idx (F,), labels [F], instants (F,) seconds).
    """
    f = np.linspace(0.0, 1.0, n_frames)
    if clock == "iteration":
        vi_idx = np.round(f * (vi.times.size - 1)).astype(int)
        mc_idx = np.round(f * (mc.times.size - 1)).astype(int)
        labels = [f"{p:.0%}" for p in f]
        instants = np.maximum(vi.times[vi_idx], mc.times[mc_idx])
        return vi_idx, mc_idx, labels, instants
    if clock != "time":
        raise ValueError(f"clock must be 'iteration' or 'time', got {clock!r}")
    t_lo = max(min(vi.times[min(1, vi.times.size - 1)], mc.times[0]), 1e-6)
    t_hi = max(vi.times[-1], mc.times[-1])
    instants = np.geomspace(t_lo, t_hi, n_frames)
    vi_idx = np.clip(np.searchsorted(vi.times, instants, side="right") - 1, 0, vi.times.size - 1)
    mc_idx = np.clip(np.searchsorted(mc.times, instants, side="right") - 1, 0, mc.times.size - 1)
    labels = [_fmt_time(t) for t in instants]
    return vi_idx, mc_idx, labels, instants


def _fmt_time(t: float) -> str:
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def _vi_trace(grid: Grid, vi: ViResult, k: int) -> dict:
    if vi.loc is not None:
        x, y = ellipses(vi.loc[k], vi.chol[k])
        return dict(type="scatter", x=x, y=y, mode="lines", line=dict(color=VI_COLOUR, width=2.5))
    cx, cy = coarse_axes(grid)
    x, y = contour_segments(cx, cy, cavi_radius(grid, vi.w1[k], vi.w2[k]), (1, 2, 3))
    return dict(type="scatter", x=x, y=y, mode="lines", line=dict(color=VI_COLOUR, width=2.5))


def _sample_chunks(mc: McmcResult, mc_idx: np.ndarray, seed: int = 0) -> list[tuple[np.ndarray, bool, int]]:
    """Draws revealed by each frame, thinned to MAX_POINTS overall: [(draws (n, 2), burn-in?, frame)].

    A frame's block of steps is split where burn-in ends, so burn-in draws are chunks of their
    own (drawn faded); frames that reveal nothing add no chunk."""
    total = mc.chain.shape[0] * mc.chain.shape[1]
    keep = min(1.0, MAX_POINTS / total)
    rng = np.random.default_rng(seed)
    n_burn = mc.burn_in
    chunks, prev = [], -1
    for k, j in enumerate(mc_idx):
        for a, b, burn in ((prev + 1, min(j + 1, n_burn), True), (max(prev + 1, n_burn), j + 1, False)):
            block = mc.chain[a:b].reshape(-1, 2) if b > a else np.empty((0, 2))
            if keep < 1.0 and len(block):
                block = block[rng.random(len(block)) < keep]
            if len(block):
                chunks.append((block, burn, k))
        prev = max(prev, j)
    return chunks


TRAIL_STEPS = 10  # each recorded chain's last moves drawn in a frame: Gibbs' staircase, HMC's leapfrog paths
MAX_PATH_POINTS = 1500  # per frame and trace; older moves are dropped first
PATH_COLOUR = "#555555"
DIVERGENT_COLOUR = "#CC0033"
DIVERGENT_MARKER = dict(color=DIVERGENT_COLOUR, size=8, symbol="x-thin", line=dict(color=DIVERGENT_COLOUR, width=2))


def _paths_xy(mc: McmcResult, j: int, accepted: bool) -> tuple[np.ndarray, np.ndarray]:
    """The moves of steps j - TRAIL_STEPS + 1 .. j of the recorded chains that were (or were
    not) accepted, as one NaN-separated polyline; divergent trajectories count as rejected."""
    lo = max(j - TRAIL_STEPS + 1, 0)
    ok = mc.path_accepted[lo : j + 1] & ~mc.path_divergent[lo : j + 1]
    pieces: list[np.ndarray] = []
    n = 0
    for t in range(j, lo - 1, -1):  # newest first, so a cap drops the oldest
        for c in range(mc.paths.shape[1]):
            if ok[t - lo, c] != accepted:
                continue
            pts = mc.paths[t, c]
            pts = pts[~np.isnan(pts[:, 0])]
            if len(pts) < 2 or n + len(pts) > MAX_PATH_POINTS:
                continue
            pieces.append(np.vstack([pts, [[np.nan, np.nan]]]))
            n += len(pts) + 1
    if not pieces:
        return f32([]), f32([])
    xy = np.vstack(pieces[::-1])
    return f32(xy[:, 0]), f32(xy[:, 1])


def _divergences_xy(mc: McmcResult, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Where every divergent transition after warm-up, up to step j, began (all chains). Warm-up's
    are left out, as the sampler's own count leaves them out: its step size was still being tuned."""
    if mc.divergent is None:
        return f32([]), f32([])
    t, w = np.nonzero(mc.divergent[: j + 1])
    keep = t >= mc.burn_in
    t, w = t[keep], w[keep]
    start = mc.chain[np.maximum(t - 1, 0), w]
    return f32(start[:, 0]), f32(start[:, 1])


def _move_traces(mc: McmcResult, j: int) -> list[dict]:
    """Frame data of the three move traces: accepted paths, rejected paths, divergences."""
    (ax, ay), (rx, ry), (dx, dy) = _paths_xy(mc, j, True), _paths_xy(mc, j, False), _divergences_xy(mc, j)
    return [dict(x=ax, y=ay), dict(x=rx, y=ry), dict(x=dx, y=dy)]


def _chunk_opacity(burn: bool, shown: bool) -> float:
    return (BURN_OPACITY if burn else DRAW_OPACITY) if shown else 0.0


class Sizes(NamedTuple):
    """The race's sizes: figure height (px), base font, the small texts (status, labels, titles), notes, the
    moving markers (px); the rows as paper fractions: density panels (top), ELBO and distance (mid), gauge; the
    Play/Pause row's and the slider's y, the slider's left end, the margins. PRESENT: for a projector (every
    text >= 18 px, axes' tick labels too; fits 1280 x 720 under Streamlit's header)."""

    height: int
    font: int
    small: int
    note: int
    marker: int
    top: tuple[float, float] = (0.57, 1.0)
    mid: tuple[float, float] | None = (0.27, 0.45)  # None: no middle row
    gauge: tuple[float, float] = (0.0, 0.075)
    buttons_y: float = -0.045
    slider_y: float = 0.0
    slider_x: float = 0.2
    margin: tuple[int, int, int, int] = (55, 20, 55, 80)  # left, right, top, bottom


# Play/Pause on a row of their own above a full-width slider: beside it they covered its grip on a phone
NORMAL = Sizes(
    height=820, font=13, small=12, note=11, marker=10, buttons_y=-0.05, slider_y=-0.085, slider_x=0.0,
    margin=(55, 20, 55, 120),
)  # fmt: skip
PRESENT = Sizes(
    height=600, font=18, small=18, note=18, marker=13, top=(0.36, 1.0), mid=None, gauge=(0.0, 0.06),
    buttons_y=-0.12, slider_y=-0.075, slider_x=0.24, margin=(70, 20, 62, 118),
)  # fmt: skip
CURVE_POINTS = 200  # at most this many points of a curve drawn up to a frame (each frame sends its own)


def race_figure(grid: Grid, vi: ViResult, mc: McmcResult, clock: str = "iteration", present: bool = False) -> dict:
    """The animated race: VI | MCMC over the target, the ELBO trace and the distance to the
    truth against wall-clock time, and the gauge ln p(X) = ELBO + KL, all on one slider.
    The ELBO and distance curves grow with the frames (each frame draws them up to its step).
    present: the presenter view's sizes (PRESENT: a projector's 1280 x 720, text >= 18 px)."""
    size = PRESENT if present else NORMAL
    vi_idx, mc_idx, labels, _ = frame_plan(vi, mc, clock)
    n = len(vi_idx)
    log_z = float(grid.log_z)
    data: list[dict] = []

    def add(trace: dict) -> int:
        data.append(trace)
        return len(data) - 1

    add(target_lines(grid, "x", "y"))
    add(target_lines(grid, "x2", "y2"))
    i_q = add({**_vi_trace(grid, vi, vi_idx[0]), "xaxis": "x", "yaxis": "y", "name": "q", "hoverinfo": "skip"})
    m0 = vi.mean[vi_idx[0]]
    i_qm = add(scatter(m0[:1], m0[1:], mode="markers", marker=dict(color=VI_COLOUR, size=9, symbol="x")))
    chunks = _sample_chunks(mc, mc_idx)
    i_chunks = [
        add(
            scatter(
                c[:, 0], c[:, 1], "2", mode="markers", hoverinfo="skip", name="burn-in draws" if burn else "draws",
                marker=dict(color=MCMC_COLOUR, size=3, opacity=_chunk_opacity(burn, f == 0)),
            )
        )
        for c, burn, f in chunks
    ]  # fmt: skip
    now = dict(color=WALKER_COLOUR, size=6, line=dict(color="white", width=1))
    w0 = mc.chain[mc_idx[0]]
    i_walk = add(scatter(w0[:, 0], w0[:, 1], "2", mode="markers", marker=now, hoverinfo="skip", name="walkers now"))
    i_moves = []
    if mc.paths is not None:  # the sampler recorded its moves: draw them over the draws
        styles = (
            dict(mode="lines", line=dict(color=PATH_COLOUR, width=1.3), name="moves, accepted"),
            dict(mode="lines", line=dict(color=PATH_COLOUR, width=1, dash="dot"), name="moves, rejected"),
            dict(
                mode="markers", name="divergent transitions after warm-up (where they began)",
                marker=DIVERGENT_MARKER,
            ),
        )  # fmt: skip
        for style, xy in zip(styles, _move_traces(mc, mc_idx[0]), strict=True):
            i_moves.append(add(scatter(xy["x"], xy["y"], "2", hoverinfo="skip", **style)))

    # The middle row (NORMAL only: the presenter view gives its height to the density panels; the page shows
    # these curves below the race).
    lo, hi = _elbo_range(vi, log_z)
    curves = size.mid is not None
    i_curves: list[int] = []
    if curves:
        # ELBO trace against iteration or time, drawn up to the frame's step, with a moving marker, under ln p(X)
        # and the family's best. The Monte Carlo estimate is what the optimiser followed: noisy, it can exceed ln p(X).
        vx = np.arange(vi.times.size) if clock == "iteration" else np.maximum(vi.times, 1e-6)
        upto = _curve_points(vi.times.size)
        mc_line = dict(color="#f3b592", width=1)
        mc_hover = (
            "Monte Carlo estimate of the ELBO from a few draws of q: noisy, so it can exceed ln p(X)<extra></extra>"
        )
        i_emc = add(
            scatter(*_grown(vx, vi.elbo_mc, upto, vi_idx[0]), "3", mode="lines", line=mc_line, hovertemplate=mc_hover,
                    name="ELBO, Monte Carlo estimate (noisy: can exceed ln p(X))")
        )  # fmt: skip
        i_ex = add(
            scatter(*_grown(vx, vi.elbo, upto, vi_idx[0]), "3", mode="lines", line=dict(color=VI_COLOUR, width=2),
                    name="ELBO (exact)", hovertemplate="exact ELBO %{y:.4f} nats<extra></extra>")
        )  # fmt: skip
        ends = [vx[0], vx[-1]]
        dash = dict(color=TRUTH_COLOUR, dash="dash", width=1.5)
        add(scatter(ends, [log_z, log_z], "3", mode="lines", line=dash, name="ln p(X)"))
        add(_line_label(vx[-1], log_z, "ln p(X)", "3", "top left", size=size.small))
        best = float(getattr(vi, "elbo_best", float("nan")))
        if math.isfinite(best):
            dot = dict(color=BEST_COLOUR, dash="dot", width=2)
            add(scatter(ends, [best, best], "3", mode="lines", line=dot, name="best ELBO in the family"))
            add(_line_label(vx[-1], best, "best in family", "3", "bottom left", BEST_COLOUR, size=size.small))
        em = dict(color=VI_COLOUR, size=size.marker)
        i_em = add(scatter(vx[vi_idx[:1]], vi.elbo[vi_idx[:1]], "3", mode="markers", marker=em))

        # Distance to the truth (MMD) against wall-clock time: the same yardstick for both, drawn up to the frame.
        vt, mt = np.maximum(vi.times[vi.snap], 1e-6), mc.times[mc.snap]
        i_cv = add(scatter(*_scored_upto(vt, vi.mmd, vi.snap, vi_idx[0]), "4", mode="lines",
                           line=dict(color=VI_COLOUR, width=2), name="VI: MMD"))  # fmt: skip
        i_cm = add(scatter(*_scored_upto(mt, mc.mmd, mc.snap, mc_idx[0]), "4", mode="lines",
                           line=dict(color=MCMC_COLOUR, width=2, dash="dash"), name="MCMC: MMD"))  # fmt: skip
        pv, pm = _mmd_point(vi.times, vi.snap, vi.mmd, vi_idx[0]), _mmd_point(mc.times, mc.snap, mc.mmd, mc_idx[0])
        i_dv = add(scatter(pv["x"], pv["y"], "4", mode="markers", marker=dict(color=VI_COLOUR, size=size.marker)))
        i_dm = add(scatter(pm["x"], pm["y"], "4", mode="markers", marker=dict(color=MCMC_COLOUR, size=size.marker)))
        i_curves = [i_emc, i_ex, i_em, i_cv, i_cm, i_dv, i_dm]

    # Gauge: ln p(X) = ELBO + KL on one nats axis spanning every frame's ELBO.
    gauge = _Gauge.for_run(vi, vi_idx, log_z, size)
    add(gauge.break_marker())
    add(gauge.dashed_label())
    i_gauge = [add(t) for t in gauge.traces(vi, vi_idx[0])]

    i_sv, i_sm = (add(t) for t in _status(grid, vi, mc, vi_idx[0], mc_idx[0], size))
    animated = [i_q, i_qm, *i_chunks, i_walk, *i_moves, *i_curves, *i_gauge, i_sv, i_sm]
    frames = []
    for k in range(n):
        v, j = vi_idx[k], mc_idx[k]
        fd = [
            _vi_trace(grid, vi, v),
            dict(x=f32(vi.mean[v, :1]), y=f32(vi.mean[v, 1:])),
            *[dict(marker=dict(opacity=_chunk_opacity(burn, f <= k))) for _, burn, f in chunks],
            dict(x=f32(mc.chain[j, :, 0]), y=f32(mc.chain[j, :, 1])),
            *(_move_traces(mc, j) if i_moves else []),
            *(_curve_frame(vi, mc, vx, vt, mt, upto, v, j) if curves else []),
            *gauge.traces(vi, v),
            *_status(grid, vi, mc, v, j, size),
        ]
        frames.append(dict(name=str(k), data=fd, traces=animated))

    layout = _race_layout(grid, vi, mc, clock, (lo, hi), gauge, labels, size)
    layout["annotations"] = _panel_titles(log_z, size)
    return dict(data=data, layout=layout, frames=frames)


def _curve_frame(vi, mc, vx, vt, mt, upto, v: int, j: int) -> list[dict]:
    """The middle row's traces at VI step v and MCMC step j: the ELBO curves (MC estimate, exact) and the marker,
    the two distance curves and their markers."""
    ex, ey = _grown(vx, vi.elbo, upto, v)
    return [
        dict(x=ex, y=_grown(vx, vi.elbo_mc, upto, v)[1]),
        dict(x=ex, y=ey),
        dict(x=f32(vx[[v]]), y=f32(vi.elbo[[v]])),
        dict(zip("xy", _scored_upto(vt, vi.mmd, vi.snap, v), strict=True)),
        dict(zip("xy", _scored_upto(mt, mc.mmd, mc.snap, j), strict=True)),
        _mmd_point(vi.times, vi.snap, vi.mmd, v),
        _mmd_point(mc.times, mc.snap, mc.mmd, j),
    ]


def _curve_points(n: int) -> np.ndarray:
    """At most CURVE_POINTS indices into a curve of n points, evenly spread, both ends included."""
    return np.unique(np.round(np.linspace(0, n - 1, min(n, CURVE_POINTS))).astype(int))


def _grown(x: np.ndarray, y: np.ndarray, upto: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The curve (x, y) drawn up to index k: the thinned points before it, then k itself, float32."""
    idx = np.append(upto[upto < k], k)
    return f32(x[idx]), f32(y[idx])


def _scored_upto(t: np.ndarray, d: np.ndarray, snap: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A yardstick curve (t (S,), d (S,) at the steps ``snap``) up to its last snapshot at or before step k."""
    pos = int(np.searchsorted(snap, k, side="right"))  # 0 before the first scored snapshot: nothing drawn yet
    return f32(t[:pos]), f32(d[:pos])


def _elbo_range(vi: ViResult, log_z: float) -> tuple[float, float]:
    """The ELBO panel's y range: most of the climb, ln p(X), the family's best, and room above
    ln p(X) for Monte Carlo estimates that overshoot it."""
    finite = vi.elbo[np.isfinite(vi.elbo)]
    lo = float(np.percentile(finite, 5)) if finite.size else log_z - 1.0
    lo = min(lo, float(finite[-1]) - 0.2 * abs(log_z - finite[-1]) - 0.05) if finite.size else lo
    best = float(getattr(vi, "elbo_best", float("nan")))
    if math.isfinite(best):
        lo = min(lo, best - 0.05 * abs(log_z - lo) - 0.01)
    mc = vi.elbo_mc[np.isfinite(vi.elbo_mc)]
    top = max(log_z, float(np.percentile(mc, 95)) if mc.size else log_z)
    return lo, top + 0.12 * abs(top - lo) + 0.02


def _line_label(
    x: float, y: float, text: str, axis: str, position: str, colour: str = TRUTH_COLOUR, size: int = 12
) -> dict:
    """A text label at the end of a horizontal line (static)."""
    return scatter(
        [x], [y], axis, mode="text", text=[text], textposition=position, hoverinfo="skip",
        textfont=dict(size=size, color=colour), cliponaxis=False,
    )  # fmt: skip


class _Gauge:
    """ln p(X) = ELBO + KL drawn on one nats axis that spans every frame's ELBO and ln p(X).

    The KL bar runs from the ELBO to ln p(X): its length is the KL, on the same scale at every
    frame. The ELBO bar fills the axis from its left edge, marked by a break (the axis does not
    start at 0: ELBO and ln p(X) can be any sign). Labels sit beside the bars, never inside, so
    a small KL keeps its label."""

    def __init__(self, left: float, right: float, log_z: float, size: Sizes = NORMAL) -> None:
        self.left, self.right, self.log_z, self.size = left, right, log_z, size

    @classmethod
    def for_run(cls, vi: ViResult, vi_idx: np.ndarray, log_z: float, size: Sizes = NORMAL) -> _Gauge:
        e = np.asarray(vi.elbo, dtype=float)[vi_idx]
        e = e[np.isfinite(e)]
        lo = min(float(e.min()), log_z) if e.size else log_z - 1.0
        hi = max(float(e.max()), log_z) if e.size else log_z
        # at least MIN_SPAN nats: a run whose every ELBO is within 1e-4 of ln p(X) would otherwise zoom in until a
        # KL that prints as 0.000 fills the bar
        lo = min(lo, hi - _Gauge.MIN_SPAN)
        span = hi - lo
        return cls(lo - 0.12 * span, hi + 0.04 * span, log_z, size)

    MIN_SPAN = 0.1

    def traces(self, vi: ViResult, k: int) -> list[dict]:
        """ELBO bar, KL bar, and their labels (one text trace) at VI step k."""
        elbo, kl = float(vi.elbo[k]), float(vi.kl[k])
        e = min(max(elbo, self.left), self.right) if math.isfinite(elbo) else self.left
        bar = dict(type="bar", orientation="h", y=[0.0], width=[0.8], xaxis="x5", yaxis="y5", hoverinfo="skip")
        t = self.right - self.left
        return [
            {**bar, "x": [e - self.left], "base": [self.left], "marker": dict(color=VI_COLOUR), "name": "ELBO"},
            {**bar, "x": [self.log_z - e], "base": [e], "marker": KL_MARKER, "name": "KL(q‖p)"},
            scatter(
                [self.left + 0.005 * t, self.log_z], [0.42, 0.42], "5", mode="text",
                text=[f"ELBO {elbo:.3f}", f"KL {gauge_kl(kl)}"], textposition=["top right", "top left"],
                textfont=dict(size=self.size.font, color=[VI_COLOUR, TRUTH_COLOUR]), hoverinfo="skip",
                cliponaxis=False,
            ),
        ]  # fmt: skip

    def break_marker(self) -> dict:
        """Two white slashes across the ELBO bar near the axis' left edge: the bar is cut there."""
        t = self.right - self.left
        x, d, g = self.left + 0.035 * t, 0.004 * t, 0.006 * t
        xs = [x - d, x + d, None, x - d + g, x + d + g]
        ys = [-0.5, 0.5, None, -0.5, 0.5]
        return dict(
            type="scatter", x=xs, y=ys, mode="lines", line=dict(color="white", width=2.5), xaxis="x5", yaxis="y5",
            hoverinfo="skip", name="axis break",
        )  # fmt: skip

    def layout(self) -> tuple[dict, dict]:
        xa = dict(range=[self.left, self.right], zeroline=False, fixedrange=True)
        ya = dict(range=[-1.25, 1.25], showticklabels=False, showgrid=False, zeroline=False, fixedrange=True)
        return xa, ya

    def shapes(self) -> list[dict]:
        line = dict(color=TRUTH_COLOUR, width=2, dash="dash")
        return [dict(type="line", xref="x5", yref="y5", x0=self.log_z, x1=self.log_z, y0=-0.55, y1=0.55, line=line)]

    def dashed_label(self) -> dict:
        return _line_label(self.log_z, -0.5, "ln p(X)", "5", "bottom left", size=self.size.small)


def gauge_kl(kl: float) -> str:
    """The gauge's KL label: three decimals, or two significant digits below 0.01 (never "0.000" for a KL the
    bar still shows), "0" below 5e-7 (the quadrature's resolution)."""
    if not math.isfinite(kl):
        return "—"
    if abs(kl) < 5e-7:
        return "0"
    return f"{kl:.3f}" if abs(kl) >= 0.01 else f"{kl:.2g}"


def _mmd_point(times: np.ndarray, snap: np.ndarray, mmd: np.ndarray, idx: int) -> dict:
    """The yardstick at the last scored snapshot at or before step ``idx``."""
    pos = max(int(np.searchsorted(snap, idx, side="right")) - 1, 0)
    return dict(x=f32([max(times[snap[pos]], 1e-6)]), y=f32([mmd[pos]]))


def _status(grid: Grid, vi: ViResult, mc: McmcResult, v: int, j: int, size: Sizes = NORMAL) -> tuple[dict, dict]:
    """Each top panel's running status ('step 120/500', '3.1 ms') as a text trace above it:
    VI's at its left corner, MCMC's at its right corner, in short lines that fit a phone.

    Text traces, unlike layout annotations, change in frames played with redraw=False, and a
    full redraw per frame costs 3x more in the browser."""
    x0, x1, _, y1 = grid.box
    n_draws = (j + 1) * mc.chain.shape[1]
    vi_text = f"<b>VI</b> · step {v}/{vi.times.size - 1}<br>{_fmt_time(vi.times[v])}"
    mc_text = f"<b>MCMC</b> · {n_draws:,} draws<br>{_fmt_time(mc.times[j])}"
    if size is NORMAL:
        mc_text += "<br>burn-in (first quarter, faded)"
    style = dict(mode="text", hoverinfo="skip", textfont=dict(size=size.small), cliponaxis=False)
    return (
        scatter([x0], [y1], "", text=[vi_text], textposition="top right", **style),
        scatter([x1], [y1], "2", text=[mc_text], textposition="top left", **style),
    )


# Vertical layout of the race (paper fractions, Sizes): two density panels, the ELBO and MMD panels,
# then the gauge as a full-width strip.


def _panel_titles(log_z: float, size: Sizes = NORMAL) -> list[dict]:
    gauge = f"ln p(X) = {log_z:.3f} = ELBO + KL (nats)"
    if size is NORMAL:  # the presenter view says it aloud
        note = "the ELBO bar is cut at the slashes; the KL bar is to scale"
        gauge += f"<br><span style='font-size:{size.note}px'>{note}</span>"
    texts = [(0.0, size.gauge[1] + (0.05 if size is NORMAL else 0.045), gauge)]
    if size.mid is not None:
        texts += [
            (0.0, size.mid[1] + 0.01, "ELBO · light: MC estimate"),
            (0.57, size.mid[1] + 0.01, "MMD to the truth"),
        ]
    return [
        dict(
            x=x, y=y, xref="paper", yref="paper", xanchor="left", yanchor="bottom", text=t, showarrow=False,
            font=dict(size=size.small),
            align="left",
        )
        for x, y, t in texts
    ]  # fmt: skip


def _race_layout(grid, vi, mc, clock, elbo_range, gauge: _Gauge, labels, size: Sizes = NORMAL) -> dict:
    xa, ya = axis_layout(grid, "x")
    xa2, ya2 = axis_layout(grid, "x2")
    play = dict(
        frame=dict(duration=FRAME_MS, redraw=False), transition=dict(duration=0), fromcurrent=True, mode="immediate"
    )
    pause = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate")
    steps = [dict(method="animate", label=lab, args=[[str(k)], pause]) for k, lab in enumerate(labels)]
    t_all = np.concatenate([vi.times[1:], mc.times])
    t_lo = max(float(np.min(t_all[t_all > 0])) if (t_all > 0).any() else 1e-5, 1e-6)
    t_hi = max(float(np.max(t_all)), 10 * t_lo)  # at least a decade: never log10 of 0 (a clock that did not tick)
    mmd_hi = float(np.nanmax(np.concatenate([vi.mmd, mc.mmd]))) if len(mc.mmd) else 1.0
    vx_range = (
        dict(range=[0, vi.times.size - 1], title=dict(text="VI step"))
        if clock == "iteration"
        else dict(type="log", range=[math.log10(t_lo) - 0.1, math.log10(t_hi) + 0.1], title=dict(text="time (s)"))
    )
    # decades only when there are several: the 2s and 5s crowd a phone-sized panel
    decades = dict(dtick=1) if math.log10(t_hi / t_lo) >= 2 else {}
    if clock == "time":
        vx_range.update(decades)
    gx, gy = gauge.layout()
    ml, mr, mt, mb = size.margin
    layout = dict(
        height=size.height,
        margin=dict(l=ml, r=mr, t=mt, b=mb),
        font={**FONT, "size": size.font},
        showlegend=False,
        xaxis={**xa, "domain": [0.0, 0.45], "anchor": "y"},
        yaxis={**ya, "domain": list(size.top), "anchor": "x"},
        xaxis2={**xa2, "domain": [0.55, 1.0], "anchor": "y2"},
        # the same y as on the left: its title there only, so the tick labels fit the gap on a phone
        yaxis2={**ya2, "domain": list(size.top), "anchor": "x2", "title": dict(text="")},
        xaxis5={**gx, "domain": [0.0, 1.0], "anchor": "y5"},
        yaxis5={**gy, "domain": list(size.gauge), "anchor": "x5"},
        barmode="overlay",
        shapes=gauge.shapes(),
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=size.buttons_y,
                xanchor="left",
                yanchor="top",
                showactive=False,
                pad=dict(t=0, r=10),
                font=dict(size=size.font),
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, play]),
                    dict(label="❚❚ Pause", method="animate", args=[[None], pause]),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                x=size.slider_x,
                len=1.0 - size.slider_x,
                y=size.slider_y,
                yanchor="top",
                font=dict(size=size.font),
                pad=dict(t=30, b=0),
                currentvalue=dict(
                    prefix=("progress " if clock == "iteration" else "time "),
                    font=dict(size=size.font),
                    xanchor="right",
                ),
                steps=steps,
            )
        ],
    )
    if size.mid is not None:
        layout.update(
            xaxis3={**vx_range, "domain": [0.0, 0.43], "anchor": "y3"},
            yaxis3=dict(domain=list(size.mid), anchor="x3", range=list(elbo_range), title=dict(text="nats")),
            xaxis4=dict(
                domain=[0.57, 1.0],
                anchor="y4",
                type="log",
                **decades,
                title=dict(text="wall-clock time (s)"),
                range=[math.log10(t_lo) - 0.1, math.log10(t_hi) + 0.1],
            ),
            yaxis4=dict(domain=list(size.mid), anchor="x4", range=[0, mmd_hi * 1.1 + 1e-3]),
        )
    # Streamlit's Plotly theme sets the axes' own font sizes, which layout.font does not reach: set them
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")):
            axis["tickfont"] = dict(size=size.font)
            axis.setdefault("title", {})["font"] = dict(size=size.font)
    return layout


# ---------------------------------------------------------------------------------- static charts


COST_AXES = {
    "time": "wall-clock time (s), log scale",
    "evals": "log-density + gradient evaluations, log scale",
}


def _costs(res, idx: np.ndarray, cost: str) -> np.ndarray:
    """Wall-clock seconds or evaluations (density + gradient) spent by the states ``idx``."""
    if cost == "time":
        return np.maximum(res.times[idx], 1e-6)
    return res.evals[idx].sum(axis=1).astype(float)


_LOG_TICKS = [m * 10.0**e for e in range(-4, 2) for m in (1, 2, 5)]  # 1, 2, 5 x 10^k, written out in full
YARDSTICKS = {
    "mmd": ("mmd", "MMD to the exact posterior"),
    "w1": ("w1_sd", "marginal W1 to the exact posterior (sd)"),
}


def accuracy_figure(vi: ViResult, mc: McmcResult, cost: str = "time", yardstick: str = "mmd") -> dict:
    """Distance to the truth against the cost spent (log axis), wall-clock time or evaluations
    (``cost`` "time" or "evals"), on the MMD or the tail-sensitive marginal W1 (``yardstick``, YARDSTICKS):
    VI plateaus at its bias, MCMC keeps improving. A method that evaluates nothing (Gibbs with closed-form
    conditionals) has no place on the evaluations axis."""
    if cost not in COST_AXES:
        raise ValueError(f"cost must be one of {', '.join(COST_AXES)}, got {cost!r}")
    if yardstick not in YARDSTICKS:
        raise ValueError(f"yardstick must be one of {', '.join(YARDSTICKS)}, got {yardstick!r}")
    field, title = YARDSTICKS[yardstick]
    vd, md = getattr(vi, field), getattr(mc, field)
    vt, mt = _costs(vi, vi.snap, cost), _costs(mc, mc.snap, cost)
    vk, mk = vt > 0, mt > 0  # a log axis has no zero
    t_end = max(vt[vk][-1] if vk.any() else 1.0, mt[mk][-1] if mk.any() else 1.0)
    t_start = vt[vk][0] if vk.any() else t_end
    data = [
        scatter(vt[vk], vd[vk], mode="lines+markers", name=f"VI · {vi.label}",
                 line=dict(color=VI_COLOUR, width=2.5), marker=dict(size=4)),
        scatter(mt[mk], md[mk], mode="lines+markers", name=f"MCMC · {mc.label}",
                 line=dict(color=MCMC_COLOUR, width=2.5), marker=dict(size=4)),
        scatter([t_start, t_end], [vd[-1]] * 2, mode="lines", name="VI's final bias",
                 line=dict(color=VI_COLOUR, dash="dot", width=1)),
    ]  # fmt: skip
    return dict(
        data=data,
        layout=chart_layout(
            400,
            dict(type="log", title=dict(text=COST_AXES[cost])),
            # W1 spans decades (a biased q at 0.3 sd, draws closing in on 0.01) and is never 0 for draws: log
            # scale; the MMD's unbiased estimate can be 0, so it keeps a linear axis from 0
            dict(title=dict(text=title), type="log", tickvals=_LOG_TICKS, ticktext=[f"{v:g}" for v in _LOG_TICKS])
            if yardstick == "w1"
            else dict(title=dict(text=title), rangemode="tozero"),
        ),
    )


def marginal_figure(grid: Grid, vi: ViResult, mc: McmcResult, axis: int) -> dict:
    """True marginal, q's marginal and the MCMC histogram for coordinate ``axis``."""
    xs = grid.xs if axis == 0 else grid.ys
    truth = grid.marginal_x if axis == 0 else grid.marginal_y
    q = vi.marg_x if axis == 0 else vi.marg_y
    # float64: numpy makes the bin edges in the draws' dtype, and float32 (the chain's, for the browser) cannot
    # tell 50 edges apart in a narrow box far from 0 (box 100, 100.0002: "Too many bins for data range")
    draws = mc.chain[mc.burn_in :, :, axis].ravel().astype(np.float64)
    lo, hi = (grid.box[0], grid.box[1]) if axis == 0 else (grid.box[2], grid.box[3])
    with np.errstate(all="ignore"):  # no draw inside the box: density 0/0, drawn as no bars
        hist, edges = np.histogram(draws, bins=50, range=(lo, hi), density=True)
    ratio = vi.cov[-1, axis, axis] / (grid.cov[axis, axis])
    label = grid.target.labels[axis]
    return dict(
        data=[
            dict(
                type="bar",
                x=f32(0.5 * (edges[1:] + edges[:-1])),
                y=f32(hist),
                name="MCMC histogram",
                marker=dict(color=MCMC_COLOUR, opacity=0.35),
                width=float(edges[1] - edges[0]),
            ),
            dict(
                type="scatter",
                x=f32(xs),
                y=f32(truth),
                mode="lines",
                name="exact",
                line=dict(color=TRUTH_COLOUR, width=2.5),
            ),
            dict(type="scatter", x=f32(xs), y=f32(q), mode="lines", name="q", line=dict(color=VI_COLOUR, width=2.5)),
        ],
        layout=dict(
            # the label on a line of its own: a long one ("slope β per 10 °F") ran off a half-width chart
            title=dict(text=f"{label}<br>Var<sub>q</sub> / Var<sub>true</sub> = {ratio:.2f}", font=dict(size=14)),
            height=385,
            margin=dict(l=45, r=10, t=55, b=120),
            font=FONT,
            bargap=0,
            xaxis=dict(title=dict(text=label), range=[lo, hi]),
            yaxis=dict(title=dict(text="density")),
            # below the axis title, never over it (three entries may wrap onto three lines)
            legend=dict(orientation="h", x=0, y=-0.3, yanchor="top"),
        ),
    )
