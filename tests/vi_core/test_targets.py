"""Targets: contract (shapes, finiteness), analytic gradients, validation."""

import math

import numpy as np
import pytest

from vi_core.targets import REGISTRY, make_target
from vi_core.targets.classic import Banana, Donut, Gaussian

CLASSIC = ["gaussian", "banana", "donut", "mixture", "funnel", "squiggle"]


def _points_in_box(target, n, seed=0):
    x0, x1, y0, y1 = target.box
    rng = np.random.default_rng(seed)
    # stay off the very edge of the box, where densities are tiny and gradients huge
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)]) * 0.8


@pytest.mark.parametrize("name", CLASSIC)
def test_shapes_and_finiteness(name):
    t = make_target(name)
    assert t.log_density(np.zeros(2)).shape == ()
    z = _points_in_box(t, 12).reshape(3, 4, 2)
    assert t.log_density(z).shape == (3, 4)
    assert t.grad_log_density(z).shape == (3, 4, 2)
    assert np.isfinite(t.log_density(z)).all() and np.isfinite(t.grad_log_density(z)).all()
    x0, x1, y0, y1 = t.box
    assert x0 < x1 and y0 < y1


@pytest.mark.parametrize("name", CLASSIC)
def test_gradient_matches_central_differences(name):
    t = make_target(name)
    z = _points_in_box(t, 50, seed=1)
    g = t.grad_log_density(z)
    h = 1e-6
    fd = np.stack([(t.log_density(z + h * e) - t.log_density(z - h * e)) / (2 * h) for e in np.eye(2)], axis=-1)
    scale = np.maximum(np.abs(fd), 1.0)
    np.testing.assert_array_less(np.abs(g - fd) / scale, 1e-5)


def test_gradient_matches_on_nondefault_params():
    for t in [Gaussian(rho=-0.95), Banana(b=0.8, s=1.0), Donut(r=1.0, sigma=1.2)]:
        z = _points_in_box(t, 20, seed=2)
        h = 1e-6
        fd = np.stack([(t.log_density(z + h * e) - t.log_density(z - h * e)) / (2 * h) for e in np.eye(2)], -1)
        np.testing.assert_allclose(t.grad_log_density(z), fd, rtol=1e-5, atol=1e-5)


def test_donut_gradient_is_finite_at_origin():
    assert np.array_equal(make_target("donut").grad_log_density(np.zeros(2)), np.zeros(2))


def test_known_values():
    # Gaussian: -1/2 z^T Sigma^-1 z at a point worked by hand.
    t = Gaussian(rho=0.5)
    assert math.isclose(t.log_density(np.array([1.0, 2.0])), -(1 - 2 + 4) / (2 * 0.75))
    assert math.isclose(t.log_z_exact, math.log(2 * math.pi * math.sqrt(0.75)))
    # Banana on its ridge z2 = b(z1^2 - s^2) has only the z1 term.
    b = Banana(b=0.25, s=2.0)
    assert math.isclose(b.log_density(np.array([2.0, 0.0])), -0.5)


def test_registry_and_metadata():
    assert set(CLASSIC) <= set(REGISTRY)
    for name in CLASSIC:
        d = make_target(name).to_dict()
        assert d["name"] == name and d["description"] and len(d["box"]) == 4 and len(d["labels"]) == 2
        for p in d["params"]:
            assert p["lo"] <= p["default"] <= p["hi"]


def test_targets_hash_by_value():
    assert hash(make_target("gaussian", rho=0.3)) == hash(Gaussian(rho=0.3))
    assert make_target("gaussian", rho=0.3) != make_target("gaussian", rho=0.4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(name="nope"), "unknown target 'nope'"),
        (dict(name="gaussian", rho=1.0), "rho=1 is outside its bounds [-0.99, 0.99]"),
        (dict(name="gaussian", rho=float("nan")), "rho must be finite"),
        (dict(name="gaussian", rho=float("inf")), "rho must be finite"),
        (dict(name="gaussian", sigma=1.0), "has no parameter 'sigma'"),
        (dict(name="donut", sigma="wide"), "sigma must be a number"),
        (dict(name="funnel", scale=0.0), "scale=0 is outside its bounds"),
    ],
)
def test_bad_parameters_raise_precise_errors(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(ValueError) as exc:
        make_target(name, **kwargs)
    assert message in str(exc.value)
