"""Plain-language verdicts on a run, each method judged by its own rules, and honest KL printing.

VI: the exact KL(q || p) leads (the grid gives ln p(X) by quadrature, so the KL is exact, not an
estimate), split into the family's bias (the best member's KL) and this run's optimisation gap.
Pareto k̂ of the importance ratios p~/q (vi_core.metrics.pareto_khat) is a second opinion: it is
noisy (0.41-0.94 over 40 draw sets of 10,000 for one q), it sees only where q puts its draws, and
its threshold depends on the number of draws S: min(1 - 1/log10 S, 0.7) (Vehtari et al. 2024).
It is reported beside the KL and never overrides it.

MCMC: each sampler declares which rules judge it (``Method.rules``), from ``RULES``:

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

Every function returns plain text (no markup) and a level: "good", "warn" or "bad".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

__all__ = [
    "ESS_MIN",
    "GAP_TOL",
    "KL_GOOD",
    "KL_LARGE",
    "KL_TOL",
    "LEVELS",
    "RHAT_MAX",
    "RULES",
    "TAU_RUNS",
    "Evidence",
    "Verdict",
    "format_kl",
    "khat_threshold",
    "kl_tolerance",
    "mcmc_verdict",
    "vi_verdict",
]

LEVELS = ("good", "warn", "bad")
KL_TOL = 1e-6  # nats: below this a KL is 0 to the quadrature's accuracy
KL_GOOD = 0.05  # nats: at most this, q is close to the posterior (a 1D Gaussian with 75 % of the variance: 0.019)
KL_LARGE = 0.5  # nats: above this q is far from it (mean-field on a ρ = 0.9 Gaussian: 0.51, variances 19 %)
GAP_TOL = 0.01  # nats: an optimisation gap above this is the run's failure, not the family's bias
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


class Verdict(NamedTuple):
    """level: "good", "warn" or "bad"; text: plain sentences for the reader."""

    level: str
    text: str


def _worst(levels) -> str:
    return max(levels, key=LEVELS.index, default="good")


def _nats(x: float) -> str:
    return f"{x:.2g}" if abs(x) < 0.01 else f"{x:.2f}"


def khat_threshold(n_draws: int) -> float:
    """The Pareto k̂ below which importance sampling with S = n_draws is reliable: min(1 - 1/log10 S, 0.7)."""
    return min(1.0 - 1.0 / math.log10(max(n_draws, 11)), 0.7)


def _khat_sentence(khat: float, n_draws: int, kl: float) -> str:
    """k̂ as a second opinion beside the exact KL."""
    thr = khat_threshold(n_draws)
    src = f"from {n_draws:,} draws of q" if n_draws else "from draws of q"
    if khat == -math.inf:  # the largest ratios are all equal: bounded, the best case (vi_core.metrics.pareto_khat)
        return f"Second opinion: Pareto k̂ = −∞ ({src}): the ratios p/q are bounded on q's draws."
    if not math.isfinite(khat):
        return "Second opinion: Pareto k̂ could not be computed."
    head = f"Second opinion: Pareto k̂ = {khat:.2f} {src}, threshold {thr:.2f}"
    if khat < thr:
        if math.isfinite(kl) and kl > KL_GOOD:
            return (
                head + ": the ratios p/q look well behaved on q's own draws, but k̂ sees only where q puts "
                "them: a q that covers one mode or lobe, or too little of a wide posterior, can pass it. "
                "The exact KL above is the verdict."
            )
        return head + ": the ratios p/q are well behaved on q's draws, as the KL says."
    return (
        head + ": the ratios p/q have a heavy tail on q's draws, so somewhere q is too narrow for the posterior "
        "(importance-weighted estimates from q would be unreliable). The exact KL above says how much that costs."
    )


def vi_verdict(
    khat: float,
    kl: float,
    *,
    kl_best: float = math.nan,
    kl_local: float = math.nan,
    n_optima: int = 1,
    reference_truncated: bool = False,
    family: str = "this family",
    note: str = "",
    khat_draws: int,
) -> Verdict:
    """Did VI work? Led by the exact KL and its split into the family's bias and this run's gap.

    khat: Pareto k̂ of p~/q from ``khat_draws`` draws (required: its threshold depends on them; a second
    opinion, never the level);
    kl: KL(q || p) of the final q, exact; kl_best: the family's best KL (nan: unknown);
    kl_local: KL of the local optimum this run was heading for (nan: unknown); n_optima:
    distinct local optima of the family's ELBO found; reference_truncated: the reference
    posterior itself is doubtful; family: a name for q's family; note: one more sentence.
    """
    levels, parts = [], []
    if not math.isfinite(kl):
        levels.append("warn")
        parts.append("KL(q || p) could not be computed.")
    elif kl <= KL_GOOD:
        levels.append("good")
        parts.append(f"KL(q || p) = {_nats(kl)} nats (exact, by quadrature): q is close to the posterior.")
    elif kl <= KL_LARGE:
        levels.append("warn")
        parts.append(
            f"KL(q || p) = {_nats(kl)} nats (exact, by quadrature): q is near the posterior but visibly off "
            "(its spread or shape differ)."
        )
    else:
        levels.append("bad")
        parts.append(f"KL(q || p) = {_nats(kl)} nats (exact, by quadrature): q is far from the posterior.")
    if reference_truncated:
        levels.append("warn")
        parts.append(
            "The reference posterior is itself uncertain (the box misses mass or its cells are too wide), "
            "so the KL and the other scores are not measured against the truth."
        )
    gap = kl - kl_best if math.isfinite(kl_best) and math.isfinite(kl) else math.nan
    if math.isfinite(gap) and gap > GAP_TOL:
        short = kl - kl_local if math.isfinite(kl_local) else math.nan
        basin = kl_local - kl_best if math.isfinite(kl_local) else math.nan
        text = (
            f"Of it, {_nats(max(kl_best, 0.0))} nats is the family's bias (the best of {family}) and {_nats(gap)} nats "
            "this run's optimisation gap: that much is the optimiser's failure, not the family's cost."
        )
        if math.isfinite(short) and short > GAP_TOL:
            text += f" It had not converged: {_nats(short)} nats short of the optimum it was climbing to."
        if math.isfinite(basin) and basin > GAP_TOL:
            text += f" It climbed to a local optimum {_nats(basin)} nats worse than the best."
        parts.append(text)
    elif math.isfinite(gap) and gap < -GAP_TOL:
        parts.append(
            f"This run ended {_nats(-gap)} nats below the best of {family} that the search outside the clock found "
            f"({_nats(max(kl_best, 0.0))}): the search missed this optimum, so the split into bias and gap is unknown."
        )
    elif math.isfinite(kl_best) and math.isfinite(kl) and kl > KL_GOOD:
        parts.append(
            f"All of it is the family's bias: the best of {family} has KL {_nats(max(kl_best, 0.0))}, and this run "
            "reached it (more steps would not help; a richer family would)."
        )
    if n_optima > 1:
        parts.append(
            f"The ELBO has {n_optima} local optima for {family} here: which one VI reaches depends on where it starts."
        )
    parts.append(_khat_sentence(khat, khat_draws, kl))
    level = _worst(levels)
    head = {
        "good": "Good: q matches the posterior closely.",
        "warn": "Mixed: do not read this q as the posterior.",
        "bad": "Don't trust this q as the posterior.",
    }[level]
    if note:
        parts.append(note)
    return Verdict(level, " ".join([head, *parts]))


# ----------------------------------------------------------------------------------------- MCMC


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
    level = _worst(f.level for f in findings)
    head = {
        "good": "Converged by this sampler's own checks.",
        "warn": "Not yet trustworthy.",
        "bad": "Don't trust these draws.",
    }[level]
    # the problems first, then what is fine
    order = sorted(findings, key=lambda f: -LEVELS.index(f.level))
    return Verdict(level, " ".join([head, *(f.text for f in order)]))


def kl_tolerance(grid, on_grid: bool = False) -> float:
    """The numerical tolerance of a KL measured on ``grid``: KL_TOL plus the reference's own
    error estimate of ln p(X) when the grid has one.

    on_grid: the q's ELBO is itself a midpoint sum on the grid's cells (grid CAVI), so it carries
    the grid's resolution error too; twice that estimate is allowed (wide cells can put the sum
    on either side of the exact value)."""
    ref = getattr(grid, "reference", None)
    err = getattr(ref, "log_evidence_error", 0.0)
    err = float(err) if err is not None and math.isfinite(err) else 0.0
    if on_grid:
        res = float(getattr(grid, "resolution_error", 0.0))
        err += 2.0 * res if math.isfinite(res) else 0.0
    return KL_TOL + err


def format_kl(kl: float, tol: float = KL_TOL, digits: int = 4) -> str:
    """A KL for display: "0" when |kl| <= tol (never "-0.0000"), the number otherwise, and an
    error sentence for a negative KL beyond tol, which no q can have.

    A KL below -tol means the ELBO and ln p(X) disagree beyond their quadrature: too few grid
    points for the box (the ELBO of a grid q is a sum over cells), or a reference that misses mass.
    """
    if not math.isfinite(kl):
        return "nan" if math.isnan(kl) else ("inf" if kl > 0 else "error: KL = -inf")
    if abs(kl) <= tol:
        return "0"
    if kl < 0:
        return (
            f"error: KL = {kl:.2g} < 0, which no q can have: the quadrature behind the ELBO or ln p(X) is off by "
            "more than its error estimate; use more grid points per side"
        )
    if kl < 0.5 * 10.0**-digits:
        return f"{kl:.1e}"
    return f"{kl:.{digits}f}"
