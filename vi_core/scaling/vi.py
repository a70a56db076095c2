"""Scaling's Gaussian VI: reparameterisation gradients on all N rows or on a minibatch, for a run of unknown length.

The Adam update is vi_core.gaussvi's (``adam_update``); what stays here is what differs from vi_core.gaussvi's step:

* the gradient: on a minibatch of B rows drawn by random reshuffling (``LogisticPosterior.minibatch_grad``, rescaled
  by N/B), and the scale's gradient with a control variate (the draws' mean gradient subtracted), which removes the
  large, noisy gradient at q's mean -- and the minibatch's noise in it -- from E[g eps]; and no log density at all
  (gaussvi's step also evaluates it for its Monte Carlo ELBO: here that would cost a full pass over the N rows);
* the schedule: the run has no set length (it ends on a time budget or on convergence), so the learning rate is
  held for about an epoch and then decays as Robbins-Monro, not geometrically over a known number of steps, and the
  reported q is a polynomial-decay average of the iterates, not an average over a known last fraction;
* the units: the mean is stepped in units of q's current sd (so the step shrinks with the posterior, whatever N),
  not of a fixed length, and ln sd is clipped to [-30, 5].
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from vi_core.gaussvi import AdamOptions, adam_update
from vi_core.runner import Algorithm
from vi_core.scaling.model import LogisticPosterior

__all__ = ["VI_DRAWS", "VI_LR", "VIState", "gauss_vi", "q_moments"]

VI_DRAWS = 4  # reparameterisation draws per VI step (one shared minibatch for all of them)
VI_LR = 0.05  # Adam's step, in units of q's current sd for the mean, of 1 for log sd
# a short memory of squared gradients (beta2 0.99): their scale falls by orders of magnitude as q shrinks
_ADAM = AdamOptions(lr=VI_LR, beta1=0.9, beta2=0.99, eps=1e-8)
_AVERAGE_ETA = 3.0  # the polynomial-decay average's weights grow as t^3


class VIState(NamedTuple):
    theta: np.ndarray  # (m1, m2, ln L11, ln L22[, L21])
    mom1: np.ndarray
    mom2: np.ndarray
    t: int
    avg: np.ndarray  # polynomial-decay average of the iterates: the reported q
    perm: np.ndarray | None  # this epoch's row order (minibatch)
    pos: int  # rows of perm used so far


def q_moments(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """q's mean (2,) and marginal variances (2,) for a parameter vector, (4,) mean-field or (5,) full-rank."""
    l11, l22 = math.exp(theta[2]), math.exp(theta[3])
    l21 = theta[4] if theta.size == 5 else 0.0
    return theta[:2].copy(), np.array([l11 * l11, l21 * l21 + l22 * l22])


def gauss_vi(
    post: LogisticPosterior, full_rank: bool, batch: int | None, costs: list, start: np.ndarray, scale: float
) -> Algorithm:
    """Gaussian VI by reparameterisation gradients and vi_core.gaussvi's Adam update, from N(start, scale^2 I).

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
    eta = _AVERAGE_ETA
    k = VI_DRAWS

    def init(rng):
        theta = np.array([*start, math.log(scale), math.log(scale)] + ([0.0] if full_rank else []))
        zeros = np.zeros_like(theta)
        return VIState(theta, zeros, zeros.copy(), 0, theta.copy(), None, 0)

    def step(rng, s: VIState):
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
        # the scale's gradient with the draws' mean gradient subtracted (the control variate); K/(K-1) unbiases it
        gc = (g - g.mean(0)) * (k / (k - 1))
        grad[2] = l11 * (gc[:, 0] * e[:, 0]).mean() + 1.0
        grad[3] = l22 * (gc[:, 1] * e[:, 1]).mean() + 1.0
        if full_rank:
            grad[4] = (gc[:, 1] * e[:, 0]).mean()
        t = s.t + 1
        if not np.isfinite(grad).all():
            return s._replace(t=t, perm=perm, pos=pos), None
        lr = VI_LR if t <= t0 else VI_LR * (1.0 + (t - t0) / t0) ** -0.6
        sd2 = math.sqrt(l21 * l21 + l22 * l22)
        unit = np.array([l11, sd2, 1.0, 1.0] + ([l22] if full_rank else []))
        theta, mom1, mom2 = adam_update(theta, s.mom1, s.mom2, grad, t, lr, unit, _ADAM)
        theta[2:4] = np.clip(theta[2:4], -30.0, 5.0)
        avg = s.avg + (theta - s.avg) * (eta + 1) / (t + eta)
        return VIState(theta, mom1, mom2, t, avg, perm, pos), None

    return Algorithm(init, step, keep=lambda s: None)
