"""MCMC verdicts: has the sampler converged, judged by its own rules?

Each sampler declares which rules judge it (``Method.rules``), from ``RULES``:

* ``autocorr`` (emcee's ensembles): the integrated autocorrelation time τ, with the run after
  burn-in at least ``TAU_RUNS`` = 50 τ long, as emcee's documentation advises; walkers are not
  independent chains, so R-hat across them is not used (it over-flags: 1.085 at defaults on a
  Gaussian emcee samples well). Its effective draws: walkers x kept steps / τ.
* ``ensemble_acceptance``: the acceptance fraction within emcee's recommended 0.2-0.5.
* ``chains`` (independent chains): rank-normalised R-hat <= 1.01 with bulk- and tail-ESS >= 400
  (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021); an ESS above the number of draws (τ < 1,
  anti-correlated draws) is explained, never shown bare.
* ``metropolis_acceptance``: random-walk Metropolis's acceptance rate as tuning advice (about
  0.2-0.5 is efficient; outside 0.1-0.9 the chains barely move).
* ``hamiltonian`` (HMC, NUTS): the mean acceptance statistic after warm-up against
  ``target_accept``, and divergent transitions.
* ``gibbs``: stuck updates, and the posterior mass outside the 1D ranges grid conditionals draw
  from (mass Gibbs can never visit).

Every function returns plain text (no markup) and a level: "good", "warn" or "bad" (vi_core.verdicts.Verdict).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from vi_core.verdicts import LEVELS, Verdict, worst

__all__ = ["ESS_MIN", "RHAT_MAX", "RULES", "TAU_RUNS", "Evidence", "Finding", "ensemble_ess", "mcmc_verdict"]

RHAT_MAX = 1.01  # rank-normalised R-hat above this: the chains have not converged to one distribution
RHAT_BAD = 1.1
ESS_MIN = 400.0  # bulk- and tail-ESS below this: estimates are too noisy to trust (Vehtari et al. 2021)
ESS_BAD = 100.0
TAU_RUNS = 50.0  # emcee: the run after burn-in should be at least this many autocorrelation times long
TAU_RUNS_BAD = 10.0
ENSEMBLE_ACCEPT = (0.2, 0.5)  # emcee's recommended acceptance fraction
RWM_ACCEPT_OK = (0.15, 0.6)  # random-walk Metropolis: efficient in about this band (0.44 optimal in 1D, 0.23 in many)
RWM_ACCEPT_BAD = (0.1, 0.9)  # outside: the chains barely move
HMC_ACCEPT_SLACK = 0.1  # an acceptance statistic this far below target_accept: the step size is too large
MASS_OUTSIDE_TOL = 1e-3  # Gibbs: posterior mass outside its 1D ranges above this biases the draws


class Evidence(NamedTuple):
    """What a sampler's run shows after burn-in. Per coordinate (2,): rhat (rank-normalised, chains or
    walkers), ess_bulk, ess_tail (arviz-stats), tau (integrated autocorrelation time, steps).
    n_chains: chains or walkers; n_kept: steps per chain after burn-in; acceptance: the fraction of
    steps that moved; stats: the sampler's own diagnostics (vi_core.methods hooks: divergences,
    accept_stat, stuck_updates, mass_outside_ranges, ...); target_accept: HMC/NUTS's tuning target."""

    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    tau: np.ndarray
    n_chains: int
    n_kept: int
    acceptance: float
    stats: Mapping = MappingProxyType({})
    target_accept: float = 0.8

    @property
    def n_draws(self) -> int:
        return self.n_chains * self.n_kept


class Finding(NamedTuple):
    level: str
    text: str


def _max(a) -> float:
    a = np.asarray(a, dtype=float)
    return float(a[np.isfinite(a)].max()) if np.isfinite(a).any() else math.nan


def _min(a) -> float:
    a = np.asarray(a, dtype=float)
    return float(a[np.isfinite(a)].min()) if np.isfinite(a).any() else math.nan


def _beside(x: float, threshold: float, digits: int = 3) -> str:
    """x printed with enough decimals to show which side of ``threshold`` it is on (1.0104 is not "1.010 > 1.01")."""
    for d in range(digits, digits + 5):
        text = f"{x:.{d}f}"
        if (float(text) > threshold) == (x > threshold) and float(text) != threshold:
            return text
    return f"{x:.{digits + 5}f}"


def ensemble_ess(ev: Evidence) -> np.ndarray:
    """emcee's effective draws per coordinate: walkers x kept steps / τ (2,); nan where τ is not positive."""
    tau = np.asarray(ev.tau, dtype=float)
    with np.errstate(all="ignore"):
        return np.where(tau > 0, ev.n_draws / tau, np.nan)


def _autocorr(ev: Evidence) -> list[Finding]:
    tau = _max(ev.tau)
    if not math.isfinite(tau) or tau <= 0:
        return [Finding("warn", "The autocorrelation time τ could not be estimated (did a walker never move?).")]
    runs = ev.n_kept / tau
    need = math.ceil(TAU_RUNS * tau)
    ess = _min(ensemble_ess(ev))
    text = (
        f"Autocorrelation time τ = {tau:.1f} steps; the {ev.n_kept:,} steps after burn-in are {math.floor(runs)} τ"
        f" (≈ {math.floor(ess):,} independent draws from {ev.n_chains} walkers)."
    )
    if runs >= TAU_RUNS:
        return [Finding("good", text + f" That is at least the {TAU_RUNS:.0f} τ emcee's authors ask for.")]
    level = "bad" if runs < TAU_RUNS_BAD else "warn"
    total = math.ceil(need * 4 / 3)  # burn-in is the first quarter of the steps
    return [
        Finding(
            level,
            text + f" emcee's authors ask for at least {TAU_RUNS:.0f} τ = {need:,} steps after burn-in before "
            "trusting τ or the estimates: the run is too short for how slowly the walkers mix here (emcee moves "
            "walkers along straight lines through other walkers, which is slow on a curved, narrowing or "
            f"multi-modal posterior). About {total:,} steps would do, or a sampler that follows the curvature "
            "(HMC, NUTS) or draws each coordinate exactly (Gibbs).",
        )
    ]


def _ensemble_acceptance(ev: Evidence) -> list[Finding]:
    a, (lo, hi) = ev.acceptance, ENSEMBLE_ACCEPT
    if not math.isfinite(a):
        return []
    if a < lo:
        text = f"Acceptance {a:.2f} is below emcee's recommended {lo}-{hi}: most proposals are rejected, "
        return [Finding("warn", text + "as when the walkers straddle separated modes or a narrow curved region.")]
    if a > hi:
        return [Finding("warn", f"Acceptance {a:.2f} is above emcee's recommended {lo}-{hi}: the moves are timid.")]
    return [Finding("good", f"Acceptance {a:.2f}, within emcee's recommended {lo}-{hi}.")]


def _chains(ev: Evidence) -> list[Finding]:
    out = []
    rhat = _max(ev.rhat)
    if not math.isfinite(rhat) or not np.isfinite(ev.rhat).all():
        out.append(Finding("warn", "R-hat could not be computed for every coordinate (too few draws, or a chain "
                           "that never moved)."))  # fmt: skip
    elif rhat > RHAT_MAX:
        out.append(
            Finding(
                "bad" if rhat > RHAT_BAD else "warn",
                f"R-hat = {_beside(rhat, RHAT_MAX)} > {RHAT_MAX}: the {ev.n_chains} chains still disagree about the "
                "posterior (some have not reached it, or sit in different regions of it).",
            )
        )
    else:
        out.append(Finding("good", f"R-hat = {_beside(rhat, RHAT_MAX)} ≤ {RHAT_MAX}: the {ev.n_chains} chains agree."))
    bulk, tail = _min(ev.ess_bulk), _min(ev.ess_tail)
    if not (np.isfinite(ev.ess_bulk).all() and np.isfinite(ev.ess_tail).all()):
        out.append(Finding("warn", "The effective number of draws could not be computed for every coordinate."))
    elif math.isfinite(bulk) and math.isfinite(tail):
        # floored: an ESS of 399.6 is printed 399, below the 400 it is judged against
        text = (
            f"Effective draws: {math.floor(bulk):,} for the bulk, {math.floor(tail):,} for the tails "
            f"(of {ev.n_draws:,} draws)."
        )
        low = min(bulk, tail)
        if low < ESS_MIN:
            level = "bad" if low < ESS_BAD else "warn"
            out.append(Finding(level, text + f" Below {ESS_MIN:.0f}: estimates from them are noisy."))
        else:
            out.append(Finding("good", text))
        top = _max(ev.ess_bulk)
        if top > ev.n_draws:
            out.append(Finding("good", _antithetic(ev, top)))
    return out


def _antithetic(ev: Evidence, ess: float) -> str:
    tau = _min(ev.tau)
    tau_text = f" (τ = {tau:.2f} < 1)" if math.isfinite(tau) and tau < 1 else ""
    return (
        f"More effective draws ({ess:,.0f}) than draws ({ev.n_draws:,}): successive draws are anti-correlated"
        f"{tau_text}, each step overshooting to the other side. That makes the mean more precise than independent "
        "draws would; it does not make the spread or the tails more precise, so read the tail figure."
    )


def _metropolis_acceptance(ev: Evidence) -> list[Finding]:
    """After burn-in, where the proposal was tuned to the draws (vi_core.rwm): an acceptance far from the efficient
    band means no single Gaussian proposal suits the whole posterior, not a step size to change."""
    a = ev.acceptance
    if not math.isfinite(a):
        return []
    (bad_lo, bad_hi), (ok_lo, ok_hi) = RWM_ACCEPT_BAD, RWM_ACCEPT_OK
    if a < bad_lo:
        return [Finding("warn", f"Acceptance {a:.2f} after burn-in: almost every proposal is rejected, although the "
                        "proposal was tuned to the draws; one Gaussian step cannot suit every part of this posterior "
                        "(too wide for its narrow parts).")]  # fmt: skip
    if a > bad_hi:
        return [Finding("warn", f"Acceptance {a:.2f} after burn-in: almost every proposal is accepted because the "
                        "steps are tiny; the chains crawl.")]  # fmt: skip
    if a < ok_lo or a > ok_hi:
        return [Finding("good", f"Acceptance {a:.2f} after burn-in, outside the efficient {ok_lo}-{ok_hi}: the tuned "
                        "proposal fits some parts of the posterior better than others.")]  # fmt: skip
    return [Finding("good", f"Acceptance {a:.2f} after burn-in, in the efficient range of random-walk Metropolis.")]


def _hamiltonian(ev: Evidence) -> list[Finding]:
    out = []
    a, target = ev.stats.get("accept_stat", math.nan), ev.target_accept
    if math.isfinite(a):
        if a < target - HMC_ACCEPT_SLACK:
            out.append(
                Finding(
                    "warn",
                    f"Mean acceptance statistic {a:.2f}, well below its target {target:.2f}: the step size adapted "
                    "in warm-up is too large for parts of the posterior.",
                )
            )
        else:
            out.append(Finding("good", f"Mean acceptance statistic {a:.2f} (target {target:.2f})."))
    div = int(ev.stats.get("divergences", 0) or 0)
    if div:
        out.append(
            Finding(
                "warn",
                f"{div} divergent transition{'s' if div > 1 else ''} after warm-up: the integrator could not follow "
                "the posterior's curvature there (red ×), so that region is under-sampled and the draws are biased.",
            )
        )
    return out


def _gibbs(ev: Evidence) -> list[Finding]:
    out = []
    stuck = int(ev.stats.get("stuck_updates", 0) or 0)
    if stuck:
        out.append(Finding("warn", f"{stuck:,} updates found no density along their line and left the chain where "
                           "it was."))  # fmt: skip
    mass = float(ev.stats.get("mass_outside_ranges", 0.0) or 0.0)
    if mass > MASS_OUTSIDE_TOL:
        out.append(
            Finding(
                "warn",
                f"Gibbs draws each coordinate on a 1D range, and {mass:.1%} of the posterior lies outside those "
                "ranges, where it can never go: its draws follow the posterior cut to them.",
            )
        )
    return out


RULES: dict[str, Callable[[Evidence], list[Finding]]] = {
    "autocorr": _autocorr,
    "ensemble_acceptance": _ensemble_acceptance,
    "chains": _chains,
    "metropolis_acceptance": _metropolis_acceptance,
    "hamiltonian": _hamiltonian,
    "gibbs": _gibbs,
}


def mcmc_verdict(ev: Evidence, rules: tuple[str, ...]) -> Verdict:
    """Has the sampler converged, by the rules that apply to it (names in ``RULES``)?"""
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise ValueError(f"unknown verdict rules {unknown!r}; choose from {', '.join(RULES)}")
    findings = [f for r in rules for f in RULES[r](ev)]
    level = worst(f.level for f in findings)
    head = {
        "good": "Converged by this sampler's own checks.",
        "warn": "Not yet trustworthy.",
        "bad": "Don't trust these draws.",
    }[level]
    # the problems first, then what is fine
    order = sorted(findings, key=lambda f: -LEVELS.index(f.level))
    return Verdict(level, " ".join([head, *(f.text for f in order)]))
