"""MCMC: emcee recovers a known Gaussian within Monte Carlo error; diagnostics; determinism."""

import numpy as np
import pytest

from vi_core import methods
from vi_core.api import MCMC_METHODS, Settings, run_sampler
from vi_core.chains import McmcRun, burn_in, chain_of, diagnostics, initial_walkers
from vi_core.mcmc import ensemble, log_prob_fn
from vi_core.methods.emcee_moves import MOVES
from vi_core.runner import run
from vi_core.targets import make_target

TRUE_COV = np.array([[1.0, 0.8], [0.8, 1.0]])


def _emcee(t, move, seed, start, spread, n_walkers, n_steps=500) -> McmcRun:
    """emcee with one of its registered moves on the one run loop, as arrays (what the registry's builder runs)."""
    return chain_of(run(ensemble(t, MOVES[move](0.5), start, spread, n_walkers), n_steps, seed))


def test_emcee_recovers_mean_and_covariance_within_4_mcse():
    t = make_target("gaussian", rho=0.8)
    run = _emcee(t, "emcee", 11, start=np.array([1.5, -1.5]), spread=np.full(2, 0.3), n_walkers=64, n_steps=1500)
    d = diagnostics(run)
    # MCSE of a mean: sd / sqrt(ESS); of a (co)variance of a Gaussian: sqrt((S_ii S_jj + S_ij^2) / ESS).
    ess = d.ess.min()
    mcse_mean = np.sqrt(np.diag(TRUE_COV) / d.ess)
    assert np.all(np.abs(d.mean) < 4 * mcse_mean), f"Incorrect mean {d.mean}, MCSE {mcse_mean}"
    mcse_cov = np.sqrt((np.outer(np.diag(TRUE_COV), np.diag(TRUE_COV)) + TRUE_COV**2) / ess)
    assert np.all(np.abs(d.cov - TRUE_COV) < 4 * mcse_cov), f"Incorrect covariance {d.cov}"
    assert 0.3 < d.acceptance < 0.9 and np.all(d.rhat < 1.05)


@pytest.mark.parametrize("method", MCMC_METHODS)
def test_every_move_samples_the_gaussian(method):
    t = make_target("gaussian", rho=0.5)
    res = run_sampler(t, method, seed=2, settings=Settings(walkers=32, mcmc_steps=800, step_size=1.0))
    assert np.all(np.abs(res.mean) < 4 * np.sqrt(1.0 / res.ess)), f"{method}: mean {res.mean}"
    assert abs(res.cov[0, 1] - 0.5) < 0.15
    assert res.times.shape == (800,) and np.all(np.diff(res.times) >= 0)
    chains = res.chain.shape[1]
    assert chains == (Settings().chains if "chains" in methods.get(method).settings else 32)
    assert res.chain.shape == (800, chains, 2) and res.n_samples == (800 - burn_in(800)) * chains


def test_diagnostics_agree_with_independent_draws():
    # Exact iid draws as a 'chain': ESS ~ number of draws, R-hat ~ 1, tau ~ 1, acceptance 1.
    rng = np.random.default_rng(0)
    chain = rng.standard_normal((400, 8, 2))
    d = diagnostics(McmcRun(chain, np.arange(400.0), np.ones((400, 8), bool)))
    n = 300 * 8
    assert np.all(np.abs(d.ess / n - 1) < 0.15) and np.all(np.abs(d.rhat - 1) < 0.01)
    assert np.all(np.abs(d.tau - 1) < 0.3) and d.acceptance == 1.0


def test_acceptance_counts_moves():
    t = make_target("gaussian", rho=0.0)
    # within burn-in, before the proposal is tuned (at step 25 of 200): the step size alone decides
    tiny = run_sampler(t, "rwm", seed=0, settings=Settings(mcmc_steps=200, step_size=0.01))
    huge = run_sampler(t, "rwm", seed=0, settings=Settings(mcmc_steps=200, step_size=50.0))
    early = slice(0, 24)
    moved = [np.any(r.chain[1:] != r.chain[:-1], axis=-1)[early].mean() for r in (tiny, huge)]
    assert moved[0] > 0.95 and moved[1] < 0.05


def test_random_walk_tunes_its_proposal_in_burn_in():
    # A ρ = 0.9 Gaussian: after burn-in the proposal is 2.38²/2 x the draws' covariance, so acceptance is near the
    # efficient 0.35 whatever the step size it started with, and the chains mix (τ far below 37, the best fixed
    # isotropic step's τ is 18).
    t = make_target("gaussian", rho=0.9)
    for step in (0.05, 0.5, 5.0):
        r = run_sampler(t, "rwm", seed=1, settings=Settings(mcmc_steps=2000, step_size=step))
        kept = np.any(r.chain[1:] != r.chain[:-1], axis=-1)[burn_in(r.n_steps) :]
        assert 0.25 < kept.mean() < 0.5, (step, kept.mean())
        assert np.max(r.tau) < 12 and np.max(r.rhat) < 1.01, (step, r.tau, r.rhat)


@pytest.mark.parametrize("method", MCMC_METHODS)
def test_same_seed_same_chain(method):
    t = make_target("banana")
    s = Settings(mcmc_steps=50)
    a, b, c = (run_sampler(t, method, seed=k, settings=s) for k in (5, 5, 6))
    assert np.array_equal(a.chain, b.chain) and not np.array_equal(a.chain, c.chain)


def test_bad_sampler_arguments():
    t = make_target("gaussian")
    with pytest.raises(ValueError, match="unknown MCMC method 'slice'"):
        run_sampler(t, "slice")
    with pytest.raises(ValueError, match="unknown MCMC method 'cavi'"):
        run_sampler(t, "cavi")
    with pytest.raises(ValueError, match="walkers must be even"):
        run_sampler(t, "emcee", settings=Settings(walkers=7))
    with pytest.raises(ValueError, match="walkers must be an even number"):
        _emcee(t, "emcee", 0, start=np.zeros(2), spread=np.ones(2), n_walkers=7)


@pytest.mark.parametrize(
    ("target", "move"),
    [
        ("banana", "emcee"),
        ("banana", "emcee-de"),
        # a support boundary: walkers proposed at x < 0 get ln p = -inf and are refused, as emcee refuses them
        ("log(x) - x - y**2/2", "emcee"),
    ],
)
def test_stepping_emcee_from_the_loop_is_emcees_own_chain(target, move):
    # One iteration per step of vi_core.runner.run reproduces EnsembleSampler.run_mcmc exactly: the same move drawn,
    # the same log densities (our compute_log_prob for emcee's), the same chain.
    import emcee

    from vi_core.methods.emcee_moves import MOVES
    from vi_core.targets.expr import make_expr_target

    t = make_target(target) if target == "banana" else make_expr_target(target, (0.0, 6.0, -4.0, 4.0))
    start = np.array([1.0, 2.0]) if target == "banana" else np.array([0.5, 0.0])
    ours = _emcee(t, move, 3, start=start, spread=np.full(2, 0.2), n_walkers=16, n_steps=40)
    rng = np.random.default_rng(3)
    p0 = initial_walkers(rng, start, np.full(2, 0.2), 16)
    state = emcee.State(p0, random_state=np.random.RandomState(int(rng.integers(2**31))).get_state())
    sampler = emcee.EnsembleSampler(16, 2, log_prob_fn(t), moves=MOVES[move](0.5), vectorize=True)
    sampler.run_mcmc(state, 40, progress=False)
    assert np.array_equal(ours.chain, sampler.get_chain())
    if target != "banana":
        assert np.all(ours.chain[..., 0] > 0) and 0 < ours.accepted.mean() < 1
    assert abs(ours.accepted.mean() - sampler.acceptance_fraction.mean()) < 1e-12
