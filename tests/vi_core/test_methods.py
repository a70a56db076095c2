"""The method registry: a toy method registered in a few lines shows up everywhere.

A fixed Gaussian q (a VI 'method' that never moves) and an independence sampler (MCMC with
a fixed Gaussian proposal, odd walker counts allowed) are registered by a fixture and
unregistered afterwards. Nothing outside this file knows them.
"""

import math
from typing import NamedTuple

import numpy as np
import pytest

from vi_core import methods
from vi_core.families import GaussianQ
from vi_core.methods import Method, Plan
from vi_core.runner import Algorithm
from vi_core.settings import BY_FIELD, TABLE, Settings
from vi_core.targets import make_target


def _fixed_q(target, grid, settings, start, sd):
    q = GaussianQ(np.zeros(2), np.eye(2))
    return Plan(Algorithm(lambda rng: q, lambda rng, s: (s, None)), settings.vi_steps)


class _Walkers(NamedTuple):
    z: np.ndarray  # (W, 2)
    lp: np.ndarray  # (W,) target log density
    lq: np.ndarray  # (W,) proposal log density


def _independence(target, grid, settings, start, sd):
    scale = 2.0 * np.sqrt(np.diag(grid.cov))
    centre = grid.mean

    def lq(z):
        return -0.5 * (((z - centre) / scale) ** 2).sum(-1)

    def lp(z):
        with np.errstate(all="ignore"):
            v = target.log_density(z)
        return np.where(np.isnan(v), -np.inf, v)

    def init(rng):
        z = start + sd / 4 * rng.standard_normal((settings.walkers, 2))
        return _Walkers(z, lp(z), lq(z))

    def step(rng, s):
        z = centre + scale * rng.standard_normal(s.z.shape)
        new_lp, new_lq = lp(z), lq(z)
        accept = np.log(rng.uniform(size=len(z))) < (new_lp - s.lp) - (new_lq - s.lq)
        a = accept[:, None]
        return _Walkers(np.where(a, z, s.z), np.where(accept, new_lp, s.lp), np.where(accept, new_lq, s.lq)), accept

    return Plan(Algorithm(init, step), settings.mcmc_steps)


@pytest.fixture
def toys():
    vi = methods.register(
        Method("toy-q", "Toy: a fixed N(0, I)", "vi", _fixed_q, "vi_steps", q=lambda s, grid: s, family="N(0, I)")
    )
    mc = methods.register(
        Method("toy-indep", "Toy: independence sampler", "mcmc", _independence, "mcmc_steps", draws=lambda s: s.z)
    )
    yield vi, mc
    methods.unregister("toy-q")
    methods.unregister("toy-indep")


def test_toys_are_in_the_registry_lists(toys):
    from vi_core import api
    from vi_core.api import METHODS, VI_METHODS

    assert "toy-q" in VI_METHODS and "toy-q" in METHODS and "toy-indep" in api.MCMC_METHODS
    assert api.VI_LABELS["toy-q"] == "Toy: a fixed N(0, I)" and "toy-indep" in api.MCMC_LABELS
    assert "toy-q" not in api.MCMC_LABELS


def test_toys_leave_no_trace():
    from vi_core import api

    assert "toy-q" not in api.METHODS and "toy-q" not in api.VI_LABELS


def test_toys_run_through_the_api(toys):
    from vi_core.api import run_method, run_sampler, run_vi

    t = make_target("gaussian", rho=0.5)
    vi = run_vi(t, "toy-q", settings=Settings(vi_steps=5, n_grid=80))
    assert vi.n_steps == 5 and np.allclose(vi.mean, 0.0) and not vi.on_grid  # a Gaussian: its own ELBO
    assert np.allclose(vi.elbo + vi.kl, vi.log_evidence) and math.isnan(
        vi.optimisation_gap
    )  # no search for the best: unknown
    exact = 0.5 * (2 / 0.75 - 2 + np.log(0.75))  # KL(N(0, I) || N(0, [[1, .5], [.5, 1]]))
    assert abs(vi.kl[-1] - exact) < 1e-3, "Incorrect KL of the fixed q"
    mc = run_sampler(t, "toy-indep", seed=1, settings=Settings(walkers=7, mcmc_steps=400, n_grid=80))
    assert mc.chain.shape == (400, 7, 2) and 0.2 < mc.acceptance < 1.0  # 7 walkers: no even rule here
    assert abs(mc.cov[0, 1] - 0.5) < 0.15 and np.all(np.abs(mc.mean) < 0.2)
    _, again, _ = run_method(t, "toy-indep", seed=1, settings=Settings(walkers=7, mcmc_steps=400, n_grid=80))
    assert np.array_equal(mc.chain, again.chain)


def test_toys_in_the_url_round_trip(toys):
    from ui.spec import RunSpec, from_query, to_query

    spec = RunSpec(make_target("donut"), "toy-q", "toy-indep", 3, Settings(walkers=9))  # odd: fine here
    assert from_query(to_query(spec)) == (spec, "iteration", [])


def test_toys_in_the_cli(toys, capsys):
    import json

    from vi_core.__main__ import build_parser, main

    choices = next(a for a in build_parser()._subparsers._group_actions[0].choices["run"]._actions
                   if a.dest == "method").choices  # fmt: skip
    assert "toy-q" in choices and "toy-indep" in choices
    assert main(["run", "--target", "gaussian", "--method", "toy-indep", "--steps", "50", "--walkers", "5",
                 "--grid", "60", "--json"]) == 0  # fmt: skip
    res = json.loads(capsys.readouterr().out)
    assert res["method"] == "toy-indep" and res["n_steps"] == 50 and res["n_samples"] == (50 - 12) * 5


def test_toys_in_the_playground_radios(toys):
    import pathlib

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(pathlib.Path(__file__).parents[2] / "app.py"), default_timeout=60)
    at.query_params.update({"vi": "toy-q", "mcmc": "toy-indep"})  # no target: the page shows it, runs nothing
    at.run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    vi, mc = at.sidebar.radio[0], at.sidebar.radio[1]
    assert "toy-q" in vi.options or "Toy: a fixed N(0, I)" in vi.options
    assert vi.value == "toy-q" and mc.value == "toy-indep"


def test_registry_rejects_clashes_and_bad_kinds():
    with pytest.raises(ValueError, match="already registered"):
        methods.register(methods.REGISTRY["cavi"])
    with pytest.raises(ValueError, match="kind"):
        Method("x", "x", "magic", _fixed_q, "vi_steps")
    with pytest.raises(ValueError, match="unknown VI method 'emcee'"):
        methods.get("emcee", "vi")


def test_every_method_names_real_settings():
    for m in methods.REGISTRY.values():
        assert m.steps in BY_FIELD and set(m.settings) <= set(BY_FIELD), m.name


def test_the_settings_table_drives_settings():
    assert [f for f in Settings.__dataclass_fields__] == [s.field for s in TABLE]
    assert Settings() == Settings(**{s.field: s.default for s in TABLE}) and hash(Settings()) == hash(Settings())
    for s in TABLE:
        if s.query is not None:
            assert s.lo <= s.ui_lo <= s.default <= s.ui_hi <= s.hi, s.field
