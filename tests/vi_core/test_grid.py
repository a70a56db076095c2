"""Quadrature: ln Z against the closed forms, moments, diagnostics of the box."""

import math

import numpy as np
import pytest
from scipy import stats

from vi_core.grid import make_grid
from vi_core.targets import make_target

CLOSED_FORM = ["gaussian", "banana", "donut", "mixture", "squiggle"]


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_log_z_matches_formula_at_default_grid(name):
    t = make_target(name)
    g = make_grid(t)
    assert abs(g.log_z - t.log_z_exact) < 1e-3, f"{name}: {g.log_z} vs {t.log_z_exact}"
    assert not g.warnings()


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("gaussian", {"rho": -0.95}),
        ("banana", {"b": 1.0, "s": 1.0}),
        ("donut", {"r": 4.0, "sigma": 0.1}),
        ("mixture", {"d": 0.0, "s": 2.0}),
        ("squiggle", {"a": 3.0, "omega": 0.5, "s1": 3.0, "s2": 1.5}),
    ],
)
def test_log_z_matches_formula_across_parameters(name, params):
    t = make_target(name, **params)
    assert abs(make_grid(t).log_z - t.log_z_exact) < 1e-3


def test_gaussian_log_z_on_fine_grid():
    t = make_target("gaussian", rho=0.8)
    g = make_grid(t, n=400, box=(-7, 7, -7, 7))
    assert abs(g.log_z - t.log_z_exact) < 1e-6


def test_funnel_within_1e3_at_scale_1():
    t = make_target("funnel", scale=1.0)
    assert abs(make_grid(t).log_z - t.log_z_exact) < 1e-3


def test_funnel_at_scale_3_window_misses_mass_the_reference_does_not():
    # The lesson of the funnel: the neck (v << 0) is narrower than any cell and the mouth (v >> 0)
    # wider than the box. The working grid (picture, grid CAVI) misses both, and says so in a
    # note; the reference -- ln Z, moments -- is exact, computed in (v, x e^(-v/2)).
    t = make_target("funnel", scale=3.0)
    g = make_grid(t)
    assert 0.01 < t.log_z_exact - g.log_z_box < 0.1  # what the old grid called ln Z
    assert abs(g.log_z - t.log_z_exact) < 1e-12
    assert abs(g.cov[1, 1] / math.exp(4.5) - 1) < 1e-3
    assert g.resolution_error > 1e-2 and 0.035 < g.mass_outside_box < 0.045
    assert g.warnings() == [] and not g.reference_truncated
    (note,) = g.notes()
    assert "outside the box" in note and "off by" in note


def test_moments_and_marginals_of_gaussian():
    g = make_grid(make_target("gaussian", rho=0.8), n=300, box=(-6, 6, -6, 6))
    np.testing.assert_allclose(g.mean, 0.0, atol=1e-9)
    np.testing.assert_allclose(g.cov, [[1, 0.8], [0.8, 1]], atol=1e-6)
    # marginals are standard normal densities and integrate to one
    np.testing.assert_allclose(g.marginal_x, np.exp(-0.5 * g.xs**2) / math.sqrt(2 * math.pi), atol=1e-7)
    # the true marginal: ±6 leaves 2e-9 of the mass outside
    assert math.isclose(g.marginal_y.sum() * g.dy, 1.0 - g.mass_outside_box / 2, rel_tol=1e-8)
    assert math.isclose(g.weights.sum(), 1.0, rel_tol=1e-12)


def test_banana_moments_match_analytic():
    # z1 ~ N(0, s^2), z2 = b(z1^2 - s^2) + N(0, 1): E z2 = 0, Var z2 = 2 b^2 s^4 + 1, Cov = 0.
    b, s = 0.25, 2.0
    g = make_grid(make_target("banana", b=b, s=s), n=500, box=(-12, 12, -6, 40))
    np.testing.assert_allclose(g.mean, [0, 0], atol=2e-3)
    np.testing.assert_allclose(np.diag(g.cov), [s**2, 2 * b**2 * s**4 + 1], rtol=3e-3)


def test_edge_mass_warns_when_box_cuts_target():
    t = make_target("gaussian", rho=0.0)
    g = make_grid(t, box=(-1, 1, -1, 1))
    assert g.edge_mass > 0.01
    assert abs(g.mass_outside_box - (1 - (2 * stats.norm.cdf(1) - 1) ** 2)) < 1e-12  # exact
    assert abs(g.log_z - t.log_z_exact) < 1e-12  # the reference is not cut with the box
    assert any("Widen the box" in w for w in g.warnings())
    assert make_grid(t).edge_mass < 1e-4


def test_resolution_warning_for_a_too_narrow_target():
    g = make_grid(make_target("gaussian", rho=0.99), n=12)  # cells wider than the ridge
    assert g.resolution_error > 1e-3
    assert any("narrower than the grid" in w and w.endswith("Use more grid points per side.") for w in g.warnings())
    assert make_grid(make_target("gaussian", rho=0.99), n=200).warnings() == []


def test_bad_grid_arguments():
    t = make_target("gaussian")
    with pytest.raises(ValueError, match="grid size n must be an integer"):
        make_grid(t, n=3)
    with pytest.raises(ValueError, match="xmin < xmax"):
        make_grid(t, box=(1, 0, 0, 1))
    with pytest.raises(ValueError, match="finite"):
        make_grid(t, box=(0, float("nan"), 0, 1))


class _Broken:
    """A stand-in target whose density is NaN / +inf / zero in places."""

    box = (-1.0, 1.0, -1.0, 1.0)

    def __init__(self, fn):
        self.fn = fn

    def log_density(self, z):
        return self.fn(z[..., 0], z[..., 1])


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda x, y: np.where(x > 0.5, np.nan, -x * x), "NaN at"),
        (lambda x, y: np.where(x > 0.5, np.inf, -x * x), "+inf at"),
        (lambda x, y: np.full_like(x, -np.inf), "zero (log density -inf) everywhere"),
    ],
)
def test_pathological_densities_are_reported(fn, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        make_grid(_Broken(fn), n=20)


def test_partly_zero_density_is_fine():
    g = make_grid(_Broken(lambda x, y: np.where(x > 0, -(x * x + y * y), -np.inf)), n=40)
    assert np.isfinite(g.log_z) and g.weights[g.xs < 0].sum() == 0


@pytest.mark.parametrize("name", ["funnel", "donut"])
def test_grid_pickles_with_its_reference(name):
    # the app caches grids by pickling them
    import pickle

    g = make_grid(make_target(name))
    _ = (g.log_z, g.reference, g.marginal_y, g.warnings())
    h = pickle.loads(pickle.dumps(g))
    assert h.log_z == g.log_z and np.array_equal(h.cov, g.cov) and np.array_equal(h.marginal_y, g.marginal_y)


def test_grid_in_chunks_of_rows_equals_one_pass(monkeypatch):
    from vi_core import chunks

    t = make_target("donut")  # no closed form: the trapezoid check evaluates the corners too
    whole = make_grid(t, n=50)
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 3 * 50 + 7)  # three rows a chunk, the last one short
    chunked = make_grid(t, n=50)
    np.testing.assert_array_equal(chunked.log_p, whole.log_p)
    assert chunked.log_z_box == whole.log_z_box and chunked.resolution_error == whole.resolution_error
