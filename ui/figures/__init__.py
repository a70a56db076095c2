"""Figure builders: engine results -> Plotly figure dicts. Pure functions (no Streamlit calls).

* ``ui.figures.shared``: colours, float32 traces, level lines, equal-scale axes, ``target_figure``:
  what several pages use, re-exported here.
* ``ui.figures.race``: the Playground's animated race and its result charts, re-exported here.
* ``ui.figures.theory``, ``ui.figures.conjugate``, ``ui.figures.lessons``: one module per page.
"""

from ui.figures.race import accuracy_figure, frame_plan, marginal_figure, race_figure
from ui.figures.shared import (
    BEST_COLOUR,
    BURN_OPACITY,
    COARSE,
    DRAW_OPACITY,
    FONT,
    FRAME_MS,
    KL_COLOUR,
    KL_MARKER,
    MAX_POINTS,
    MCMC_COLOUR,
    N_FRAMES,
    TARGET_COLOUR,
    TARGET_LEVELS,
    TRUTH_COLOUR,
    VI_COLOUR,
    WALKER_COLOUR,
    axis_layout,
    cavi_radius,
    coarse_axes,
    ellipses,
    equal_axes,
    f32,
    radius,
    scatter,
    target_figure,
    target_lines,
)

__all__ = [
    "BEST_COLOUR",
    "BURN_OPACITY",
    "COARSE",
    "DRAW_OPACITY",
    "FONT",
    "FRAME_MS",
    "KL_COLOUR",
    "KL_MARKER",
    "MAX_POINTS",
    "MCMC_COLOUR",
    "N_FRAMES",
    "TARGET_COLOUR",
    "TARGET_LEVELS",
    "TRUTH_COLOUR",
    "VI_COLOUR",
    "WALKER_COLOUR",
    "accuracy_figure",
    "axis_layout",
    "cavi_radius",
    "coarse_axes",
    "ellipses",
    "equal_axes",
    "f32",
    "frame_plan",
    "marginal_figure",
    "race_figure",
    "radius",
    "scatter",
    "target_figure",
    "target_lines",
]
