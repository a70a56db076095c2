"""vi_core: the engine behind the app. numpy, scipy, emcee and arviz-stats only; no UI.

What a script needs is importable from here (loaded on first use, so importing one submodule stays cheap)::

    from vi_core import make_target, run_vi, run_sampler, Settings
    t = make_target("banana")
    vi = run_vi(t, "gauss-fr", seed=0, settings=Settings(vi_steps=500))
    mc = run_sampler(t, "nuts", seed=0)
    print(vi.kl[-1], vi.verdict, mc.verdict)

The layers, bottom up: targets (vi_core.targets) and their exact references (reference, grid); the families of q
(families: the protocol every q implements); the run loop (runner), budgets (budget) and the method types and
registry (method); the kernels (cavi, gaussvi, mcmc, rwm, gibbs, hmc, adaptation, chains) and their registrations
(methods); scoring (metrics, verdicts, story); and the entry points (api, the CLI in __main__).
"""

from __future__ import annotations

import importlib

# name -> the module that defines it
_EXPORTS = {
    "run_vi": "vi_core.api",
    "run_sampler": "vi_core.api",
    "run_method": "vi_core.api",
    "ViResult": "vi_core.api",
    "McmcResult": "vi_core.api",
    "Settings": "vi_core.settings",
    "DEFAULTS": "vi_core.settings",
    "make_target": "vi_core.targets",
    "TARGETS": "vi_core.targets",
    "make_expr_target": "vi_core.targets.expr",
    "make_grid": "vi_core.grid",
    "Family": "vi_core.families",
    "GaussianQ": "vi_core.families",
    "GridProductQ": "vi_core.families",
    "Method": "vi_core.method",
    "Plan": "vi_core.method",
    "register": "vi_core.method",
    "METHODS": "vi_core.methods",
    "vi_methods": "vi_core.methods",
    "mcmc_methods": "vi_core.methods",
    "what_this_run_shows": "vi_core.story",
}
_RENAMED = {"TARGETS": "REGISTRY", "METHODS": "REGISTRY"}  # the registries, under names that say which

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vi_core' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), _RENAMED.get(name, name))


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
