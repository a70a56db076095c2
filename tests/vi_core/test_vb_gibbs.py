"""The worked example's claim: variational Bayes against Gibbs sampling on Newcomb's data, recomputed."""

import math
import re

import numpy as np
import pytest

from vi_core.conjugate import analyse
from vi_core.targets import make_target
from vi_core.vb_gibbs import compare, verdict


@pytest.fixture(scope="module", params=["newcomb", "newcomb-clean"])
def case(request):
    target = make_target(request.param)
    return target, compare(target, seed=0)


def test_vb_is_the_closed_form_fixed_point(case):
    target, c = case
    a = analyse(target)
    cf = a.rows["closed form"]
    for got, want in ((c.vb.mean_mu, cf.mean_mu), (c.vb.sd_mu, cf.sd_mu), (c.vb.mean_tau, cf.mean_tau)):
        assert math.isclose(got, want, rel_tol=1e-10)
    assert math.isclose(c.vb.kl, cf.kl, rel_tol=1e-6, abs_tol=1e-12) and c.vb.kl > 0
    # q's distance is that of its exact cell probabilities: positive (mean-field cannot be exact here)
    assert c.vb.mmd > 0 and np.all(np.diff(c.vb.time_trace) >= 0)


def test_gibbs_is_right_within_its_monte_carlo_error(case):
    _, c = case
    ex, gb = c.exact, c.gibbs
    assert abs(gb.mean_mu - ex.mean_mu) < 4 * gb.se_mean_mu
    assert abs(gb.mean_tau - ex.mean_tau) < 4 * gb.se_mean_tau
    assert abs(gb.sd_mu / ex.sd_mu - 1) < 0.05
    # with all its draws Gibbs is closer than VB's bias; it got there only after VB had finished
    assert gb.mmd < c.vb.mmd
    assert c.match_time_s is not None and c.match_time_s > c.vb.time_s
    assert np.all(c.gibbs.mmd_trace[np.searchsorted(c.gibbs.time_trace, c.match_time_s) :] <= c.vb.mmd)


def test_the_verdict_is_written_from_the_numbers(case):
    _, c = case
    text = verdict(c)
    for number in (f"{c.vb.mmd:.4f}", f"{c.vb.kl:.4f}", f"{c.gibbs.mmd:.4f}", f"{c.exact.sd_mu:.4f}",
                   f"{c.match_updates:,}", f"{c.match_time_s / c.vb.time_s:,.0f} times as long"):  # fmt: skip
        assert number in text, number
    assert "the claim holds" in text
    # and a run where Gibbs was there first says so
    early = c._replace(match_time_s=c.vb.time_s / 2)
    assert "does not hold" in verdict(early)
    never = c._replace(match_time_s=None, match_updates=None)
    assert "did not get as close" in verdict(never)
    assert re.search(r"\d", verdict(never))


def test_only_newcomb_targets():
    with pytest.raises(ValueError, match="newcomb"):
        compare(make_target("gaussian"))
