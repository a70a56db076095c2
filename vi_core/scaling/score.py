"""Scaling's yardstick: the fair accuracy rule (``ACCURACY``), the running estimate of the posterior's moments a run
is scored by, and the stop rule that ends a run once the estimate has settled.

* The rule (one for every method): a run is accurate when, on both coordinates, its estimated posterior mean is
  within ``ACCURACY.mean_sd`` (0.1) reference posterior sd of the exact mean AND its estimated posterior sd is within
  ``ACCURACY.sd_rel`` (10 %) of the exact sd. ``accuracy`` = the worse of the two errors, each as a fraction of its
  tolerance: max(mean error / 0.1, sd error / 0.1); accurate when <= 1.
* VI's estimate is its current q: the averaged iterate's mean and marginal sds. MCMC's is the mean and sd of its
  draws after warm-up: a sampler with a warm-up of its own (NUTS: step size and metric adapted over its first
  quarter) is scored only on draws made after it, and has no estimate inside it (not accurate there, whatever its
  draws say); samplers without adaptation (emcee, SGLD) drop the first quarter of their steps so far as burn-in.
  The time spent in warm-up or burn-in is on the clock all the same.
* Time to accuracy: the time of the first checkpoint from which the run is accurate to its end.
* The stop rule ends a run early, to save the sweep's time, once it has been accurate over the last doubling of its
  steps ("converged"), or once it has settled short of the accuracy ("settled": a biased method, such as mean-field
  VI on a correlated posterior or SGLD at a fixed step, whose estimate no longer moves towards the truth).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vi_core.scaling.model import LogisticReference

__all__ = ["ACCURACY", "SETTLED", "SETTLED_MIN_STEPS", "AccuracyRule", "Recorder", "time_to_accuracy"]


class AccuracyRule(NamedTuple):
    """mean_sd: the largest error of the posterior mean allowed, in reference posterior sds (each coordinate);
    sd_rel: the largest relative error of the posterior sd allowed (each coordinate)."""

    mean_sd: float = 0.1
    sd_rel: float = 0.1

    def score(self, mean_err, sd_err):
        """The worse of the two errors, each as a fraction of its tolerance (accurate when <= 1; nan stays nan)."""
        return np.maximum(np.asarray(mean_err, float) / self.mean_sd, np.asarray(sd_err, float) / self.sd_rel)


# 0.1 posterior sd for the mean is well below the posterior's own spread (a usable answer) yet within reach of
# MCMC's Monte Carlo error with an ESS of a few hundred; 10 % for the sd is what an ESS of ~200 pins (the sd of a
# sample sd is about 1/sqrt(2 ESS) of it), and what tells a Gaussian q that is the posterior from one that is not.
ACCURACY = AccuracyRule()
SETTLED = 0.1  # the stop rule's "settled short": moved < 10 % of the remaining distance over a doubling of steps
SETTLED_MIN_STEPS = 100  # ... and not before this many steps of the run loop


def time_to_accuracy(times: np.ndarray, acc: np.ndarray) -> float | None:
    """The first checkpoint's time from which acc <= 1 holds to the end (None if it does not at the end; nan is not
    accurate)."""
    bad = np.flatnonzero(~(np.asarray(acc) <= 1.0))
    if bad.size == 0:
        return float(times[0])
    if bad[-1] == acc.size - 1:
        return None
    return float(times[bad[-1] + 1])


class Recorder:
    """Per step of the run loop: the estimated posterior mean and variance (VI: q's; MCMC: its draws after warm-up,
    from running sums), the rows touched so far, and a stop rule checking the accuracy at log-spaced steps."""

    def __init__(self, ref: LogisticReference, rule: AccuracyRule = ACCURACY):
        self.mu, self.sd = ref.mean, np.sqrt(np.diag(ref.cov))
        self.rule = rule
        self.means: list[np.ndarray] = []
        self.vars: list[np.ndarray] = []
        self.rows: list[int] = []
        self.s1: list[np.ndarray] = [np.zeros(2)]  # running sums over steps of draws (MCMC)
        self.s2: list[np.ndarray] = [np.zeros(2)]
        self.cnt: list[int] = [0]
        self.warm_until = 0  # steps of the loop (from 0, the initial state) that were warm-up
        self.checks: list[tuple[int, bool]] = []  # (step, accurate) at the log-spaced checks
        self.short: list[tuple[int, bool]] = []  # (step, settled short of the accuracy)
        self.next_check = 8
        self.reason = ""  # why stop() said stop: "converged" or "settled"

    def add_draws(self, z: np.ndarray, warm: bool | None = None) -> None:
        """This step's draws z (k, 2). warm=None: no warm-up of its own, the first quarter of the steps so far is
        dropped; warm=True: a warm-up step (no estimate yet); False: after warm-up, every draw since it ends."""
        z = np.asarray(z, dtype=float).reshape(-1, 2)
        self.s1.append(self.s1[-1] + z.sum(0))
        self.s2.append(self.s2[-1] + (z * z).sum(0))
        self.cnt.append(self.cnt[-1] + z.shape[0])
        t = len(self.cnt) - 1  # steps so far, the initial state being step 0
        if warm:
            self.warm_until = t  # steps 0..t-1 (this one included) were warm-up
            self.means.append(np.full(2, np.nan))
            self.vars.append(np.full(2, np.nan))
            return
        lo = t // 4 if warm is None else self.warm_until  # drop steps 0..lo-1
        n = self.cnt[t] - self.cnt[lo]
        if n <= 0:
            self.means.append(np.full(2, np.nan))
            self.vars.append(np.full(2, np.nan))
            return
        m = (self.s1[t] - self.s1[lo]) / n
        self.means.append(m)
        self.vars.append(np.maximum((self.s2[t] - self.s2[lo]) / n - m * m, 0.0))

    def add_moments(self, mean: np.ndarray, var: np.ndarray) -> None:
        self.means.append(mean)
        self.vars.append(var)

    def add_rows(self, rows: int) -> None:
        self.rows.append(int(rows))

    def mean_error(self, i: int) -> float:
        """Step i: the largest |estimated mean - reference mean| / reference sd over the coordinates (nan: none)."""
        return float(np.max(np.abs(self.means[i] - self.mu) / self.sd))

    def sd_error(self, i: int) -> float:
        """Step i: the largest |estimated sd / reference sd - 1| over the coordinates (nan: no estimate)."""
        return float(np.max(np.abs(np.sqrt(self.vars[i]) / self.sd - 1.0)))

    def error(self, i: int) -> float:
        """Step i's accuracy under the rule: the worse error as a fraction of its tolerance (<= 1: accurate)."""
        return float(self.rule.score(self.mean_error(i), self.sd_error(i)))

    def _moved(self, t: int) -> float:
        """How far the estimate moved over the last doubling of the steps (t // 2 to t), in the rule's units."""
        h = t // 2
        mean_moved = float(np.max(np.abs(self.means[t] - self.means[h]) / self.sd))
        sd_moved = float(np.max(np.abs(np.sqrt(self.vars[t]) - np.sqrt(self.vars[h])) / self.sd))
        return float(self.rule.score(mean_moved, sd_moved))

    @staticmethod
    def _held(checks: list[tuple[int, bool]], t: int) -> bool:
        """The checks have said yes since a step f with t >= 2 f, at least four of them."""
        first = t
        for step, ok in reversed(checks):
            if not ok:
                break
            first = step
        return sum(1 for c in checks if c[0] >= first) >= 4 and t >= 2 * first and checks[-1][1]

    def stop(self, state, info) -> bool:
        """True (``reason`` "converged") once the run has been accurate over the last doubling of the steps (at
        least four checks) and the variance estimate moved < 10% over it; or (``reason`` "settled") once, over the
        last doubling of the steps (at least four checks), it has been inaccurate and its estimate moved less than
        SETTLED of its remaining distance to the accuracy over each doubling: at that pace it would need more than
        1/SETTLED further doublings of its steps (a bias, not a lack of time); not before SETTLED_MIN_STEPS steps."""
        t = len(self.means) - 1
        if t < self.next_check:
            return False
        self.next_check = max(t + 1, int(t * 1.1))
        err = self.error(t)
        self.checks.append((t, err <= 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            moved = np.abs(self.vars[t] / np.maximum(self.vars[t // 2], 1e-300) - 1.0)
        if self._held(self.checks, t) and bool(np.all(moved < 0.1)):
            self.reason = "converged"
            return True
        short = bool(
            t >= SETTLED_MIN_STEPS and np.isfinite(err) and err > 1.0 and self._moved(t) < SETTLED * (err - 1.0)
        )
        self.short.append((t, short))
        if self._held(self.short, t):
            self.reason = "settled"
            return True
        return False
