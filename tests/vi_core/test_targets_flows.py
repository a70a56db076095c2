"""U1-U4 of Rezende & Mohamed (2015): the paper's formulas, contract, ln Z, gradients, the walls of U2-U4."""

from __future__ import annotations

import numpy as np
import pytest

from vi_core.api import Settings, run_method
from vi_core.grid import make_grid
from vi_core.targets import REGISTRY, make_target
from vi_core.targets.flows import STRIP, U1, U2, U3, U4, WALL

ALL = (U1, U2, U3, U4)
WALLED = (U2, U3, U4)
SMALL = Settings(n_grid=80, cavi_sweeps=40, vi_steps=60, walkers=16, mcmc_steps=60)


def _inside(target, n, seed, margin=0.05):
    x0, x1, y0, y1 = target.box
    rng = np.random.default_rng(seed)
    return rng.uniform([x0 + margin, y0 + margin], [x1 - margin, y1 - margin], size=(n, 2))


def _paper_energy(name, z):
    """Table 1 of the paper, transcribed naively (no logaddexp, no shared helpers)."""
    z1, z2 = z[..., 0], z[..., 1]
    w1 = np.sin(2 * np.pi * z1 / 4)
    w2 = 3 * np.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)
    w3 = 3 / (1 + np.exp(-(z1 - 1) / 0.3))
    if name == "u1":
        norm = np.sqrt(z1**2 + z2**2)
        bumps = np.exp(-0.5 * ((z1 - 2) / 0.6) ** 2) + np.exp(-0.5 * ((z1 + 2) / 0.6) ** 2)
        return 0.5 * ((norm - 2) / 0.4) ** 2 - np.log(bumps)
    if name == "u2":
        return 0.5 * ((z2 - w1) / 0.4) ** 2
    if name == "u3":
        return -np.log(np.exp(-0.5 * ((z2 - w1) / 0.35) ** 2) + np.exp(-0.5 * ((z2 - w1 + w2) / 0.35) ** 2))
    return -np.log(np.exp(-0.5 * ((z2 - w1) / 0.4) ** 2) + np.exp(-0.5 * ((z2 - w1 + w3) / 0.35) ** 2))


@pytest.mark.parametrize("cls", ALL)
def test_paper_energies_on_the_paper_box(cls):
    z = np.random.default_rng(5).uniform(-4, 4, size=(500, 2))
    np.testing.assert_allclose(cls().log_density(z), -_paper_energy(cls.name, z), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", WALLED)
def test_wall_beyond_the_strip(cls):
    t = cls()
    d = np.array([0.0, 0.1, 0.5])
    for sign in (-1.0, 1.0):
        z = np.stack([sign * (STRIP + d), np.full(3, 0.3)], axis=-1)
        expected = -_paper_energy(cls.name, z) - 0.5 * (d / WALL) ** 2
        np.testing.assert_allclose(t.log_density(z), expected, rtol=1e-12)


@pytest.mark.parametrize("cls", ALL)
def test_registered_without_parameters(cls):
    t = make_target(cls.name)
    assert REGISTRY[cls.name] is cls and t == cls()
    assert cls.params == () and t.param_values() == {}
    assert cls.description and "\n" not in cls.description


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("shape", [(), (7,), (3, 4)])
def test_shapes(cls, shape):
    t = cls()
    z = _inside(t, int(np.prod(shape)), 0).reshape((*shape, 2))
    assert t.log_density(z).shape == shape
    assert t.grad_log_density(z).shape == (*shape, 2)


@pytest.mark.parametrize("cls", ALL)
def test_finite_on_the_grid(cls):
    g = make_grid(cls())
    assert np.isfinite(g.log_p).all()
    assert np.isfinite(cls().grad_log_density(g.points)).all()


@pytest.mark.parametrize("cls", ALL)
def test_log_z_two_resolutions(cls):
    a, b = make_grid(cls(), 200), make_grid(cls(), 400)
    # Measured: 1e-10 for U1; 2e-6 for U2-U4, whose wall joins the strip with a jump in
    # the second derivative (the midpoint rule then converges as h², not spectrally).
    assert abs(a.log_z - b.log_z) < 1e-5, f"ln Z {a.log_z} at n=200 vs {b.log_z} at n=400"
    assert a.edge_mass < 1e-6 and a.warnings() == []


@pytest.mark.parametrize("cls", WALLED)
def test_walled_log_z_closed_form(cls):
    # Every column holds the same mass √(2π) Σσ_k, times the z1 profile 1 on the strip and
    # the half-normal wall beyond: Z = √(2π) Σσ_k (8 + 0.2 √(2π)).
    t = cls()
    g = make_grid(t)
    assert abs(g.log_z - t.log_z_exact) < 1e-5, f"grid {g.log_z} vs exact {t.log_z_exact}"
    on_strip = np.abs(g.xs) <= STRIP
    np.testing.assert_allclose(g.marginal_x[on_strip], g.marginal_x[on_strip].mean(), rtol=1e-8)


def test_u1_has_no_closed_form():
    assert U1().log_z_exact is None


@pytest.mark.parametrize("cls", ALL)
def test_gradient_finite_differences(cls):
    t = cls()
    z = _inside(t, 300, 1)
    if cls is U1:
        z = z[np.hypot(z[:, 0], z[:, 1]) > 0.1]  # |z| has a kink at the origin
    h = 1e-5
    fd = np.stack([(t.log_density(z + h * e) - t.log_density(z - h * e)) / (2 * h) for e in np.eye(2)], axis=-1)
    np.testing.assert_allclose(t.grad_log_density(z), fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())


def test_u1_gradient_at_origin():
    np.testing.assert_array_equal(U1().grad_log_density(np.zeros(2)), [0.0, 0.0])


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("method", ["cavi", "emcee"])
def test_runs_through_api(cls, method):
    _, res, _ = run_method(cls(), method, 0, SMALL)
    if method == "cavi":
        assert np.isfinite(res.elbo).all() and res.kl[-1] >= -1e-9
    else:
        assert np.isfinite(res.chain).all() and res.acceptance > 0.1


@pytest.mark.parametrize("cls", ALL)
def test_gaussian_vi_runs(cls):
    # The walls make U2-U4 proper on R²: a Gaussian q has a finite KL to them.
    grid, res, _ = run_method(cls(), "gauss-mf", 0, SMALL)
    assert np.isfinite(res.elbo).all() and np.all(res.elbo <= grid.log_z)
