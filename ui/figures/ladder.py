"""The Ladder page's figure: every rung's accuracy against its cost, beside the samplers' accuracy along their runs.

Input: a ``ui.compute.Ladder``; a pure function returning a Plotly figure dict. Both axes are logarithmic (seconds
span 10^-3 to 10 and mmtv 10^-4 to 1); different quantities, so no equal scale. Each rung is one marker with its
own symbol (told apart without colour), VI in vermillion shades, the samplers as blue lines through their curve.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ui.figures.shared import MCMC_COLOUR, VI_COLOUR, chart_layout

if TYPE_CHECKING:
    from ui.compute import Ladder

__all__ = ["RUNG_STYLE", "ladder_figure"]

# symbol per rung, colour per family (Gaussians, grid CAVI, mixtures, flow, particles); the samplers blue
RUNG_STYLE = {
    "gauss-mf": dict(color=VI_COLOUR, symbol="circle-open"),
    "gauss-fr": dict(color=VI_COLOUR, symbol="circle"),
    "cavi": dict(color="#8c3b00", symbol="square"),
    "mog2": dict(color="#CC79A7", symbol="diamond-open"),
    "mog4": dict(color="#CC79A7", symbol="diamond"),
    "mog8": dict(color="#CC79A7", symbol="diamond-wide"),
    "mog16": dict(color="#CC79A7", symbol="star-diamond"),
    "flow": dict(color="#E69F00", symbol="star"),
    "svgd": dict(color="#009E73", symbol="hexagon"),
    "nuts": dict(color="#56B4E9", symbol="x", dash="dashdot"),
    "emcee": dict(color=MCMC_COLOUR, symbol="triangle-up", dash="solid"),
}
_FLOOR = 1e-5  # an mmtv below this (a Gaussian target fitted exactly) is drawn here: a log axis has no 0


def _y(v: float) -> float:
    return max(float(v), _FLOOR)


def ladder_figure(lad: Ladder) -> dict:
    """mmtv (log) against the algorithm's wall time (log): a marker per VI rung, a line per sampler."""
    data = []
    for s in lad.rungs:
        st = RUNG_STYLE.get(s.key, dict(color=VI_COLOUR, symbol="circle"))
        kl = "" if s.kl is None else "<br>KL %{customdata:.3g} nats"
        data.append(
            dict(type="scatter", x=[max(s.seconds, 1e-4)], y=[_y(s.mmtv)], mode="markers", name=s.label,
                 marker=dict(color=st["color"], symbol=st["symbol"], size=13, line=dict(width=1.5, color=st["color"])),
                 customdata=[s.kl if s.kl is not None else math.nan],
                 hovertemplate=f"{s.label}<br>mmtv %{{y:.3g}}<br>%{{x:.3g}} s{kl}<extra></extra>")
        )  # fmt: skip
    for s in lad.samplers:
        st = RUNG_STYLE.get(s.key, dict(color=MCMC_COLOUR, symbol="circle", dash="solid"))
        pts = [(t, m) for t, m in s.curve if math.isfinite(m)]
        data.append(
            dict(type="scatter", x=[max(t, 1e-4) for t, _ in pts], y=[_y(m) for _, m in pts], mode="lines+markers",
                 name=f"{s.label} (its draws so far)", line=dict(color=st["color"], dash=st["dash"], width=2.5),
                 marker=dict(color=st["color"], symbol=st["symbol"], size=8),
                 hovertemplate=f"{s.label}<br>mmtv %{{y:.3g}} after %{{x:.3g}} s<extra></extra>")
        )  # fmt: skip
    layout = chart_layout(
        520,
        dict(type="log", dtick=1, title=dict(text="wall-clock time of the algorithm (s), log scale")),
        dict(type="log", dtick=1, title=dict(text="mmtv to the exact posterior (log; lower is closer)")),
    )
    layout["margin"] = dict(l=60, r=10, t=150, b=45)  # eleven legend entries need room above the plot
    return dict(data=data, layout=layout)
