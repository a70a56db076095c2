"""HMC (with its leapfrog trajectories) and NUTS (vi_core.hmc) as registered samplers."""

from __future__ import annotations

import functools

import numpy as np

from vi_core.hmc import hmc, nuts
from vi_core.method import Method, Plan, register

__all__ = ["stats"]


def stats(infos, tree: bool = False) -> dict[str, float]:
    """Per-step HmcInfo -> divergences after warm-up (and in it), the final step size, and after
    warm-up (all steps if the run stopped in it): mean leapfrog steps and tree depth (``tree``,
    NUTS) per chain and iteration, mean accept statistic."""
    if not infos:
        return {}
    warm = [i for i in infos if i.warmup]
    post = [i for i in infos if not i.warmup]
    out = {
        "divergences": int(sum(int(np.sum(i.divergent)) for i in post)),
        "divergences_warmup": int(sum(int(np.sum(i.divergent)) for i in warm)),
        "step_size": float(infos[-1].step_size),
    }
    post = post or infos
    out["mean_leapfrog_steps"] = float(np.mean([np.mean(i.n_leapfrog) for i in post]))
    if tree:
        out["mean_tree_depth"] = float(np.mean([np.mean(i.tree_depth) for i in post]))
    out["accept_stat"] = float(np.mean([np.mean(i.accept_stat) for i in post]))
    return out


def _build_hmc(target, grid, settings, start, sd) -> Plan:
    return Plan(hmc(target, settings, start, sd), settings.mcmc_steps)


def _build_nuts(target, grid, settings, start, sd) -> Plan:
    return Plan(nuts(target, settings, start, sd), settings.mcmc_steps)


for _name, _label, _build, _extra, _stats in (
    ("hmc", "HMC (leapfrog paths)", _build_hmc, ("leapfrog_steps",), stats),
    ("nuts", "NUTS (no-U-turn)", _build_nuts, (), functools.partial(stats, tree=True)),
):
    register(
        Method(
            name=_name,
            label=_label,
            kind="mcmc",
            build=_build,
            steps="mcmc_steps",
            settings=("chains", "mcmc_steps", *_extra, "target_accept"),
            draws=lambda kept: kept.positions,
            path=lambda kept: kept.moves,
            stats=_stats,
            rules=("chains", "hamiltonian"),
        )
    )
