"""Gibbs sampling: C independent chains, each sweep an exact draw of z1 | z2, then of z2 | z1.

Where the target has closed-form full conditionals (``Target.gibbs_conditional``: the
Gaussian, Newcomb's Normal-Gamma) the draws are exact. Every other target -- built-in or
typed -- has each 1D conditional drawn by inverse CDF on a grid refined where its mass is
(``grid_conditional``):

* range: one fixed interval per axis. Built with a grid (the registered method), it is the
  union of the box's side extended by half its width at each end (``line_range``) and the
  reference's support (``Grid.reference_support``: all but ~1e-6 a side of the posterior),
  so the posterior mass outside ranges_x x ranges_y -- mass Gibbs can never reach, computed
  from the reference by ``mass_outside`` and reported in every ``GibbsInfo`` -- is below
  1e-5 on every built-in target (the funnel's x-range is +-1214 against its box's +-12).
  A moment carried by a far tail still feels the cut: the funnel cut to its ranges (1.9e-6
  of its mass outside) has Var(x) = 83.1 against e^4.5 = 90.0 -- within the MCSE (~20) of
  16 chains x 8000 sweeps. Without a grid the range is ``line_range`` and that mass is not
  known (nan); one pass on the funnel's line_range gave Var(x) ~ 13 and Var(v) ~ 8.4.
* pass 1: ``GRID_NODES`` = M = 1024 cells of width h1 = range / M over the whole range, ln p~
  at each midpoint. Cells within ``NEGLIGIBLE`` = 36 nats of the row's largest carry the
  mass (the rest hold under M e^-36 ~ 2e-13 of it); kept with ``MARGIN`` = 2 cells more
  each side. This works in log space, so a conditional much narrower than a cell still
  shows: its nearest midpoint is the row's largest, however far down the density is there.
* pass 2: the M cells on that sub-range only, each chain its own: width h2 = (sub-range) / M.
  The density is taken constant on each cell (its value at the midpoint), the cell is drawn
  by inverse CDF and the point uniformly within it. The draw's error is that of the midpoint
  rule on these cells: a conditional variance off by about h2²/12. A conditional of sd s
  wider than h1 spans about 17 s (+-sqrt(72) s) plus the margins, so h2 ~ s/60 and the
  variance is off by ~2e-5 of itself whatever the range (Gaussian rho = 0.8: s = 0.6,
  h2 = 0.010). One much narrower than h1 (a spike) keeps 1-2 cells plus the margins, so
  h2 = 5-6 h1 / M: the funnel's neck at v = -6 (sd e^-3 = 0.050, h1 = 2.4) gets h2 = 0.014,
  its variance off by 0.7 % (at v = -9, sd 0.011: 13 %, where v < -9 holds 0.1 % of the mass).
  A single pass would put that neck in one 2.4-wide cell. Not caught: a spike beside a wide mode
  whose midpoints all lie 36 nats below the row's largest (one pass misses it too); and two narrow
  spikes far apart in one row: pass 2 spans both, its cells as wide as their distance / M, and a
  spike narrower than a cell whose mass falls between two midpoints can lose all its weight (one
  pass misses it the same way; refining each cluster of kept cells on its own would resolve it, and is
  not done: no built-in target has such a row).
* cost: 4 x C x M density evaluations a sweep (two batches of (C, M, 2) points per axis;
  pass 2 only for chains whose pass 1 found mass), against 2 x C draws for closed-form
  conditionals: 16384 evaluations a sweep at 4 chains, twice the one-pass cost.
* a node where the density is nan or +-inf counts as zero mass; a chain whose whole pass-1
  row has no mass stays where it is (counted in ``GibbsInfo.stuck``); a pass-2 row without
  mass (density finite only between its nodes) is drawn from its pass-1 cells instead.

Chains start in a small ball around the shared off-centre ``start`` (spread sd/4, as emcee's
walkers), so burn-in is visible. The run loop keeps the whole ``GibbsState`` (it holds no
generator): the positions and the staircase of the first ``PATH_CHAINS`` chains.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from vi_core.chains import initial_walkers
from vi_core.method import PATH_CHAINS, Moves
from vi_core.runner import Algorithm
from vi_core.targets import Target

__all__ = [
    "GRID_NODES",
    "MARGIN",
    "NEGLIGIBLE",
    "GibbsInfo",
    "GibbsState",
    "gibbs",
    "grid_conditional",
    "line_range",
    "mass_outside",
    "sampling_ranges",
]

GRID_NODES = 1024  # cells of the 1D grid a conditional without a closed form is drawn on, per pass
NEGLIGIBLE = 36.0  # nats below a row's largest pass-1 cell at which a cell's mass is left out
MARGIN = 2  # pass-1 cells kept beyond the outermost ones with mass
_MASS_CELLS = 1024  # cells across the x-range when the reference integrates the mass inside the ranges


class GibbsState(NamedTuple):
    """positions (C, 2): the chains; moves: the last sweep's staircase of the first PATH_CHAINS chains."""

    positions: np.ndarray
    moves: Moves


class GibbsInfo(NamedTuple):
    """grid_nodes: cells of the 1D grid per conditional and pass (0: closed form); stuck: chain
    updates this sweep whose conditional had no finite density on the grid (the chain stayed);
    mass_outside_ranges: the posterior's probability outside ranges_x x ranges_y, which the
    chains cannot reach (0 for closed-form conditionals, nan when not known: no grid)."""

    grid_nodes: int
    stuck: int
    mass_outside_ranges: float = math.nan


def line_range(box, axis: int) -> tuple[float, float]:
    """The box's side along ``axis``, half a width more each end: the range without a grid."""
    lo, hi = box[2 * axis], box[2 * axis + 1]
    half = 0.5 * (hi - lo)
    return lo - half, hi + half


def sampling_ranges(box, support=None) -> tuple[tuple[float, float], tuple[float, float]]:
    """The range of each axis's conditionals: ``line_range(box, axis)``, widened to cover
    ``support`` (xmin, xmax, ymin, ymax; e.g. ``Grid.reference_support``) if given."""
    out = []
    for axis in (0, 1):
        lo, hi = line_range(box, axis)
        if support is not None:
            lo, hi = min(lo, float(support[2 * axis])), max(hi, float(support[2 * axis + 1]))
        out.append((float(lo), float(hi)))
    return out[0], out[1]


def mass_outside(grid, ranges) -> float:
    """The posterior's probability outside ranges_x x ranges_y, from ``grid``'s reference.

    ``Grid.cell_probabilities`` makes its outermost intervals open, so the ranges are the
    inner cells of edges one step beyond them; x (the reference's quadrature axis) is cut in
    ``_MASS_CELLS`` cells so that its per-cell Gauss-Legendre rule is exact to rounding."""
    (x0, x1), (y0, y1) = ranges
    ex = np.concatenate([[x0 - 1.0], np.linspace(x0, x1, _MASS_CELLS + 1), [x1 + 1.0]])
    ey = np.array([y0 - 1.0, y0, y1, y1 + 1.0])
    inside = float(grid.cell_probabilities(ex, ey)[1:-1, 1].sum())
    return min(max(1.0 - inside, 0.0), 1.0)


def _log_rows(target: Target, axis: int, other: np.ndarray, lo: np.ndarray, h: np.ndarray, m: int) -> np.ndarray:
    """ln p~ at the m cell midpoints lo + h (k + 1/2) of each row (R,), -inf where not finite: (R, m)."""
    z = np.empty((other.size, m, 2))
    z[..., axis] = lo[:, None] + h[:, None] * (np.arange(m) + 0.5)
    z[..., 1 - axis] = other[:, None]
    with np.errstate(all="ignore"):
        lp = np.asarray(target.log_density(z), dtype=float)
    return np.where(np.isfinite(lp), lp, -np.inf)  # nan (outside the support) and +-inf carry no mass


def _sub_ranges(lp: np.ndarray, lo: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row (with some finite lp): the pass-1 cells within NEGLIGIBLE nats of its largest,
    MARGIN cells more each side (within the range): (start (R,), width (R,))."""
    m = lp.shape[1]
    keep = lp >= lp.max(axis=1, keepdims=True) - NEGLIGIBLE
    first = np.maximum(np.argmax(keep, axis=1) - MARGIN, 0)
    stop = np.minimum(m - np.argmax(keep[:, ::-1], axis=1) + MARGIN, m)  # one past the last kept cell
    return lo + h * first, h * (stop - first)


def grid_conditional(
    target: Target, axis: int, other: np.ndarray, rng, lo: float, hi: float, m: int = GRID_NODES, refine: bool = True
):
    """Draws of z_axis given the other coordinate = other (C,), by inverse CDF on m cells: of
    [lo, hi] (pass 1), then, with ``refine``, of each chain's sub-range holding the mass (pass 2).

    Returns (draws (C,), ok (C,) bool): ok False where the pass-1 row had no finite density
    (the draw is nan there; the caller keeps the chain where it was). Draws lie in [lo, hi]."""
    other = np.asarray(other, dtype=float).ravel()
    n = other.size
    start, width = np.full(n, float(lo)), np.full(n, float(hi) - float(lo))
    lp = _log_rows(target, axis, other, start, width / m, m)
    ok = np.isfinite(lp.max(axis=1))
    if refine and ok.any():
        rows = np.flatnonzero(ok)
        a, w = _sub_ranges(lp[rows], float(lo), (float(hi) - float(lo)) / m)
        lp2 = _log_rows(target, axis, other[rows], a, w / m, m)
        found = np.isfinite(lp2.max(axis=1))  # else: density finite only between pass-2 nodes
        rows = rows[found]
        lp[rows], start[rows], width[rows] = lp2[found], a[found], w[found]
    top = lp.max(axis=1, keepdims=True)
    wts = np.exp(lp - np.where(ok[:, None], top, 0.0))  # log-sum-exp shift: the largest weight is 1
    cdf = np.cumsum(wts, axis=1)
    u = rng.uniform(size=n) * cdf[:, -1]
    cell = np.minimum((cdf < u[:, None]).sum(axis=1), m - 1)  # the first cell whose CDF reaches u
    draws = start + width / m * (cell + rng.uniform(size=n))  # uniform within the cell
    return np.where(ok, np.clip(draws, lo, hi), np.nan), ok


def gibbs(target: Target, start, spread, n_chains: int, m: int = GRID_NODES, ranges=None, grid=None) -> Algorithm:
    """Gibbs sampling as an init/step pair over ``n_chains`` chains (vectorised over chains).

    start (2,), spread (2,): the chains start at start + spread x N(0, I). step: one sweep,
    z1 | z2 then z2 | z1, closed form if ``target.gibbs_conditional`` exists, else by
    ``grid_conditional`` (two passes of m cells) on ranges ((x0, x1), (y0, y1)): by default
    ``sampling_ranges(target.box, grid.reference_support)`` with a ``vi_core.grid.Grid``,
    ``line_range`` of the box without one. With a grid, the posterior mass outside the
    ranges (``mass_outside``) is computed once and carried in every info. Info: ``GibbsInfo``."""
    if n_chains < 1:
        raise ValueError(f"Gibbs needs at least one chain, got {n_chains}")
    start, spread = np.asarray(start, float), np.asarray(spread, float)
    exact = target.gibbs_conditional
    if ranges is None:
        ranges = sampling_ranges(target.box, None if grid is None else grid.reference_support)
    ranges = [(float(lo), float(hi)) for lo, hi in ranges]
    if len(ranges) != 2 or not all(math.isfinite(lo) and math.isfinite(hi) and lo < hi for lo, hi in ranges):
        raise ValueError(f"ranges must be two finite intervals (lo < hi), got {ranges!r}")
    if exact is not None:
        outside = 0.0  # exact draws: no ranges
    else:
        outside = math.nan if grid is None else mass_outside(grid, ranges)
    nodes = 0 if exact is not None else m
    c_path = min(n_chains, PATH_CHAINS)

    def draw(rng, axis, other):
        """(new values (C,), how many chains stayed)."""
        if exact is not None:
            return exact(axis, other, rng), 0
        new, ok = grid_conditional(target, axis, other, rng, *ranges[axis], m)
        return new, int(np.count_nonzero(~ok))

    def init(rng):
        z = initial_walkers(rng, start, spread, n_chains)
        stay = np.repeat(z[:c_path, None], 3, axis=1).astype(np.float32)
        return GibbsState(z, Moves(stay, np.zeros(c_path, bool), np.zeros(c_path, bool)))

    def step(rng, state):
        old = state.positions
        half = old.copy()
        z1, stuck1 = draw(rng, 0, old[:, 1])
        half[:, 0] = np.where(np.isnan(z1), old[:, 0], z1)
        new = half.copy()
        z2, stuck2 = draw(rng, 1, half[:, 0])
        new[:, 1] = np.where(np.isnan(z2), half[:, 1], z2)
        points = np.stack([old[:c_path], half[:c_path], new[:c_path]], axis=1).astype(np.float32)
        moved = np.any(new[:c_path] != old[:c_path], axis=1)  # always, unless both conditionals were empty
        moves = Moves(points, moved, np.zeros(c_path, bool))
        return GibbsState(new, moves), GibbsInfo(nodes, stuck1 + stuck2, outside)

    return Algorithm(init, step)
