"""Scaling's methods: one registry, name -> ``ScaleMethod`` (its label, kind, what it is in words and the builder of
its run).

Every method starts at the prior's centre (0, 0) with length scale 1 (nothing from the reference), except that the
control-variate methods start at their anchor (the mode, found on their clock: vi_core.scaling.minibatch) and plain
SGLD at its subsample's mode. A builder ``build(post, batch)`` returns a ``ScalePlan``: the init/step ``Algorithm``,
its step cap, counters of evaluations (in full-posterior equivalents) and of rows touched, and how to read the
state's estimate: ``moments(state)`` (VI: q's mean and variances) or ``draws(state)`` (MCMC: the positions this step,
``warm(state)`` saying whether they are warm-up draws), and for the control-variate methods the measured gradient-
variance reduction (``grad_var(state)``, off the clock).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from vi_core import methods as _methods  # noqa: F401  (imported before vi_core.hmc, which needs it first)
from vi_core.chains import burn_in
from vi_core.counting import Counted
from vi_core.hmc import nuts
from vi_core.mcmc import ensemble
from vi_core.runner import Algorithm
from vi_core.scaling import minibatch as mb
from vi_core.scaling.model import LogisticPosterior
from vi_core.scaling.sgld import SGLD_INNER, SGLD_STEP, SgldSetup, sgld
from vi_core.scaling.vi import INNER, VI_DRAWS, VI_LR, gauss_vi, q_moments

__all__ = [
    "CV_BATCH",
    "CV_T0",
    "EMCEE_MAX_STEPS",
    "EMCEE_WALKERS",
    "METHODS",
    "NUTS_CHAINS",
    "NUTS_MAX_STEPS",
    "NUTS_SETTINGS",
    "NUTS_STEPS",
    "SGLD_MAX_STEPS",
    "VI_MAX_STEPS",
    "NutsSettings",
    "OnePass",
    "ScaleMethod",
    "ScalePlan",
]

VI_MAX_STEPS = 1_000_000  # calls of the step (INNER VI steps each for the minibatch methods)
SGLD_MAX_STEPS = 200_000  # calls of the step (SGLD_INNER steps each)
EMCEE_WALKERS, EMCEE_MAX_STEPS = 32, 100_000
NUTS_CHAINS, NUTS_STEPS = 1, 1000  # warm-up: the first quarter of NUTS_STEPS (vi_core.hmc), 250 iterations
NUTS_MAX_STEPS = 50_000  # after warm-up it samples on, as long as its budget allows


class NutsSettings(NamedTuple):
    """What vi_core.hmc.nuts reads of its settings. Not vi_core.settings.Settings: the app's table asks for at least
    two chains (R-hat needs them), while the race here is to an accurate estimate, which one chain reaches sooner
    (the chains run one after another: each more doubles the warm-up's cost)."""

    chains: int
    mcmc_steps: int
    target_accept: float


NUTS_SETTINGS = NutsSettings(NUTS_CHAINS, NUTS_STEPS, 0.8)
# the control-variate methods' minibatch and the VI's schedule, chosen by measurement (benchmarks/scaling.py --tune:
# at N = 10^6, B = 100 reached the fair accuracy with fewer rows than 300 or 1000, as soon or sooner; its learning
# rate held 500 steps came sooner than 200 or 1000)
CV_BATCH, CV_T0 = 100, 500
_START, _SCALE = np.zeros(2), 1.0  # every method starts at the prior's centre with length scale 1


class ScalePlan(NamedTuple):
    """One method's run on one posterior: exactly one of ``moments`` and ``draws`` is set. rows() -> rows touched
    so far (one row's term at one point = 1); warm(state) -> whether draws(state) are warm-up draws (None: the
    sampler has no warm-up of its own, the first quarter of its steps is burn-in); grad_var(state) -> the measured
    gradient-variance reduction factor (control-variate methods)."""

    algo: Algorithm
    max_steps: int
    counter: Callable[[], tuple[int, int]]
    rows: Callable[[], int]
    moments: Callable[[Any], tuple[np.ndarray, np.ndarray]] | None = None
    draws: Callable[[Any], np.ndarray] | None = None
    warm: Callable[[Any], bool] | None = None
    grad_var: Callable[[Any], float] | None = None


class ScaleMethod(NamedTuple):
    name: str
    label: str
    kind: str  # "vi" | "mcmc"
    minibatch: bool
    build: Callable[[LogisticPosterior, int], ScalePlan]
    about: str = ""  # what it is and how it is set, in words (the page shows it)
    cv: bool = False  # a control variate around an anchor
    batch: int | None = None  # its own minibatch size (None: the caller's B)


def _vi(full_rank: bool, minibatch: bool, cv: bool = False):
    def build(post: LogisticPosterior, batch: int) -> ScalePlan:
        rows = mb.Rows()

        def setup(rng):
            if not minibatch:

                def grad(z, j):  # one block: every row
                    rows.n += z.shape[0] * post.n
                    return post.grad_log_density(z).tolist()

                return grad, 1, None, _START
            b = mb.Batches(post, batch, rng)
            if not cv:
                return mb.plain_grad(b, rows), b.nb, b, _START
            anchor = mb.find_anchor(b, rows)
            return mb.cv_grad(b, anchor, rows), b.nb, (b, anchor), anchor.theta

        if not minibatch:
            algo = gauss_vi(full_rank, setup, 1, 200.0, _SCALE)
        else:
            nb = max(1, -(-post.n // max(1, batch)))  # the blocks Batches will cut
            algo = gauss_vi(full_rank, setup, INNER, float(CV_T0) if cv else max(200.0, float(nb)), _SCALE)

        def counter():
            return 0, round(rows.n / post.n)  # full-data gradient equivalents

        grad_var = None
        if cv:

            def grad_var(s):
                b, anchor = s.setup.built
                return mb.variance_reduction(b, anchor)

        return ScalePlan(
            algo, VI_MAX_STEPS, counter, lambda: rows.n, moments=lambda s: q_moments(s.avg), grad_var=grad_var
        )

    return build


class OnePass:
    """The posterior with its log density and gradient made in one pass over the rows (``value_and_grad``) and the
    last point's both kept: NUTS asks for the gradient and then the log density of the same point, and a compiled
    sampler would compute them together. rows: rows touched (N per point of each pass)."""

    def __init__(self, post: LogisticPosterior):
        self._post = post
        self._key: bytes | None = None
        self._val: tuple[np.ndarray, np.ndarray] | None = None
        self.rows = 0

    def __getattr__(self, name: str):
        return getattr(self._post, name)

    def _both(self, z):
        z = np.asarray(z, dtype=float)
        key = z.tobytes() + bytes(str(z.shape), "ascii")
        if key != self._key:
            lp, g = self._post.value_and_grad(z.reshape(-1, 2))
            self.rows += (z.size // 2) * self._post.n
            self._key, self._val = key, (lp.reshape(z.shape[:-1]), g.reshape(z.shape))
        return self._val

    def log_density(self, z):
        return self._both(z)[0]

    def grad_log_density(self, z):
        return self._both(z)[1]


def _emcee(post: LogisticPosterior, batch: int) -> ScalePlan:
    import emcee

    counted = Counted(post)
    algo = ensemble(counted, emcee.moves.StretchMove(), _START, np.full(2, _SCALE), EMCEE_WALKERS)

    def rows():
        return (counted.n_density + counted.n_grad) * post.n

    return ScalePlan(algo, EMCEE_MAX_STEPS, counted.counts, rows, draws=lambda s: s.walkers.coords)


def _nuts(post: LogisticPosterior, batch: int) -> ScalePlan:
    one = OnePass(post)
    counted = Counted(one)
    algo = nuts(counted, NUTS_SETTINGS, _START, _SCALE)
    n_warm = burn_in(NUTS_STEPS)
    # iteration i's draw (state.it = i + 1 after it) is a warm-up draw when i < n_warm; the initial state (it 0) too
    return ScalePlan(algo, NUTS_MAX_STEPS, counted.counts, lambda: one.rows, draws=lambda s: s.z,
                     warm=lambda s: s.it <= n_warm)  # fmt: skip


def _sgld(cv: bool):
    def build(post: LogisticPosterior, batch: int) -> ScalePlan:
        rows = mb.Rows()

        def setup(rng):
            b = mb.Batches(post, batch, rng)
            if cv:
                anchor = mb.find_anchor(b, rows)
                chol = np.linalg.cholesky(np.linalg.inv(anchor.hess))
                return SgldSetup(mb.cv_grad(b, anchor, rows), b.nb, chol, (b, anchor)), anchor.theta
            mode, hess = mb.subsample_mode(b, rows)
            chol = np.linalg.cholesky(np.linalg.inv(hess))
            return SgldSetup(mb.plain_grad(b, rows), b.nb, chol, b), mode

        def counter():
            return 0, round(rows.n / post.n)

        grad_var = None
        if cv:

            def grad_var(s):
                b, anchor = s.setup.built
                return mb.variance_reduction(b, anchor)

        return ScalePlan(sgld(setup), SGLD_MAX_STEPS, counter, lambda: rows.n, draws=lambda s: s.draws,
                         grad_var=grad_var)  # fmt: skip

    return build


_B = "B rows a step (the page's B)"
_CVB = f"B = {CV_BATCH} rows a step"
METHODS: dict[str, ScaleMethod] = {
    m.name: m
    for m in (
        ScaleMethod("minibatch-mf", "Minibatch VI, mean-field", "vi", True, _vi(False, True),
                    f"Gaussian VI, mean-field; plain minibatch gradients ({_B}, {VI_DRAWS} draws); Adam, step "
                    f"{VI_LR:g} held for max(200, N/B) steps then decaying as t^-0.6; {INNER} steps per loop."),
        ScaleMethod("minibatch-fr", "Minibatch VI, full-rank", "vi", True, _vi(True, True),
                    f"Gaussian VI, full-rank; plain minibatch gradients ({_B}, {VI_DRAWS} draws); Adam, step "
                    f"{VI_LR:g} held for max(200, N/B) steps then decaying as t^-0.6; {INNER} steps per loop."),
        ScaleMethod("minibatch-cv", "Minibatch VI + control variate, full-rank", "vi", True, _vi(True, True, True),
                    f"Gaussian VI, full-rank; control-variate minibatch gradients around the mode ({_CVB}, "
                    f"{VI_DRAWS} draws), the mode found by Newton on {mb.ANCHOR_SUBSAMPLE:,} rows then full passes "
                    f"(on the clock); q starts there with sd 1; Adam, step {VI_LR:g} held for {CV_T0} steps then "
                    f"decaying as t^-0.6; {INNER} steps per loop.", cv=True, batch=CV_BATCH),
        ScaleMethod("fullbatch-fr", "Full-batch VI, full-rank", "vi", False, _vi(True, False),
                    f"Gaussian VI, full-rank; every step's gradient on all N rows at {VI_DRAWS} draws; Adam, step "
                    f"{VI_LR:g} held for 200 steps then decaying as t^-0.6."),
        ScaleMethod("emcee", "emcee (stretch move)", "mcmc", False, _emcee,
                    f"{EMCEE_WALKERS} walkers, every step on all N rows; burn-in: the first quarter of the steps."),
        ScaleMethod("nuts", "NUTS", "mcmc", False, _nuts,
                    f"{NUTS_CHAINS} chain{'s' if NUTS_CHAINS > 1 else ''}, log density and gradient in one pass over "
                    f"all N rows; warm-up (step size, diagonal metric) the first {burn_in(NUTS_STEPS)} iterations, "
                    "its draws not scored; then it samples on as long as its budget allows."),
        ScaleMethod("sgld", "SGLD", "mcmc", True, _sgld(False),
                    f"Langevin steps on plain minibatch gradients ({_B}, drawn independently), fixed step h = "
                    f"{SGLD_STEP:g} preconditioned by the Hessian at a {mb.ANCHOR_SUBSAMPLE:,}-row subsample's mode "
                    f"(where it starts); no accept/reject; burn-in: the first quarter; {SGLD_INNER} steps per loop."),
        ScaleMethod("sgld-cv", "SGLD-CV", "mcmc", True, _sgld(True),
                    f"SGLD on control-variate gradients around the mode (as for VI + control variate, {_CVB}), "
                    "fixed step "
                    f"h = {SGLD_STEP:g} preconditioned by the Hessian there (where it starts); no accept/reject; "
                    f"burn-in: the first quarter; {SGLD_INNER} steps per loop.", cv=True, batch=CV_BATCH),
    )
}  # fmt: skip
