"""Mean-field CAVI on the quadrature grid, with free-form factors.

The coordinate-ascent update ln q_j*(z_j) = E_{i != j}[ln p(X, Z)] + const, made literal:
with L = ln p~ on the grid (nx, ny) and factor cell probabilities w1 (nx,), w2 (ny,),

    ln q1 = L @ w2 + c,    ln q2 = w1 @ L + c,

each normalised (exp of ln q - max ln q, divided by the sum: the logsumexp trick). A sweep
updates q1, then q2 from the new q1 (in turn: simultaneous updates can oscillate). Each
update is the exact maximiser of the grid ELBO over its factor, so the ELBO never decreases.

The ELBO over product densities can have several local maxima, and CAVI climbs to the one
above its start. ``best_fixed_point`` runs CAVI from several starts (``cavi_starts``) and
reports the best fixed point and how many distinct ones it found.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vi_core.families import GridProductQ
from vi_core.grid import Grid
from vi_core.runner import Algorithm

__all__ = [
    "CaviInfo",
    "CaviOptima",
    "CaviState",
    "best_fixed_point",
    "cavi",
    "cavi_starts",
    "finite_log_p",
    "grid_elbo",
    "start_point",
]


class CaviState(NamedTuple):
    """w1 (nx,), w2 (ny,): factor cell probabilities; elbo: the exact grid ELBO of q1 q2."""

    w1: np.ndarray
    w2: np.ndarray
    elbo: float


class CaviInfo(NamedTuple):
    elbo: float
    delta: float  # ELBO change over the sweep; >= 0 up to rounding


def start_point(box) -> np.ndarray:
    """A deliberately off-centre start shared by every method, (2,).

    A symmetric start converges in one sweep on symmetric targets and teaches nothing.
    """
    x0, x1, y0, y1 = box
    return np.array([x0 + 0.68 * (x1 - x0), y0 + 0.3 * (y1 - y0)])


def finite_log_p(grid: Grid) -> np.ndarray:
    """ln p~ with -inf cells (zero density) replaced by (min finite value - 1000).

    Keeps L @ w2 free of nan; the factor a cell gets is e^-1000 times its neighbours',
    so the update and the ELBO are unchanged to double precision.
    """
    finite = np.isfinite(grid.log_p)
    if finite.all():
        return grid.log_p
    return np.where(finite, grid.log_p, grid.log_p[finite].min() - 1e3)


def grid_elbo(grid: Grid, w1: np.ndarray, w2: np.ndarray, L: np.ndarray | None = None) -> float:
    """Exact (midpoint-rule) ELBO of q1 q2: E_q[ln p~] + H[q1] + H[q2]."""
    L = finite_log_p(grid) if L is None else L
    return float(w1 @ L @ w2) + GridProductQ.on(grid, w1, w2).entropy


def _normalise(log_w: np.ndarray) -> np.ndarray:
    # exp(log_w - logsumexp(log_w)), written out: scipy's logsumexp costs ~10x a sweep's matrix products
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def _normal(centres: np.ndarray, m: float, sd: float) -> np.ndarray:
    return _normalise(-0.5 * ((centres - m) / sd) ** 2)


def cavi_starts(grid: Grid, init_sd: float | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Initial factors (label, w1, w2) for a multi-start search, the shared off-centre start first.

    A sweep updates q1 from q2 first, so a start is in effect its q2. Besides the off-centre
    start: q2 a narrow normal (sd 1/16 of the side) at 1/4 and 3/4 of the z2 side; q2 the
    update from a narrow q1 at 1/4 and 3/4 of the z1 side (the sweep order reversed for the
    first half-sweep); and q2 the exact marginal of z2, or the update from the exact marginal
    of z1 (starts only a grid can offer: they begin where the posterior's mass is).
    """
    L = finite_log_p(grid)
    x0, x1, y0, y1 = grid.box
    start = start_point(grid.box)
    sd = init_sd if init_sd is not None else (y1 - y0) / 6.0
    out = [("off-centre", _normal(grid.xs, start[0], (x1 - x0) / 6.0), _normal(grid.ys, start[1], sd))]
    for f in (0.25, 0.75):
        w2 = _normal(grid.ys, y0 + f * (y1 - y0), (y1 - y0) / 16.0)
        out.append((f"q2 starts narrow at z2 = {y0 + f * (y1 - y0):.3g}", _normalise(L @ w2), w2))
    for f in (0.25, 0.75):
        w1 = _normal(grid.xs, x0 + f * (x1 - x0), (x1 - x0) / 16.0)
        out.append((f"q1 starts narrow at z1 = {x0 + f * (x1 - x0):.3g}", w1, _normalise(w1 @ L)))
    w2 = grid.weights.sum(axis=0)
    out.append(("q2 starts as the exact marginal of z2", _normalise(L @ w2), w2 / w2.sum()))
    w1 = grid.weights.sum(axis=1)
    out.append(("q1 starts as the exact marginal of z1", w1 / w1.sum(), _normalise(w1 @ L)))
    return out


def cavi(
    grid: Grid, init_sd: float | None = None, init_factors: tuple[np.ndarray, np.ndarray] | None = None
) -> Algorithm:
    """Grid CAVI as an init/step pair. q2 starts as a discretised normal at ``start_point``,
    or (w1, w2) = ``init_factors`` (e.g. one of ``cavi_starts``)."""
    L = finite_log_p(grid)

    def init(rng):
        if init_factors is not None:
            w1, w2 = init_factors
        else:
            _, w1, w2 = cavi_starts(grid, init_sd)[0]
        return CaviState(w1, w2, grid_elbo(grid, w1, w2, L))

    def step(rng, state):
        w1 = _normalise(L @ state.w2)
        w2 = _normalise(w1 @ L)
        elbo = grid_elbo(grid, w1, w2, L)
        return CaviState(w1, w2, elbo), CaviInfo(elbo, elbo - state.elbo)

    return Algorithm(init, step)


class CaviOptima(NamedTuple):
    """The best CAVI fixed point over several starts.

    w1, w2: its factors; elbo: its grid ELBO; n_optima: distinct fixed points reached;
    best_start: the index into ``cavi_starts`` of the first start reaching the best (within
    1e-6 nats); start_elbos (n_starts,): the fixed point each start reached; converged
    (n_starts,): whether each start met the tolerance within the sweep cap.
    """

    w1: np.ndarray
    w2: np.ndarray
    elbo: float
    n_optima: int
    best_start: int
    start_elbos: np.ndarray
    converged: np.ndarray


# Fixed points are one when their ELBOs agree within _SAME_ELBO nats and their means within
# _SAME_MEAN sds of the factors; _BEST_TOL: a start within this of the best counts as reaching it.
_SAME_ELBO = 1e-4
_SAME_MEAN = 0.2
_BEST_TOL = 1e-6


def best_fixed_point(
    grid: Grid, init_sd: float | None = None, max_sweeps: int = 3000, tol: float = 1e-10
) -> CaviOptima:
    """Run CAVI to a fixed point (ELBO change <= tol a sweep) from every ``cavi_starts`` start.

    Deterministic and cheap (two matrix-vector products a sweep); a start that needs more
    than ``max_sweeps`` (strong correlation: the error shrinks by rho² a sweep) is flagged
    in ``converged``.
    """
    L = finite_log_p(grid)
    ends, elbos, converged = [], [], []
    for _, w1, w2 in cavi_starts(grid, init_sd):
        elbo, ok = grid_elbo(grid, w1, w2, L), False
        for _ in range(max_sweeps):
            w1 = _normalise(L @ w2)
            w2 = _normalise(w1 @ L)
            new = grid_elbo(grid, w1, w2, L)
            ok, elbo = abs(new - elbo) <= tol, new
            if ok:
                break
        ends.append((w1, w2))
        elbos.append(elbo)
        converged.append(ok)
    elbos = np.array(elbos)
    best = int(np.argmax(elbos))
    first = int(np.flatnonzero(elbos >= elbos[best] - _BEST_TOL)[0])
    distinct: list[int] = []
    for k in np.argsort(-elbos, kind="stable"):
        if not any(_same_fixed_point(grid, ends[k], elbos[k], ends[j], elbos[j]) for j in distinct):
            distinct.append(int(k))
    w1, w2 = ends[best]
    return CaviOptima(w1, w2, float(elbos[best]), len(distinct), first, elbos, np.array(converged))


def _same_fixed_point(grid: Grid, a, ea: float, b, eb: float) -> bool:
    if abs(ea - eb) > _SAME_ELBO:
        return False
    qa, qb = GridProductQ.on(grid, *a), GridProductQ.on(grid, *b)
    sd = np.sqrt(np.maximum(np.diag(qb.cov), 1e-300))
    return bool(np.all(np.abs(qa.mean - qb.mean) / sd < _SAME_MEAN))
