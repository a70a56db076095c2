"""The run entry points: every target x method, timestamps, determinism, validation."""

import dataclasses
import math
from dataclasses import MISSING

import numpy as np
import pytest

from vi_core import methods
from vi_core.api import MCMC_METHODS, METHODS, VI_METHODS, Settings, ViResult, run_method, run_sampler, run_vi
from vi_core.targets import REGISTRY, make_target

SMALL = Settings(n_grid=80, cavi_sweeps=20, vi_steps=30, flow_steps=60, walkers=8, mcmc_steps=30)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_target_and_method_runs(name, method):
    grid, res, seconds = run_method(make_target(name), method, seed=0, settings=SMALL)
    assert seconds >= res.wall_time_s > 0
    assert np.all(np.diff(res.times) >= 0)
    assert np.all(np.isfinite(res.mmd)) and res.mmd.shape == res.snap.shape
    if method in VI_METHODS:
        assert res.mean.shape == (res.n_steps + 1, 2) and res.cov.shape == (res.n_steps + 1, 2, 2)
        assert res.verdict_level in ("good", "warn", "bad") and res.verdict
        if not res.qs[-1].has_density:  # particles: nothing to integrate, so no ELBO or KL (never a made-up one)
            assert np.all(np.isnan(res.elbo)) and np.all(np.isnan(res.kl)) and math.isnan(res.khat)
        else:
            assert np.allclose(res.elbo + res.kl, grid.log_z, atol=1e-12)
        if methods.get(method).best is None:  # no search for the family's best: the split is unknown, not zero
            assert math.isnan(res.kl_best) and math.isnan(res.optimisation_gap)
        else:
            assert math.isclose(res.elbo_best + res.kl_best, grid.log_z, abs_tol=1e-12)
            assert res.optimisation_gap >= -1e-6 and res.n_optima >= 1
            assert res.kl_best - 1e-6 <= res.kl_local <= res.kl[-1] + 1e-12
    else:
        chains = SMALL.chains if "chains" in methods.get(method).settings else SMALL.walkers
        assert res.chain.shape == (30, chains, 2) and res.chain.dtype == np.float32
        assert res.verdict_level in ("good", "warn", "bad") and res.verdict
    # the cost counters: cumulative, one row per recorded state, and something was spent
    assert res.evals.shape == (res.times.size, 2) and np.all(np.diff(res.evals, axis=0) >= 0)
    assert res.evals[-1].sum() > 0 or method == "gibbs"  # closed-form conditionals evaluate nothing
    summary = res.summary()
    assert summary["n_density_evals"] == res.evals[-1, 0] and summary["n_grad_evals"] == res.evals[-1, 1]


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_numbers(method):
    t = make_target("squiggle")
    a, b, c = (run_method(t, method, seed=s, settings=SMALL)[1] for s in (1, 1, 2))
    for field in ("mmd", "mean_err", "cov_err"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    if method != "cavi":  # CAVI is deterministic: the seed has nothing to change
        assert not np.array_equal(a.mmd, c.mmd)


def test_vi_plateaus_while_mcmc_keeps_improving():
    # The lesson of the accuracy-vs-time chart, on the default correlated Gaussian.
    t = make_target("gaussian", rho=0.8)
    vi = run_vi(t, "gauss-mf", seed=0)
    mc = run_sampler(t, "emcee", seed=0, settings=Settings(walkers=64, mcmc_steps=800))
    assert vi.mmd[-1] > 0.15, "mean-field q is biased: it cannot reach the truth"
    assert mc.mmd[-1] < vi.mmd[-1] / 3, "MCMC beats VI's bias given time"
    assert mc.mmd[-1] < mc.mmd[len(mc.mmd) // 4]


def test_time_budget_stops_a_run_early():
    t = make_target("gaussian")
    res = run_sampler(t, "emcee", settings=Settings(mcmc_steps=50_000, time_budget_s=0.05))
    assert res.n_steps < 50_000 and res.wall_time_s < 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: run_vi(make_target("gaussian"), "nuts"), "unknown VI method 'nuts'"),
        (lambda: run_method(make_target("gaussian"), "magic"), "unknown method 'magic'"),
        (lambda: run_vi(make_target("gaussian"), "cavi", seed=-1), "seed must be an integer"),
        (lambda: run_vi(make_target("gaussian"), "cavi", seed=1.5), "seed must be an integer"),
        (lambda: Settings(vi_steps=0), "vi_steps=0 is outside its bounds"),
        (lambda: Settings(vi_lr=float("nan")), "vi_lr must be a finite number"),
        (lambda: run_sampler(make_target("gaussian"), "emcee", settings=Settings(walkers=33)), "walkers must be even"),
        (lambda: Settings(mcmc_steps=2.5), "mcmc_steps must be a whole number"),
    ],
)
def test_bad_arguments_raise_value_errors(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert message in str(exc.value)


def test_methods_are_complete():
    assert set(METHODS) == set(VI_METHODS) | set(MCMC_METHODS)


def test_results_are_built_by_keyword_and_carry_their_qs():
    res = run_vi(make_target("gaussian"), "cavi", settings=SMALL)
    assert len(res.qs) == res.n_steps + 1
    np.testing.assert_allclose(res.mean[-1], res.qs[-1].mean)
    assert res.on_grid and not hasattr(res, "loc") and not hasattr(res, "w1")  # the q's carry their own state
    bare = ViResult(**{f.name: getattr(res, f.name) for f in dataclasses.fields(ViResult) if f.default is MISSING})
    assert math.isnan(bare.kl_best) and math.isnan(bare.optimisation_gap) and bare.n_optima == 1
    mc = run_sampler(make_target("gaussian"), "rwm", settings=SMALL)
    assert mc.acceptance == mc.diagnostics.acceptance and mc.ess.shape == (2,)
    for r in (res, mc):
        s = r.summary()
        assert s["method"] == r.method and s["n_steps"] == r.n_steps and s["verdict"] == r.verdict


def test_walkers_need_not_be_even_for_settings():
    # The even rule is emcee's: Settings takes any walker count in bounds.
    assert Settings(walkers=33).walkers == 33


@pytest.mark.parametrize("name", ["banana", "u4", "challenger"])
def test_elbo_trace_is_the_61_node_quadrature(name):
    # Scored on 41 nodes a side only where that agrees with 61 nodes (U4's wide early q's do not).
    from vi_core.families import gaussian_elbos
    from vi_core.methods.gauss import elbo_trace

    t = make_target(name)
    res = run_vi(t, "gauss-fr", settings=Settings(vi_steps=200))
    loc, chol = np.stack([q.loc for q in res.qs]), np.stack([q.chol for q in res.qs])
    fine = gaussian_elbos(t, loc, chol, n=61)
    np.testing.assert_allclose(elbo_trace(t, loc, chol), fine, rtol=0, atol=1e-6)


class _Tally:
    """A target's log density and gradient with call counters of its own: the independent count."""

    def __init__(self, target):
        self.target, self.density, self.grad = target, 0, 0

    def __getattr__(self, name):
        return getattr(self.target, name)

    def log_density(self, z):
        self.density += np.asarray(z)[..., 0].size
        return self.target.log_density(z)

    def grad_log_density(self, z):
        self.grad += np.asarray(z)[..., 0].size
        return self.target.grad_log_density(z)


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_counts_are_exact(method):
    """The result's counts equal what the target saw during the run (scoring, outside the run, is not charged)."""
    from vi_core import api

    target = make_target("banana")
    grid = api.make_grid(target, SMALL.n_grid)
    tally = _Tally(target)
    counted_runs = []
    real = api._counted_run

    def spy(m, t, g, settings, seed):
        # the method runs on the tally, so every evaluation it makes is seen by the tally and by Counted
        plan, trace = real(m, tally, g, settings, seed)
        counted_runs.append((tally.density, tally.grad))
        return plan, trace

    api._counted_run = spy
    try:
        runner = api.run_vi if methods.get(method).kind == "vi" else api.run_sampler
        res = runner(target, method, 0, SMALL, grid=grid)
    finally:
        api._counted_run = real
    density, grad = counted_runs[0]
    if methods.get(method).grid_evals:
        density += grid.xs.size * grid.ys.size
    assert (res.evals[-1, 0], res.evals[-1, 1]) == (density, grad)


def test_run_timed_keeps_its_grid_and_gives_the_numbers_of_a_fresh_one():
    from vi_core.api import run_sampler, run_timed
    from vi_core.grid import make_grid

    t = make_target("banana")
    s = Settings(mcmc_steps=100, walkers=8)
    g1, _, _, _ = run_timed(t, "emcee", 3, s)
    g2, _, b, _ = run_timed(t, "emcee", 4, s)
    assert g1 is g2, "the second run on the target reuses the grid (and its tables)"
    big = dataclasses.replace(s, n_grid=300)
    assert run_timed(t, "emcee", 3, big)[0] is not run_timed(t, "emcee", 3, big)[0], "above the default: not kept"
    fresh = run_sampler(t, "emcee", 4, s, grid=make_grid(t))
    np.testing.assert_array_equal(b.chain, fresh.chain)
    np.testing.assert_array_equal(b.w1_sd, fresh.w1_sd)
    np.testing.assert_array_equal(b.mmd, fresh.mmd)


def test_the_warm_up_runs_every_method_for_a_few_steps():
    from vi_core import methods
    from vi_core.api import WARM_SETTINGS

    for name in methods.vi_methods() + methods.mcmc_methods():
        assert getattr(WARM_SETTINGS, methods.get(name).steps) <= 10, name


def test_a_long_chain_is_scored_on_evenly_thinned_draws_that_end_at_its_newest_step():
    from vi_core import chains
    from vi_core.api import SCORED_DRAWS, scored_window

    steps, walkers = 40_000, 64
    chain = np.arange(steps * walkers * 2, dtype=float).reshape(steps, walkers, 2)
    short = scored_window(chain, 999)  # 750 steps x 64 = 48,000 draws: every one, as before the cap
    np.testing.assert_array_equal(short, chain[chains.burn_in(1000) : 1000].reshape(-1, 2))
    k = steps - 1
    long = scored_window(chain, k).reshape(-1, walkers, 2)
    kept = (long[:, 0, 0] / (2 * walkers)).astype(int)  # the step each kept row came from
    assert long.shape[0] * walkers <= SCORED_DRAWS < 2 * long.shape[0] * walkers
    assert kept[-1] == k and kept[0] >= chains.burn_in(k + 1)
    assert np.unique(np.diff(kept)).size == 1  # one stride
    np.testing.assert_array_equal(long, chain[kept])  # whole steps: every walker of each


def test_thinning_moves_a_long_runs_scores_by_less_than_their_noise():
    """256 walkers x 4000 steps (768,000 scored draws before the cap): W1 of the thinned draws is within the
    yardstick's own Monte Carlo resolution of W1 of them all."""
    from vi_core.api import scored_window
    from vi_core.grid import make_grid
    from vi_core.metrics import yardstick

    target = make_target("banana")
    res = run_sampler(target, "emcee", settings=Settings(mcmc_steps=4000, walkers=256, n_grid=120))
    yard = yardstick(make_grid(target, 120))
    k = res.chain.shape[0] - 1
    every = res.chain[k - 2999 :].reshape(-1, 2)
    assert res.w1_sd[-1] == pytest.approx(yard.w1_samples(scored_window(res.chain, k)), rel=1e-5)
    assert abs(res.w1_sd[-1] - yard.w1_samples(every)) < yard.w1_resolution(res.diagnostics.ess)


@pytest.mark.parametrize("method", ["emcee", "nuts", "gibbs"])
def test_a_sampler_run_in_two_stages_is_the_run_in_one(method):
    """sample (what the race shows) then score_draws (in another process: pickled between) give run_sampler's
    numbers: the same draws, MMD, W1, moment errors, diagnostics and verdict."""
    import pickle

    from vi_core.api import sample, score_draws
    from vi_core.grid import make_grid

    target, settings = make_target("banana"), Settings(mcmc_steps=300, n_grid=80)
    grid = make_grid(target, settings.n_grid)
    whole = run_sampler(target, method, 5, settings, grid=grid)
    draws = sample(target, method, 5, settings, grid=grid)
    assert draws.label == whole.label and draws.burn_in == whole.burn_in and draws.wall_time_s > 0
    np.testing.assert_array_equal(draws.snap, whole.snap)
    np.testing.assert_array_equal(draws.mmd, whole.mmd)
    np.testing.assert_array_equal(draws.chain.astype(np.float32), whole.chain)
    scored = score_draws(pickle.loads(pickle.dumps(draws)), grid)
    for field in ("w1_sd", "mean_err", "cov_err", "mmd", "chain", "evals"):
        np.testing.assert_array_equal(getattr(scored, field), getattr(whole, field), err_msg=field)
    for field in ("rhat", "ess_bulk", "ess_tail", "tau", "acceptance"):
        np.testing.assert_array_equal(getattr(scored, field), getattr(whole, field), err_msg=field)
    assert (scored.verdict, scored.verdict_level, scored.mmtv) == (whole.verdict, whole.verdict_level, whole.mmtv)
    assert scored.stats.keys() == whole.stats.keys()


@pytest.mark.parametrize("method", ["cavi", "gauss-mf", "svgd"])
def test_a_vi_run_in_two_stages_is_the_run_in_one(method):
    """fit_vi (what the race shows) then score_fit (pickled between, as between processes) give run_vi's
    numbers: the same q's, ELBO, KL, MMD, W1, moment errors, k̂, KL split and verdict."""
    import pickle

    from vi_core.api import fit_vi, score_fit
    from vi_core.grid import make_grid

    target, settings = make_target("banana"), Settings(vi_steps=60, cavi_sweeps=8, n_grid=80)
    grid = make_grid(target, settings.n_grid)
    whole = run_vi(target, method, 4, settings, grid=grid)
    fit = fit_vi(target, method, 4, settings, grid=grid)
    assert fit.label == whole.label and fit.on_grid == whole.on_grid and fit.wall_time_s > 0
    for field in ("elbo", "kl", "mmd", "snap", "mean", "cov"):
        np.testing.assert_array_equal(getattr(fit, field), getattr(whole, field), err_msg=field)
    scored = score_fit(pickle.loads(pickle.dumps(fit)), target, grid)
    for field in ("elbo", "elbo_mc", "kl", "mmd", "w1_sd", "mean_err", "cov_err", "marg_x", "marg_y", "evals"):
        np.testing.assert_array_equal(getattr(scored, field), getattr(whole, field), err_msg=field)
    same = ("khat", "kl_best", "elbo_best", "kl_local", "n_optima", "verdict", "verdict_level", "mmtv", "log_evidence")
    for field in same:
        a, b = getattr(scored, field), getattr(whole, field)
        assert a == b or (a != a and b != b), field  # nan where a method has none
