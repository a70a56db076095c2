"""vi_core.scaling.vi: Gaussian VI's steps on Python floats are vi_core.gaussvi's Adam update of the control-variate
ELBO gradient (checked against that update on arrays, step by step), minibatch blocks reshuffle every epoch, and a
loop call does INNER steps."""

import math

import numpy as np
import pytest

from vi_core import gaussvi
from vi_core.scaling import minibatch as mb
from vi_core.scaling import vi
from vi_core.scaling.data import dataset
from vi_core.scaling.model import LogisticPosterior


@pytest.fixture(scope="module")
def post():
    return LogisticPosterior(dataset("synthetic", 1200, seed=2))


def test_q_moments_for_both_families():
    mean, var = vi.q_moments(np.array([0.5, -1.0, math.log(2.0), math.log(0.5)]))
    np.testing.assert_allclose(mean, [0.5, -1.0])
    np.testing.assert_allclose(var, [4.0, 0.25])
    _, var = vi.q_moments(np.array([0.0, 0.0, 0.0, math.log(0.5), 0.3]))
    np.testing.assert_allclose(var, [1.0, 0.09 + 0.25])


def _reference_steps(theta, eps, blocks, grad, t0, lr0):
    """The same steps written with arrays and vi_core.gaussvi.adam_update (no averaging)."""
    adam = gaussvi.AdamOptions(lr=lr0, beta1=0.9, beta2=0.99, eps=1e-8)
    theta = np.array(theta, float)
    mom1, mom2 = np.zeros_like(theta), np.zeros_like(theta)
    full = theta.size == 5
    for t, (e, j) in enumerate(zip(eps, blocks, strict=True), start=1):
        l11, l22 = math.exp(theta[2]), math.exp(theta[3])
        l21 = theta[4] if full else 0.0
        chol = np.array([[l11, 0.0], [l21, l22]])
        z = theta[:2] + e @ chol.T
        g = np.array(grad(z, j))
        k = len(e)
        gc = (g - g.mean(0)) * (k / (k - 1))  # the draws' mean gradient as the scale's control variate
        want = [*g.mean(0), l11 * (gc[:, 0] * e[:, 0]).mean() + 1.0, l22 * (gc[:, 1] * e[:, 1]).mean() + 1.0]
        want += [(gc[:, 1] * e[:, 0]).mean()] if full else []
        lr = lr0 if t <= t0 else lr0 * (1.0 + (t - t0) / t0) ** -0.6
        unit = np.array([l11, math.sqrt(l21 * l21 + l22 * l22), 1.0, 1.0] + ([l22] if full else []))
        theta, mom1, mom2 = gaussvi.adam_update(theta, mom1, mom2, np.array(want), t, lr, unit, adam)
        theta[2:4] = np.clip(theta[2:4], -30.0, 5.0)
    return theta


@pytest.mark.parametrize("full_rank", [False, True])
@pytest.mark.parametrize("kind", ["plain", "cv"])
def test_the_float_steps_are_the_shared_adam_update(post, full_rank, kind):
    rng = np.random.default_rng(0)
    b = mb.Batches(post, 100, rng)
    rows = mb.Rows()
    grad = mb.plain_grad(b, rows) if kind == "plain" else mb.cv_grad(b, mb.find_anchor(b, rows), rows)
    theta0 = [0.1, 0.2, 0.0, -0.5] + ([0.1] if full_rank else [])
    s = 30
    eps = rng.standard_normal((s, vi.VI_DRAWS, 2))
    blocks = rng.integers(b.nb, size=s).tolist()
    zeros = [0.0] * len(theta0)
    theta, _, _, t, avg = vi.vi_steps(theta0, zeros, zeros, 0, theta0, eps, blocks, grad, t0=10, lr0=0.05)
    np.testing.assert_allclose(theta, _reference_steps(theta0, eps, blocks, grad, 10, 0.05), rtol=1e-9, atol=1e-12)
    assert t == s and len(avg) == len(theta0)


def test_the_average_weights_grow_as_t_cubed(post):
    g = [[1.0, -1.0]] * vi.VI_DRAWS
    eps = np.random.default_rng(1).standard_normal((3, vi.VI_DRAWS, 2))
    theta, _, _, _, avg = vi.vi_steps([0.0] * 4, [0.0] * 4, [0.0] * 4, 0, [0.0] * 4, eps[:1], [0], lambda z, j: g, 10)
    np.testing.assert_allclose(avg, theta)  # the average's first weight is 1


def test_minibatch_blocks_reshuffle_every_epoch_and_rows_are_counted(post):
    seen = []
    rows = mb.Rows()

    def setup(rng):
        b = mb.Batches(post, 200, rng)
        plain = mb.plain_grad(b, rows)

        def grad(z, j):
            seen.append(j)
            return plain(z, j)

        return grad, b.nb, b, np.zeros(2)

    algo = vi.gauss_vi(False, setup, vi.INNER, 200.0, 1.0)
    rng = np.random.default_rng(3)
    s = algo.init(rng)
    nb = s.setup.nb
    assert nb == 6
    for _ in range(3):  # 3 x INNER = 24 steps: four epochs of six blocks
        s, _ = algo.step(rng, s)
    assert len(seen) == 3 * vi.INNER and s.t == len(seen)
    epochs = [seen[i : i + nb] for i in range(0, len(seen), nb)]
    assert all(sorted(e) == list(range(nb)) for e in epochs)  # every block once per epoch
    assert len({tuple(e) for e in epochs}) > 1  # in a fresh order
    assert rows.n == len(seen) * vi.VI_DRAWS * 200  # K points on a block of B = 200 rows a step
