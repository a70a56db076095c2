"""The Scaling page's figures: time to a fixed accuracy against N (log-log, with fitted slopes),
accuracy against wall-clock time at one N, and each VI method's variance ratio against N.
Inputs: lists of ``ui.compute.ScaleRecord``; pure functions returning Plotly figure dicts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ui.figures.shared import MCMC_COLOUR, VI_COLOUR, chart_layout

if TYPE_CHECKING:
    from ui.compute import ScaleRecord

__all__ = ["METHOD_STYLE", "accuracy_time_figure", "bias_figure", "headline_figure"]

# colour by kind (VI vermillion, MCMC blue, as everywhere in the app), dash and symbol by method, so the
# lines stay apart without colour vision
METHOD_STYLE = {
    "minibatch-mf": dict(color=VI_COLOUR, dash="solid", symbol="circle"),
    "minibatch-fr": dict(color=VI_COLOUR, dash="dash", symbol="square"),
    "fullbatch-fr": dict(color="#8c3b00", dash="dot", symbol="diamond"),
    "emcee": dict(color=MCMC_COLOUR, dash="solid", symbol="triangle-up"),
    "nuts": dict(color="#56B4E9", dash="dashdot", symbol="x"),
}
_DEFAULT_STYLE = dict(color="#666666", dash="solid", symbol="circle")


def _style(method: str) -> dict:
    return METHOD_STYLE.get(method, _DEFAULT_STYLE)


def headline_figure(records: list[ScaleRecord], labels: dict[str, str], slopes: dict[str, float | None]) -> dict:
    """Time to reach the fixed accuracy against N, log-log, one line per method; open markers where a
    method did not get there within its budget (drawn at the budget, as a lower bound)."""
    data = []
    for method, label in labels.items():
        rs = sorted((r for r in records if r.method == method), key=lambda r: r.n)
        if not rs:
            continue
        st = _style(method)
        hit = [r for r in rs if r.time_to_accuracy_s is not None]
        miss = [r for r in rs if r.time_to_accuracy_s is None]
        s = slopes.get(method)
        name = f"{label} · slope {s:.2f}" if s is not None and math.isfinite(s) else label
        data.append(
            dict(type="scatter", x=[r.n for r in hit], y=[max(r.time_to_accuracy_s, 1e-4) for r in hit],
                 mode="lines+markers", name=name, line=dict(color=st["color"], dash=st["dash"], width=2.5),
                 marker=dict(color=st["color"], symbol=st["symbol"], size=9), legendgroup=method)
        )  # fmt: skip
        if miss:
            data.append(
                dict(type="scatter", x=[r.n for r in miss], y=[r.budget_s for r in miss], mode="markers",
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
            dict(type="log", dtick=1, title=dict(text="seconds to reach the accuracy (log scale)")),
        ),
    )


def accuracy_time_figure(records: list[ScaleRecord], labels: dict[str, str], accuracy: float) -> dict:
    """At one N: each method's accuracy (error of the posterior mean, in posterior sds) against wall-clock time."""
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
                 name=f"the accuracy to reach ({accuracy:g} sd)", line=dict(color="#2b2b2b", dash="dot", width=1.5))
        )  # fmt: skip
    return dict(
        data=data,
        layout=chart_layout(
            400,
            dict(type="log", dtick=1, title=dict(text="wall-clock time (s), log scale")),
            dict(type="log", dtick=1, title=dict(text="error of the mean, in posterior sds (log)")),
        ),
    )


def bias_figure(records: list[ScaleRecord], labels: dict[str, str]) -> dict:
    """VI's variance against the exact posterior's: each VI method's final variance ratio (the smaller coordinate's)
    against N, for the runs that reached the accuracy (a run stopped by its budget has not converged: its ratio is no
    bias)."""
    data = []
    for method, label in labels.items():
        rs = sorted(
            (r for r in records if r.method == method and r.kind == "vi" and r.time_to_accuracy_s is not None),
            key=lambda r: r.n,
        )
        if not rs:
            continue
        st = _style(method)
        data.append(
            dict(type="scatter", x=[r.n for r in rs], y=[float(np.min(np.asarray(r.var_ratio)[-1])) for r in rs],
                 mode="lines+markers", name=label, line=dict(color=st["color"], dash=st["dash"], width=2.5),
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
            dict(title=dict(text="q's variance / the posterior's"), rangemode="tozero"),
        ),
    )
