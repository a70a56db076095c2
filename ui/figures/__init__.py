"""Figure builders: engine results -> Plotly figure dicts. Pure functions (no Streamlit calls).

* ``ui.figures.shared``: colours, float32 traces, level lines, equal-scale axes, ``target_figure``:
  what several pages use, re-exported here.
* ``ui.figures.race``: the Playground's animated race and its result charts, re-exported here.
* ``ui.figures.theory``, ``ui.figures.conjugate``, ``ui.figures.lessons``: one module per page.
"""

from ui.figures import race, shared
from ui.figures.race import *  # noqa: F403  (the package's surface is its two modules' __all__)
from ui.figures.shared import *  # noqa: F403

__all__ = [*shared.__all__, *race.__all__]
