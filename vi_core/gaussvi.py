"""Gaussian VI by reparameterisation-gradient ascent on the Monte Carlo ELBO, with Adam.

q = N(m, L L^T), z = m + L eps, eps ~ N(0, I). Parameters theta = (m1, m2, ln L11, ln L22)
for the mean-field family (diagonal L) and additionally L21 for the full-rank family.
With K draws a step,

    ELBO_MC = mean_k ln p~(m + L eps_k) + H[q],        H[q] = ln(2 pi e) + ln L11 + ln L22,
    d/dm = mean_k g_k,  d/dL_ij = mean_k g_k,i eps_k,j (+ 1/L_ii from H),   g = grad ln p~.

Adam takes steps of about lr per parameter whatever the gradient's size, so the mean is
stepped in units of a length ``scale`` per axis (the app passes 1/8 of the box's sides):
the same lr then serves a unit Gaussian and a posterior 20 units wide. The learning rate
decays geometrically, and over the last ``average_frac`` of the steps the reported q is the
running average of the iterates (Polyak-Ruppert averaging): at a small step size the
iterates jitter around the optimum with the Monte Carlo noise, and their average sits
much closer to it than any one of them.

The exact ELBO of each iterate is computed afterwards by quadrature (vi_core.metrics).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vi_core.families import GaussianQ
from vi_core.runner import Algorithm
from vi_core.targets import Target

__all__ = ["AdamOptions", "GaussInfo", "GaussState", "adam_update", "gaussian_vi", "to_q"]


class GaussState(NamedTuple):
    """theta (4,) or (5,): parameters; mom1, mom2: Adam moments like theta; t: steps taken;
    avg: the reported parameters, theta until averaging starts, then the running mean of the
    iterates since (``to_q(state.avg)`` is the q of this step)."""

    theta: np.ndarray
    mom1: np.ndarray
    mom2: np.ndarray
    t: int
    avg: np.ndarray | None = None


class GaussInfo(NamedTuple):
    mc_elbo: float  # the Monte Carlo ELBO estimate the step's gradient came from
    grad_norm: float


class AdamOptions(NamedTuple):
    lr: float = 0.1
    final_lr_frac: float = 0.05  # lr decays geometrically to lr * final_lr_frac at the last step
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    average_frac: float = 0.25  # report the running mean of the iterates over this last fraction of the steps


def adam_update(
    theta: np.ndarray,
    mom1: np.ndarray,
    mom2: np.ndarray,
    grad: np.ndarray,
    t: int,
    lr: float,
    unit: np.ndarray,
    adam: AdamOptions = AdamOptions(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Adam ascent step on the parameters (the ELBO is maximised) -> (theta, mom1, mom2).

    t >= 1: this step's number (for the bias corrections); lr: this step's learning rate (the
    caller's schedule); unit (P,): the length unit of each parameter's step; adam: beta1, beta2
    and eps (its lr and schedule fields are not read here). Shared by every Gaussian VI loop
    (also vi_core.scaling's minibatch VI)."""
    mom1 = adam.beta1 * mom1 + (1 - adam.beta1) * grad
    mom2 = adam.beta2 * mom2 + (1 - adam.beta2) * grad * grad
    mhat = mom1 / (1 - adam.beta1**t)
    vhat = mom2 / (1 - adam.beta2**t)
    return theta + lr * unit * mhat / (np.sqrt(vhat) + adam.eps), mom1, mom2


def to_q(theta: np.ndarray) -> GaussianQ:
    """The Gaussian q for a parameter vector, (4,) mean-field or (5,) full-rank."""
    chol = np.array([[np.exp(theta[2]), 0.0], [theta[4] if theta.size == 5 else 0.0, np.exp(theta[3])]])
    return GaussianQ(theta[:2].copy(), chol)


def gaussian_vi(
    target: Target,
    start: np.ndarray,
    init_sd: float,
    full_rank: bool,
    n_samples: int = 64,
    n_steps: int = 1000,
    adam: AdamOptions = AdamOptions(),
    scale: np.ndarray | None = None,
) -> Algorithm:
    """Gaussian VI as an init/step pair. ``n_steps`` sets the learning-rate schedule and when
    averaging starts. ``scale`` (2,): the length unit of mean steps per axis (default init_sd)."""
    decay = adam.final_lr_frac ** (1.0 / max(n_steps - 1, 1))
    avg_from = n_steps - round(adam.average_frac * n_steps)  # steps after this one are averaged
    sx, sy = (init_sd, init_sd) if scale is None else (float(scale[0]), float(scale[1]))
    unit = np.array([sx, sy, 1.0, 1.0] + ([sy] if full_rank else []))  # L21 has the units of z2

    def init(rng):
        theta = np.array([start[0], start[1], np.log(init_sd), np.log(init_sd)] + ([0.0] if full_rank else []))
        return GaussState(theta, np.zeros_like(theta), np.zeros_like(theta), 0, theta)

    def averaged(t, theta, avg):
        return theta if avg is None or t <= avg_from else avg + (theta - avg) / (t - avg_from)

    def step(rng, state):
        theta = state.theta
        eps = rng.standard_normal((n_samples, 2))
        l11, l22 = np.exp(theta[2]), np.exp(theta[3])
        l21 = theta[4] if full_rank else 0.0
        z = np.empty_like(eps)
        z[:, 0] = theta[0] + l11 * eps[:, 0]
        z[:, 1] = theta[1] + l21 * eps[:, 0] + l22 * eps[:, 1]
        with np.errstate(all="ignore"):
            logp = target.log_density(z)
            g = target.grad_log_density(z)
        mc_elbo = float(logp.mean()) + 1.0 + np.log(2 * np.pi) + theta[2] + theta[3]
        grad = np.empty_like(theta)
        grad[:2] = g.mean(axis=0)
        grad[2] = l11 * (g[:, 0] * eps[:, 0]).mean() + 1.0
        grad[3] = l22 * (g[:, 1] * eps[:, 1]).mean() + 1.0
        if full_rank:
            grad[4] = (g[:, 1] * eps[:, 0]).mean()
        if not np.isfinite(grad).all():
            # A draw landed where the density is zero or overflowing: skip the update, keep going.
            t = state.t + 1
            return state._replace(t=t, avg=averaged(t, theta, state.avg)), GaussInfo(mc_elbo, float("nan"))
        t = state.t + 1
        theta, mom1, mom2 = adam_update(theta, state.mom1, state.mom2, grad, t, adam.lr * decay ** (t - 1), unit, adam)
        state = GaussState(theta, mom1, mom2, t, averaged(t, theta, state.avg))
        return state, GaussInfo(mc_elbo, float(np.linalg.norm(grad)))

    return Algorithm(init, step)
