"""Plain-language verdicts on a run, from all the evidence the app has, and honest KL printing.

Pareto k̂ (vi_core.metrics.pareto_khat) fits the tail of the importance ratios p~/q over
draws from q. It sees only where q puts its draws: a q too narrow inside its own region
raises k̂, but a q that sits on one mode of several, or one lobe of a curved posterior, has
well-behaved ratios on its draws and can score "good" while missing most of the mass. So
the VI verdict reads k̂ together with what the grid tells us and k̂ cannot: the exact KL,
how many local optima the family's ELBO has, how far this run ended from the family's best
(the optimisation gap) and whether the reference itself is trustworthy. The MCMC verdict
reads R-hat, the effective sample size and the acceptance rate.

Every function returns plain text (no markup) and a level: "good", "warn" or "bad".
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "GAP_TOL",
    "KL_LARGE",
    "KL_TOL",
    "LEVELS",
    "RHAT_MAX",
    "Verdict",
    "format_kl",
    "kl_tolerance",
    "mcmc_verdict",
    "vi_verdict",
]

LEVELS = ("good", "warn", "bad")
KL_TOL = 1e-6  # nats: below this a KL is 0 to the quadrature's accuracy
KL_LARGE = 0.1  # nats: a KL above this is far from the posterior, whatever k̂ says
GAP_TOL = 0.01  # nats: an optimisation gap above this is the run's failure, not the family's bias
RHAT_MAX = 1.01  # R-hat above this: the chains (walkers) have not converged to one distribution
RHAT_BAD = 1.1
ESS_MIN = 100.0
ACCEPT_LOW, ACCEPT_HIGH = 0.1, 0.9


class Verdict(NamedTuple):
    """level: "good", "warn" or "bad"; text: plain sentences for the reader."""

    level: str
    text: str


def _worst(levels) -> str:
    return max(levels, key=LEVELS.index, default="good")


def _nats(x: float) -> str:
    return f"{x:.2g}" if abs(x) < 0.01 else f"{x:.2f}"


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
) -> Verdict:
    """Did VI work? k̂ read together with the KL, the local optima and the optimisation gap.

    khat: Pareto k̂ of p~/q; kl: KL(q || p) of the final q; kl_best: the family's best KL (nan:
    unknown); kl_local: KL of the local optimum this run was heading for (nan: unknown);
    n_optima: distinct local optima of the family's ELBO found; reference_truncated: the
    reference posterior itself is doubtful; family: a name for the q family in the text;
    note: one more plain sentence to append (e.g. which start is shown).
    """
    parts, levels = [], []
    if khat == -math.inf:  # the largest ratios are all equal: bounded, the best case (vi_core.metrics.pareto_khat)
        levels.append("good")
        parts.append("k̂ = −∞ < 0.5: on q's own draws the largest ratios p/q are all equal, so they are bounded.")
    elif not math.isfinite(khat):
        levels.append("warn")
        parts.append("k̂ could not be computed.")
    elif khat < 0.5:
        levels.append("good")
        parts.append(f"k̂ = {khat:.2f} < 0.5: on q's own draws the ratios p/q are well behaved.")
    elif khat < 0.7:
        levels.append("warn")
        parts.append(f"k̂ = {khat:.2f}, between 0.5 and 0.7: q is a little too narrow somewhere; estimates are biased.")
    else:
        levels.append("bad")
        parts.append(f"k̂ = {khat:.2f} > 0.7: q misses mass the posterior has near q (too narrow or misplaced).")

    evidence = []
    if reference_truncated:
        evidence.append("warn")
        parts.append(
            "The reference posterior is itself uncertain (the box misses mass or its cells are too wide), "
            "so the KL and the other scores are not measured against the truth."
        )
    if math.isfinite(kl) and kl > KL_LARGE:
        evidence.append("warn")
        parts.append(f"KL(q || p) = {_nats(kl)} nats is large: q is far from the posterior.")
    gap = kl - kl_best if math.isfinite(kl_best) else math.nan
    if math.isfinite(gap) and gap > GAP_TOL:
        evidence.append("warn")
        short = kl - kl_local if math.isfinite(kl_local) else math.nan
        basin = kl_local - kl_best if math.isfinite(kl_local) else math.nan
        text = (
            f"This run ended {_nats(gap)} nats above the best KL of {family} ({_nats(kl_best)}): "
            "that much is the optimiser's failure, not the family's cost."
        )
        if math.isfinite(short) and short > GAP_TOL:
            text += f" It had not converged: {_nats(short)} nats short of the optimum it was climbing to."
        if math.isfinite(basin) and basin > GAP_TOL:
            text += f" It climbed to a local optimum {_nats(basin)} nats worse than the best."
        parts.append(text)
    elif math.isfinite(kl_best) and kl_best > KL_LARGE:
        parts.append(f"The best of {family} has KL {_nats(kl_best)} nats: that is the family's cost.")
    if n_optima > 1:
        evidence.append("warn")
        parts.append(
            f"The ELBO has {n_optima} local optima for {family} here: which one VI reaches depends on where it starts."
        )
    if "good" in levels and evidence:
        parts.insert(
            1, "But k̂ only sees where q puts its draws: a q that covers one mode or lobe of several can score well."
        )
    level = _worst(levels + evidence)
    head = {
        "good": "Good: q matches the posterior closely by every check here.",
        "warn": "Mixed evidence: do not read this q as the posterior.",
        "bad": "Don't trust this q.",
    }[level]
    if note:
        parts.append(note)
    return Verdict(level, " ".join([head, *parts]))


def mcmc_verdict(
    rhat, ess, acceptance: float, judge_acceptance: bool = True, divergences: int | None = None
) -> Verdict:
    """Has the sampler converged? R-hat (max over coordinates), ESS (min), the acceptance rate
    (unless the sampler always accepts, like Gibbs: ``judge_acceptance`` False) and, for
    Hamiltonian samplers, the divergent transitions after warm-up."""
    rhat, ess = np.asarray(rhat, dtype=float), np.asarray(ess, dtype=float)
    # nanmax of an all-nan array warns; too few draws give nan R-hat and ESS
    rhat_max = float(rhat[np.isfinite(rhat)].max()) if np.isfinite(rhat).any() else math.nan
    ess_min = float(ess[np.isfinite(ess)].min()) if np.isfinite(ess).any() else math.nan
    parts, levels = [], []
    if not math.isfinite(rhat_max):
        levels.append("warn")
        parts.append("R-hat could not be computed.")
    elif rhat_max > RHAT_MAX:
        levels.append("bad" if rhat_max > RHAT_BAD else "warn")
        parts.append(
            f"Not converged: R-hat = {rhat_max:.3f} > {RHAT_MAX}, the walkers still disagree about the posterior."
        )
    else:
        levels.append("good")
        parts.append(f"R-hat = {rhat_max:.3f} <= {RHAT_MAX}: the walkers agree.")
    if math.isfinite(ess_min) and ess_min < ESS_MIN:
        levels.append("warn")
        parts.append(f"Only {ess_min:.0f} effective draws (< {ESS_MIN:.0f}): estimates from them are noisy.")
    elif math.isfinite(ess_min):
        parts.append(f"{ess_min:.0f} effective draws.")
    if divergences:
        levels.append("warn")
        parts.append(
            f"{divergences} divergent transition{'s' if divergences > 1 else ''} after warm-up: the integrator could "
            "not follow the posterior's curvature there (red ×), so that region may be under-sampled."
        )
    if judge_acceptance and math.isfinite(acceptance) and acceptance < ACCEPT_LOW:
        levels.append("warn")
        parts.append(f"Acceptance {acceptance:.2f} is low: most proposals are rejected, the step is too big.")
    elif judge_acceptance and math.isfinite(acceptance) and acceptance > ACCEPT_HIGH:
        levels.append("warn")
        parts.append(f"Acceptance {acceptance:.2f} is high: the steps are too small, the walkers crawl.")
    level = _worst(levels)
    head = {"good": "Converged by these checks.", "warn": "Not yet trustworthy.", "bad": "Don't trust these draws."}[
        level
    ]
    return Verdict(level, " ".join([head, *parts]))


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
