"""Random-walk Metropolis with its proposal tuned in burn-in (vi_core.rwm)."""

import numpy as np

from vi_core.chains import burn_in
from vi_core.runner import run
from vi_core.rwm import ADAPT_SCALE, rwm
from vi_core.targets import make_target


def _run(target, steps=400, chains=8, step_size=0.5, seed=0, start=(1.0, 1.0)):
    algo = rwm(target, np.array(start), np.full(2, 0.1), chains, step_size, steps)
    return run(algo, steps, seed)


def test_the_proposal_is_tuned_in_burn_in_and_frozen_after():
    t = make_target("gaussian", rho=0.9)
    steps = 800
    algo = rwm(t, np.array([1.0, 1.0]), np.full(2, 0.1), 16, 0.5, steps)
    rng = np.random.default_rng(0)
    state = algo.init(rng)
    chols = []
    for _ in range(steps):
        state, _ = algo.step(rng, state)
        chols.append(state.chol.copy())
    n_warm = burn_in(steps)
    # changed at the end of burn-in's two windows, never after it
    changes = [k for k in range(1, steps) if not np.array_equal(chols[k], chols[k - 1])]
    assert changes == [n_warm // 2 - 1, n_warm - 1], changes
    # tuned to 2.38²/2 x the draws' covariance: the proposal leans along the ρ = 0.9 ridge
    cov = chols[-1] @ chols[-1].T / ADAPT_SCALE
    corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    assert corr > 0.7 and 0.5 < cov[0, 0] < 1.5, cov


def test_kept_draws_have_the_right_moments():
    t = make_target("gaussian", rho=0.9)
    trace = _run(t, steps=3000, chains=16, seed=2)
    z = np.stack(trace.states[1:])[burn_in(3000) :].reshape(-1, 2)
    assert np.allclose(z.mean(0), 0, atol=0.06) and np.allclose(np.cov(z.T), [[1, 0.9], [0.9, 1]], atol=0.08)


def test_a_chain_started_outside_the_support_moves_to_any_point_inside():
    # a typed target with a hard edge: x > 0 only
    from vi_core.targets.expr import make_expr_target

    t = make_expr_target("log(x) - (x**2 + y**2)/2", "-3, 3, -3, 3")  # log of x <= 0: outside the support
    trace = _run(t, steps=200, chains=4, start=(-2.0, 0.0), step_size=1.5)
    last = trace.states[-1]
    assert np.all(last[:, 0] > 0), last  # every chain found the support and stayed in it


def test_a_density_of_plus_infinity_carries_no_mass():
    from vi_core.rwm import _log_density

    class Inf:
        def log_density(self, z):
            return np.where(np.asarray(z)[..., 0] > 0, np.inf, 0.0)

    lp = _log_density(Inf(), np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert lp[0] == -np.inf and lp[1] == 0.0
