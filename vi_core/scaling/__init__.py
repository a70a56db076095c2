"""Scaling: does VI beat MCMC on large data? Two-parameter logistic regression from N = 10 to 2,000,000, fairly judged.

The posterior of intercept and slope is 2D at every N, so an exact reference exists at every N, while each
method's cost grows with N. Eight methods (``METHODS``: minibatch VI plain and with a control variate, full-batch VI,
emcee, NUTS, SGLD and SGLD-CV) run under one wall-clock budget through vi_core.runner.run and are scored at about 50
log-spaced checkpoints against the reference by one rule (``ACCURACY``): the posterior mean within 0.1 posterior sd
AND the posterior sd within 10 %, on both coordinates; VI on its current q, MCMC on its draws after warm-up (the time
in warm-up on the clock all the same). The time, and the rows touched, from which that holds is the cost.

Costs are counted twice: in seconds, and in rows touched (one data row's likelihood or gradient term at one point =
1; a full-data gradient at one point = N), which does not depend on the machine; evaluations are also counted in
full-posterior equivalents (a minibatch gradient of B rows at one point = B/N).

What the measurements show (benchmarks/scaling.py): plain minibatch VI needs some 10-20 epochs, so its cost still
grows with N; with a control variate around the mode (one or two full passes to set it up) the minibatch gradient's
variance falls by a factor of about N (measured: ~1e3 at N = 10^3 to ~1e6 at 10^6), and both VI and SGLD then reach
the accuracy after a few thousand steps of B = 100 rows whatever N. NUTS needs its warm-up and a few hundred draws,
each a few full passes. Plain SGLD at a fixed step settles short of the accuracy (its variance too large).

The modules, one concept each:

* ``data``: the data sets (``dataset``: synthetic of any size, the arsenic wells);
* ``model``: the logistic posterior (``LogisticPosterior``), its exact ``reference``, and ``eta_rows``, the one
  place the methods' evaluations meet the data rows;
* ``minibatch``: the rows in blocks, the plain and control-variate gradient estimates, the anchor, the measured
  variance reduction;
* ``vi``: Gaussian VI on all rows or on minibatches (vi_core.gaussvi's Adam update on Python floats, its schedule);
* ``sgld``: stochastic gradient Langevin dynamics at a fixed step;
* ``methods``: the registry, name -> label, kind, what it is in words and the builder of its run (``METHODS``);
* ``score``: the rule (``ACCURACY``), the running estimate a run is scored by, its stop rule;
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
