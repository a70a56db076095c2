"""Scaling's minibatch MCMC: stochastic gradient Langevin dynamics (Welling & Teh 2011), plain and with a control
variate (SGLD-CV, Baker, Fearnhead, Fox & Nemeth 2019), at a fixed step size.

One step from theta, with a minibatch gradient estimate g(theta) and a fixed preconditioner M = A A^T:

    theta' = theta + (h / 2) M g(theta) + sqrt(h) A xi,   xi ~ N(0, I).

With the exact gradient this is the unadjusted Langevin algorithm: no Metropolis correction, so even then its
stationary distribution is not the posterior (on a Gaussian posterior with M its covariance, the variance is
1 / (1 - h/4) times too large); the minibatch's noise adds (h/2)^2 M Var(g) M per step on top, which for the plain
estimate grows as N^2 / B. With a fixed h, SGLD does not converge to the posterior, however long it runs; the
Scaling page shows its bias against the exact reference. The step size is in units of M: h = SGLD_STEP.

The preconditioner is the inverse negative Hessian at the method's anchor (vi_core.scaling.minibatch: a subsample's
mode for plain SGLD, the full anchor for SGLD-CV), and the chain starts there. The blocks are drawn independently
each step (``iid_blocks``), as in Welling & Teh; one call of the run loop's step does SGLD_INNER steps and hands the
recorder every position it visited.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from vi_core.runner import Algorithm
from vi_core.scaling.minibatch import iid_blocks

__all__ = ["SGLD_INNER", "SGLD_STEP", "SgldSetup", "SgldState", "sgld", "sgld_steps"]

SGLD_STEP = 0.2  # h, in units of the preconditioner: ULA's own variance inflation on a Gaussian is 1/(1 - h/4)
SGLD_INNER = 32  # SGLD steps per call of the run loop's step


class SgldSetup(NamedTuple):
    """What an SGLD run built in its init, on its clock: grad(z (1, 2), block) -> [[g1, g2]], the number of blocks,
    the preconditioner's Cholesky factor A (2, 2), what else it made."""

    grad: Callable[[np.ndarray, int], np.ndarray]
    nb: int
    chol: np.ndarray
    built: object


class SgldState(NamedTuple):
    theta: np.ndarray  # (2,) the chain now
    draws: np.ndarray  # (S, 2) every position of the last call's steps (the initial position at init)
    t: int  # steps so far
    setup: SgldSetup


def sgld_steps(theta, xi, blocks, grad, chol, h) -> tuple[np.ndarray, np.ndarray]:
    """len(blocks) SGLD steps from theta (2,) -> (theta, positions (S, 2)). xi (S, 2) standard normal draws;
    blocks (S,) the block each step's gradient reads; chol (2, 2) lower-triangular A, M = A A^T."""
    a11, a21, a22 = float(chol[0, 0]), float(chol[1, 0]), float(chol[1, 1])
    m11, m21, m22 = a11 * a11, a21 * a11, a21 * a21 + a22 * a22
    half, root = 0.5 * h, math.sqrt(h)
    t1, t2 = float(theta[0]), float(theta[1])
    out = []
    z = np.empty((1, 2))
    for (x1, x2), j in zip(xi.tolist(), blocks, strict=True):
        z[0, 0], z[0, 1] = t1, t2
        g1, g2 = grad(z, j)[0]
        t1 += half * (m11 * g1 + m21 * g2) + root * a11 * x1
        t2 += half * (m21 * g1 + m22 * g2) + root * (a21 * x1 + a22 * x2)
        out.append((t1, t2))
    return np.array([t1, t2]), np.array(out)


def sgld(setup: Callable[[np.random.Generator], tuple[SgldSetup, np.ndarray]], inner: int = SGLD_INNER,
         h: float = SGLD_STEP) -> Algorithm:  # fmt: skip
    """SGLD from the start ``setup(rng)`` gives (with its SgldSetup, made in ``init``: on the clock); each call
    of ``step`` does ``inner`` steps on independently drawn blocks."""

    def init(rng):
        made, start = setup(rng)
        start = np.asarray(start, dtype=float)
        return SgldState(start, start[None, :].copy(), 0, made)

    def step(rng, s: SgldState):
        made = s.setup
        blocks = iid_blocks(rng, inner, made.nb)
        xi = rng.standard_normal((inner, 2))
        theta, draws = sgld_steps(s.theta, xi, blocks, made.grad, made.chol, h)
        return SgldState(theta, draws, s.t + inner, made), None

    return Algorithm(init, step, keep=lambda s: None)
