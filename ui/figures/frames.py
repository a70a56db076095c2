"""What a frame of the race shows, shared by the animated figure (ui.figures.race) and the raster export
(ui.figures.raster): which VI state and MCMC step each frame shows, the draws revealed, the samplers' moves, the
curves drawn up to a frame, the gauge ln p(X) = ELBO + KL, and the race's sizes (normal and presenter)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ui.figures.shared import (
    BURN_OPACITY,
    DRAW_OPACITY,
    KL_MARKER,
    MAX_POINTS,
    N_FRAMES,
    TRUTH_COLOUR,
    VI_COLOUR,
    f32,
    picture_xy,
    scatter,
)

if TYPE_CHECKING:
    from ui.compute import Grid, McmcDraws, McmcResult, ViResult

__all__ = [
    "CURVE_POINTS",
    "DIVERGENT_COLOUR",
    "DIVERGENT_MARKER",
    "MAX_PATH_POINTS",
    "NORMAL",
    "PATH_COLOUR",
    "PRESENT",
    "TRAIL_STEPS",
    "Gauge",
    "Sizes",
    "chunk_opacity",
    "curve_points",
    "divergences_xy",
    "elbo_range",
    "fmt_time",
    "frame_plan",
    "gauge_kl",
    "grown",
    "line_label",
    "mmd_point",
    "move_traces",
    "parts_trace",
    "paths_xy",
    "sample_chunks",
    "scored_upto",
    "vi_trace",
]


def frame_plan(vi: ViResult, mc: McmcDraws | McmcResult, clock: str, n_frames: int = N_FRAMES):
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
    labels = [fmt_time(t) for t in instants]
    return vi_idx, mc_idx, labels, instants


def fmt_time(t: float) -> str:
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def vi_trace(grid: Grid, vi: ViResult, k: int) -> dict:
    """The k-th q's picture (its family's own), as the frame's trace: lines for ellipses and level lines, markers
    for particles (the same mode in every frame of a run: a family draws one kind)."""
    x, y, mode = picture_xy(vi.qs[k].picture(grid))
    style = (
        dict(line=dict(color=VI_COLOUR, width=2.5)) if mode == "lines" else dict(marker=dict(color=VI_COLOUR, size=4))
    )
    return dict(type="scatter", x=x, y=y, mode=mode, **style)


def parts_trace(grid: Grid, vi: ViResult, k: int) -> dict | None:
    """The k-th q's parts (a mixture's components, 1-sd ellipses) as a thin dotted trace, or None for a family
    without parts (the same for every frame of a run)."""
    parts = vi.qs[k].parts(grid)
    if parts is None:
        return None
    x, y, _ = picture_xy(parts)
    return dict(type="scatter", x=x, y=y, mode="lines", line=dict(color=VI_COLOUR, width=1.2, dash="dot"))


def sample_chunks(mc: McmcDraws | McmcResult, mc_idx: np.ndarray, seed: int = 0) -> list[tuple[np.ndarray, bool, int]]:
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


def paths_xy(mc: McmcDraws | McmcResult, j: int, accepted: bool) -> tuple[np.ndarray, np.ndarray]:
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


def divergences_xy(mc: McmcDraws | McmcResult, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Where every divergent transition after warm-up, up to step j, began (all chains). Warm-up's
    are left out, as the sampler's own count leaves them out: its step size was still being tuned."""
    if mc.divergent is None:
        return f32([]), f32([])
    t, w = np.nonzero(mc.divergent[: j + 1])
    keep = t >= mc.burn_in
    t, w = t[keep], w[keep]
    start = mc.chain[np.maximum(t - 1, 0), w]
    return f32(start[:, 0]), f32(start[:, 1])


def move_traces(mc: McmcDraws | McmcResult, j: int) -> list[dict]:
    """Frame data of the three move traces: accepted paths, rejected paths, divergences."""
    (ax, ay), (rx, ry), (dx, dy) = paths_xy(mc, j, True), paths_xy(mc, j, False), divergences_xy(mc, j)
    return [dict(x=ax, y=ay), dict(x=rx, y=ry), dict(x=dx, y=dy)]


def chunk_opacity(burn: bool, shown: bool) -> float:
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


def curve_points(n: int) -> np.ndarray:
    """At most CURVE_POINTS indices into a curve of n points, evenly spread, both ends included."""
    return np.unique(np.round(np.linspace(0, n - 1, min(n, CURVE_POINTS))).astype(int))


def grown(x: np.ndarray, y: np.ndarray, upto: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The curve (x, y) drawn up to index k: the thinned points before it, then k itself, float32."""
    idx = np.append(upto[upto < k], k)
    return f32(x[idx]), f32(y[idx])


def scored_upto(t: np.ndarray, d: np.ndarray, snap: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A yardstick curve (t (S,), d (S,) at the steps ``snap``) up to its last snapshot at or before step k."""
    pos = int(np.searchsorted(snap, k, side="right"))  # 0 before the first scored snapshot: nothing drawn yet
    return f32(t[:pos]), f32(d[:pos])


def elbo_range(vi: ViResult, log_z: float) -> tuple[float, float]:
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


def line_label(
    x: float, y: float, text: str, axis: str, position: str, colour: str = TRUTH_COLOUR, size: int = 12
) -> dict:
    """A text label at the end of a horizontal line (static)."""
    return scatter(
        [x], [y], axis, mode="text", text=[text], textposition=position, hoverinfo="skip",
        textfont=dict(size=size, color=colour), cliponaxis=False,
    )  # fmt: skip


class Gauge:
    """ln p(X) = ELBO + KL drawn on one nats axis that spans every frame's ELBO and ln p(X).

    The KL bar runs from the ELBO to ln p(X): its length is the KL, on the same scale at every
    frame. The ELBO bar fills the axis from its left edge, marked by a break (the axis does not
    start at 0: ELBO and ln p(X) can be any sign). Labels sit beside the bars, never inside, so
    a small KL keeps its label."""

    def __init__(self, left: float, right: float, log_z: float, size: Sizes = NORMAL) -> None:
        self.left, self.right, self.log_z, self.size = left, right, log_z, size

    @classmethod
    def for_run(cls, vi: ViResult, vi_idx: np.ndarray, log_z: float, size: Sizes = NORMAL) -> Gauge:
        e = np.asarray(vi.elbo, dtype=float)[vi_idx]
        e = e[np.isfinite(e)]
        lo = min(float(e.min()), log_z) if e.size else log_z - 1.0
        hi = max(float(e.max()), log_z) if e.size else log_z
        # at least MIN_SPAN nats: a run whose every ELBO is within 1e-4 of ln p(X) would otherwise zoom in until a
        # KL that prints as 0.000 fills the bar
        lo = min(lo, hi - Gauge.MIN_SPAN)
        span = hi - lo
        return cls(lo - 0.12 * span, hi + 0.04 * span, log_z, size)

    MIN_SPAN = 0.1

    def traces(self, vi: ViResult, k: int) -> list[dict]:
        """ELBO bar, KL bar, and their labels (one text trace) at VI step k."""
        elbo, kl = float(vi.elbo[k]), float(vi.kl[k])
        # no ELBO (particles have no density): both bars empty and both labels a dash, never a made-up split
        e = min(max(elbo, self.left), self.right) if math.isfinite(elbo) else self.left
        kl_len = self.log_z - e if math.isfinite(elbo) else 0.0
        elbo_text = f"ELBO {elbo:.3f}" if math.isfinite(elbo) else "ELBO —"
        bar = dict(type="bar", orientation="h", y=[0.0], width=[0.8], xaxis="x5", yaxis="y5", hoverinfo="skip")
        t = self.right - self.left
        return [
            {**bar, "x": [e - self.left], "base": [self.left], "marker": dict(color=VI_COLOUR), "name": "ELBO"},
            {**bar, "x": [kl_len], "base": [e], "marker": KL_MARKER, "name": "KL(q‖p)"},
            scatter(
                [self.left + 0.005 * t, self.log_z], [0.42, 0.42], "5", mode="text",
                text=[elbo_text, f"KL {gauge_kl(kl)}"], textposition=["top right", "top left"],
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
        return line_label(self.log_z, -0.5, "ln p(X)", "5", "bottom left", size=self.size.small)


def gauge_kl(kl: float) -> str:
    """The gauge's KL label: three decimals, or two significant digits below 0.01 (never "0.000" for a KL the
    bar still shows), "0" below 5e-7 (the quadrature's resolution)."""
    if not math.isfinite(kl):
        return "—"
    if abs(kl) < 5e-7:
        return "0"
    return f"{kl:.3f}" if abs(kl) >= 0.01 else f"{kl:.2g}"


def mmd_point(times: np.ndarray, snap: np.ndarray, mmd: np.ndarray, idx: int) -> dict:
    """The yardstick at the last scored snapshot at or before step ``idx``."""
    pos = max(int(np.searchsorted(snap, idx, side="right")) - 1, 0)
    return dict(x=f32([max(times[snap[pos]], 1e-6)]), y=f32([mmd[pos]]))
