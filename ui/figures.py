"""Figure builders: engine results -> Plotly figure dicts. Pure functions, no Streamlit.

The race is one figure with frames: the browser plays it (no reruns), one Play/Pause and
one slider drive every panel. Only what changes is in a frame (``traces`` lists which);
arrays are float32; MCMC samples arrive as one trace per chunk whose ``visible`` flag each
frame toggles, instead of resending cumulative arrays.
"""

from __future__ import annotations

import math

import numpy as np

from ui.contours import contour_segments
from vi_core.api import MCMC_LABELS, VI_LABELS, McmcResult, ViResult
from vi_core.grid import Grid
from vi_core.mcmc import burn_in

__all__ = [
    "MCMC_COLOUR",
    "VI_COLOUR",
    "accuracy_figure",
    "frame_plan",
    "marginal_figure",
    "race_figure",
    "target_figure",
]

VI_COLOUR = "#d62728"
MCMC_COLOUR = "#1f77b4"
TRUTH_COLOUR = "#2b2b2b"
TARGET_COLOUR = "#7a9cc6"
TARGET_LEVELS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
N_FRAMES = 40
FRAME_MS = 90
COARSE = 70  # cells per side of the contour grids sent to the browser
MAX_POINTS = 2500  # MCMC draws drawn in total; the rest are thinned away (browser draw time grows with points)
_FONT = dict(size=13)


def _f32(a):
    """float32 array for the browser; tiny ones as plain lists, since Plotly's validation and
    serialisation cost is per array, and hundreds of 1-element arrays (markers, bars) dominate it."""
    a = np.asarray(a, dtype=np.float32)
    return [float(v) for v in a] if a.ndim == 1 and a.size <= 4 else a


def _scatter(x, y, axis: str = "", **style) -> dict:
    """A Scatter trace on subplot ``axis`` ('' for the first, '2', '3', ...), float32 data."""
    return dict(type="scatter", x=_f32(x), y=_f32(y), xaxis=f"x{axis}", yaxis=f"y{axis}", **style)


def _coarse_axes(grid: Grid, m: int = COARSE):
    x0, x1, y0, y1 = grid.box
    return np.linspace(x0, x1, m), np.linspace(y0, y1, m)


def _radius(log_density: np.ndarray) -> np.ndarray:
    """sqrt(-2 ln(p / max p)): equals the Mahalanobis radius for a Gaussian, so contour
    levels 1, 2, 3 are the 1, 2, 3 sigma ellipses for every shape."""
    lp = log_density - np.max(log_density[np.isfinite(log_density)])
    with np.errstate(invalid="ignore"):
        r = np.sqrt(np.maximum(-2.0 * lp, 0.0))
    return np.where(np.isfinite(r), np.minimum(r, 4.0), 4.0)


def _target_lines(grid: Grid, xaxis: str, yaxis: str) -> dict:
    """The target's 0.5 ... 3 'sigma' level lines (see _radius) as one Scatter trace."""
    cx, cy = _coarse_axes(grid, 90)
    pts = np.stack(np.meshgrid(cx, cy, indexing="xy"), axis=-1)  # (y, x, 2): rows follow y
    with np.errstate(all="ignore"):
        lp = np.asarray(grid.target.log_density(pts), dtype=float)
    lp = np.where(np.isnan(lp), -np.inf, lp)
    x, y = contour_segments(cx, cy, _radius(lp), TARGET_LEVELS)
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


def _axis_layout(grid: Grid) -> tuple[dict, dict]:
    x0, x1, y0, y1 = grid.box
    lx, ly = grid.target.labels
    return (
        dict(range=[x0, x1], title=dict(text=lx), zeroline=False, showgrid=False),
        dict(range=[y0, y1], title=dict(text=ly), zeroline=False, showgrid=False),
    )


def target_figure(grid: Grid, title: str = "") -> dict:
    """The target's contours alone: what is on screen before any Run."""
    xa, ya = _axis_layout(grid)
    xa["constrain"] = "domain"
    return dict(
        data=[_target_lines(grid, "x", "y")],
        layout=dict(
            title=dict(text=title),
            xaxis=xa,
            yaxis=ya,
            height=430,
            margin=dict(l=50, r=10, t=40, b=40),
            font=_FONT,
        ),
    )


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


def _ellipses(loc: np.ndarray, chol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1, 2, 3 sigma ellipses of N(loc, chol chol^T) as one polyline with gaps (nan)."""
    a = np.linspace(0, 2 * np.pi, 61)
    circle = np.stack([np.cos(a), np.sin(a)])
    xs, ys = [], []
    for k in (1, 2, 3):
        pts = loc[:, None] + k * chol @ circle
        xs += [pts[0], [np.nan]]
        ys += [pts[1], [np.nan]]
    return _f32(np.concatenate(xs)), _f32(np.concatenate(ys))


def _cavi_radius(grid: Grid, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    cx, cy = _coarse_axes(grid)
    q1 = np.interp(cx, grid.xs, w1 / grid.dx)
    q2 = np.interp(cy, grid.ys, w2 / grid.dy)
    with np.errstate(divide="ignore"):
        lq = np.log(q2)[:, None] + np.log(q1)[None, :]  # rows are y for Plotly
    return _f32(_radius(lq))


def _vi_trace(grid: Grid, vi: ViResult, k: int) -> dict:
    if vi.loc is not None:
        x, y = _ellipses(vi.loc[k], vi.chol[k])
        return dict(type="scatter", x=x, y=y, mode="lines", line=dict(color=VI_COLOUR, width=2.5))
    cx, cy = _coarse_axes(grid)
    x, y = contour_segments(cx, cy, _cavi_radius(grid, vi.w1[k], vi.w2[k]), (1, 2, 3))
    return dict(type="scatter", x=x, y=y, mode="lines", line=dict(color=VI_COLOUR, width=2.5))


def _sample_chunks(mc: McmcResult, mc_idx: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """Draws revealed by each frame (thinned to MAX_POINTS overall), list of (n_k, 2)."""
    total = mc.chain.shape[0] * mc.chain.shape[1]
    keep = min(1.0, MAX_POINTS / total)
    rng = np.random.default_rng(seed)
    chunks, prev = [], -1
    for j in mc_idx:
        block = mc.chain[prev + 1 : j + 1].reshape(-1, 2)
        if keep < 1.0 and len(block):
            block = block[rng.random(len(block)) < keep]
        chunks.append(block)
        prev = max(prev, j)
    return chunks


def race_figure(grid: Grid, vi: ViResult, mc: McmcResult, clock: str = "iteration") -> dict:
    """The animated race: VI | MCMC over the target, ELBO trace, ln p(X) = ELBO + KL gauge,
    and distance to the truth against wall-clock time, all on one slider."""
    vi_idx, mc_idx, labels, _ = frame_plan(vi, mc, clock)
    n = len(vi_idx)
    log_z = grid.log_z
    data: list[dict] = []

    def add(trace: dict) -> int:
        data.append(trace)
        return len(data) - 1

    add(_target_lines(grid, "x", "y"))
    add(_target_lines(grid, "x2", "y2"))
    i_q = add({**_vi_trace(grid, vi, vi_idx[0]), "xaxis": "x", "yaxis": "y", "name": "q", "hoverinfo": "skip"})
    m0 = vi.mean[vi_idx[0]]
    i_qm = add(_scatter(m0[:1], m0[1:], mode="markers", marker=dict(color=VI_COLOUR, size=9, symbol="x")))
    draws = dict(color=MCMC_COLOUR, size=3, opacity=0.45)
    i_chunks = [
        add(_scatter(c[:, 0], c[:, 1], "2", mode="markers", marker=draws, visible=k == 0, hoverinfo="skip"))
        for k, c in enumerate(_sample_chunks(mc, mc_idx))
    ]
    now = dict(color="#ff7f0e", size=6, line=dict(color="white", width=1))
    w0 = mc.chain[mc_idx[0]]
    i_walk = add(_scatter(w0[:, 0], w0[:, 1], "2", mode="markers", marker=now, hoverinfo="skip"))

    # ELBO trace: against iteration or time, with a moving marker.
    vx = np.arange(vi.times.size) if clock == "iteration" else np.maximum(vi.times, 1e-6)
    finite = np.isfinite(vi.elbo)
    lo = float(np.percentile(vi.elbo[finite], 5)) if finite.any() else log_z - 1
    lo = min(lo, float(vi.elbo[-1]) - 0.2 * abs(log_z - vi.elbo[-1]) - 0.05)
    # The gauge zooms on the final gap; earlier, larger gaps run off its left edge (numbers stay exact).
    g_lo = float(vi.elbo[-1]) - max(0.5, 2.0 * float(vi.kl[-1])) if np.isfinite(vi.elbo[-1]) else lo
    add(_scatter(vx, vi.elbo_mc, "3", mode="lines", line=dict(color="#f4a6a6", width=1), name="ELBO (MC)"))
    add(_scatter(vx, vi.elbo, "3", mode="lines", line=dict(color=VI_COLOUR, width=2), name="ELBO (exact)"))
    dash = dict(color=TRUTH_COLOUR, dash="dash", width=1.5)
    add(_scatter([vx[0], vx[-1]], [log_z, log_z], "3", mode="lines", line=dash, name="ln p(X)"))
    i_em = add(
        _scatter(vx[vi_idx[:1]], vi.elbo[vi_idx[:1]], "3", mode="markers", marker=dict(color=VI_COLOUR, size=10))
    )

    # Gauge: ln p(X) = ELBO + KL as a bar split at the ELBO.
    i_g1 = add(_gauge_bar(vi, vi_idx[0], g_lo, log_z, "ELBO"))
    i_g2 = add(_gauge_bar(vi, vi_idx[0], g_lo, log_z, "KL"))

    # Distance to the truth (MMD) against wall-clock time: the same yardstick for both.
    vt, mt = np.maximum(vi.times[vi.snap], 1e-6), mc.times[mc.snap]
    add(_scatter(vt, vi.mmd, "5", mode="lines", line=dict(color=VI_COLOUR, width=2), name="VI: MMD"))
    add(_scatter(mt, mc.mmd, "5", mode="lines", line=dict(color=MCMC_COLOUR, width=2), name="MCMC: MMD"))
    pv, pm = _mmd_point(vi.times, vi.snap, vi.mmd, vi_idx[0]), _mmd_point(mc.times, mc.snap, mc.mmd, mc_idx[0])
    i_dv = add(_scatter(pv["x"], pv["y"], "5", mode="markers", marker=dict(color=VI_COLOUR, size=10)))
    i_dm = add(_scatter(pm["x"], pm["y"], "5", mode="markers", marker=dict(color=MCMC_COLOUR, size=10)))

    i_sv, i_sm = (add(t) for t in _status(grid, vi, mc, vi_idx[0], mc_idx[0]))
    animated = [i_q, i_qm, *i_chunks, i_walk, i_em, i_g1, i_g2, i_dv, i_dm, i_sv, i_sm]
    frames = []
    for k in range(n):
        v, j = vi_idx[k], mc_idx[k]
        fd = [
            _vi_trace(grid, vi, v),
            dict(x=_f32(vi.mean[v, :1]), y=_f32(vi.mean[v, 1:])),
            *[dict(visible=bool(c <= k)) for c in range(len(i_chunks))],
            dict(x=_f32(mc.chain[j, :, 0]), y=_f32(mc.chain[j, :, 1])),
            dict(x=_f32(vx[[v]]), y=_f32(vi.elbo[[v]])),
            _gauge_bar(vi, v, g_lo, log_z, "ELBO"),
            _gauge_bar(vi, v, g_lo, log_z, "KL"),
            _mmd_point(vi.times, vi.snap, vi.mmd, v),
            _mmd_point(mc.times, mc.snap, mc.mmd, j),
        ]
        fd.extend(_status(grid, vi, mc, v, j))
        frames.append(dict(name=str(k), data=fd, traces=animated))

    layout = _race_layout(grid, vi, mc, clock, lo, g_lo, log_z, labels)
    layout["annotations"] = _panel_titles(vi)
    return dict(data=data, layout=layout, frames=frames)


def _gauge_bar(vi: ViResult, k: int, lo: float, log_z: float, part: str) -> dict:
    e = float(vi.elbo[k]) if np.isfinite(vi.elbo[k]) else lo
    e = max(e, lo)
    if part == "ELBO":
        return dict(
            type="bar",
            orientation="h",
            y=["ln p(X)"],
            x=[e - lo],
            base=[lo],
            marker=dict(color=VI_COLOUR),
            xaxis="x4",
            yaxis="y4",
            name="ELBO",
            text=[f"ELBO {vi.elbo[k]:.3f}"],
            textposition="inside",
            insidetextanchor="middle",
            hoverinfo="skip",
        )
    return dict(
        type="bar",
        orientation="h",
        y=["ln p(X)"],
        x=[log_z - e],
        base=[e],
        marker=dict(color="#f2b134"),
        xaxis="x4",
        yaxis="y4",
        name="KL(q‖p)",
        text=[f"KL {vi.kl[k]:.3f}"],
        textposition="inside",
        insidetextanchor="middle",
        hoverinfo="skip",
    )


def _mmd_point(times: np.ndarray, snap: np.ndarray, mmd: np.ndarray, idx: int) -> dict:
    """The yardstick at the last scored snapshot at or before step ``idx``."""
    pos = max(int(np.searchsorted(snap, idx, side="right")) - 1, 0)
    return dict(x=_f32([max(times[snap[pos]], 1e-6)]), y=_f32([mmd[pos]]))


def _status(grid: Grid, vi: ViResult, mc: McmcResult, v: int, j: int) -> tuple[dict, dict]:
    """Each top panel's running status ('step 120/500 · 3.1 ms') as a text trace in its corner.

    Text traces, unlike layout annotations, change in frames played with redraw=False, and a
    full redraw per frame costs 3x more in the browser."""
    x0, _, _, y1 = grid.box
    n_draws = (j + 1) * mc.chain.shape[1]
    texts = (
        f"<b>VI</b> · step {v}/{vi.times.size - 1} · {_fmt_time(vi.times[v])}",
        f"<b>MCMC</b> · {n_draws:,} draws · {_fmt_time(mc.times[j])}",
    )
    return tuple(
        _scatter(
            [x0], [y1], ax, mode="text", text=[t], textposition="bottom right", hoverinfo="skip", textfont=dict(size=13)
        )
        for ax, t in zip(("", "2"), texts, strict=True)
    )


def _panel_titles(vi: ViResult) -> list[dict]:
    texts = [
        (0.0, 0.365, "ELBO (MC light)"),
        (0.37, 0.365, f"ln p(X) = {vi.log_evidence:.3f} = ELBO + KL"),
        (0.74, 0.365, "MMD to truth"),
    ]
    return [
        dict(
            x=x,
            y=y,
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="bottom",
            text=t,
            showarrow=False,
            font=dict(size=13),
        )
        for x, y, t in texts
    ]


def _race_layout(grid, vi, mc, clock, lo, g_lo, log_z, labels) -> dict:
    xa, ya = _axis_layout(grid)
    play = dict(
        frame=dict(duration=FRAME_MS, redraw=False), transition=dict(duration=0), fromcurrent=True, mode="immediate"
    )
    pause = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate")
    steps = [dict(method="animate", label=lab, args=[[str(k)], pause]) for k, lab in enumerate(labels)]
    t_all = np.concatenate([vi.times[1:], mc.times])
    t_lo = max(float(np.min(t_all[t_all > 0])) if (t_all > 0).any() else 1e-5, 1e-6)
    t_hi = float(np.max(t_all))
    mmd_hi = float(np.nanmax(np.concatenate([vi.mmd, mc.mmd]))) if len(mc.mmd) else 1.0
    vx_range = (
        dict(range=[0, vi.times.size - 1], title=dict(text="VI step"))
        if clock == "iteration"
        else dict(type="log", range=[math.log10(t_lo) - 0.1, math.log10(t_hi) + 0.1], title=dict(text="time (s)"))
    )
    return dict(
        height=690,
        margin=dict(l=55, r=20, t=10, b=80),
        font=_FONT,
        showlegend=False,
        xaxis={**xa, "domain": [0.0, 0.47], "anchor": "y"},
        yaxis={**ya, "domain": [0.53, 0.96], "anchor": "x"},
        xaxis2={**xa, "domain": [0.53, 1.0], "anchor": "y2"},
        yaxis2={**ya, "domain": [0.53, 0.96], "anchor": "x2"},
        xaxis3={**vx_range, "domain": [0.0, 0.3], "anchor": "y3"},
        yaxis3=dict(
            domain=[0.1, 0.35], anchor="x3", range=[lo, log_z + 0.1 * abs(log_z - lo) + 0.02], title=dict(text="nats")
        ),
        xaxis4=dict(
            domain=[0.37, 0.67],
            anchor="y4",
            range=[g_lo, log_z + 0.08 * abs(log_z - g_lo) + 0.01],
            title=dict(text="nats"),
        ),
        yaxis4=dict(domain=[0.1, 0.35], anchor="x4", showticklabels=False),
        barmode="overlay",
        xaxis5=dict(
            domain=[0.74, 1.0],
            anchor="y5",
            type="log",
            title=dict(text="wall-clock time (s)"),
            range=[math.log10(t_lo) - 0.1, math.log10(t_hi) + 0.1],
        ),
        yaxis5=dict(domain=[0.1, 0.35], anchor="x5", range=[0, mmd_hi * 1.1 + 1e-3], title=dict(text="MMD")),
        shapes=[
            dict(
                type="line",
                xref="x4",
                yref="paper",
                x0=log_z,
                x1=log_z,
                y0=0.1,
                y1=0.35,
                line=dict(color=TRUTH_COLOUR, width=2, dash="dash"),
            )
        ],
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=-0.045,
                xanchor="left",
                yanchor="top",
                showactive=False,
                pad=dict(t=0, r=10),
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, play]),
                    dict(label="❚❚ Pause", method="animate", args=[[None], pause]),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                x=0.2,
                len=0.8,
                y=0.0,
                yanchor="top",
                pad=dict(t=30, b=0),
                currentvalue=dict(prefix=("progress " if clock == "iteration" else "time "), font=dict(size=13)),
                steps=steps,
            )
        ],
    )


# ---------------------------------------------------------------------------------- static charts


def accuracy_figure(vi: ViResult, mc: McmcResult) -> dict:
    """Distance to the truth against wall-clock time (log axis): VI plateaus at its bias,
    MCMC keeps improving."""
    vt = np.maximum(vi.times[vi.snap], 1e-6)
    t_end = max(vt[-1], float(mc.times[-1]))
    data = [
        _scatter(vt, vi.mmd, mode="lines+markers", name=f"VI · {VI_LABELS[vi.method]}",
                 line=dict(color=VI_COLOUR, width=2.5), marker=dict(size=4)),
        _scatter(mc.times[mc.snap], mc.mmd, mode="lines+markers", name=f"MCMC · {MCMC_LABELS[mc.method]}",
                 line=dict(color=MCMC_COLOUR, width=2.5), marker=dict(size=4)),
        _scatter([vt[0], t_end], [vi.mmd[-1]] * 2, mode="lines", name="VI's final bias",
                 line=dict(color=VI_COLOUR, dash="dot", width=1)),
    ]  # fmt: skip
    return dict(
        data=data,
        layout=dict(
            height=360,
            margin=dict(l=55, r=10, t=30, b=45),
            font=_FONT,
            xaxis=dict(type="log", title=dict(text="wall-clock time (s), log scale")),
            yaxis=dict(title=dict(text="MMD to the exact posterior"), rangemode="tozero"),
            legend=dict(orientation="h", x=0, y=1.12),
        ),
    )


def marginal_figure(grid: Grid, vi: ViResult, mc: McmcResult, axis: int) -> dict:
    """True marginal, q's marginal and the MCMC histogram for coordinate ``axis``."""
    xs = grid.xs if axis == 0 else grid.ys
    truth = grid.marginal_x if axis == 0 else grid.marginal_y
    q = vi.marg_x if axis == 0 else vi.marg_y
    draws = mc.chain[burn_in(mc.chain.shape[0]) :, :, axis].ravel()
    lo, hi = (grid.box[0], grid.box[1]) if axis == 0 else (grid.box[2], grid.box[3])
    hist, edges = np.histogram(draws, bins=50, range=(lo, hi), density=True)
    ratio = vi.cov[-1, axis, axis] / (grid.cov[axis, axis])
    label = grid.target.labels[axis]
    return dict(
        data=[
            dict(
                type="bar",
                x=_f32(0.5 * (edges[1:] + edges[:-1])),
                y=_f32(hist),
                name="MCMC histogram",
                marker=dict(color=MCMC_COLOUR, opacity=0.35),
                width=float(edges[1] - edges[0]),
            ),
            dict(
                type="scatter",
                x=_f32(xs),
                y=_f32(truth),
                mode="lines",
                name="exact",
                line=dict(color=TRUTH_COLOUR, width=2.5),
            ),
            dict(type="scatter", x=_f32(xs), y=_f32(q), mode="lines", name="q", line=dict(color=VI_COLOUR, width=2.5)),
        ],
        layout=dict(
            title=dict(text=f"{label}: Var<sub>q</sub> / Var<sub>true</sub> = {ratio:.2f}", font=dict(size=14)),
            height=300,
            margin=dict(l=45, r=10, t=40, b=40),
            font=_FONT,
            bargap=0,
            xaxis=dict(title=dict(text=label), range=[lo, hi]),
            yaxis=dict(title=dict(text="density")),
            legend=dict(orientation="h", x=0, y=-0.25),
        ),
    )
