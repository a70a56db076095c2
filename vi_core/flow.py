"""Normalizing-flow VI: a 2D affine-coupling flow fitted by reverse KL, with an exact ln q.

q is the push-forward of u ~ N(0, I) through an affine layer and L affine coupling layers (vi_core.flow_nets has
the layers, their inverse and their backprop), set in box-normalised coordinates w and mapped to the box by
z = centre + unit * w (unit = the box's sides / 8, so the box is [-4, 4]^2 in w). Every layer is invertible by
construction, so ln q(z) = ln N(u) - ln|det dT/du| with u = T^{-1}(z) is exact at any point.

Fitting is by the reparameterisation trick on K base draws a step:

    ELBO_MC = mean_k [ln p~(T(u_k)) + ln|det J_T(u_k)|] + ln(2 pi) + 1,

its gradient in every parameter by backprop written out (flow_nets.backward), and Adam
(vi_core.gaussvi.adam_update; every parameter lives in w's units, so one length unit for all). AdamOptions is
honoured as in Gaussian VI: the learning rate decays geometrically to lr * final_lr_frac, and over the last
average_frac of the steps the reported q is the running average of the iterates.

Annealing (Rezende & Mohamed 2015): the objective's ln p~ is multiplied by beta_t = min(1, beta0 + t / T_anneal)
at step t (0-based), so q first spreads over a flattened target and then contracts onto its modes. It is ON by
default (beta0 = 0.2, T_anneal = half the run), because it measured better: without it U4 stuck in a local optimum
at KL 0.21 in each of six seeds (0.014-0.084 annealed) and U1 ended worse (median 0.016 against 0.010).

Initialisation: the affine layer is the Gaussian at ``start`` with sd ``sd`` per axis and every coupling's
output weights are zero, so the first q is exactly that Gaussian (Gaussian VI's start); the hidden units get
random slopes and their breakpoints spread over the box (from the run's rng).

q's mean and covariance come by quadrature in the base space (a 201 x 201 trapezoid grid over u in [-7.5, 7.5]^2
with the normal weights, pushed through the flow): deterministic, no seed, and accurate to far better than any
Monte Carlo estimate of the same cost while the flow is smooth. Its exact ELBO is the Family default (midpoint
rule on the working grid from ln q at the cell centres), hence ``on_grid = True``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import numpy as np

from vi_core.families import Family, normal_nodes
from vi_core.flow_nets import Layout, backward, forward, inverse, log_base, push
from vi_core.gaussvi import AdamOptions, adam_update
from vi_core.runner import Algorithm
from vi_core.targets import Target

__all__ = [
    "ANNEAL_FRAC",
    "DEFAULT_ADAM",
    "DEFAULT_ANNEAL",
    "DEFAULT_BETA0",
    "DEFAULT_HIDDEN",
    "DEFAULT_LAYERS",
    "DEFAULT_LR",
    "DEFAULT_SAMPLES",
    "DEFAULT_STEPS",
    "Anneal",
    "FlowInfo",
    "FlowQ",
    "FlowState",
    "Frame",
    "flow_vi",
    "init_theta",
    "mc_objective",
    "to_q",
]

# Chosen by measurement (make_grid(target, 200), exact KL = log_z - q.elbo(grid), start and sd as vi_core.api
# gives every method; CPU seconds of the whole run on this 2-core machine, which others were sharing):
#   K = 128 against 64 (8000 steps, annealed, seeds 0-2): max KL u3 0.039 vs 0.058, u4 0.067 vs 0.106, squiggle
#     0.009 vs 0.033, at about the same cost a step (numpy's per-call overhead dominates, not the K draws);
#   at K = 64: lr 0.01 against 0.02 (squiggle stuck at 0.88 and 0.57 in 2 of 3 seeds) and 0.005 (u4 up to 0.16),
#     H = 32 against 16 (u4 0.03-0.11 vs 0.10-0.14);
#   L = 8 against 6 (u3 max 0.033 vs 0.063, seeds 0-4) and 10 (no better, 20% slower); without iterate averaging
#     (final_lr_frac 0.05) squiggle stuck at 0.55 and 0.46 in 2 of 4 seeds.
#   The defaults, max KL over seeds 0-9 (best mean-field): u1 0.031 (0.141), u2 0.006 (0.906), u3 0.052 (0.797),
#     u4 0.101 (1.038), donut 0.013 (0.652), squiggle 0.017 (1.152); 3.1-3.5 s CPU a run.
DEFAULT_LAYERS = 8
DEFAULT_HIDDEN = 32
DEFAULT_SAMPLES = 128
DEFAULT_STEPS = 8000
DEFAULT_LR = 0.01
DEFAULT_ADAM = AdamOptions(lr=DEFAULT_LR, final_lr_frac=0.1, average_frac=0.25)
# Annealing is on by default: without it u4 stuck at KL 0.21 in each of seeds 4-9 (0.014-0.084 annealed) and u1's
# median KL was 0.016 (0.010 annealed). beta0 = 0.2 against 0.05 and 0.1: from there q spread far
# past the box and squiggle stuck at 0.26 and 0.38 in one of 6 seeds (none in 10 at 0.2).
DEFAULT_BETA0 = 0.2
ANNEAL_FRAC = 0.5  # T_anneal = this fraction of the run's steps unless Anneal.n_steps says otherwise

_H0 = math.log(2.0 * math.pi) + 1.0  # the base's entropy, H[N(0, I_2)]
_QUAD_N = 201  # base-space quadrature for mean and cov: nodes a side over u in [-7.5, 7.5]
_QUAD_HALF = 7.5


class Anneal(NamedTuple):
    """beta_t = min(1, beta0 + t / T_anneal) multiplies ln p~ in the objective at step t (0-based); T_anneal is
    n_steps, or ANNEAL_FRAC of the run's steps when None."""

    beta0: float = DEFAULT_BETA0
    n_steps: int | None = None

    def beta(self, t: int, run_steps: int) -> float:
        span = self.n_steps if self.n_steps is not None else ANNEAL_FRAC * run_steps
        return min(1.0, self.beta0 + t / max(span, 1))


DEFAULT_ANNEAL: Anneal | None = Anneal()


class Frame(NamedTuple):
    """z = centre + unit * w: the box's centre (2,) and length unit per axis (2,), its sides / 8."""

    centre: np.ndarray
    unit: np.ndarray

    @classmethod
    def of(cls, box) -> Frame:
        x0, x1, y0, y1 = (float(v) for v in box)
        return cls(np.array([0.5 * (x0 + x1), 0.5 * (y0 + y1)]), np.array([(x1 - x0) / 8.0, (y1 - y0) / 8.0]))


class FlowState(NamedTuple):
    """theta (P,): the parameters (flow_nets.Layout views them); mom1, mom2: Adam's moments like theta (None in the
    trace, see ``flow_vi``); t: steps taken; avg: the reported parameters (theta until averaging starts, then the
    running mean of the iterates since); layout, frame: the flow's shape and its map to the box."""

    theta: np.ndarray
    mom1: np.ndarray | None
    mom2: np.ndarray | None
    t: int
    avg: np.ndarray
    layout: Layout
    frame: Frame


class FlowInfo(NamedTuple):
    mc_elbo: float  # the Monte Carlo ELBO estimate (beta = 1) at this step's draws
    objective: float  # the annealed objective the gradient was taken of (= mc_elbo once beta = 1)
    beta: float
    grad_norm: float


def init_theta(layout: Layout, frame: Frame, start, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Parameters whose q is N(start, sd^2 I): the affine layer set, coupling outputs zero, hidden slopes N(0, 1)
    and breakpoints uniform over the box ([-4, 4] in w)."""
    theta = np.zeros(layout.size)
    p = layout.views(theta)
    p.shift[:] = (np.asarray(start, dtype=float) - frame.centre) / frame.unit
    p.log_diag[:] = np.log(sd / frame.unit)
    p.w_in[:] = rng.standard_normal(p.w_in.shape)
    p.b_in[:] = -p.w_in * rng.uniform(-4.0, 4.0, p.w_in.shape)
    return theta


def mc_objective(
    target: Target, frame: Frame, layout: Layout, theta: np.ndarray, u: np.ndarray, beta: float = 1.0
) -> tuple[float, float, np.ndarray]:
    """At base draws u (K, 2): (the MC ELBO, the annealed objective mean_k[beta ln p~ + ln|det|] + H0, and that
    objective's gradient in theta (P,))."""
    w, logdet, cache = forward(layout, theta, u)
    z = frame.centre + frame.unit * w
    with np.errstate(all="ignore"):
        lp = np.asarray(target.log_density(z), dtype=float)
        g = np.asarray(target.grad_log_density(z), dtype=float)
    k = u.shape[0]
    ld = float(logdet.mean()) + float(np.log(frame.unit).sum())
    mean_lp = float(lp.mean())
    grad = backward(layout, theta, cache, (beta / k) * g * frame.unit, np.full(k, 1.0 / k))
    return mean_lp + ld + _H0, beta * mean_lp + ld + _H0, grad


def flow_vi(
    target: Target,
    start,
    sd: float,
    box,
    n_layers: int = DEFAULT_LAYERS,
    hidden: int = DEFAULT_HIDDEN,
    n_samples: int = DEFAULT_SAMPLES,
    n_steps: int = DEFAULT_STEPS,
    adam: AdamOptions = DEFAULT_ADAM,
    anneal: Anneal | None = DEFAULT_ANNEAL,
) -> Algorithm:
    """Flow VI as an init/step pair for vi_core.runner.run. ``n_steps`` sets the learning-rate schedule and when
    averaging starts; ``anneal`` None fits the plain ELBO throughout. The trace keeps each state without its Adam
    moments (``keep``): ``to_q`` needs only the parameters."""
    if n_layers < 1 or hidden < 1 or n_samples < 1:
        raise ValueError(f"flow needs n_layers, hidden, n_samples >= 1, got {n_layers}, {hidden}, {n_samples}")
    layout, frame = Layout(int(n_layers), int(hidden)), Frame.of(box)
    decay = adam.final_lr_frac ** (1.0 / max(n_steps - 1, 1))
    avg_from = n_steps - round(adam.average_frac * n_steps)  # steps after this one are averaged
    unit = np.ones(layout.size)

    def init(rng):
        theta = init_theta(layout, frame, start, sd, rng)
        return FlowState(theta, np.zeros_like(theta), np.zeros_like(theta), 0, theta, layout, frame)

    def averaged(t, theta, avg):
        return theta if t <= avg_from else avg + (theta - avg) / (t - avg_from)

    def step(rng, state):
        t = state.t + 1
        beta = 1.0 if anneal is None else anneal.beta(state.t, n_steps)
        u = rng.standard_normal((n_samples, 2))
        mc_elbo, obj, grad = mc_objective(target, frame, layout, state.theta, u, beta)
        if not (np.isfinite(grad).all() and math.isfinite(obj)):
            # A draw landed where the density is zero or overflowing: skip the update, keep going.
            return state._replace(t=t, avg=averaged(t, state.theta, state.avg)), FlowInfo(mc_elbo, obj, beta, math.nan)
        lr = adam.lr * decay ** (t - 1)
        theta, mom1, mom2 = adam_update(state.theta, state.mom1, state.mom2, grad, t, lr, unit, adam)
        new = FlowState(theta, mom1, mom2, t, averaged(t, theta, state.avg), layout, frame)
        return new, FlowInfo(mc_elbo, obj, beta, float(np.linalg.norm(grad)))

    return Algorithm(init, step, keep=lambda s: s._replace(mom1=None, mom2=None))


@dataclasses.dataclass(frozen=True, eq=False)
class FlowQ(Family):
    """The flow's q: layout (its shape), theta (P,) its parameters, frame its map to the box. Exact ln q by the
    inverse; mean and cov by quadrature in the base space (module docstring)."""

    layout: Layout
    theta: np.ndarray
    frame: Frame
    on_grid = True  # its ELBO is the Family default: a midpoint sum on the grid's cells
    drawn_as = "q's contours where its density is e^-½, e^-2, e^-9/2 of its peak (a Gaussian's 1, 2, 3σ)"

    def forward(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """z = T(u) for u (..., 2) -> (z (..., 2), ln|det dz/du| (...))."""
        w, ld = push(self.layout, self.theta, u)
        return self.frame.centre + self.frame.unit * w, ld + float(np.log(self.frame.unit).sum())

    def inverse(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """u = T^{-1}(z) for z (..., 2) -> (u (..., 2), ln|det dz/du| at u (...))."""
        w = (np.asarray(z, dtype=float) - self.frame.centre) / self.frame.unit
        u, ld = inverse(self.layout, self.theta, w)
        return u, ld + float(np.log(self.frame.unit).sum())

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        """ln q(z) = ln N(u) - ln|det dz/du|, u = T^{-1}(z), for z (..., 2) -> (...)."""
        u, ld = self.inverse(z)
        return log_base(u) - ld

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws, (n, 2)."""
        return self.forward(rng.standard_normal((n, 2)))[0]

    def cell_weights(self, grid) -> np.ndarray:
        # kept per grid: the ELBO, the MMD and the W1 each ask for them, and each pass through the inverse costs
        # ~25 ms on a 200 x 200 grid (read-only, so a caller cannot change what the next one reads)
        cache = self.__dict__.setdefault("_cells", {})
        key = (id(grid), grid.box, grid.xs.size, grid.ys.size)
        if key not in cache:
            w = super().cell_weights(grid)
            w.setflags(write=False)
            cache[key] = w
        return cache[key]

    @functools.cached_property
    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        u, wts = normal_nodes(_QUAD_N, _QUAD_HALF)
        z = self.forward(u)[0]
        mean = wts @ z
        d = z - mean
        return mean, (d * wts[:, None]).T @ d

    @property
    def mean(self) -> np.ndarray:
        return self._moments[0].copy()

    @property
    def cov(self) -> np.ndarray:
        return self._moments[1].copy()


def to_q(state: FlowState) -> FlowQ:
    """The q a state reports (its averaged parameters)."""
    return FlowQ(state.layout, state.avg, state.frame)
