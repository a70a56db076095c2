"""Gibbs sampling: C independent chains, each sweep an exact draw of z1 | z2, then of z2 | z1.

Where the target has closed-form full conditionals (``Target.gibbs_conditional``: the
Gaussian, Newcomb's Normal-Gamma) the draws are exact. Every other target -- built-in or
typed -- has each 1D conditional drawn on a fine grid by inverse CDF (``grid_conditional``):

* range: the box's side extended by half its width at each end (twice the width in all):
  the box holds the mass, the margin keeps a chain that starts near an edge from being cut;
  the conditional's mass outside this range is dropped.
* ``GRID_NODES`` = 1024 cells of width h = 2 x side / 1024 (about 1/512 of the box's side):
  the density is taken constant on each cell (its value at the midpoint), the cell is drawn
  by inverse CDF and the point uniformly within it. The draw's error is that of the midpoint
  rule: a conditional variance off by about h²/12 (Gaussian, 9-wide box: h = 0.018,
  h²/12 = 2.6e-5 against a conditional variance of 0.36 at rho = 0.8); a conditional much
  narrower than h (a funnel's neck) is resolved only to one cell.
* cost: 2 x C x M density evaluations a sweep (one batch of (C, M, 2) points per axis),
  against 2 x C draws for closed-form conditionals: 8192 evaluations a sweep at 4 chains.
* a node where the density is nan or +-inf counts as zero mass; a chain whose whole
  conditional row has no mass stays where it is (counted in ``GibbsInfo.stuck``).

Chains start in a small ball around the shared off-centre ``start`` (spread sd/4, as emcee's
walkers), so burn-in is visible. The run loop keeps the whole ``GibbsState`` (it holds no
generator): the positions and the staircase of the first ``PATH_CHAINS`` chains.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vi_core.mcmc import initial_walkers
from vi_core.methods import PATH_CHAINS, Moves
from vi_core.runner import Algorithm
from vi_core.targets import Target

__all__ = ["GRID_NODES", "GibbsInfo", "GibbsState", "gibbs", "grid_conditional", "line_range"]

GRID_NODES = 1024  # cells of the 1D grid a conditional without a closed form is drawn on


class GibbsState(NamedTuple):
    """positions (C, 2): the chains; moves: the last sweep's staircase of the first PATH_CHAINS chains."""

    positions: np.ndarray
    moves: Moves


class GibbsInfo(NamedTuple):
    """grid_nodes: cells of the 1D grid per conditional (0: closed form); stuck: chain updates
    this sweep whose conditional had no finite density on the grid (the chain stayed)."""

    grid_nodes: int
    stuck: int


def line_range(box, axis: int) -> tuple[float, float]:
    """The 1D range a grid conditional along ``axis`` covers: the box's side, half a width more each end."""
    lo, hi = box[2 * axis], box[2 * axis + 1]
    half = 0.5 * (hi - lo)
    return lo - half, hi + half


def grid_conditional(target: Target, axis: int, other: np.ndarray, rng, lo: float, hi: float, m: int = GRID_NODES):
    """Draws of z_axis given the other coordinate = other (C,), by inverse CDF on m cells of [lo, hi].

    Returns (draws (C,), ok (C,) bool): ok False where the row had no finite density (the
    draw is nan there; the caller keeps the chain where it was)."""
    other = np.asarray(other, dtype=float)
    h = (hi - lo) / m
    nodes = lo + h * (np.arange(m) + 0.5)  # cell midpoints
    z = np.empty((other.size, m, 2))
    z[..., axis] = nodes
    z[..., 1 - axis] = other[:, None]
    with np.errstate(all="ignore"):
        lp = target.log_density(z)
    lp = np.where(np.isfinite(lp), lp, -np.inf)  # nan (outside the support) and +-inf carry no mass
    top = lp.max(axis=1, keepdims=True)
    ok = np.isfinite(top[:, 0])
    w = np.exp(lp - np.where(ok[:, None], top, 0.0))  # log-sum-exp shift: the largest weight is 1
    cdf = np.cumsum(w, axis=1)
    u = rng.uniform(size=other.size) * cdf[:, -1]
    cell = np.minimum((cdf < u[:, None]).sum(axis=1), m - 1)  # the first cell whose CDF reaches u
    draws = lo + h * (cell + rng.uniform(size=other.size))  # uniform within the cell
    return np.where(ok, draws, np.nan), ok


def gibbs(target: Target, start, spread, n_chains: int, m: int = GRID_NODES) -> Algorithm:
    """Gibbs sampling as an init/step pair over ``n_chains`` chains (vectorised over chains).

    start (2,), spread (2,): the chains start at start + spread x N(0, I). step: one sweep,
    z1 | z2 then z2 | z1, closed form if ``target.gibbs_conditional`` exists, else on an
    m-cell 1D grid (``grid_conditional``). Info: ``GibbsInfo``."""
    if n_chains < 1:
        raise ValueError(f"Gibbs needs at least one chain, got {n_chains}")
    start, spread = np.asarray(start, float), np.asarray(spread, float)
    exact = target.gibbs_conditional
    ranges = [line_range(target.box, axis) for axis in (0, 1)]
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
        return GibbsState(new, moves), GibbsInfo(0 if exact is not None else m, stuck1 + stuck2)

    return Algorithm(init, step)
