"""The Playground's static result charts under the race: distance to the truth against cost (MMD or the marginal
W1, against wall-clock time or evaluations) and the two marginals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ui.figures.shared import (
    FONT,
    MCMC_COLOUR,
    TRUTH_COLOUR,
    VI_COLOUR,
    chart_layout,
    f32,
    scatter,
)

if TYPE_CHECKING:
    from ui.compute import Grid, McmcResult, ViResult

__all__ = ["COST_AXES", "YARDSTICKS", "accuracy_figure", "marginal_figure"]


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
