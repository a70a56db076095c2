"""Scaling's Gaussian VI: reparameterisation gradients on all N rows, on a minibatch, or on a minibatch with a
control variate (vi_core.scaling.minibatch), for a run of unknown length.

The update is vi_core.gaussvi's Adam step (``adam_update``), written out here on Python floats (``vi_steps``): a
step's only array work is the batch's (the linear predictor, the sigmoid and the reduction of K x B rows), so the
interpreter's overhead per step is small against that arithmetic (benchmarks/scaling.py --overhead measures both);
one call of the run loop's step does INNER steps (full-batch: one), and the loop checks its budget between calls.
What differs from vi_core.gaussvi's step:

* the gradient: from the ``grad(z, block)`` it is given (full data, plain minibatch or control variate), and the
  scale's gradient with a control variate of its own (the draws' mean gradient subtracted), which removes the
  large, noisy gradient at q's mean from E[g eps]; no log density at all (it would cost a full pass);
* the schedule: the run has no set length, so the learning rate is held for t0 steps and then decays as
  Robbins-Monro (1 + (t - t0)/t0)^-0.6, and the reported q is a polynomial-decay average of the iterates
  (weights ∝ t^3; Shamir & Zhang 2013), which forgets the transient;
* the units: the mean is stepped in units of q's current sd (the step shrinks with the posterior, whatever N),
  and ln sd is clipped to [-30, 5].
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from vi_core.gaussvi import AdamOptions
from vi_core.runner import Algorithm
from vi_core.scaling.minibatch import epoch_blocks

__all__ = ["INNER", "VI_DRAWS", "VI_LR", "Setup", "VIState", "gauss_vi", "q_moments", "vi_steps"]

VI_DRAWS = 4  # reparameterisation draws per VI step (one shared minibatch for all of them)
VI_LR = 0.05  # Adam's step, in units of q's current sd for the mean, of 1 for log sd
INNER = 8  # minibatch steps per call of the run loop's step
# a short memory of squared gradients (beta2 0.99): their scale falls by orders of magnitude as q shrinks
_ADAM = AdamOptions(lr=VI_LR, beta1=0.9, beta2=0.99, eps=1e-8)
_AVERAGE_ETA = 3.0  # the polynomial-decay average's weights grow as t^3


class Setup(NamedTuple):
    """What a VI run built in its init, on its clock: the gradient estimate grad(z, block), the number of blocks the
    rows are cut into (1: full data), and anything else it made (its batches and anchor: ``built``)."""

    grad: Callable[[np.ndarray, int], np.ndarray]
    nb: int
    built: object


class VIState(NamedTuple):
    theta: np.ndarray  # (m1, m2, ln L11, ln L22[, L21])
    mom1: np.ndarray
    mom2: np.ndarray
    t: int
    avg: np.ndarray  # polynomial-decay average of the iterates: the reported q
    order: np.ndarray | None  # this epoch's block order (minibatch)
    pos: int  # blocks of it used so far
    setup: Setup


def q_moments(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """q's mean (2,) and marginal variances (2,) for a parameter vector, (4,) mean-field or (5,) full-rank."""
    l11, l22 = math.exp(theta[2]), math.exp(theta[3])
    l21 = theta[4] if theta.size == 5 else 0.0
    return theta[:2].copy(), np.array([l11 * l11, l21 * l21 + l22 * l22])


def vi_steps(theta, mom1, mom2, t, avg, eps, blocks, grad, t0, lr0=VI_LR):
    """len(blocks) Adam steps of Gaussian VI -> (theta, mom1, mom2, t, avg), all lists of floats (t an int).

    theta = [m1, m2, ln L11, ln L22(, L21)]; eps (S, K, 2) the standard normal draws, one (K, 2) per step; blocks
    (S,) the block each step's gradient reads; grad(z (K, 2), block) -> K [g1, g2]. Each step: z = m + L eps, g =
    grad(z), the mean's gradient the draws' mean of g, the scale's E[(g - mean g) eps] K/(K-1) (+1 for ln L11, ln
    L22: the entropy); lr = lr0 for t <= t0, then lr0 (1 + (t - t0)/t0)^-0.6; Adam (vi_core.gaussvi.adam_update's
    formulas, beta1 0.9, beta2 0.99) with the mean's step in units of q's current sd; a step whose gradient is not
    finite is skipped (t still advances)."""
    full = len(theta) == 5
    b1, b2, ae = _ADAM.beta1, _ADAM.beta2, _ADAM.eps
    eta = _AVERAGE_ETA
    theta, mom1, mom2, avg = list(theta), list(mom1), list(mom2), list(avg)
    npar = len(theta)
    k = eps.shape[1]
    c = 1.0 / (k - 1)  # a mean over the K draws times K/(K-1)
    pairs = eps.tolist()  # per step, K (e1, e2)
    cols = eps.transpose(0, 2, 1).tolist()  # per step, (K e1's, K e2's)
    for s, j in enumerate(blocks):
        m1, m2 = theta[0], theta[1]
        l11, l22 = math.exp(theta[2]), math.exp(theta[3])
        l21 = theta[4] if full else 0.0
        z = np.array([(m1 + l11 * e1, m2 + l21 * e1 + l22 * e2) for e1, e2 in pairs[s]])
        g1s, g2s = zip(*grad(z, j), strict=True)
        e1s, e2s = cols[s]
        ga, gb = sum(g1s) / k, sum(g2s) / k
        # sum_k (g_k - mean g) e_k = sum_k g_k e_k - mean g sum_k e_k: the draws' mean gradient as control variate
        se1 = sum(e1s)
        grads = [ga, gb, l11 * c * (sum(map(operator.mul, g1s, e1s)) - ga * se1) + 1.0,
                 l22 * c * (sum(map(operator.mul, g2s, e2s)) - gb * sum(e2s)) + 1.0]  # fmt: skip
        if full:
            grads.append(c * (sum(map(operator.mul, g2s, e1s)) - gb * se1))
        t += 1
        if not math.isfinite(sum(grads)):
            continue
        lr = lr0 if t <= t0 else lr0 * (1.0 + (t - t0) / t0) ** -0.6
        unit = (l11, math.sqrt(l21 * l21 + l22 * l22), 1.0, 1.0, l22)
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        w = (eta + 1.0) / (t + eta)
        for i in range(npar):
            gi = grads[i]
            mom1[i] = b1 * mom1[i] + (1.0 - b1) * gi
            mom2[i] = b2 * mom2[i] + (1.0 - b2) * gi * gi
            theta[i] += lr * unit[i] * (mom1[i] / c1) / (math.sqrt(mom2[i] / c2) + ae)
        theta[2] = min(max(theta[2], -30.0), 5.0)
        theta[3] = min(max(theta[3], -30.0), 5.0)
        for i in range(npar):
            avg[i] += (theta[i] - avg[i]) * w
    return theta, mom1, mom2, t, avg


def gauss_vi(
    full_rank: bool,
    setup: Callable[[np.random.Generator], tuple[Callable, int, object, np.ndarray]],
    inner: int,
    t0: float,
    scale: float,
    lr: float = VI_LR,
) -> Algorithm:
    """Gaussian VI by reparameterisation gradients and Adam (``vi_steps``), from N(start, scale^2 I).

    setup(rng) -> (grad, n_blocks, built, start), run in ``init`` (on the clock): the gradient estimate
    grad(z, block), how many blocks the rows are cut into (1: full data), what it built (kept in the state's
    ``setup``) and q's starting mean. Each call of ``step`` does ``inner`` steps, the blocks by random reshuffling
    (a fresh order of the blocks each epoch). Schedule: lr held for t0 steps, then Robbins-Monro decay
    (``vi_steps``); the reported q is the polynomial-decay average of the iterates."""
    k = VI_DRAWS
    npar = 5 if full_rank else 4

    def init(rng):
        grad, nb, built, start = setup(rng)
        theta = np.array([*start, math.log(scale), math.log(scale)] + ([0.0] if full_rank else []))
        zeros = np.zeros(npar)
        return VIState(theta, zeros, zeros.copy(), 0, theta.copy(), None, 0, Setup(grad, nb, built))

    def step(rng, s: VIState):
        grad, nb, _ = s.setup
        blocks, order, pos = epoch_blocks(rng, s.order, s.pos, inner, nb) if nb > 1 else ([0] * inner, None, 0)
        eps = rng.standard_normal((inner, k, 2))
        theta, mom1, mom2, t, avg = vi_steps(s.theta, s.mom1, s.mom2, s.t, s.avg, eps, blocks, grad, t0, lr)
        return VIState(np.array(theta), np.array(mom1), np.array(mom2), t, np.array(avg), order, pos, s.setup), None

    return Algorithm(init, step, keep=lambda s: None)
