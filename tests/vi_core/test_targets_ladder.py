"""The ladder's targets: the thin ring's closed-form ln Z and resolution, the many-mode mixture's masses and seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from vi_core.grid import make_grid
from vi_core.targets import make_target


def _central_differences(t, z, h=1e-6):
    return np.stack([(t.log_density(z + h * e) - t.log_density(z - h * e)) / (2 * h) for e in np.eye(2)], axis=-1)


@pytest.mark.parametrize(("radius", "width"), [(8.0, 0.1), (10.0, 0.1), (1.0, 1.0), (3.0, 0.4)])
def test_ring_log_z_is_the_radial_integral(radius, width):
    t = make_target("ring", r=radius, sigma=width)
    # written independently: 2 pi ∫ r exp(-(r - R)^2 / 2w^2) dr over r >= 0
    val, _ = quad(lambda r: 2 * math.pi * r * math.exp(-((r - radius) ** 2) / (2 * width**2)), 0, radius + 40 * width,
                  points=[radius], limit=200)  # fmt: skip
    assert t.log_z_exact == pytest.approx(math.log(val), abs=1e-10)


@pytest.mark.parametrize(("radius", "width"), [(8.0, 0.1), (10.0, 0.1)])
def test_the_default_grid_resolves_the_thinnest_ring(radius, width):
    # the docstring's claim: 200 cells a side resolve w >= 0.1 up to R = 10 (the parameters' range)
    g = make_grid(make_target("ring", r=radius, sigma=width))
    assert g.resolution_error < 1e-6 and not g.warnings() and not g.reference_truncated
    assert abs(g.log_z_box - g.log_z) < 1e-6


@pytest.mark.parametrize("name", ["ring", "modes"])
def test_gradients_match_central_differences(name):
    t = make_target(name)
    x0, x1, y0, y1 = t.box
    z = np.random.default_rng(3).uniform([x0, y0], [x1, y1], size=(60, 2)) * 0.9
    if name == "ring":  # near the ring, where the density is not negligible and the gradient is moderate
        ang = np.random.default_rng(4).uniform(0, 2 * np.pi, 60)
        z = (8.0 + 0.3 * np.random.default_rng(5).standard_normal(60))[:, None] * np.c_[np.cos(ang), np.sin(ang)]
    g, fd = t.grad_log_density(z), _central_differences(t, z)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())


def test_modes_is_seeded_normalised_and_has_the_stated_masses():
    t = make_target("modes")
    assert t.log_density(np.zeros((3, 2))).shape == (3,)
    np.testing.assert_array_equal(t._mixture[1], make_target("modes")._mixture[1])  # the same mixture every time
    np.testing.assert_allclose(t.mode_masses, [0.1, 0.2, 0.3, 0.4])
    g = make_grid(t, 300)
    assert abs(g.log_z_box) < 1e-5, "a mixture of normalised Gaussians: ln Z = 0 by quadrature too"
    # each cluster's mass, by quadrature over the cells nearest its centre (the clusters barely overlap)
    nearest = np.argmin(((g.points.reshape(-1, 1, 2) - t.mode_centres) ** 2).sum(-1), axis=1)
    cells = np.bincount(nearest, weights=g.weights.ravel(), minlength=4)
    np.testing.assert_allclose(cells, t.mode_masses, atol=1e-3)
    assert len(t._mixture[0]) == 20 and len(make_target("modes", clusters=3, per=1)._mixture[0]) == 3


def test_modes_reference_is_exact_and_agrees_with_the_grid():
    t = make_target("modes")
    g = make_grid(t, 300)
    ref = g.reference
    assert ref.log_evidence == 0.0 and "exact" in ref.method
    w = g.weights
    mean = np.array([w.sum(1) @ g.xs, w.sum(0) @ g.ys])
    np.testing.assert_allclose(g.mean, mean, atol=1e-4)
    log_w, means, _ = t._mixture
    np.testing.assert_allclose(g.mean, np.exp(log_w) @ means, atol=1e-8)
