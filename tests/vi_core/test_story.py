""" "What this run shows": sentences drawn from the numbers, consistent with the verdicts."""

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

from vi_core.api import run_sampler, run_vi
from vi_core.grid import make_grid
from vi_core.story import CLOSE_RATIO, closer, what_this_run_shows
from vi_core.targets import make_target


def _fake(w1: float, level: str = "good", t: float = 0.1, kl: float = 0.0, kl_best: float = 0.0, label="x", res=1e-4):
    return SimpleNamespace(
        w1_sd=np.array([w1]), mmd=np.array([w1]), verdict_level=level, wall_time_s=t, kl=np.array([kl]),
        kl_best=kl_best, label=label, w1_resolution=res,
    )  # fmt: skip


def test_closer_reads_the_final_distances_with_a_tie_band():
    assert closer(_fake(0.3), _fake(0.03)) == "mcmc"
    assert closer(_fake(0.03), _fake(0.3)) == "vi"
    assert closer(_fake(0.1), _fake(0.1 * CLOSE_RATIO * 0.99)) == "tie"
    assert closer(_fake(1e-6), _fake(5e-4)) == "tie"  # both at the yardstick's resolution
    assert closer(_fake(math.nan), _fake(0.1)) == "unknown"
    text = what_this_run_shows(_fake(math.nan), _fake(0.1))[0]
    assert "could not both be computed" in text and "nan" not in text


def test_sentences_split_vi_error_into_bias_or_unfinished_optimisation():
    bias = " ".join(what_this_run_shows(_fake(0.3, kl=0.51, kl_best=0.51), _fake(0.02, t=0.5)))
    assert "family's bias" in bias and "more steps would not help" in bias
    unfinished = " ".join(what_this_run_shows(_fake(0.3, kl=0.4, kl_best=0.05), _fake(0.02, t=0.5)))
    assert "unfinished optimisation (0.35 of its 0.4 nats" in unfinished
    # a gap above the tolerance is named even when the bias is the larger part (as the verdict names it)
    partly = " ".join(what_this_run_shows(_fake(0.3, kl=0.6, kl_best=0.35), _fake(0.02, t=0.5)))
    assert "mostly its family's bias (0.35 of its 0.6 nats" in partly and "other 0.25 nats" in partly
    assert "more steps would not help" not in partly
    below = " ".join(what_this_run_shows(_fake(0.3, kl=0.6, kl_best=0.65), _fake(0.02, t=0.5)))
    assert "all of it the best" not in below
    close = " ".join(what_this_run_shows(_fake(0.01, kl=0.004), _fake(0.02, t=0.5)))
    assert "close to the posterior (KL 0.004 nats)" in close


def test_a_sampler_failing_its_own_checks_is_not_called_trustworthy():
    text = " ".join(what_this_run_shows(_fake(0.3, kl=0.5, kl_best=0.5), _fake(0.02, level="warn")))
    assert "MCMC, x, ends closer" in text and "not yet trustworthy by the sampler's own checks" in text
    good = " ".join(what_this_run_shows(_fake(0.3, kl=0.5, kl_best=0.5), _fake(0.02, level="good")))
    assert "not yet trustworthy" not in good


def test_a_sampler_at_its_monte_carlo_resolution_is_called_noise():
    noisy = what_this_run_shows(_fake(1e-5), _fake(0.015, res=0.012))[0]
    assert noisy.startswith("VI, x, ends closer") and "Monte Carlo noise that more draws shrink, not bias" in noisy
    biased = what_this_run_shows(_fake(1e-5), _fake(0.15, res=0.012))[0]
    assert "Monte Carlo noise" not in biased


@pytest.fixture(scope="module")
def default_run():
    t = make_target("gaussian", rho=0.9)
    g = make_grid(t)
    return run_vi(t, "cavi", 0, grid=g), run_sampler(t, "emcee", 0, grid=g)


def test_every_number_comes_from_the_run(default_run):
    vi, mc = default_run
    first, second, third = what_this_run_shows(vi, mc)
    # mean-field on ρ = 0.9: MCMC ends closer; VI's error is all bias (KL = -½ ln(1 - ρ²) = 0.83)
    assert closer(vi, mc) == "mcmc" and first.startswith("MCMC, emcee (stretch move), ends closer")
    w_mc, w_vi, ratio = re.search(
        r"marginal W1 ([\d.e-]+) sd against ([\d.e-]+) sd for VI, ([\d.,]+)× closer", first
    ).groups()
    assert float(w_mc) == pytest.approx(mc.w1_sd[-1], rel=1e-2) and float(w_vi) == pytest.approx(vi.w1_sd[-1], rel=1e-2)
    assert float(ratio.replace(",", "")) == pytest.approx(vi.w1_sd[-1] / mc.w1_sd[-1], rel=0.1)
    took = dict((m, (float(v), u)) for m, v, u in re.findall(r"(VI|MCMC),? (?:took )?([\d.]+) (ms|s)", second))
    scale = {"ms": 1e-3, "s": 1.0}
    assert took["VI"][0] * scale[took["VI"][1]] == pytest.approx(vi.wall_time_s, rel=1e-2)
    assert took["MCMC"][0] * scale[took["MCMC"][1]] == pytest.approx(mc.wall_time_s, rel=1e-2)
    assert "family's bias" in third and f"KL {vi.kl[-1]:.2g} nats, all of it the best" in third
    assert abs(vi.kl[-1] + 0.5 * math.log(1 - 0.81)) < 1e-3
