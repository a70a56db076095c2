"""vi_core.scaling.minibatch: the blocks, the plain and control-variate gradient estimates (unbiased; the control
variate's variance below the plain one's at three N), the anchor, and the measured variance reduction."""

import numpy as np
import pytest

from vi_core.scaling import minibatch as mb
from vi_core.scaling import model
from vi_core.scaling.data import dataset
from vi_core.scaling.model import LogisticPosterior

NS = (1_000, 10_000, 100_000)


@pytest.fixture(scope="module", params=NS)
def setup(request):
    post = LogisticPosterior(dataset("synthetic", request.param, seed=7))
    rng = np.random.default_rng(0)
    b = mb.Batches(post, 100, rng)
    rows = mb.Rows()
    anchor = mb.find_anchor(b, rows)
    return post, b, anchor, rows


def test_the_blocks_cut_the_rows_once_in_a_random_order():
    post = LogisticPosterior(dataset("synthetic", 1_003, seed=1))
    b = mb.Batches(post, 100, np.random.default_rng(2))
    assert b.nb == 11 and b.edges[0][0] == 0 and b.edges[-1][1] == post.n
    sizes = [hi - lo for lo, hi in b.edges]
    assert max(sizes) - min(sizes) <= 1 and all(a[1] == c[0] for a, c in zip(b.edges, b.edges[1:], strict=False))
    # the same rows, in another order
    order = np.lexsort((b.y, b.dt[1]))
    ref = np.lexsort((post.data.y, post.data.x))
    np.testing.assert_array_equal(b.dt[1][order], post.data.x[ref])
    assert not np.array_equal(b.dt[1], post.data.x)
    blocks, _, pos = mb.epoch_blocks(np.random.default_rng(3), None, 0, 25, b.nb)
    assert sorted(blocks[:11]) == sorted(blocks[11:22]) == list(range(11)) and pos == 3


def _points(anchor, k=3, seed=1):
    """Points where a run spends its time: drawn from the Laplace approximation at the anchor."""
    return np.random.default_rng(seed).multivariate_normal(anchor.theta, np.linalg.inv(anchor.hess), size=k)


def test_both_estimates_are_unbiased_and_the_control_variate_has_the_smaller_variance(setup):
    post, b, anchor, _ = setup
    rows = mb.Rows()
    plain, cv = mb.plain_grad(b, rows), mb.cv_grad(b, anchor, rows)
    z = _points(anchor)
    exact = post.grad_log_density(z)
    every_plain = np.array([plain(z, j) for j in range(b.nb)])  # (nb, K, 2)
    every_cv = np.array([cv(z, j) for j in range(b.nb)])
    assert rows.n == 2 * b.nb * len(z) * 100  # K points on B = 100 rows, per block and estimate
    # unbiased: a block drawn uniformly has the full gradient as its mean, exactly (the identity of the rescaling)
    scale = np.abs(exact).max()
    np.testing.assert_allclose(every_plain.mean(0), exact, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(every_cv.mean(0), exact, rtol=0, atol=1e-9 * scale)
    # and the control variate's variance is the smaller, on both coordinates, at every point
    v_plain, v_cv = every_plain.var(0), every_cv.var(0)
    assert np.all(v_cv < v_plain)
    assert np.all(v_plain / v_cv > post.n / 100)  # about N-fold near the mode, at least N / B here


def test_the_anchor_is_the_mode_and_its_cost_is_counted(setup):
    post, _, anchor, rows = setup
    mode, h = model._newton(post)  # the reference's own Newton on the distinct x: independent of the anchor's
    sd = np.sqrt(np.diag(np.linalg.inv(h)))
    assert np.all(np.abs(anchor.theta - mode) / sd < 0.05)
    np.testing.assert_allclose(anchor.hess, h, rtol=1e-3)
    assert 1 <= anchor.passes <= 6 and anchor.p.shape == (post.n,)
    # rows: every full pass all N rows, the subsample's passes (N > 10,000) its rows each
    full = anchor.passes * post.n
    assert rows.n >= full and (rows.n - full) % min(post.n, mb.ANCHOR_SUBSAMPLE) == 0
    if post.n <= mb.ANCHOR_SUBSAMPLE:
        assert rows.n == full


def test_the_measured_reduction_grows_with_n():
    factors = []
    for n in NS:
        post = LogisticPosterior(dataset("synthetic", n, seed=7))
        b = mb.Batches(post, 100, np.random.default_rng(0))
        factors.append(mb.variance_reduction(b, mb.find_anchor(b, mb.Rows())))
    assert factors[0] > 10 and factors[1] > 5 * factors[0] and factors[2] > 5 * factors[1]
