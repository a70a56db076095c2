"""SVGD (vi_core.svgd): the Stein direction, the particle family, and where the particles settle."""

import dataclasses
import math
from typing import ClassVar

import numpy as np
import pytest

from vi_core.runner import run
from vi_core.svgd import ParticlesQ, initial_particles, phi, svgd
from vi_core.targets import make_target
from vi_core.targets.base import Target


def test_phi_is_the_stein_sum_written_out():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    out, h = phi(x, g)
    sq = ((x[:, None] - x[None]) ** 2).sum(-1)
    assert h == pytest.approx(np.median(sq[np.triu_indices(6, 1)]) / math.log(7))
    for i in range(6):
        want = np.zeros(2)
        for j in range(6):
            k = math.exp(-np.sum((x[j] - x[i]) ** 2) / h)
            want += k * g[j] + k * 2 / h * (x[i] - x[j])  # k(x_j, x_i) ∇ln p(x_j) + ∇_{x_j} k(x_j, x_i)
        assert np.allclose(out[i], want / 6, atol=1e-12)


def test_one_particle_is_gradient_ascent_to_the_mode():
    # no neighbours, no repulsion: SVGD with one particle climbs to the mode (the MAP), not the posterior
    t = make_target("gaussian", rho=0.5)
    direction, _ = phi(np.array([[1.0, -2.0]]), t.grad_log_density(np.array([[1.0, -2.0]])))
    assert np.allclose(direction, t.grad_log_density(np.array([[1.0, -2.0]])))
    algo = svgd(t, np.array([2.0, -1.5]), 1.0, t.box, n_particles=1, spread=0.01, lr=0.05)
    states = run(algo, 2000, seed=0).states
    # the step's size is fixed at lr x sd (RMS-normalised), so it ends within one step of the mode
    assert np.allclose(states[-1].x[0], 0.0, atol=0.05 * 1.0)


def test_the_particle_family_reports_sample_moments_and_the_empirical_cdf():
    x = np.random.default_rng(1).normal(size=(50, 2))
    q = ParticlesQ(x)
    assert not q.has_density and q.draws == 50 and math.isnan(q.elbo(None))
    assert np.allclose(q.mean, x.mean(0)) and np.allclose(q.cov, np.cov(x.T))
    t = np.array([-1.0, 0.0, 0.5])
    assert np.allclose(q.marginal_cdf(None, 0, t), [(x[:, 0] <= v).mean() for v in t])


def test_initial_particles_cover_the_box_or_sit_at_the_start():
    box = (-4.0, 4.0, -4.0, 4.0)
    wide = initial_particles(np.random.default_rng(2), np.array([3.0, 3.0]), 1.0, box, 100, 4.0)
    assert wide.shape == (100, 2) and np.all(np.abs(wide) <= 4.0)
    assert np.allclose(wide.mean(0), 0.0, atol=0.3), "at spread 4 the start does not favour a corner"
    narrow = initial_particles(np.random.default_rng(2), np.array([3.0, 3.0]), 1.0, box, 100, 0.1)
    assert np.all(np.abs(narrow - 3.0) <= 0.2), "a narrow start sits at the start (its centre slides by spread/4)"


@dataclasses.dataclass(frozen=True)
class ThreeModes(Target):
    """Three well-separated unit Gaussians with masses 0.5, 0.3, 0.2 (a test target, not registered)."""

    name: ClassVar[str] = "three-modes"
    centres: ClassVar[np.ndarray] = np.array([[-4.0, -3.0], [4.0, -3.0], [0.0, 4.0]])
    masses: ClassVar[np.ndarray] = np.array([0.5, 0.3, 0.2])

    def _comp(self, z):
        d = np.asarray(z, dtype=float)[..., None, :] - self.centres
        return np.log(self.masses) - 0.5 * (d * d).sum(-1), d

    def log_density(self, z):
        c, _ = self._comp(z)
        top = c.max(-1)
        return top + np.log(np.exp(c - top[..., None]).sum(-1))

    def grad_log_density(self, z):
        c, d = self._comp(z)
        r = np.exp(c - c.max(-1, keepdims=True))
        r /= r.sum(-1, keepdims=True)
        return -(r[..., None] * d).sum(-2)

    @property
    def box(self):
        return (-8.0, 8.0, -7.0, 8.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_separated_modes_keep_the_particles_that_started_near_them(seed):
    # The lesson SVGD teaches here: the score cannot see the masses of isolated modes, so started over the whole
    # box (spread 4) each mode keeps roughly the particles that began near it, whatever its mass (0.5, 0.3, 0.2)
    t = ThreeModes()
    algo = svgd(t, np.zeros(2), 15.0 / 8, t.box, n_particles=200, spread=4.0, lr=0.1)
    states = run(algo, 1500, seed=seed).states

    def shares(x):
        nearest = np.argmin(((x[:, None] - t.centres) ** 2).sum(-1), axis=1)
        return np.bincount(nearest, minlength=3) / len(x), nearest

    start, _ = shares(states[0].x)
    end, nearest = shares(states[-1].x)
    assert np.all(np.abs(end - start) < 0.12), (start, end)  # "near": the basins are not the Voronoi cells
    assert np.max(np.abs(end - t.masses)) > 0.1, "and so not by the masses"
    x = states[-1].x
    for k in range(3):  # within each mode the particles spread as the component does (sd 1), roughly
        assert 0.7 < x[nearest == k].std(0).mean() < 1.3
