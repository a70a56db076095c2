"""The Scaling page's figures: the cost of reaching the fair accuracy against N (log-log, with fitted slopes; the
cost in seconds or in rows touched), the accuracy score against wall-clock time at one N, and the biased methods'
variance ratio against N. Inputs: lists of ``ui.compute.ScaleRecord``; pure functions returning Plotly figure dicts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ui.figures.shared import MCMC_COLOUR, VI_COLOUR, chart_layout

if TYPE_CHECKING:
    from ui.compute import ScaleRecord

__all__ = ["COSTS", "METHOD_STYLE", "accuracy_time_figure", "bias_figure", "cost_to_accuracy", "headline_figure",
           "variance_off", "worst_ratio"]  # fmt: skip

# colour by kind (VI vermillion, full-data MCMC blue, minibatch MCMC bluish green), dash and symbol by method, so the
# lines stay apart without colour vision
SGLD_COLOUR = "#009E73"
METHOD_STYLE = {
    "minibatch-mf": dict(color=VI_COLOUR, dash="solid", symbol="circle"),
    "minibatch-fr": dict(color=VI_COLOUR, dash="dash", symbol="square"),
    "minibatch-cv": dict(color=VI_COLOUR, dash="longdash", symbol="star"),
    "fullbatch-fr": dict(color="#8c3b00", dash="dot", symbol="diamond"),
    "emcee": dict(color=MCMC_COLOUR, dash="solid", symbol="triangle-up"),
    "nuts": dict(color="#56B4E9", dash="dashdot", symbol="x"),
    "sgld": dict(color=SGLD_COLOUR, dash="dot", symbol="triangle-down"),
    "sgld-cv": dict(color=SGLD_COLOUR, dash="longdashdot", symbol="hexagon"),
}
_DEFAULT_STYLE = dict(color="#666666", dash="solid", symbol="circle")
_RATIO_TICKS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]  # the variance chart's log axis, labelled plainly
# the headline's two currencies: (the record's field of the cost to accuracy, the axis title)
COSTS = {
    "seconds": ("time_to_accuracy_s", "seconds to reach the accuracy (log scale)"),
    "rows": ("rows_to_accuracy", "rows touched to reach the accuracy (log scale)"),
}


def _style(method: str) -> dict:
    return METHOD_STYLE.get(method, _DEFAULT_STYLE)


def cost_to_accuracy(r: ScaleRecord, cost: str) -> float | None:
    """A run's cost to the accuracy in one currency ("seconds" or "rows"); None if it did not get there."""
    v = getattr(r, COSTS[cost][0])
    return None if v is None or r.time_to_accuracy_s is None else float(v)


def _bound(r: ScaleRecord, cost: str) -> float:
    """A miss's lower bound: its budget (seconds) or the rows it touched in it (rows)."""
    return float(r.budget_s) if cost == "seconds" else float(max(r.rows_touched, 1))


def headline_figure(
    records: list[ScaleRecord], labels: dict[str, str], slopes: dict[str, float | None], cost: str = "seconds"
) -> dict:
    """The cost of reaching the fair accuracy against N, log-log, one line per method; open markers where a method
    ran out of budget first (drawn at the budget, or at the rows it touched: a lower bound). A run that settled
    short of the accuracy (a bias, not a lack of time) has no finite cost and is not drawn."""
    data = []
    for method, label in labels.items():
        rs = sorted((r for r in records if r.method == method), key=lambda r: r.n)
        if not rs:
            continue
        st = _style(method)
        hit = [(r.n, c) for r in rs if (c := cost_to_accuracy(r, cost)) is not None]
        miss = [r for r in rs if r.time_to_accuracy_s is None and r.stopped != "settled"]
        s = slopes.get(method)
        name = f"{label} · slope {s:.2f}" if s is not None and math.isfinite(s) else label
        short = [r.n for r in rs if hit and r.n > hit[-1][0] and r.stopped == "settled"]
        if short and s is not None and math.isfinite(s):  # a slope over the sizes it reached, not a trend beyond
            name = f"{label} · slope {s:.2f} to N = {hit[-1][0]:,}; settles short of the accuracy above"
        data.append(
            dict(type="scatter", x=[n for n, _ in hit], y=[max(c, 1e-4) for _, c in hit], mode="lines+markers",
                 name=name, line=dict(color=st["color"], dash=st["dash"], width=2.5),
                 marker=dict(color=st["color"], symbol=st["symbol"], size=9), legendgroup=method)
        )  # fmt: skip
        if miss:
            data.append(
                dict(type="scatter", x=[r.n for r in miss], y=[_bound(r, cost) for r in miss], mode="markers",
                     name=f"{label}: not reached within the budget", legendgroup=method, showlegend=True,
                     marker=dict(color=st["color"], symbol=st["symbol"] + "-open", size=12,
                                 line=dict(color=st["color"], width=2)))
            )  # fmt: skip
    return dict(
        data=data,
        layout=chart_layout(
            460,
            dict(type="log", title=dict(text="N, data points (log scale)"), dtick=1),
            # decades only: the 2s and 5s of a log axis crowd a phone-sized chart
            dict(type="log", dtick=1, title=dict(text=COSTS[cost][1])),
        ),
    )


def accuracy_time_figure(records: list[ScaleRecord], labels: dict[str, str], accuracy: float = 1.0) -> dict:
    """At one N: each method's accuracy score (the worse of its mean and sd errors as a fraction of its tolerance)
    against wall-clock time, and the line the rule draws (accurate at or below it). No estimate yet (a sampler in
    its warm-up) is no point."""
    data = []
    for r in records:
        st = _style(r.method)
        t = np.maximum(np.asarray(r.times, float), 1e-5)
        a = np.asarray(r.accuracy, float)
        ok = np.isfinite(a) & (a > 0)
        data.append(
            dict(type="scatter", x=t[ok], y=a[ok], mode="lines", name=labels.get(r.method, r.method),
                 line=dict(color=st["color"], dash=st["dash"], width=2.5))
        )  # fmt: skip
    if records:
        t_hi = max(float(np.max(r.times)) for r in records if len(r.times)) if any(len(r.times) for r in records) else 1
        data.append(
            dict(type="scatter", x=[1e-4, max(t_hi, 1e-3)], y=[accuracy, accuracy], mode="lines",
                 name="accurate at or below", line=dict(color="#2b2b2b", dash="dot", width=1.5))
        )  # fmt: skip
    return dict(
        data=data,
        layout=chart_layout(
            400,
            dict(type="log", dtick=1, title=dict(text="wall-clock time (s), log scale")),
            dict(type="log", dtick=1, title=dict(text="error / tolerance, the worse of mean and sd (log)")),
        ),
    )


def worst_ratio(r: ScaleRecord) -> float:
    """The final variance ratio (estimate / exact) of the coordinate furthest from 1 (in log terms)."""
    v = np.asarray(r.var_ratio, float)[-1]
    return float(v[np.argmax(np.abs(np.log(np.maximum(v, 1e-300))))])


def variance_off(r: ScaleRecord) -> bool:
    """Whether a run's final variance ratio is a method's bias: a VI method or a minibatch sampler (SGLD) whose run
    ended accurate or settled short of the accuracy (a run stopped by its budget had not converged: no bias)."""
    biased_kind = r.kind == "vi" or (r.kind == "mcmc" and r.minibatch)
    final = np.asarray(r.var_ratio, float)[-1] if len(r.var_ratio) else np.full(2, np.nan)
    return biased_kind and r.stopped in ("converged", "settled") and bool(np.all(np.isfinite(final)))


def bias_figure(records: list[ScaleRecord], labels: dict[str, str]) -> dict:
    """The variance of VI's q and of SGLD's draws against the exact posterior's: each such method's final variance
    ratio (the coordinate furthest from 1) against N, for the runs that ended accurate or settled (``variance_off``),
    on a log axis (SGLD's can be many times too large)."""
    data = []
    for method, label in labels.items():
        rs = sorted((r for r in records if r.method == method and variance_off(r)), key=lambda r: r.n)
        if not rs:
            continue
        st = _style(method)
        data.append(
            dict(type="scatter", x=[r.n for r in rs], y=[worst_ratio(r) for r in rs], mode="lines+markers",
                 name=label, line=dict(color=st["color"], dash=st["dash"], width=2.5),
                 marker=dict(symbol=st["symbol"], size=9, color=st["color"]))
        )  # fmt: skip
    ns = [r.n for r in records] or [100]
    data.append(
        dict(type="scatter", x=[min(ns), max(ns)], y=[1, 1], mode="lines", name="exact (ratio 1)",
             line=dict(color="#2b2b2b", dash="dot", width=1.5))
    )  # fmt: skip
    return dict(
        data=data,
        layout=chart_layout(
            380,
            dict(type="log", title=dict(text="N, data points (log scale)"), dtick=1),
            dict(
                type="log",
                title=dict(text="variance / the posterior's (log)"),
                tickvals=_RATIO_TICKS,
                ticktext=[f"{v:g}" for v in _RATIO_TICKS],
            ),
        ),
    )
