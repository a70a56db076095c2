"""vi_core.scaling.score: the fair rule (mean AND sd), time to accuracy, the running estimate (MCMC on its draws
after warm-up only), the stop rule (converged or settled short); and, end to end, that the rule never fires inside
NUTS's warm-up at N = 10^5."""

import numpy as np

from vi_core.scaling import methods
from vi_core.scaling.data import dataset
from vi_core.scaling.model import LogisticReference
from vi_core.scaling.runs import run_one
from vi_core.scaling.score import ACCURACY, Recorder, time_to_accuracy

REF = LogisticReference(np.array([1.0, -1.0]), np.diag([4.0, 0.25]), 0.0, 0.0, 121, 0.0, "test")
SD = np.array([2.0, 0.5])


def test_the_rule_asks_for_the_mean_and_the_sd():
    assert (ACCURACY.mean_sd, ACCURACY.sd_rel) == (0.1, 0.1)
    rec = Recorder(REF)
    rec.add_moments(REF.mean + 0.19 * SD, (1.0 * SD) ** 2)  # mean 0.19 sd off: 1.9 tolerances
    rec.add_moments(REF.mean + 0.05 * SD, (1.3 * SD) ** 2)  # the mean right, the sd 30 % too large: mean-only passed
    rec.add_moments(REF.mean - 0.05 * SD, (0.95 * SD) ** 2)  # both right
    assert [round(rec.mean_error(i), 9) for i in range(3)] == [0.19, 0.05, 0.05]
    assert [round(rec.sd_error(i), 9) for i in range(3)] == [0.0, 0.3, 0.05]
    assert [round(rec.error(i), 9) for i in range(3)] == [1.9, 3.0, 0.5]


def test_time_to_accuracy_is_where_the_accuracy_starts_to_hold():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    assert time_to_accuracy(times, np.array([0.5, 0.5, 0.5, 0.5])) == 0.0
    assert time_to_accuracy(times, np.array([9.0, 0.5, 5.0, 0.5])) == 3.0  # it must hold to the end
    assert time_to_accuracy(times, np.array([9.0, 0.5, 0.5, 5.0])) is None
    assert time_to_accuracy(times, np.array([9.0, np.nan, 1.0, 1.0])) == 2.0  # nan (no estimate) is not accurate


def test_draws_without_a_warm_up_drop_the_first_quarter_of_the_steps():
    rec = Recorder(REF)
    rng = np.random.default_rng(0)
    steps = [rng.normal(size=(3, 2)) for _ in range(13)]  # step 0 (initial positions) .. step 12
    for z in steps:
        rec.add_draws(z)
    kept = np.concatenate(steps[3:])  # t = 12: steps 0..2 dropped
    np.testing.assert_allclose(rec.means[-1], kept.mean(0), rtol=1e-12)
    np.testing.assert_allclose(rec.vars[-1], kept.var(0), rtol=1e-10)


def test_warm_up_draws_are_never_scored_however_good():
    """Perfect draws during warm-up give no estimate; after it, only the draws made after it count."""
    rec = Recorder(REF)
    rng = np.random.default_rng(1)
    exact = [REF.mean + SD * rng.standard_normal((50, 2)) for _ in range(20)]
    for z in exact:
        rec.add_draws(z, warm=True)
    assert all(np.isnan(rec.error(i)) for i in range(20))
    after = [REF.mean + 3.0 + SD * rng.standard_normal((50, 2)) for _ in range(5)]  # shifted: visibly not warm-up's
    for z in after:
        rec.add_draws(z, warm=False)
    np.testing.assert_allclose(rec.means[-1], np.concatenate(after).mean(0), rtol=1e-12)


def test_the_stop_rule_waits_for_the_accuracy_and_the_variance_to_settle():
    rec = Recorder(REF)
    far, near = np.array([3.0, 1.0]), REF.mean + 0.01
    var = np.diag(REF.cov).copy()
    stops = []
    for t in range(400):
        rec.add_moments(far if t < 50 else near, var)
        stops.append(rec.stop(None, None))
    first = stops.index(True)
    assert first >= 100 and rec.reason == "converged"  # held over the last doubling: twice the step first reached
    # a variance still moving keeps it going (inaccurate, yet moving: not settled either)
    rec2 = Recorder(REF)
    for t in range(400):
        rec2.add_moments(REF.mean, np.diag(REF.cov) * (1 + t / 10))
        assert not rec2.stop(None, None)


def test_the_stop_rule_says_settled_when_a_biased_estimate_stops_moving():
    rec = Recorder(REF)
    var = np.diag(REF.cov) * 0.5  # a mean-field-like bias: sd 29 % too small, for good
    stops = [None]
    for t in range(400):
        rec.add_moments(REF.mean + (0.5 / (t + 1)) * SD, var)  # the mean converges, the sd does not
        if rec.stop(None, None):
            stops.append(t)
            break
    assert stops[-1] is not None and rec.reason == "settled"
    assert rec.error(len(rec.means) - 1) > 1  # it was not accurate


def test_the_rule_never_fires_inside_nuts_warm_up_at_n_1e5(monkeypatch):
    """At N = 10^5, with small budgets (a short NUTS: warm-up of 40 iterations): no checkpoint before the first
    post-warm-up draw is accurate, and the time to accuracy, if any, comes after it."""
    short = methods.NutsSettings(1, 160, 0.8)
    monkeypatch.setattr(methods, "NUTS_SETTINGS", short)
    monkeypatch.setattr(methods, "NUTS_STEPS", short.mcmc_steps)
    r = run_one(dataset("synthetic", 100_000, seed=3), "nuts", budget_s=2.0, seed=3)
    assert r.warmup_excluded
    inside = r.times < (r.warmup_s if r.warmup_s is not None else np.inf)
    assert inside.any() and np.all(np.isnan(r.accuracy[inside]))  # no estimate, so never accurate, in warm-up
    if r.time_to_accuracy_s is not None:
        assert r.time_to_accuracy_s >= r.warmup_s
    after = ~inside  # from the first post-warm-up draw on, both errors are scored
    assert np.all(np.isfinite(r.sd_err[after])) and np.all(np.isfinite(r.mean_err[after]))
