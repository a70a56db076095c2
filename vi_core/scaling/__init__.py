"""Scaling: does VI beat MCMC on large data? Two-parameter logistic regression from N = 10 to 2,000,000.

The posterior of intercept and slope is 2D at every N, so an exact reference exists at every N, while each
method's cost grows with N. Five methods (``METHODS``) run under one wall-clock budget through vi_core.runner.run,
all from the same start, and are scored at about 50 log-spaced checkpoints against the reference: the accuracy
(``ACCURACY``: posterior mean within 0.1 reference sd on both coordinates) and the time from which it holds.

Costs are counted in full-posterior equivalents: one log-density (gradient) evaluation at one point = all N rows.
A minibatch gradient of B rows at one point counts as B/N of a gradient evaluation.

What the measurements show (benchmarks/scaling.py): minibatch VI needs some 10-20 epochs to pin the mean to 0.1
posterior sd (the minibatch noise relative to the posterior's width grows as sqrt(N/B)), so its time to accuracy
still grows with N, but with a much smaller constant than full-data MCMC; with B = 100 its per-step Python overhead
dominates at N = 1e6 (batch 1000 reaches in ~5 s there, B = 100 not within 15 s).

The modules, one concept each:

* ``data``: the data sets (``dataset``: synthetic of any size, the arsenic wells);
* ``model``: the logistic posterior (``LogisticPosterior``) and its exact ``reference``;
* ``vi``: Gaussian VI on all rows or a minibatch (vi_core.gaussvi's Adam update, its own gradient and schedule);
* ``methods``: the registry, name -> label, kind and the builder of its run (``METHODS``);
* ``score``: the yardstick (``ACCURACY``), the running estimate a run is scored by, its stop rule;
* ``records``: ``ScaleRecord``, the fitted ``slope``, the recorded sweep's JSON file (written and read there only);
* ``runs``: one budgeted run (``run_one``) and the sweep over sizes (``sweep``).

This package re-exports the names the rest of the code uses; everything else is in its module.
"""

from vi_core.scaling.data import dataset
from vi_core.scaling.methods import METHODS
from vi_core.scaling.model import LogisticPosterior, reference
from vi_core.scaling.records import ScaleRecord, slope
from vi_core.scaling.runs import run_one, sweep
from vi_core.scaling.score import ACCURACY

__all__ = [
    "ACCURACY",
    "METHODS",
    "LogisticPosterior",
    "ScaleRecord",
    "dataset",
    "reference",
    "run_one",
    "slope",
    "sweep",
]
