"""The worked example's figures: Newcomb's data, both CAVIs' ELBOs, the posterior and q's contours,
and the marginals with and without the outliers. Inputs: ``ui.compute.Analysis`` values."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ui.contours import contour_segments
from ui.figures.shared import (
    FONT,
    MCMC_COLOUR,
    TARGET_COLOUR,
    TRUTH_COLOUR,
    VI_COLOUR,
    WALKER_COLOUR,
    chart_layout,
    equal_axes,
    radius,
)

if TYPE_CHECKING:
    from ui.compute import Analysis, Comparison

__all__ = [
    "ACCEPTED",
    "ALL_COLOUR",
    "CLEAN_COLOUR",
    "contour_figure",
    "data_figure",
    "elbo_figure",
    "shift_figure",
    "vb_gibbs_figure",
]

ACCEPTED = 33.02  # Stigler (1977): 24.833 02 µs after Newcomb's corrections, i.e. (µs - 24.8) * 1000
GRID_COLOUR = "#111111"
# Okabe-Ito blue and orange, and a different dash: the two data sets apart without colour vision
ALL_COLOUR = MCMC_COLOUR
CLEAN_COLOUR = WALKER_COLOUR
DASHES = {ALL_COLOUR: ("solid", "dot"), CLEAN_COLOUR: ("dash", "dashdot")}  # (exact, CAVI q)
_FONT = FONT


def _radius(lp: np.ndarray) -> np.ndarray:
    """sqrt(-2 ln(p / max p)) capped at 4: levels 1, 2, 3 are the 1, 2, 3σ ellipses of a Gaussian."""
    return radius(np.where(np.isnan(lp), -np.inf, lp))


def data_figure(x_all: np.ndarray, dropped: bool, outliers: tuple[float, ...]) -> dict:
    """Histogram of the 66 values (x_all (66,)), the two outliers in red, the accepted value dashed."""
    out = np.isin(x_all, outliers)
    bins = dict(start=-46.0, end=42.0, size=2.0)
    bar = dict(type="histogram", xbins=bins, autobinx=False, hoverinfo="x+y")
    return dict(
        data=[
            {**bar, "x": x_all[~out], "marker": dict(color=ALL_COLOUR), "name": "measurements"},
            {
                **bar,
                "x": x_all[out],
                "marker": dict(color="rgba(0,0,0,0)" if dropped else VI_COLOUR, line=dict(color=VI_COLOUR, width=2)),
                "name": "outliers −44, −2" + (" (removed)" if dropped else ""),
            },
        ],
        layout=dict(
            height=340,
            margin=dict(l=45, r=10, t=30, b=95),
            font=_FONT,
            barmode="overlay",
            bargap=0.05,
            xaxis=dict(title=dict(text="passage time: (µs − 24.8) × 1000"), range=[-48, 44]),
            yaxis=dict(title=dict(text="count")),
            # legend under the axis title: above the plot it ran into the "accepted" label on a phone
            legend=dict(orientation="h", x=0, y=-0.32, yanchor="top"),
            **_accepted_mark("x"),
        ),
    )


def _accepted_mark(xref: str) -> dict:
    """Layout entries: a dashed vertical line at the accepted value, labelled above the plot area."""
    line = dict(color=TRUTH_COLOUR, dash="dash", width=1.5)
    return dict(
        shapes=[dict(type="line", xref=xref, yref="paper", x0=ACCEPTED, x1=ACCEPTED, y0=0, y1=1, line=line)],
        annotations=[
            dict(x=ACCEPTED, xref=xref, y=1, yref="paper", text="accepted 33.02", showarrow=False, yanchor="bottom")
        ],
    )


def elbo_figure(a: Analysis) -> dict:
    """Left: the ELBO of both CAVIs per iteration under the dashed ln p(X), zoomed on the finish.
    Right: the gap ln p(X) − ELBO on a log axis, which settles at KL(q* ‖ p), not at 0."""
    k = np.arange(a.cf.elbo.size)
    kl = a.rows["closed form"].kl
    span = max(0.05, 25.0 * kl)
    line = dict(type="scatter", mode="lines+markers")
    cf_style = dict(line=dict(color=VI_COLOUR, width=3), marker=dict(size=8), name="closed-form CAVI")
    grid_style = dict(line=dict(color=GRID_COLOUR, width=1.5, dash="dot"), marker=dict(size=5), name="grid CAVI")
    data = [
        {**line, **cf_style, "x": k, "y": a.cf.elbo},
        {**line, **grid_style, "x": k, "y": a.grid_elbo},
        dict(
            type="scatter",
            x=[0, k[-1]],
            y=[a.log_z, a.log_z],
            mode="lines",
            line=dict(color=TRUTH_COLOUR, dash="dash", width=1.5),
            name="exact ln p(X)",
        ),
        {**line, **cf_style, "x": k, "y": a.log_z - a.cf.elbo, "xaxis": "x2", "yaxis": "y2", "showlegend": False},
        {
            **line,
            **grid_style,
            "x": k,
            "y": a.log_z_grid - a.grid_elbo,
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
        },
        dict(
            type="scatter",
            x=[0, k[-1]],
            y=[kl, kl],
            mode="lines",
            line=dict(color=TRUTH_COLOUR, dash="dash", width=1.5),
            xaxis="x2",
            yaxis="y2",
            name="KL(q* ‖ p)",
        ),
    ]
    gaps = np.concatenate([a.log_z - a.cf.elbo, a.log_z_grid - a.grid_elbo, [kl]])
    gaps = gaps[np.isfinite(gaps) & (gaps > 0)]  # a log axis: a gap rounded to 0 or below is not drawn
    g_lo, g_hi = (float(gaps.min()), float(gaps.max())) if gaps.size else (1e-6, 1.0)
    return dict(
        data=data,
        layout=dict(
            height=360,
            margin=dict(l=60, r=10, t=50, b=45),
            font=_FONT,
            legend=dict(orientation="h", x=0, y=1.2),
            xaxis=dict(domain=[0, 0.5], range=[-0.4, k[-1] + 0.4], title=dict(text="iteration k"), dtick=2),
            yaxis=dict(range=[a.log_z - span, a.log_z + 0.15 * span], title=dict(text="ELBO (nats)")),
            xaxis2=dict(
                domain=[0.64, 1], anchor="y2", range=[-0.4, k[-1] + 0.4], title=dict(text="iteration k"), dtick=2
            ),
            yaxis2=dict(
                type="log",
                anchor="x2",
                range=[math.log10(g_lo) - 0.3, math.log10(g_hi) + 0.3],
                title=dict(text="ln p(X) − ELBO (log)"),
            ),
        ),
    )


def contour_figure(a: Analysis) -> dict:
    """The exact posterior and both CAVI q's in (μ, ln τ), each at its 1, 2, 3σ-like levels.

    μ and ln τ are different kinds of quantity, so each axis keeps its own scale, and says so."""
    traces = []
    for r, name, line in (
        (_radius(a.lp_exact), "exact posterior", dict(color=TARGET_COLOUR, width=2.5)),
        (_radius(a.lq_cf), "closed-form CAVI q", dict(color=VI_COLOUR, width=3.5)),
        (_radius(a.lq_grid), "grid CAVI q", dict(color=GRID_COLOUR, width=1.5, dash="dot")),
    ):
        x, y = contour_segments(a.cx, a.cy, r, (1, 2, 3))
        traces.append(dict(type="scatter", x=x, y=y, mode="lines", line=line, name=name, hoverinfo="skip"))
    xa = dict(title=dict(text="μ"), range=[a.cx[0], a.cx[-1]], showgrid=False, zeroline=False)
    ya = dict(title=dict(text="ln τ"), range=[a.cy[0], a.cy[-1]], showgrid=False, zeroline=False)
    equal_axes(xa, ya, "x", same_units=False)
    return dict(
        data=traces,
        layout=dict(
            height=360,
            margin=dict(l=60, r=10, t=50, b=45),
            font=_FONT,
            legend=dict(orientation="h", x=0, y=1.2),
            xaxis=xa,
            yaxis=ya,
        ),
    )


def shift_figure(both: dict[str, Analysis]) -> dict:
    """Marginals of μ (left) and ln τ (right): exact (solid) and grid CAVI q (dotted), with and without the outliers."""
    data = []
    for (label, a), colour in zip(both.items(), (ALL_COLOUR, CLEAN_COLOUR), strict=True):
        for axis, (xs, exact, q) in enumerate(((a.xs, a.marg_mu, a.q_mu), (a.ys, a.marg_s, a.q_s))):
            ax = {} if axis == 0 else dict(xaxis="x2", yaxis="y2")
            common = dict(type="scatter", x=xs, mode="lines", showlegend=axis == 0, **ax)
            d_exact, d_q = DASHES[colour]
            data.append(
                {**common, "y": exact, "line": dict(color=colour, width=2.5, dash=d_exact), "name": f"{label}: exact"}
            )
            data.append({**common, "y": q, "line": dict(color=colour, width=1.5, dash=d_q), "name": f"{label}: CAVI q"})
    lo_mu = min(a.post.mu - 4.5 * a.rows["exact"].sd_mu for a in both.values())
    s_lo = min(a.cy[0] for a in both.values())
    s_hi = max(a.cy[-1] for a in both.values())
    return dict(
        data=data,
        layout=dict(
            height=340,
            margin=dict(l=55, r=10, t=50, b=45),
            font=_FONT,
            legend=dict(orientation="h", x=0, y=1.22),
            xaxis=dict(domain=[0, 0.55], range=[lo_mu, ACCEPTED + 1.0], title=dict(text="μ")),
            yaxis=dict(title=dict(text="density")),
            xaxis2=dict(domain=[0.65, 1], anchor="y2", range=[s_lo, s_hi], title=dict(text="ln τ")),
            yaxis2=dict(anchor="x2"),
            **_accepted_mark("x"),
        ),
    )


def vb_gibbs_figure(c: Comparison) -> dict:
    """Distance to the exact posterior against wall-clock time (log axis): VB's iterations, Gibbs'
    draws so far, VB's final distance as a dotted line and the moment Gibbs is as close (from then on)."""
    vb, gb = c.vb, c.gibbs
    vt, gt = np.maximum(vb.time_trace, 1e-6), np.maximum(gb.time_trace, 1e-6)
    # fewer draws than 100: the distance is noise; an estimate of 0 (the unbiased estimate clipped) has no place on
    # a log axis: both are left out
    shown = (gb.updates_trace >= 100) & (gb.mmd_trace > 0)
    data = [
        dict(type="scatter", x=vt, y=vb.mmd_trace, mode="lines+markers", name="variational Bayes (closed-form CAVI)",
             line=dict(color=VI_COLOUR, width=2.5), marker=dict(size=5)),
        dict(type="scatter", x=gt[shown], y=gb.mmd_trace[shown], mode="lines+markers",
             name=f"Gibbs sampling ({c.chains} chains)", line=dict(color=MCMC_COLOUR, width=2.5), marker=dict(size=4)),
        dict(type="scatter", x=[vt[-1], max(gt[-1], vt[-1])], y=[vb.mmd, vb.mmd], mode="lines",
             name="VB's final distance", line=dict(color=VI_COLOUR, dash="dot", width=1.5)),
    ]  # fmt: skip
    if c.match_time_s is not None:
        data.append(
            dict(type="scatter", x=[c.match_time_s], y=[vb.mmd], mode="markers", name="Gibbs as close from here on",
                 marker=dict(color=MCMC_COLOUR, size=12, symbol="diamond-open", line=dict(width=2)))
        )  # fmt: skip
    return dict(
        data=data,
        layout=chart_layout(
            380,
            dict(type="log", title=dict(text="wall-clock time (s), log scale")),
            dict(type="log", title=dict(text="MMD to the exact posterior, log scale")),
        ),
    )
