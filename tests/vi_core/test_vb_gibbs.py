"""The worked example's claim: variational Bayes against Gibbs sampling on Newcomb's data, recomputed, over
seeds: the speed ratio is quoted as a median and range, the conclusion drawn from what holds in every seed."""

import math
import re

import numpy as np
import pytest

from vi_core.conjugate import analyse
from vi_core.targets import make_target
from vi_core.vb_gibbs import SEEDS, compare, compare_seeds, over_seeds, verdict


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


@pytest.fixture(scope="module", params=["newcomb", "newcomb-clean"])
def seeded(request):
    target = make_target(request.param)
    return target, compare_seeds(target)


def test_the_numbers_over_seeds_are_consistent(seeded):
    target, s = seeded
    k = len(s.runs)
    assert k == SEEDS >= 10 and list(s.seeds) == list(range(k)) and [c.seed for c in s.runs] == list(range(k))
    # per seed: the ratio is that seed's match time over that seed's VB time, the draws that seed's
    for c, vb_t, t, u, r in zip(s.runs, s.vb_time_s, s.match_time_s, s.match_updates, s.ratio, strict=True):
        assert vb_t == c.vb.time_s and t == c.match_time_s and u == c.match_updates
        assert r == t / vb_t
    # the summary is the median and the range of those
    assert s.lo_ratio <= s.median_ratio <= s.hi_ratio and s.lo_updates <= s.median_updates <= s.hi_updates
    assert (s.median_ratio, s.lo_ratio, s.hi_ratio) == (np.median(s.ratio), s.ratio.min(), s.ratio.max())
    assert (s.median_updates, s.lo_updates, s.hi_updates) == (
        np.median(s.match_updates),
        s.match_updates.min(),
        s.match_updates.max(),
    )
    assert s.never == sum(c.match_time_s is None for c in s.runs) == 0
    # VB is deterministic: the same q in every seed (only its clock reading differs); Gibbs' draws differ by seed
    assert len({(c.vb.mmd, c.vb.mean_mu, c.vb.sd_mu, c.vb.kl, c.vb.updates) for c in s.runs}) == 1
    assert len({c.gibbs.mean_mu for c in s.runs}) == k
    # seeded: seed 0 of the set is the single run compare(target) gives (the page draws it)
    one = compare(target, seed=0)
    assert s.runs[0].match_updates == one.match_updates and s.runs[0].gibbs.mmd == one.gibbs.mmd
    # the ratio is noise from seed to seed: the draws Gibbs needs span a wide range
    assert s.hi_updates >= 4 * s.lo_updates


def test_vb_is_faster_than_gibbs_match_in_every_seed(seeded):
    _, s = seeded
    assert s.never == 0
    assert np.all(s.match_time_s > s.vb_time_s) and np.all(s.ratio > 1) and s.lo_ratio > 1


def _num(text: str) -> float:
    return math.inf if text == "∞" else float(text.replace(",", ""))


_OVER = re.compile(
    r"Over (\d+) seeds Gibbs sampling \((\d+) chains\) needed a median of ([\d,]+)× VB's time to be as close "
    r"\(range ([\d,]+)–([\d,∞]+)×\), after a median of ([\d,]+) conditional draws \(range ([\d,]+)–([\d,∞]+)\)\."
)
_THIS = re.compile(r"In the run drawn here \(seed (\d+)\) it needed [\d.]+ m?s and ([\d,]+) draws, ([\d,]+)× VB's time")
_EVERY = re.compile(r"VB was done at least ([\d,]+)× sooner than Gibbs was as close, in every seed")


def test_the_verdict_quotes_the_median_and_range(seeded):
    _, s = seeded
    text = verdict(s)
    m = _OVER.search(text)
    assert m, text
    k, chains, med, lo, hi, med_u, lo_u, hi_u = (_num(g) for g in m.groups())
    assert (k, chains) == (len(s.runs), s.runs[0].chains)
    # each number is the returned object's, to the unit
    for got, want in ((med, s.median_ratio), (lo, s.lo_ratio), (hi, s.hi_ratio), (med_u, s.median_updates),
                      (lo_u, s.lo_updates), (hi_u, s.hi_updates)):  # fmt: skip
        assert got == round(want), (got, want)
    # the drawn run's own figure, labelled as its seed's
    c = s.runs[0]
    seed, draws, ratio = (_num(g) for g in _THIS.search(text).groups())
    assert (seed, draws, ratio) == (c.seed, c.match_updates, round(c.match_time_s / c.vb.time_s))
    # the conclusion is the smallest ratio: what holds in every seed
    assert _num(_EVERY.search(text).group(1)) == round(s.lo_ratio)
    assert "the claim holds in all 10 seeds" in text
    # every speed ratio in the text is a median, a range, the every-seed bound or the drawn seed's, so labelled
    for sentence in re.split(r"(?<=\.) (?=[A-Z])", text):
        if "×" in sentence:
            assert re.search(r"median|range|every seed|\(seed \d+\)", sentence), sentence
    # the other numbers, from the drawn run
    for number in (f"{c.vb.mmd:.4f}", f"{c.vb.kl:.4f}", f"{c.gibbs.mmd:.4f}", f"{c.exact.sd_mu:.4f}"):
        assert number in text, number


def test_the_verdict_follows_the_seeds(seeded):
    _, s = seeded
    runs = list(s.runs)
    # a seed where Gibbs was as close no later than VB: the claim does not hold in every seed
    early = over_seeds([runs[0], runs[1]._replace(match_time_s=runs[1].vb.time_s / 2), *runs[2:]])
    assert early.lo_ratio == 0.5
    assert "does not hold in every seed: in 1 of the 10" in verdict(early)
    # a seed that never got as close counts as ∞: the range says so, the median stays finite
    never = over_seeds([runs[0], runs[1]._replace(match_time_s=None, match_updates=None), *runs[2:]])
    assert never.never == 1 and never.hi_ratio == math.inf and math.isfinite(never.median_ratio)
    text = verdict(never)
    assert "–∞×" in text and "In 1 of the 10 seeds it did not get as close" in text
    assert _num(_OVER.search(text).group(3)) == round(never.median_ratio)
    # most seeds never got as close: no median is quoted
    most = over_seeds([runs[0], *(c._replace(match_time_s=None, match_updates=None) for c in runs[1:])])
    assert most.never == 9 and most.median_ratio == math.inf
    text = verdict(most)
    assert "got as close to the posterior as VB in only 1: in 9 it did not" in text and "median" not in text
    # the drawn seed itself never got as close
    assert "did not get as close" in verdict(over_seeds([runs[0]._replace(match_time_s=None, match_updates=None)]))
    # every seed never got as close: no "at least ∞× sooner", the claim cannot be checked
    none = over_seeds([c._replace(match_time_s=None, match_updates=None) for c in runs])
    text = verdict(none)
    assert "cannot be checked" in text and "∞× sooner" not in text and "claim holds" not in text
    # a smallest ratio of 1.3 is printed as 1.3, not rounded to "1"
    close = over_seeds([runs[0], runs[1]._replace(match_time_s=1.3 * runs[1].vb.time_s), *runs[2:]])
    assert "at least 1.3× sooner" in verdict(close)
    with pytest.raises(ValueError):
        over_seeds([])


def test_only_newcomb_targets():
    with pytest.raises(ValueError, match="newcomb"):
        compare(make_target("gaussian"))
