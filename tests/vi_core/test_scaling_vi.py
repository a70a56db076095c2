"""vi_core.scaling.vi: Gaussian VI on all rows or a minibatch; its update is vi_core.gaussvi's Adam step."""

import math

import numpy as np
import pytest

from vi_core import gaussvi
from vi_core.scaling import vi
from vi_core.scaling.data import dataset
from vi_core.scaling.model import LogisticPosterior


@pytest.fixture(scope="module")
def post():
    return LogisticPosterior(dataset("synthetic", 120, seed=2))


def test_q_moments_for_both_families():
    mean, var = vi.q_moments(np.array([0.5, -1.0, math.log(2.0), math.log(0.5)]))
    np.testing.assert_allclose(mean, [0.5, -1.0])
    np.testing.assert_allclose(var, [4.0, 0.25])
    _, var = vi.q_moments(np.array([0.0, 0.0, 0.0, math.log(0.5), 0.3]))
    np.testing.assert_allclose(var, [1.0, 0.09 + 0.25])


@pytest.mark.parametrize("full_rank", [False, True])
def test_a_step_is_the_shared_adam_update_of_the_control_variate_gradient(post, full_rank, monkeypatch):
    seen = []

    def spy(theta, mom1, mom2, grad, t, lr, unit, adam):
        seen.append((grad.copy(), t, lr, unit.copy(), adam))
        return gaussvi.adam_update(theta, mom1, mom2, grad, t, lr, unit, adam)

    monkeypatch.setattr(vi, "adam_update", spy)
    costs = [0.0]
    algo = vi.gauss_vi(post, full_rank, None, costs, np.zeros(2), 1.0)
    s = algo.init(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    e = np.random.default_rng(1).standard_normal((vi.VI_DRAWS, 2))  # the step's draws
    s1, _ = algo.step(rng, s)
    grad, t, lr, unit, adam = seen[0]
    g = post.grad_log_density(e)  # q = N(0, I) at the start: z = eps
    gc = (g - g.mean(0)) * (vi.VI_DRAWS / (vi.VI_DRAWS - 1))
    want = [*g.mean(0), (gc[:, 0] * e[:, 0]).mean() + 1.0, (gc[:, 1] * e[:, 1]).mean() + 1.0]
    want += [(gc[:, 1] * e[:, 0]).mean()] if full_rank else []
    np.testing.assert_allclose(grad, want, rtol=1e-12)
    assert t == 1 and lr == vi.VI_LR and np.array_equal(unit, np.ones(5 if full_rank else 4))
    assert (adam.beta1, adam.beta2, adam.eps) == (0.9, 0.99, 1e-8)
    assert costs == [vi.VI_DRAWS]  # four full-data gradients
    np.testing.assert_array_equal(s1.avg, s1.theta)  # the average's first weight is 1


def test_minibatches_reshuffle_every_epoch(post, monkeypatch):
    rows = []
    real = LogisticPosterior.minibatch_grad

    def spy(self, z, idx):
        rows.append(np.array(idx))
        return real(self, z, idx)

    monkeypatch.setattr(LogisticPosterior, "minibatch_grad", spy)
    costs = [0.0]
    algo = vi.gauss_vi(post, False, 40, costs, np.zeros(2), 1.0)
    rng = np.random.default_rng(3)
    s = algo.init(rng)
    for _ in range(6):  # two epochs of three batches of 40 rows
        s, _ = algo.step(rng, s)
    for epoch in (rows[:3], rows[3:]):
        assert sorted(np.concatenate(epoch)) == list(range(post.n))  # every row once per epoch
    assert not np.array_equal(np.concatenate(rows[:3]), np.concatenate(rows[3:]))
    assert costs[0] == pytest.approx(6 * vi.VI_DRAWS * 40 / post.n)
