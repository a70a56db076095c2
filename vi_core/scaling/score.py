"""Scaling's yardstick: "reached" (ACCURACY), the running estimate of the posterior's moments a run is scored by, and
the stop rule that ends a run once the estimate has settled.

* accuracy (the yardstick of "reached", one for every method): the largest over the two coordinates of
  |estimated posterior mean - reference mean| / reference posterior sd. VI's estimate is q's mean; MCMC's is the
  mean of its draws after the first quarter of the steps so far (vi_core.mcmc.burn_in). Variances are recorded
  (``var_ratio``) but not part of the yardstick: mean-field VI's variance is biased low by construction whenever
  the posterior is correlated, whatever the time, and the page shows that separately.
* time to accuracy: the time of the first checkpoint from which accuracy <= ACCURACY holds to the end of the run.
"""

from __future__ import annotations

import numpy as np

from vi_core.scaling.model import LogisticReference

__all__ = ["ACCURACY", "Recorder", "time_to_accuracy"]

# "Reached": the posterior mean within 0.1 posterior sd on both coordinates (the largest of the two errors, each in
# units of that coordinate's reference posterior sd). 0.1 sd is well below the posterior's own spread (so "reached"
# means a usable answer), yet within reach of MCMC's Monte Carlo error with an ESS of a few hundred.
ACCURACY = 0.1


def time_to_accuracy(times: np.ndarray, acc: np.ndarray) -> float | None:
    """The first checkpoint's time from which acc <= ACCURACY holds to the end (None if it does not at the end)."""
    bad = np.flatnonzero(~(acc <= ACCURACY))
    if bad.size == 0:
        return float(times[0])
    if bad[-1] == acc.size - 1:
        return None
    return float(times[bad[-1] + 1])


class Recorder:
    """Per step: the estimated posterior mean and variance (VI: q's; MCMC: the draws after the first quarter of
    the steps so far, from running sums), and a stop rule checking the accuracy at log-spaced steps."""

    def __init__(self, ref: LogisticReference):
        self.mu, self.sd = ref.mean, np.sqrt(np.diag(ref.cov))
        self.means: list[np.ndarray] = []
        self.vars: list[np.ndarray] = []
        self.s1: list[np.ndarray] = [np.zeros(2)]  # running sums over steps of draws (MCMC)
        self.s2: list[np.ndarray] = [np.zeros(2)]
        self.cnt: list[int] = [0]
        self.checks: list[tuple[int, bool]] = []
        self.next_check = 8

    def add_draws(self, z: np.ndarray) -> None:
        self.s1.append(self.s1[-1] + z.sum(0))
        self.s2.append(self.s2[-1] + (z * z).sum(0))
        self.cnt.append(self.cnt[-1] + z.shape[0])
        t = len(self.cnt) - 1  # steps so far, the initial positions being step 0
        lo = t // 4  # drop steps 0..lo-1 (the first quarter)
        n = self.cnt[t] - self.cnt[lo]
        m = (self.s1[t] - self.s1[lo]) / n
        self.means.append(m)
        self.vars.append(np.maximum((self.s2[t] - self.s2[lo]) / n - m * m, 0.0))

    def add_moments(self, mean: np.ndarray, var: np.ndarray) -> None:
        self.means.append(mean)
        self.vars.append(var)

    def error(self, i: int) -> float:
        """Step i's accuracy: the largest |estimated mean - reference mean| / reference sd over the coordinates."""
        return float(np.max(np.abs(self.means[i] - self.mu) / self.sd))

    def stop(self, state, info) -> bool:
        """True once the accuracy has held below ACCURACY over the last doubling of the steps (at least four checks)
        and the variance estimate moved < 10% over it."""
        t = len(self.means) - 1
        if t < self.next_check:
            return False
        self.next_check = max(t + 1, int(t * 1.1))
        self.checks.append((t, self.error(t) <= ACCURACY))
        first_ok = t
        for step, ok in reversed(self.checks):
            if not ok:
                break
            first_ok = step
        held = [c for c in self.checks if c[0] >= first_ok]
        # ... and the variance estimate settled (within 10% over that doubling): q's scale may lag its mean
        settled = bool(np.all(np.abs(self.vars[t] / np.maximum(self.vars[t // 2], 1e-300) - 1.0) < 0.1))
        return len(held) >= 4 and t >= 2 * first_ok and settled
