"""The engine's public surface: what a script imports from vi_core."""

import subprocess
import sys

import vi_core


def test_every_public_name_resolves_and_the_example_runs():
    for name in vi_core.__all__:
        assert getattr(vi_core, name) is not None, name
    assert "gaussian" in vi_core.TARGETS and "nuts" in vi_core.METHODS
    t = vi_core.make_target("gaussian", rho=0.5)
    vi = vi_core.run_vi(t, "cavi", seed=0, settings=vi_core.Settings(n_grid=60, cavi_sweeps=20))
    mc = vi_core.run_sampler(t, "gibbs", seed=0, settings=vi_core.Settings(n_grid=60, mcmc_steps=200))
    assert isinstance(vi, vi_core.ViResult) and isinstance(mc, vi_core.McmcResult)
    assert vi.verdict and mc.verdict and isinstance(vi.qs[-1], vi_core.Family)


def test_importing_one_submodule_does_not_load_the_whole_engine():
    code = "import sys, vi_core.targets.expr; print('vi_core.api' in sys.modules, 'vi_core.methods' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
