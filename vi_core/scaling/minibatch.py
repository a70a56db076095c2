"""Scaling's minibatch gradients: the rows in blocks, the plain and the control-variate gradient estimates, the
anchor the control variate is built around, and the measured reduction of the gradient's variance.

* ``Batches``: the rows in one random order (drawn once, on the method's clock), cut into nb contiguous blocks of
  B or B - 1 rows. A minibatch is a block; its gradient is rescaled by nb, so that the average over the blocks is
  the full-data gradient exactly (unbiased for any block sizes): random reshuffling of blocks (``epoch_blocks``:
  every block once per epoch, in a fresh order) or blocks drawn independently (``iid_blocks``).
* ``plain_grad``: nb x the block's likelihood gradient + the prior's gradient.
* ``cv_grad``: the control variate around an anchor theta_hat (Baker, Fearnhead, Fox & Nemeth 2019, "Control
  variates for stochastic gradient MCMC"; SVRG's estimate with one fixed anchor): grad U(theta_hat) + nb x the
  block's sum of [grad U_i(theta) - grad U_i(theta_hat)]. For logistic regression grad U_i = (y_i - p_i) (1, x_i),
  so the block's term is (p_hat_i - p_i(theta)) (1, x_i): y cancels and the anchor's p_hat_i are kept from its
  full pass. Unbiased, and its variance falls as |theta - theta_hat|^2: near the mode it is ~N/B where the plain
  estimate's is ~N^2/B.
* ``find_anchor``: the mode, cheaply: Newton's method on a uniform subsample of ANCHOR_SUBSAMPLE rows (the
  likelihood scaled up to N rows), then Newton steps on all rows (one pass each, its gradient and Hessian) until
  the step is below 0.05 posterior sd (two passes at N = 10^6). Its cost, in rows and seconds, is on the clock.
* ``variance_reduction``: Var(plain) / Var(CV) over the blocks at points drawn from the Laplace approximation at
  the anchor, each coordinate in units of its Laplace sd; measured after a run, off its clock.

Rows touched (the cost beside wall time): one row's likelihood or gradient term at one point is one row; K points
on a block of B rows are K B. Every evaluation here goes through vi_core.scaling.model.eta_rows; ``Rows`` counts.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from vi_core.scaling import model
from vi_core.scaling.model import LOGISTIC_PRIOR_SD, LogisticPosterior

__all__ = [
    "ANCHOR_SUBSAMPLE",
    "Anchor",
    "Batches",
    "Rows",
    "cv_grad",
    "epoch_blocks",
    "find_anchor",
    "iid_blocks",
    "plain_grad",
    "subsample_mode",
    "variance_reduction",
]

ANCHOR_SUBSAMPLE = 10_000  # rows of the subsample the anchor's first Newton iterations run on
_INV_V = 1.0 / LOGISTIC_PRIOR_SD**2
_PASS_CHUNK = 1_000_000  # rows per block of a full pass (bounded temporaries at any N)


class Rows:
    """A tally of rows touched (one row's term at one point = 1), kept by the method as it runs."""

    def __init__(self) -> None:
        self.n = 0


class Batches:
    """The rows of ``post`` in one random order, cut into nb = ceil(N / B) contiguous blocks (sizes B or B - 1):
    dt (2, N) the design transposed (ones over x) and y (N,) in that order; ``edges[j]`` = (lo, hi) of block j."""

    def __init__(self, post: LogisticPosterior, batch: int, rng: np.random.Generator):
        n = post.n
        perm = rng.permutation(n)
        self.n = n
        self.dt = model.design_t(post.data.x[perm])
        self.y = post.data.y[perm]
        self.nb = max(1, -(-n // max(1, int(batch))))
        cuts = np.linspace(0, n, self.nb + 1).round().astype(int).tolist()
        self.edges = list(itertools.pairwise(cuts))


def epoch_blocks(rng, order: np.ndarray | None, pos: int, count: int, nb: int):
    """The next ``count`` blocks of random reshuffling (a fresh order of the nb blocks each epoch) ->
    (blocks, order, pos)."""
    out = []
    while len(out) < count:
        if order is None or pos >= nb:
            order, pos = rng.permutation(nb), 0
        take = min(count - len(out), nb - pos)
        out.extend(order[pos : pos + take].tolist())
        pos += take
    return out, order, pos


def iid_blocks(rng, count: int, nb: int) -> list[int]:
    """``count`` blocks drawn independently and uniformly (with replacement)."""
    return rng.integers(nb, size=count).tolist()


def plain_grad(b: Batches, rows: Rows):
    """grad(z (K, 2), j) -> K [g1, g2] lists: the log posterior's gradient from block j, the likelihood's part
    rescaled by nb; counts K x (block's rows). Lists, not an array: the caller steps on Python floats."""
    y, dt, edges, nb = b.y, b.dt, b.edges, float(b.nb)

    def grad(z: np.ndarray, j: int) -> list:
        lo, hi = edges[j]
        d = dt[:, lo:hi]
        r = y[lo:hi] - expit(model.eta_rows(z, d))
        rows.n += z.shape[0] * (hi - lo)
        return [[nb * g1 - z1 * _INV_V, nb * g2 - z2 * _INV_V]
                for (g1, g2), (z1, z2) in zip((r @ d.T).tolist(), z.tolist(), strict=True)]  # fmt: skip

    return grad


class Anchor(NamedTuple):
    """The control variate's anchor: theta (2,); grad (2,) the full-data log-likelihood gradient there; hess (2, 2)
    the negative Hessian of the log posterior there (its inverse: the Laplace covariance); p (N,) sigmoid(eta) of
    every row there, in the Batches' order; passes: full passes it took."""

    theta: np.ndarray
    grad: np.ndarray
    hess: np.ndarray
    p: np.ndarray
    passes: int


def cv_grad(b: Batches, anchor: Anchor, rows: Rows):
    """grad(z (K, 2), j) -> K [g1, g2] lists: the control-variate estimate of the log posterior's gradient from block
    j (the prior's gradient exact); counts K x (block's rows) (the anchor's p_hat were counted by its full pass)."""
    dt, edges, nb, p_hat = b.dt, b.edges, float(b.nb), anchor.p
    c1, c2 = (float(v) for v in anchor.grad)

    def grad(z: np.ndarray, j: int) -> list:
        lo, hi = edges[j]
        d = dt[:, lo:hi]
        r = p_hat[lo:hi] - expit(model.eta_rows(z, d))
        rows.n += z.shape[0] * (hi - lo)
        return [[c1 + nb * g1 - z1 * _INV_V, c2 + nb * g2 - z2 * _INV_V]
                for (g1, g2), (z1, z2) in zip((r @ d.T).tolist(), z.tolist(), strict=True)]  # fmt: skip

    return grad


def _pass(theta: np.ndarray, dt: np.ndarray, y: np.ndarray, scale: float, rows: Rows):
    """One pass over rows (dt (2, R), y (R,)) at theta: (log posterior, its gradient, its negative Hessian, p (R,),
    the likelihood's gradient), the likelihood scaled by ``scale``."""
    z = theta[None, :]
    ll, g, h = 0.0, np.zeros(2), np.zeros((2, 2))
    ps = []
    for lo in range(0, dt.shape[1], _PASS_CHUNK):
        d, yr = dt[:, lo : lo + _PASS_CHUNK], y[lo : lo + _PASS_CHUNK]
        eta = model.eta_rows(z, d)[0]
        rows.n += yr.size
        p = expit(eta)
        ps.append(p)
        ll += float(eta @ yr - model.softplus(eta).sum())
        g += d @ (yr - p)
        h += (d * (p * (1.0 - p))) @ d.T
    p = ps[0] if len(ps) == 1 else np.concatenate(ps)
    g_lik = scale * g
    lp = scale * ll - 0.5 * float(theta @ theta) * _INV_V
    return lp, g_lik - theta * _INV_V, scale * h + np.eye(2) * _INV_V, p, g_lik


def _newton(theta, dt, y, scale, rows, tol_sd, max_passes):
    """Damped Newton from theta on the rows (dt, y) until the step is below tol_sd Laplace sd -> (the last point
    evaluated, its pass, passes). The point returned is one whose pass was made, so its p and gradient are exact."""
    cur = _pass(theta, dt, y, scale, rows)
    passes = 1
    while passes < max_passes:
        lp, g, h = cur[0], cur[1], cur[2]
        step = np.linalg.solve(h, g)
        sd = np.sqrt(np.diag(np.linalg.inv(h)))
        if np.max(np.abs(step) / sd) < tol_sd:
            break
        t = 1.0
        while passes < max_passes:
            new = _pass(theta + t * step, dt, y, scale, rows)
            passes += 1
            if new[0] >= lp - 1e-9 * abs(lp) or t < 1e-3:
                theta, cur = theta + t * step, new
                break
            t *= 0.5
    return theta, cur, passes


def subsample_mode(b: Batches, rows: Rows, subsample: int = ANCHOR_SUBSAMPLE) -> tuple[np.ndarray, np.ndarray]:
    """(mode, negative Hessian there) of the posterior with the likelihood of the first min(N, ``subsample``) rows
    of the random order (a uniform subsample) scaled up to N rows: damped Newton from (0, 0) to 0.5 of its sd
    (0.05 when the subsample is every row). Cheap: about ten passes over the subsample."""
    m = min(b.n, subsample)
    theta, cur, _ = _newton(np.zeros(2), b.dt[:, :m], b.y[:m], b.n / m, rows, 0.05 if m == b.n else 0.5, 30)
    return theta, cur[2]


def find_anchor(b: Batches, rows: Rows, subsample: int = ANCHOR_SUBSAMPLE) -> Anchor:
    """The mode, cheaply (see the module's docstring): ``subsample_mode`` when N > ``subsample``, then Newton on
    all rows to 0.05 posterior sd; the anchor is the last point a full pass was made at."""
    theta = subsample_mode(b, rows, subsample)[0] if b.n > subsample else np.zeros(2)
    theta, cur, passes = _newton(theta, b.dt, b.y, 1.0, rows, 0.05, 30)
    return Anchor(theta.copy(), cur[4], cur[2], cur[3], passes)


def variance_reduction(b: Batches, anchor: Anchor, seed: int = 0, points: int = 8, blocks: int = 256) -> float:
    """Var(plain) / Var(CV) of the minibatch gradient: summed over the coordinates (each in units of its Laplace
    sd, so the sum is scale-free) and over ``points`` draws from the Laplace approximation at the anchor, across
    up to ``blocks`` random blocks. A diagnostic, made after a run and off its clock (its rows are not counted)."""
    rng = np.random.default_rng(seed)
    cov = np.linalg.inv(anchor.hess)
    sd = np.sqrt(np.diag(cov))
    z = rng.multivariate_normal(anchor.theta, cov, size=points)
    js = rng.choice(b.nb, size=min(blocks, b.nb), replace=False)
    plain, cv = [], []
    for j in js.tolist():
        lo, hi = b.edges[j]
        d = b.dt[:, lo:hi]
        p = expit(z @ d)  # not model.eta_rows: a diagnostic, not a method's cost
        plain.append(b.nb * ((b.y[lo:hi] - p) @ d.T))
        cv.append(anchor.grad + b.nb * ((anchor.p[lo:hi] - p) @ d.T))
    if len(js) < 2:
        return math.nan
    v_plain = (np.var(np.array(plain), axis=0) * sd**2).sum()
    v_cv = (np.var(np.array(cv), axis=0) * sd**2).sum()
    return float(v_plain / v_cv) if v_cv > 0 else math.inf
