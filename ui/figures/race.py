"""The race: one animated figure of VI against MCMC (what each frame shows: ui.figures.frames; the static charts
under it: ui.figures.results).

The race is one figure with frames: the browser plays it (no reruns), one Play/Pause and
one slider drive every panel. Only what changes is in a frame (``traces`` lists which);
arrays are float32. MCMC samples arrive once, as one trace per chunk, and each frame sets
every chunk's marker opacity (shown or 0) instead of resending cumulative arrays. Not
``visible``: played without a full redraw, a chunk switched back to invisible keeps its
points on screen, so a replay or a scrub backwards would show draws from the future.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ui.figures.frames import (
    DIVERGENT_MARKER,
    NORMAL,
    PATH_COLOUR,
    PRESENT,
    Gauge,
    Sizes,
    chunk_opacity,
    curve_points,
    elbo_range,
    fmt_time,
    frame_plan,
    grown,
    line_label,
    mmd_point,
    move_traces,
    parts_trace,
    sample_chunks,
    scored_upto,
    vi_trace,
)
from ui.figures.shared import (
    BEST_COLOUR,
    FONT,
    FRAME_MS,
    MCMC_COLOUR,
    TRUTH_COLOUR,
    VI_COLOUR,
    WALKER_COLOUR,
    axis_layout,
    f32,
    scatter,
    target_lines,
)

if TYPE_CHECKING:
    from ui.compute import Grid, McmcDraws, McmcResult, ViResult

__all__ = ["race_figure"]


def race_figure(
    grid: Grid, vi: ViResult, mc: McmcDraws | McmcResult, clock: str = "iteration", present: bool = False
) -> dict:
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
    i_q = add({**vi_trace(grid, vi, vi_idx[0]), "xaxis": "x", "yaxis": "y", "name": "q", "hoverinfo": "skip"})
    m0 = vi.mean[vi_idx[0]]
    i_qm = add(scatter(m0[:1], m0[1:], mode="markers", marker=dict(color=VI_COLOUR, size=9, symbol="x")))
    parts0 = parts_trace(grid, vi, vi_idx[0])
    i_parts = [] if parts0 is None else [add({**parts0, "xaxis": "x", "yaxis": "y", "name": "q's components (1 sd)"})]
    chunks = sample_chunks(mc, mc_idx)
    i_chunks = [
        add(
            scatter(
                c[:, 0], c[:, 1], "2", mode="markers", hoverinfo="skip", name="burn-in draws" if burn else "draws",
                marker=dict(color=MCMC_COLOUR, size=3, opacity=chunk_opacity(burn, f == 0)),
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
        for style, xy in zip(styles, move_traces(mc, mc_idx[0]), strict=True):
            i_moves.append(add(scatter(xy["x"], xy["y"], "2", hoverinfo="skip", **style)))

    # The middle row (NORMAL only: the presenter view gives its height to the density panels; the page shows
    # these curves below the race).
    lo, hi = elbo_range(vi, log_z)
    curves = size.mid is not None
    i_curves: list[int] = []
    if curves:
        # ELBO trace against iteration or time, drawn up to the frame's step, with a moving marker, under ln p(X)
        # and the family's best. The Monte Carlo estimate is what the optimiser followed: noisy, it can exceed ln p(X).
        vx = np.arange(vi.times.size) if clock == "iteration" else np.maximum(vi.times, 1e-6)
        upto = curve_points(vi.times.size)
        mc_line = dict(color="#f3b592", width=1)
        mc_hover = (
            "Monte Carlo estimate of the ELBO from a few draws of q: noisy, so it can exceed ln p(X)<extra></extra>"
        )
        i_emc = add(
            scatter(*grown(vx, vi.elbo_mc, upto, vi_idx[0]), "3", mode="lines", line=mc_line, hovertemplate=mc_hover,
                    name="ELBO, Monte Carlo estimate (noisy: can exceed ln p(X))")
        )  # fmt: skip
        i_ex = add(
            scatter(*grown(vx, vi.elbo, upto, vi_idx[0]), "3", mode="lines", line=dict(color=VI_COLOUR, width=2),
                    name="ELBO (exact)", hovertemplate="exact ELBO %{y:.4f} nats<extra></extra>")
        )  # fmt: skip
        ends = [vx[0], vx[-1]]
        dash = dict(color=TRUTH_COLOUR, dash="dash", width=1.5)
        add(scatter(ends, [log_z, log_z], "3", mode="lines", line=dash, name="ln p(X)"))
        add(line_label(vx[-1], log_z, "ln p(X)", "3", "top left", size=size.small))
        best = float(getattr(vi, "elbo_best", float("nan")))
        if math.isfinite(best):
            dot = dict(color=BEST_COLOUR, dash="dot", width=2)
            add(scatter(ends, [best, best], "3", mode="lines", line=dot, name="best ELBO in the family"))
            add(line_label(vx[-1], best, "best in family", "3", "bottom left", BEST_COLOUR, size=size.small))
        em = dict(color=VI_COLOUR, size=size.marker)
        i_em = add(scatter(vx[vi_idx[:1]], vi.elbo[vi_idx[:1]], "3", mode="markers", marker=em))

        # Distance to the truth (MMD) against wall-clock time: the same yardstick for both, drawn up to the frame.
        vt, mt = np.maximum(vi.times[vi.snap], 1e-6), mc.times[mc.snap]
        i_cv = add(scatter(*scored_upto(vt, vi.mmd, vi.snap, vi_idx[0]), "4", mode="lines",
                           line=dict(color=VI_COLOUR, width=2), name="VI: MMD"))  # fmt: skip
        i_cm = add(scatter(*scored_upto(mt, mc.mmd, mc.snap, mc_idx[0]), "4", mode="lines",
                           line=dict(color=MCMC_COLOUR, width=2, dash="dash"), name="MCMC: MMD"))  # fmt: skip
        pv, pm = mmd_point(vi.times, vi.snap, vi.mmd, vi_idx[0]), mmd_point(mc.times, mc.snap, mc.mmd, mc_idx[0])
        i_dv = add(scatter(pv["x"], pv["y"], "4", mode="markers", marker=dict(color=VI_COLOUR, size=size.marker)))
        i_dm = add(scatter(pm["x"], pm["y"], "4", mode="markers", marker=dict(color=MCMC_COLOUR, size=size.marker)))
        i_curves = [i_emc, i_ex, i_em, i_cv, i_cm, i_dv, i_dm]

    # Gauge: ln p(X) = ELBO + KL on one nats axis spanning every frame's ELBO.
    gauge = Gauge.for_run(vi, vi_idx, log_z, size)
    add(gauge.break_marker())
    add(gauge.dashed_label())
    i_gauge = [add(t) for t in gauge.traces(vi, vi_idx[0])]

    i_sv, i_sm = (add(t) for t in _status(grid, vi, mc, vi_idx[0], mc_idx[0], size))
    animated = [i_q, i_qm, *i_parts, *i_chunks, i_walk, *i_moves, *i_curves, *i_gauge, i_sv, i_sm]
    frames = []
    for k in range(n):
        v, j = vi_idx[k], mc_idx[k]
        fd = [
            vi_trace(grid, vi, v),
            dict(x=f32(vi.mean[v, :1]), y=f32(vi.mean[v, 1:])),
            *([parts_trace(grid, vi, v)] if i_parts else []),
            *[dict(marker=dict(opacity=chunk_opacity(burn, f <= k))) for _, burn, f in chunks],
            dict(x=f32(mc.chain[j, :, 0]), y=f32(mc.chain[j, :, 1])),
            *(move_traces(mc, j) if i_moves else []),
            *(_curve_frame(vi, mc, vx, vt, mt, upto, v, j) if curves else []),
            *gauge.traces(vi, v),
            *_status(grid, vi, mc, v, j, size),
        ]
        frames.append(dict(name=str(k), data=fd, traces=animated))

    layout = _race_layout(grid, vi, mc, clock, (lo, hi), gauge, labels, size)
    layout["annotations"] = _panel_titles(log_z, size, vi.qs[-1].has_density)
    return dict(data=data, layout=layout, frames=frames)


def _curve_frame(vi, mc, vx, vt, mt, upto, v: int, j: int) -> list[dict]:
    """The middle row's traces at VI step v and MCMC step j: the ELBO curves (MC estimate, exact) and the marker,
    the two distance curves and their markers."""
    ex, ey = grown(vx, vi.elbo, upto, v)
    return [
        dict(x=ex, y=grown(vx, vi.elbo_mc, upto, v)[1]),
        dict(x=ex, y=ey),
        dict(x=f32(vx[[v]]), y=f32(vi.elbo[[v]])),
        dict(zip("xy", scored_upto(vt, vi.mmd, vi.snap, v), strict=True)),
        dict(zip("xy", scored_upto(mt, mc.mmd, mc.snap, j), strict=True)),
        mmd_point(vi.times, vi.snap, vi.mmd, v),
        mmd_point(mc.times, mc.snap, mc.mmd, j),
    ]


def _status(
    grid: Grid, vi: ViResult, mc: McmcDraws | McmcResult, v: int, j: int, size: Sizes = NORMAL
) -> tuple[dict, dict]:
    """Each top panel's running status ('step 120/500', '3.1 ms') as a text trace above it:
    VI's at its left corner, MCMC's at its right corner, in short lines that fit a phone.

    Text traces, unlike layout annotations, change in frames played with redraw=False, and a
    full redraw per frame costs 3x more in the browser."""
    x0, x1, _, y1 = grid.box
    n_draws = (j + 1) * mc.chain.shape[1]
    vi_text = f"<b>VI</b> · step {v}/{vi.times.size - 1}<br>{fmt_time(vi.times[v])}"
    mc_text = f"<b>MCMC</b> · {n_draws:,} draws<br>{fmt_time(mc.times[j])}"
    if size is NORMAL:
        mc_text += "<br>burn-in (first quarter, faded)"
    style = dict(mode="text", hoverinfo="skip", textfont=dict(size=size.small), cliponaxis=False)
    return (
        scatter([x0], [y1], "", text=[vi_text], textposition="top right", **style),
        scatter([x1], [y1], "2", text=[mc_text], textposition="top left", **style),
    )


def _panel_titles(log_z: float, size: Sizes = NORMAL, has_density: bool = True) -> list[dict]:
    gauge = f"ln p(X) = {log_z:.3f} = ELBO + KL (nats)"
    note = "the ELBO bar is cut at the slashes; the KL bar is to scale"
    if not has_density:
        gauge = f"ln p(X) = {log_z:.3f} nats"
        note = "particles have no density: no ELBO or KL to split it into; they are judged by distance to the truth"
    if size is NORMAL or not has_density:  # the presenter view says the bars' cut aloud
        gauge += f"<br><span style='font-size:{size.note}px'>{note}</span>"
    texts = [(0.0, size.gauge[1] + (0.05 if size is NORMAL else 0.045), gauge)]
    if size.mid is not None:
        texts += [
            (0.0, size.mid[1] + 0.01, "ELBO · light: MC estimate" if has_density else "No ELBO: particles"),
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


def _race_layout(grid, vi, mc, clock, elbo_range, gauge: Gauge, labels, size: Sizes = NORMAL) -> dict:
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
