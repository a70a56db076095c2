"""Figure builders: engine results -> Plotly figure dicts. Pure functions (no Streamlit calls).

* ``ui.figures.shared``: colours, float32 traces, level lines, equal-scale axes, ``target_figure``:
  what several pages use, re-exported here.
* ``ui.figures.frames``: what a frame of the race shows; ``ui.figures.race``: the animated race; ``ui.figures.results``:
  the result charts under it; all re-exported here.
* ``ui.figures.theory``, ``ui.figures.conjugate``, ``ui.figures.lessons``: one module per page.
"""

from ui.figures import frames, race, results, shared
from ui.figures.frames import *  # noqa: F403  (the package's surface is its modules' __all__)
from ui.figures.race import *  # noqa: F403
from ui.figures.results import *  # noqa: F403
from ui.figures.shared import *  # noqa: F403

__all__ = [*shared.__all__, *frames.__all__, *race.__all__, *results.__all__]
