"""Gaussian VI by reparameterisation gradients (vi_core.gaussvi), mean-field and full-rank.

Exact ELBOs of every recorded q by q-centred quadrature; the family's best member by
vi_core.fits (the run's own last q counts as one more start).
"""

from __future__ import annotations

import math

import numpy as np

from vi_core.families import gaussian_elbos
from vi_core.fits import best_reverse_kl_fit, local_reverse_kl_fit
from vi_core.gaussvi import AdamOptions, gaussian_vi, to_q
from vi_core.method import Best, Method, Plan, register
from vi_core.runner import snapshot_indices

__all__ = ["GAUSS_FR", "GAUSS_MF", "elbo_trace"]


def _builder(full_rank: bool):
    def build(target, grid, settings, start, sd) -> Plan:
        x0, x1, y0, y1 = grid.box
        algo = gaussian_vi(
            target,
            start,
            sd,
            full_rank=full_rank,
            n_samples=settings.vi_samples,
            n_steps=settings.vi_steps,
            adam=AdamOptions(lr=settings.vi_lr),
            scale=np.array([(x1 - x0) / 8.0, (y1 - y0) / 8.0]),
        )
        return Plan(algo, settings.vi_steps)

    return build


def elbo_trace(target, loc: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """Exact ELBOs of every recorded Gaussian q, (T,), by the q-centred quadrature.

    61 nodes a side, or 41 where that is as good: when the two agree within 1e-7 nats at the
    snapshot states (early ones included), the smooth target needs no more, and a run of
    1000 steps on a costly density (the data posteriors) is scored in half the time.
    """
    snap = snapshot_indices(loc.shape[0])
    fine = gaussian_elbos(target, loc[snap], chol[snap], n=61)
    coarse = gaussian_elbos(target, loc[snap], chol[snap], n=41)
    n, done = (41, coarse) if np.allclose(coarse, fine, rtol=0.0, atol=1e-7) else (61, fine)
    # the snapshots are scored already: only the other states are left (each q's ELBO is its own)
    rest = np.ones(loc.shape[0], dtype=bool)
    rest[snap] = False
    out = np.empty(loc.shape[0])
    out[snap] = done
    out[rest] = gaussian_elbos(target, loc[rest], chol[rest], n=n)
    return out


def _elbo(target, grid, qs, trace):
    loc = np.stack([q.loc for q in qs])
    chol = np.stack([q.chol for q in qs])
    elbo = elbo_trace(target, loc, chol)
    elbo[-1] = gaussian_elbos(target, loc[-1:], chol[-1:])[0]
    return elbo, np.concatenate([[np.nan], [i.mc_elbo for i in trace.infos]])


def _best_of(full_rank: bool):
    def best(target, grid, qs, elbo, plan) -> Best:
        # The optimum this run was climbing to, then every start's optimum with it as one more start.
        local_q, local_elbo = local_reverse_kl_fit(grid, qs[-1], full_rank)
        try:
            opt = best_reverse_kl_fit(grid, full_rank, extra_starts=(local_q,))
            search_elbo, n_optima = opt.elbo, opt.n_optima
        except ValueError:  # no start has a finite ELBO (a density zero almost everywhere): the run is all we have
            search_elbo, n_optima = -math.inf, 1
        return Best(max(search_elbo, local_elbo, elbo[-1]), max(local_elbo, elbo[-1]), n_optima)

    return best


def _method(name: str, label: str, full_rank: bool, family: str) -> Method:
    return Method(
        name=name,
        label=label,
        kind="vi",
        build=_builder(full_rank),
        steps="vi_steps",
        settings=("vi_steps", "vi_samples", "vi_lr"),
        q=lambda state, grid: to_q(state.avg),
        elbo=_elbo,
        best=_best_of(full_rank),
        family=family,
    )


GAUSS_MF = register(_method("gauss-mf", "Gaussian VI, mean-field", False, "mean-field Gaussians"))
GAUSS_FR = register(_method("gauss-fr", "Gaussian VI, full-rank", True, "full-rank Gaussians"))
