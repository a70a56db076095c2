"""vi_core.scaling.model: the logistic posterior (density, gradients, minibatch gradient, bounded blocks) and its
exact reference against independent quadratures. Seeded, statistical tolerances."""

import math

import numpy as np
import pytest

from vi_core.scaling import model


def test_gradients_match_finite_differences(small):
    _, post, _ = small
    z = np.array([[0.3, -0.2], [-1.0, 1.5], [0.1, 0.9]])
    g = post.grad_log_density(z)
    h = 1e-6
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        fd = (post.log_density(z + e) - post.log_density(z - e)) / (2 * h)
        np.testing.assert_allclose(g[:, j], fd, rtol=1e-6, atol=1e-5)
    assert np.allclose(post.log_density(z), post.log_density_distinct(z))
    lp, gv = post.value_and_grad(z)  # both in one pass: the same numbers
    np.testing.assert_allclose(lp, post.log_density(z), rtol=1e-12)
    np.testing.assert_allclose(gv, g, rtol=1e-12)


def test_minibatch_gradient_is_unbiased(small):
    _, post, _ = small
    z = np.array([[0.2, 0.7], [-0.5, 1.2]])
    rng = np.random.default_rng(0)
    draws = np.stack([post.minibatch_grad(z, rng.choice(post.n, 20, replace=False)) for _ in range(4000)])
    mean, se = draws.mean(0), draws.std(0) / math.sqrt(len(draws))
    assert np.all(np.abs(mean - post.grad_log_density(z)) < 4 * se)


def test_bounded_chunks_give_the_same_answer(small, monkeypatch):
    _, post, _ = small
    z = np.random.default_rng(2).normal(size=(7, 2))
    full = post.log_density(z)
    monkeypatch.setattr(model, "_CHUNK", 50)  # blocks of 50 floats: many blocks of points and rows
    np.testing.assert_allclose(post.log_density(z), full, rtol=1e-12)


def test_reference_against_gauss_legendre(small):
    # An independent rule: tensor Gauss-Legendre over +-12 sd of the raw rows' density (the reference works on the
    # distinct x on its own grid). 120 nodes a side already agree with 240 to 1e-14 on this smooth integrand.
    _, post, ref = small
    sd = np.sqrt(np.diag(ref.cov))
    lo, hi = ref.mean - 12 * sd, ref.mean + 12 * sd
    u, w = np.polynomial.legendre.leggauss(120)
    a, b = (0.5 * (hi[i] - lo[i]) * u + 0.5 * (hi[i] + lo[i]) for i in range(2))
    wa, wb = (0.5 * (hi[i] - lo[i]) * w for i in range(2))
    zz = np.stack(np.meshgrid(a, b, indexing="ij"), -1)
    dens = np.exp(post.log_density(zz) - ref.log_z) * wa[:, None] * wb[None, :]
    assert dens.sum() == pytest.approx(1.0, abs=1e-9)
    assert (dens * zz[..., 0]).sum() == pytest.approx(ref.mean[0], abs=1e-9 * sd[0])
    assert (dens * zz[..., 1]).sum() == pytest.approx(ref.mean[1], abs=1e-9 * sd[1])


def test_reference_against_a_brute_force_grid(arsenic):
    _, post, ref = arsenic
    sd = np.sqrt(np.diag(ref.cov))
    a = np.linspace(ref.mean[0] - 9 * sd[0], ref.mean[0] + 9 * sd[0], 111)
    b = np.linspace(ref.mean[1] - 9 * sd[1], ref.mean[1] + 9 * sd[1], 111)
    zz = np.stack(np.meshgrid(a, b, indexing="ij"), -1).reshape(-1, 2)
    lp = post.log_density(zz)  # the raw rows, axis-aligned box: independent of the reference's tricks
    w = np.exp(lp - lp.max())
    mean = w @ zz / w.sum()
    cov = np.cov(zz.T, aweights=w, bias=True)
    log_z = lp.max() + math.log(w.sum() * (a[1] - a[0]) * (b[1] - b[0]))
    np.testing.assert_allclose(mean, ref.mean, atol=1e-6)
    np.testing.assert_allclose(cov, ref.cov, rtol=1e-5)
    assert log_z == pytest.approx(ref.log_z, abs=1e-6)
    assert ref.corr == pytest.approx(-0.79, abs=0.01)  # Gelman & Hill's uncentred fit of switching on dist/100
