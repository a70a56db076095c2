"""Scaling: does VI beat MCMC on large data? Two-parameter logistic regression from N = 10 to 2,000,000.

The posterior p(alpha, beta | data) of ``y ~ Bernoulli(sigmoid(alpha + beta x))`` is 2D at every N, so an exact
reference (``reference``: Newton + Laplace, then a grid) exists at every N, while each method's cost grows with N:
every full-data log density or gradient touches all N rows. Five methods (``METHODS``) run under one wall-clock
budget through vi_core.runner.run, all from the same start (0, 0) with the same length scale 1 (the prior's centre;
nothing from the reference), and are scored at about 50 log-spaced checkpoints against the reference:

* accuracy (the yardstick of "reached", one for every method): the largest over the two coordinates of
  |estimated posterior mean - reference mean| / reference posterior sd. VI's estimate is q's mean; MCMC's is the
  mean of its draws after the first quarter of the steps so far (vi_core.mcmc.burn_in). Variances are recorded
  (``var_ratio``) but not part of the yardstick: mean-field VI's variance is biased low by construction whenever
  the posterior is correlated, whatever the time, and the page shows that separately.
* time to accuracy: the time of the first checkpoint from which accuracy <= ACCURACY holds to the end of the run.

Costs are counted in full-posterior equivalents: one log-density (gradient) evaluation at one point = all N rows.
A minibatch gradient of B rows at one point counts as B/N of a gradient evaluation.

What the measurements show (benchmarks/scaling.py): minibatch VI needs some 10-20 epochs to pin the mean to 0.1
posterior sd (the minibatch noise relative to the posterior's width grows as sqrt(N/B)), so its time to accuracy
still grows with N, but with a much smaller constant than full-data MCMC; with B = 100 its per-step Python overhead
dominates at N = 1e6 (batch 1000 reaches in ~5 s there, B = 100 not within 15 s).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import pathlib
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from scipy.special import expit, logsumexp

from vi_core import methods as _methods  # noqa: F401  (imported before vi_core.hmc, which needs it first)
from vi_core.counting import Counted
from vi_core.hmc import nuts
from vi_core.mcmc import ensemble
from vi_core.runner import Algorithm, run
from vi_core.targets import Target

__all__ = [
    "ACCURACY",
    "LOGISTIC_PRIOR_SD",
    "METHODS",
    "LogisticData",
    "LogisticPosterior",
    "Reference",
    "ScaleMethod",
    "ScaleRecord",
    "dataset",
    "reference",
    "run_one",
    "slope",
    "sweep",
]

# N(0, 5^2) on intercept and slope: weakly informative for a logistic regression on a covariate of unit scale
# (a slope of 5 per unit of x already moves the probability from 0.5 to 0.99 over one unit), so at every N of
# interest the data dominate; and it makes the posterior proper even at tiny N or with separable data.
LOGISTIC_PRIOR_SD = 5.0
# "Reached": the posterior mean within 0.1 posterior sd on both coordinates (the largest of the two errors, each in
# units of that coordinate's reference posterior sd). 0.1 sd is well below the posterior's own spread (so "reached"
# means a usable answer), yet within reach of MCMC's Monte Carlo error with an ESS of a few hundred.
ACCURACY = 0.1

_CHUNK = 2_000_000  # floats in one (points x rows) block: a few such temporaries stay well under ~8M floats
_DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
_ARSENIC_N = 3020
_ARSENIC_PERM_SEED = 2007  # the fixed permutation whose first n rows are the arsenic subsets
SYNTHETIC_TRUTH = (-0.5, 1.0)  # (alpha, beta) the synthetic data are drawn from (x on its uncentred scale)
_ARSENIC_CITATION = (
    "Gelman & Hill (2007) Data Analysis Using Regression and Multilevel/Hierarchical Models, ch. 5; "
    "survey: van Geen et al. (2003) Water Resources Research 39(5) 1140; via stan-dev/example-models"
)


class LogisticData(NamedTuple):
    """x (N,) float64 covariate (centred: its mean subtracted), y (N,) float64 0/1; citation "" for synthetic."""

    name: str
    x: np.ndarray
    y: np.ndarray
    centred: bool
    citation: str


@functools.lru_cache(maxsize=1)
def _wells() -> tuple[np.ndarray, np.ndarray]:
    raw = np.loadtxt(_DATA_DIR / "wells.csv", delimiter=",", skiprows=1)
    return raw[:, 1] / 100.0, raw[:, 0].astype(float)  # distance in 100 m, switched


def dataset(name: str, n: int | None = None, seed: int = 0, centred: bool = True) -> LogisticData:
    """A logistic-regression data set.

    "synthetic": x ~ N(1, 1) rounded to 1e-3 (its uncentred mean is away from 0, so centring changes the
    posterior correlation of intercept and slope: about -0.7 uncentred, about +0.2 centred), y ~ Bernoulli(
    sigmoid(-0.5 + 1.0 x)) from a generator seeded by ``seed``; n in [10, 2_000_000] (default 1000). The rounding
    puts x on a lattice, so the reference costs O(distinct x) per point (see ``reference``); the methods use the
    raw rows. "arsenic": the wells data (vi_core/data/wells.csv; Gelman & Hill 2007, ch. 5), x = distance to the
    nearest safe well in 100 m, y = switched; n=None or 3020: all rows in file order; n < 3020: the first n rows of
    a fixed permutation (``seed`` does not change it). Centring subtracts the mean of the rows used.
    """
    if name not in ("synthetic", "arsenic"):
        raise ValueError(f"unknown data set {name!r}; choose synthetic or arsenic")
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer, float)) or not float(n).is_integer():
            raise ValueError(f"n must be a whole number, got {n!r}")
        n = int(n)
    if name == "synthetic":
        n = 1000 if n is None else n
        if not 10 <= n <= 2_000_000:
            raise ValueError(f"synthetic data: n must be in [10, 2000000], got {n}")
        rng = np.random.default_rng(seed)
        x = np.round(rng.normal(1.0, 1.0, n), 3)
        a, b = SYNTHETIC_TRUTH
        y = (rng.uniform(size=n) < expit(a + b * x)).astype(float)
        citation = ""
    else:
        x_all, y_all = _wells()
        if n is None or n == _ARSENIC_N:
            x, y = x_all.copy(), y_all.copy()
        elif 10 <= n < _ARSENIC_N:
            idx = np.random.default_rng(_ARSENIC_PERM_SEED).permutation(_ARSENIC_N)[:n]
            x, y = x_all[idx], y_all[idx]
        else:
            raise ValueError(f"arsenic data: n must be in [10, {_ARSENIC_N}], got {n}")
        citation = _ARSENIC_CITATION
    if centred:
        x = x - x.mean()
    return LogisticData(name, x.astype(float), y.astype(float), bool(centred), citation)


def _loglik_blocks(a: np.ndarray, b: np.ndarray, x: np.ndarray, s: np.ndarray, c: np.ndarray | None, grad: bool):
    """Sum over rows of s*eta - c*softplus(eta), eta = a + b x, for K points (a, b (K,)); rows (x, s, c) may be
    raw (s = y, c = None: weight 1) or distinct values with counts. With grad: also d/da, d/db. Blocks of
    points x rows hold at most _CHUNK floats."""
    k, n = a.size, x.size
    ll = np.zeros(k)
    ga, gb = (np.zeros(k), np.zeros(k)) if grad else (None, None)
    pts = max(1, min(k, _CHUNK // max(n, 1)))
    rows = max(1, min(n, _CHUNK // pts))
    for p0 in range(0, k, pts):
        ap, bp = a[p0 : p0 + pts, None], b[p0 : p0 + pts, None]
        for r0 in range(0, n, rows):
            xr, sr = x[r0 : r0 + rows], s[r0 : r0 + rows]
            cr = None if c is None else c[r0 : r0 + rows]
            eta = ap + bp * xr
            if not grad:
                sp = np.maximum(eta, 0.0) + np.log1p(np.exp(-np.abs(eta)))  # softplus, stable (faster than logaddexp)
                ll[p0 : p0 + pts] += eta @ sr - (sp.sum(1) if cr is None else sp @ cr)
            else:
                resid = sr - (expit(eta) if cr is None else expit(eta) * cr)  # d/deta of each row's term
                ga[p0 : p0 + pts] += resid.sum(1)
                gb[p0 : p0 + pts] += resid @ xr
    return (ga, gb) if grad else ll


@dataclasses.dataclass(frozen=True, eq=False)
class LogisticPosterior(Target):
    """p(alpha, beta | data) ∝ prod_i Bernoulli(y_i; sigmoid(alpha + beta x_i)) N(alpha; 0, 5^2) N(beta; 0, 5^2).

    ``log_density`` includes the prior's normalising constant, so the reference's log_z is ln p(y | x). Every
    full-data evaluation touches all N raw rows, in blocks of at most 2M floats (memory bounded at any N)."""

    name = "logistic"
    description = "two-parameter logistic regression posterior (scaling page)"
    labels = ("α (intercept)", "β (slope)")
    same_units = False
    data: LogisticData = None  # type: ignore[assignment]

    def __post_init__(self):
        if self.data is None:
            raise ValueError("LogisticPosterior needs data (vi_core.scaling.dataset)")

    @property
    def n(self) -> int:
        return int(self.data.x.size)

    @property
    def box(self) -> tuple[float, float, float, float]:
        ref = reference(self)
        sd = np.sqrt(np.diag(ref.cov))
        return (ref.mean[0] - 6 * sd[0], ref.mean[0] + 6 * sd[0], ref.mean[1] - 6 * sd[1], ref.mean[1] + 6 * sd[1])

    @functools.cached_property
    def distinct(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distinct x, sum of y at each, count of each): the likelihood depends on the data only through these."""
        xu, inv = np.unique(self.data.x, return_inverse=True)
        return xu, np.bincount(inv, weights=self.data.y, minlength=xu.size), np.bincount(inv, minlength=xu.size)

    @staticmethod
    def _log_prior(a, b):
        v = LOGISTIC_PRIOR_SD**2
        return -0.5 * (a * a + b * b) / v - math.log(2 * math.pi * v)

    def log_density(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        flat = z.reshape(-1, 2)
        a, b = flat[:, 0], flat[:, 1]
        ll = _loglik_blocks(a, b, self.data.x, self.data.y, None, grad=False)
        return (ll + self._log_prior(a, b)).reshape(z.shape[:-1])

    def log_density_distinct(self, z: np.ndarray) -> np.ndarray:
        """The same log density, summed over the distinct x (exact, not an approximation): for the reference."""
        z = np.asarray(z, dtype=float)
        flat = z.reshape(-1, 2)
        xu, s, c = self.distinct
        ll = _loglik_blocks(flat[:, 0], flat[:, 1], xu, s, c.astype(float), grad=False)
        return (ll + self._log_prior(flat[:, 0], flat[:, 1])).reshape(z.shape[:-1])

    def grad_log_density(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        flat = z.reshape(-1, 2)
        ga, gb = _loglik_blocks(flat[:, 0], flat[:, 1], self.data.x, self.data.y, None, grad=True)
        g = np.stack([ga, gb], axis=-1) - flat / LOGISTIC_PRIOR_SD**2
        return g.reshape(z.shape)

    def minibatch_grad(self, z: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """z (K, 2), idx (B,) row indices -> (K, 2): prior gradient + (N/B) * the batch's likelihood gradient.
        Unbiased for grad_log_density when idx is a uniform random subset (with or without replacement)."""
        z = np.asarray(z, dtype=float).reshape(-1, 2)
        xb, yb = self.data.x[idx], self.data.y[idx]
        resid = yb[None, :] - expit(z[:, :1] + z[:, 1:] * xb[None, :])
        scale = self.n / len(idx)
        return scale * np.stack([resid.sum(1), resid @ xb], axis=-1) - z / LOGISTIC_PRIOR_SD**2


# ------------------------------------------------------------------------------------------------ reference


class Reference(NamedTuple):
    """The exact posterior's mean (2,), covariance (2, 2), correlation, ln p(y | x); grid_n points per axis;
    seconds it took; method in words."""

    mean: np.ndarray
    cov: np.ndarray
    corr: float
    log_z: float
    grid_n: int
    seconds: float
    method: str


def _newton(post: LogisticPosterior, max_iter: int = 100):
    """The posterior mode and the Hessian of -ln p there, over the distinct x (damped Newton from (0, 0))."""
    xu, s, c = post.distinct
    c = c.astype(float)
    v = LOGISTIC_PRIOR_SD**2
    z = np.zeros(2)

    def parts(z):
        eta = z[0] + z[1] * xu
        p = expit(eta)
        f = float(eta @ s - np.logaddexp(0.0, eta) @ c) - 0.5 * (z @ z) / v
        r = s - c * p
        g = np.array([r.sum(), r @ xu]) - z / v
        w = c * p * (1 - p)
        h = np.array([[w.sum(), w @ xu], [w @ xu, w @ (xu * xu)]]) + np.eye(2) / v
        return f, g, h

    f, g, h = parts(z)
    for _ in range(max_iter):
        dz = np.linalg.solve(h, g)
        t = 1.0
        while t > 1e-10:
            f_new, g_new, h_new = parts(z + t * dz)
            if f_new >= f - 1e-12 * abs(f):
                break
            t /= 2
        z, f, g, h = z + t * dz, f_new, g_new, h_new
        if np.max(np.abs(dz) * np.sqrt(np.diag(np.linalg.inv(h)))) < 1e-10 or t <= 1e-10:
            break
    return z, h


def reference(post: LogisticPosterior, grid_n: int = 121, half_width: float = 8.0) -> Reference:
    """The exact posterior moments and evidence at any N.

    Newton's method finds the mode and the Hessian (Laplace covariance); a grid_n x grid_n grid on a box of
    ±half_width Laplace sds in the Laplace covariance's eigen-coordinates then integrates the exact density (the
    box widens by 1.5x while its edge holds more than e^-25 of the peak). At 0.1 Laplace sd spacing the sum is
    accurate far beyond the benchmark's needs (the integrand is smooth and negligible at the edge).

    Cost: the log-likelihood depends on the data only through the distinct (x, y) values and their counts, so each
    grid point costs O(distinct x), exactly (no approximation): synthetic x is on a 1e-3 lattice, so at N = 1e6
    there are 7240 distinct x -> 121^2 x 7240 ~ 1.1e8 terms: measured 3-4 s on one core of a 2-core VM (N = 1e4,
    3753 distinct: ~2 s; arsenic, 3020 distinct: ~1.5 s; N = 100: ~0.1 s), plus O(N) once for np.unique. The methods
    always evaluate the raw N rows.
    """
    t0 = time.perf_counter()
    mode, h = _newton(post)
    cov_l = np.linalg.inv(h)
    lam, vec = np.linalg.eigh(cov_l)
    basis = vec * np.sqrt(lam)  # z = mode + basis @ u, u ~ N(0, I) under Laplace
    w = half_width
    for _ in range(4):
        u = np.linspace(-w, w, grid_n)
        uu = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 2)
        z = mode + uu @ basis.T
        lp = post.log_density_distinct(z)
        top = float(lp.max())
        edge = lp.reshape(grid_n, grid_n)
        edge_max = max(edge[0].max(), edge[-1].max(), edge[:, 0].max(), edge[:, -1].max())
        if edge_max < top - 25 or w > 40:
            break
        w *= 1.5
    wts = np.exp(lp - top)
    total = wts.sum()
    mean = wts @ z / total
    d = z - mean
    cov = (d * wts[:, None]).T @ d / total
    cell = (2 * w / (grid_n - 1)) ** 2 * float(np.sqrt(np.prod(lam)))
    log_z = float(logsumexp(lp) + math.log(cell))
    corr = float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]))
    n_distinct = post.distinct[0].size
    method = (
        f"Newton mode + Laplace covariance, then a {grid_n}x{grid_n} grid on ±{w:g} Laplace sd in its "
        f"eigen-coordinates, exact log density over {n_distinct} distinct x values"
    )
    return Reference(mean, cov, corr, log_z, grid_n, time.perf_counter() - t0, method)


# ------------------------------------------------------------------------------------------------ methods


class ScaleMethod(NamedTuple):
    name: str
    label: str
    kind: str  # "vi" | "mcmc"
    minibatch: bool


METHODS: dict[str, ScaleMethod] = {
    m.name: m
    for m in (
        ScaleMethod("minibatch-mf", "Minibatch VI, mean-field", "vi", True),
        ScaleMethod("minibatch-fr", "Minibatch VI, full-rank", "vi", True),
        ScaleMethod("fullbatch-fr", "Full-batch VI, full-rank", "vi", False),
        ScaleMethod("emcee", "emcee (stretch move)", "mcmc", False),
        ScaleMethod("nuts", "NUTS", "mcmc", False),
    )
}

VI_DRAWS = 4  # reparameterisation draws per VI step (one shared minibatch for all of them)
VI_LR = 0.05  # Adam's step, in units of q's current sd for the mean, of 1 for log sd
VI_MAX_STEPS = 5_000_000
EMCEE_WALKERS, EMCEE_MAX_STEPS = 32, 100_000
NUTS_CHAINS, NUTS_STEPS = 4, 1000  # warm-up: the first quarter (vi_core.hmc)
_START, _SCALE = np.zeros(2), 1.0  # every method starts at the prior's centre with length scale 1


class _VIState(NamedTuple):
    theta: np.ndarray  # (m1, m2, ln L11, ln L22[, L21])
    mom1: np.ndarray
    mom2: np.ndarray
    t: int
    avg: np.ndarray  # polynomial-decay average of the iterates: the reported q
    perm: np.ndarray | None  # this epoch's row order (minibatch)
    pos: int  # rows of perm used so far


def _q_moments(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    l11, l22 = math.exp(theta[2]), math.exp(theta[3])
    l21 = theta[4] if theta.size == 5 else 0.0
    return theta[:2].copy(), np.array([l11 * l11, l21 * l21 + l22 * l22])


def _gauss_vi(post: LogisticPosterior, full_rank: bool, batch: int | None, costs: list) -> Algorithm:
    """Gaussian VI by reparameterisation gradients and Adam (as vi_core.gaussvi), for a run of unknown length.

    batch=None: every step evaluates the full-data gradient at VI_DRAWS points. batch=B: the gradient is
    ``minibatch_grad`` on B rows (rescaled N/B), the rows drawn by random reshuffling (a fresh permutation each
    epoch, consecutive slices of it: each batch a uniform random subset, and every row used once per epoch).
    Schedule: Adam with the mean stepped in units of q's current sd per coordinate (so the step shrinks with the
    posterior, whatever N), learning rate VI_LR held for t0 = max(200, N/B) steps (about an epoch) and then
    decayed as Robbins-Monro (1 + t/t0)^-0.6 (sum of steps infinite, of squares finite). The reported q is the
    polynomial-decay average of the iterates (weights ∝ t^3; Shamir & Zhang 2013), which forgets the transient.
    costs[0] accumulates gradient evaluations in full-data equivalents.
    """
    n = post.n
    b = None if batch is None else min(int(batch), n)
    t0 = max(200.0, n / b) if b else 200.0
    eta = 3.0
    beta1, beta2, eps_adam = (
        0.9,
        0.99,
        1e-8,
    )  # a short memory of squared gradients: their scale falls by orders of magnitude as q shrinks
    k = VI_DRAWS

    def init(rng):
        theta = np.array([*_START, math.log(_SCALE), math.log(_SCALE)] + ([0.0] if full_rank else []))
        zeros = np.zeros_like(theta)
        return _VIState(theta, zeros, zeros.copy(), 0, theta.copy(), None, 0)

    def step(rng, s: _VIState):
        theta = s.theta
        l11, l22 = math.exp(theta[2]), math.exp(theta[3])
        l21 = theta[4] if full_rank else 0.0
        e = rng.standard_normal((k, 2))
        z = np.empty_like(e)
        z[:, 0] = theta[0] + l11 * e[:, 0]
        z[:, 1] = theta[1] + l21 * e[:, 0] + l22 * e[:, 1]
        perm, pos = s.perm, s.pos
        if b is None:
            g = post.grad_log_density(z)
            costs[0] += k
        else:
            if perm is None or pos + b > n:
                perm, pos = rng.permutation(n), 0
            g = post.minibatch_grad(z, perm[pos : pos + b])
            pos += b
            costs[0] += k * b / n
        grad = np.empty_like(theta)
        grad[:2] = g.mean(0)
        # the scale's gradient with the draws' mean gradient subtracted (a control variate: it removes the large,
        # noisy gradient at q's mean -- and the minibatch's noise in it -- from E[g eps]); K/(K-1) unbiases it
        gc = (g - g.mean(0)) * (k / (k - 1))
        grad[2] = l11 * (gc[:, 0] * e[:, 0]).mean() + 1.0
        grad[3] = l22 * (gc[:, 1] * e[:, 1]).mean() + 1.0
        if full_rank:
            grad[4] = (gc[:, 1] * e[:, 0]).mean()
        t = s.t + 1
        if not np.isfinite(grad).all():
            return s._replace(t=t, perm=perm, pos=pos), None
        mom1 = beta1 * s.mom1 + (1 - beta1) * grad
        mom2 = beta2 * s.mom2 + (1 - beta2) * grad * grad
        lr = VI_LR if t <= t0 else VI_LR * (1.0 + (t - t0) / t0) ** -0.6
        sd2 = math.sqrt(l21 * l21 + l22 * l22)
        unit = np.array([l11, sd2, 1.0, 1.0] + ([l22] if full_rank else []))
        step_ = lr * unit * (mom1 / (1 - beta1**t)) / (np.sqrt(mom2 / (1 - beta2**t)) + eps_adam)
        theta = theta + step_
        theta[2:4] = np.clip(theta[2:4], -30.0, 5.0)
        avg = s.avg + (theta - s.avg) * (eta + 1) / (t + eta)
        return _VIState(theta, mom1, mom2, t, avg, perm, pos), None

    return Algorithm(init, step, keep=lambda s: None)


# ------------------------------------------------------------------------------------------------ records


class ScaleRecord(NamedTuple):
    """One method on one data size. Arrays at the checkpoints (about 50, log-spaced in steps, the initial state
    and the last step included): times (T,) seconds since the method's start; mean_err (T,) the largest over the
    coordinates of |estimated mean - reference mean| / reference sd; var_ratio (T, 2) estimated / reference
    variance; accuracy (T,) = mean_err, the yardstick of "reached". time_to_accuracy_s: the first checkpoint from
    which accuracy <= ACCURACY holds to the end (None if never). Evaluations in full-posterior equivalents (a
    minibatch gradient of B rows at one point = B/N). stopped: "converged" (accuracy held below ACCURACY over the
    last doubling of the steps and the variance estimate moved < 10% over it: the run ends early to save time),
    "budget" or "steps"."""

    n: int
    method: str
    kind: str
    minibatch: bool
    times: np.ndarray
    mean_err: np.ndarray
    var_ratio: np.ndarray
    accuracy: np.ndarray
    time_to_accuracy_s: float | None
    final_accuracy: float
    n_density_evals: int
    n_grad_evals: int
    budget_s: float
    stopped: str

    def summary(self) -> dict:
        t = self.time_to_accuracy_s
        fa = float(self.final_accuracy)
        return {
            "n": int(self.n),
            "method": str(self.method),
            "kind": str(self.kind),
            "minibatch": bool(self.minibatch),
            "time_to_accuracy_s": None if t is None else float(t),
            "final_accuracy": fa if math.isfinite(fa) else None,
            "n_density_evals": int(self.n_density_evals),
            "n_grad_evals": int(self.n_grad_evals),
        }


def _time_to_accuracy(times: np.ndarray, acc: np.ndarray) -> float | None:
    bad = np.flatnonzero(~(acc <= ACCURACY))
    if bad.size == 0:
        return float(times[0])
    if bad[-1] == acc.size - 1:
        return None
    return float(times[bad[-1] + 1])


class _Recorder:
    """Per step: the estimated posterior mean and variance (VI: q's; MCMC: the draws after the first quarter of
    the steps so far, from running sums), and a stop rule checking the accuracy at log-spaced steps."""

    def __init__(self, ref: Reference):
        self.mu, self.sd = ref.mean, np.sqrt(np.diag(ref.cov))
        self.means: list[np.ndarray] = []
        self.vars: list[np.ndarray] = []
        self.s1: list[np.ndarray] = [np.zeros(2)]  # running sums over steps of draws (MCMC)
        self.s2: list[np.ndarray] = [np.zeros(2)]
        self.cnt: list[int] = [0]
        self.checks: list[tuple[int, bool]] = []
        self.next_check = 8

    def add_draws(self, z: np.ndarray):
        self.s1.append(self.s1[-1] + z.sum(0))
        self.s2.append(self.s2[-1] + (z * z).sum(0))
        self.cnt.append(self.cnt[-1] + z.shape[0])
        t = len(self.cnt) - 1  # steps so far, the initial positions being step 0
        lo = t // 4  # drop steps 0..lo-1 (the first quarter)
        n = self.cnt[t] - self.cnt[lo]
        m = (self.s1[t] - self.s1[lo]) / n
        self.means.append(m)
        self.vars.append(np.maximum((self.s2[t] - self.s2[lo]) / n - m * m, 0.0))

    def add_moments(self, mean, var):
        self.means.append(mean)
        self.vars.append(var)

    def error(self, i: int) -> float:
        return float(np.max(np.abs(self.means[i] - self.mu) / self.sd))

    def stop(self, state, info) -> bool:
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


def _build(post: LogisticPosterior, method: str, batch: int, rec: _Recorder, costs: list):
    """-> (Algorithm wrapped to record moments, max steps, counter)."""
    if method in ("minibatch-mf", "minibatch-fr", "fullbatch-fr"):
        algo = _gauss_vi(post, method != "minibatch-mf", None if method == "fullbatch-fr" else batch, costs)

        def note(state):
            rec.add_moments(*_q_moments(state.avg))

        return algo, VI_MAX_STEPS, lambda: (0, round(costs[0])), note
    counted = Counted(post)
    if method == "emcee":
        import emcee

        algo = ensemble(counted, emcee.moves.StretchMove(), _START, np.full(2, _SCALE), EMCEE_WALKERS)
        return algo, EMCEE_MAX_STEPS, counted.counts, lambda s: rec.add_draws(s.walkers.coords)
    settings = SimpleNamespace(chains=NUTS_CHAINS, mcmc_steps=NUTS_STEPS, target_accept=0.8)
    algo = nuts(counted, settings, _START, _SCALE)
    return algo, NUTS_STEPS, counted.counts, lambda s: rec.add_draws(s.z)


def run_one(
    data: LogisticData,
    method: str,
    budget_s: float = 10.0,
    seed: int = 0,
    batch: int = 100,
    ref: Reference | None = None,
) -> ScaleRecord:
    """Run one method on the data under a wall-clock budget (vi_core.runner.run: it overruns by at most one step)
    and score ~50 log-spaced checkpoints against the reference (computed here when not given). Recording each
    step's moments is inside the clock (it is O(1) a step); scoring is after the run."""
    if method not in METHODS:
        raise ValueError(f"unknown scaling method {method!r}; choose from {', '.join(METHODS)}")
    if not (isinstance(budget_s, (int, float)) and math.isfinite(budget_s) and budget_s > 0):
        raise ValueError(f"budget must be a positive number of seconds, got {budget_s!r}")
    if int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch!r}")
    spec = METHODS[method]
    post = LogisticPosterior(data)
    ref = reference(post) if ref is None else ref
    rec = _Recorder(ref)
    costs = [0.0]
    algo, max_steps, counter, note = _build(post, method, int(batch), rec, costs)

    def init(rng):
        s = algo.init(rng)
        note(s)
        return s

    def step(rng, s):
        s, info = algo.step(rng, s)
        note(s)
        return s, info

    trace = run(
        Algorithm(init, step, keep=lambda s: None),
        max_steps,
        seed,
        stop=rec.stop,
        time_budget_s=budget_s,
        counter=counter,
    )
    t_last = len(trace.times) - 1
    if t_last < max_steps and trace.times[-1] > budget_s:
        stopped = "budget"
    elif t_last < max_steps:
        stopped = "converged"
    else:
        stopped = "steps"
    idx = np.unique(np.concatenate([[0], np.round(np.logspace(0, math.log10(max(t_last, 1)), 50)), [t_last]]))
    idx = idx[idx <= t_last].astype(int)
    times = trace.times[idx]
    mean_err = np.array([rec.error(i) for i in idx])
    var_ratio = np.array([rec.vars[i] / np.diag(ref.cov) for i in idx])
    dens, grads = (int(v) for v in trace.evals[-1])
    return ScaleRecord(
        n=post.n,
        method=method,
        kind=spec.kind,
        minibatch=spec.minibatch,
        times=times,
        mean_err=mean_err,
        var_ratio=var_ratio,
        accuracy=mean_err.copy(),
        time_to_accuracy_s=_time_to_accuracy(times, mean_err),
        final_accuracy=float(mean_err[-1]),
        n_density_evals=dens,
        n_grad_evals=grads,
        budget_s=float(budget_s),
        stopped=stopped,
    )


def sweep(
    ns,
    methods=None,
    name: str = "synthetic",
    budget_s: float = 10.0,
    seed: int = 0,
    centred: bool = True,
    batch: int = 100,
    progress: Callable[[float, str], None] | None = None,
) -> list[ScaleRecord]:
    """Every method at every N (one data set and reference per N); progress(fraction, message) after each run."""
    methods = list(METHODS) if methods is None else list(methods)
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"unknown scaling method {m!r}; choose from {', '.join(METHODS)}")
    ns = list(ns)
    out, total, done = [], len(ns) * len(methods), 0
    for n in ns:
        data = dataset(name, n, seed=seed, centred=centred)
        ref = reference(LogisticPosterior(data))
        for m in methods:
            r = run_one(data, m, budget_s=budget_s, seed=seed, batch=batch, ref=ref)
            out.append(r)
            done += 1
            if progress is not None:
                t = r.time_to_accuracy_s
                reached = f"reached in {t:.3g} s" if t is not None else f"not reached in {budget_s:g} s"
                progress(done / total, f"N = {r.n:,}, {METHODS[m].label}: {reached}")
    return out


def slope(records: list[ScaleRecord], method: str) -> float | None:
    """Least-squares slope of log10(time to accuracy) against log10(N) over the Ns where the method reached it
    (None with fewer than two such Ns)."""
    pts = [
        (r.n, r.time_to_accuracy_s)
        for r in records
        if r.method == method and r.time_to_accuracy_s is not None and r.time_to_accuracy_s > 0
    ]
    if len({n for n, _ in pts}) < 2:
        return None
    x = np.log10([float(n) for n, _ in pts])
    y = np.log10([float(t) for _, t in pts])
    return float(np.polyfit(x, y, 1)[0])
