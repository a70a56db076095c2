"""Plain-language verdicts on a run, each method judged by its own rules, and honest KL printing.

VI: the exact KL(q || p) leads (the grid gives ln p(X) by quadrature, so the KL is exact, not an
estimate), split into the family's bias (the best member's KL) and this run's optimisation gap.
Pareto k̂ of the importance ratios p~/q (vi_core.metrics.pareto_khat) is a second opinion: it is
noisy (0.41-0.94 over 40 draw sets of 10,000 for one q), it sees only where q puts its draws, and
its threshold depends on the number of draws S: min(1 - 1/log10 S, 0.7) (Vehtari et al. 2024).
It is reported beside the KL and never overrides it.

MCMC verdicts, each sampler judged by its own rules, are in vi_core.rules.

Every function returns plain text (no markup) and a level: "good", "warn" or "bad".
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = [
    "GAP_TOL",
    "KL_GOOD",
    "KL_LARGE",
    "KL_TOL",
    "LEVELS",
    "Verdict",
    "format_kl",
    "khat_threshold",
    "kl_tolerance",
    "vi_verdict",
    "worst",
]

LEVELS = ("good", "warn", "bad")
KL_TOL = 1e-6  # nats: below this a KL is 0 to the quadrature's accuracy
KL_GOOD = 0.05  # nats: at most this, q is close to the posterior (a 1D Gaussian with 75 % of the variance: 0.019)
KL_LARGE = 0.5  # nats: above this q is far from it (mean-field on a ρ = 0.9 Gaussian: 0.51, variances 19 %)
GAP_TOL = 0.01  # nats: an optimisation gap above this is the run's failure, not the family's bias


class Verdict(NamedTuple):
    """level: "good", "warn" or "bad"; text: plain sentences for the reader."""

    level: str
    text: str


def worst(levels) -> str:
    """The worst of some levels ("good" < "warn" < "bad"); "good" for none."""
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
    w1: float | None = None,
    w1_floor: float = math.nan,
) -> Verdict:
    """Did VI work? Led by the exact KL and its split into the family's bias and this run's gap.

    khat: Pareto k̂ of p~/q from ``khat_draws`` draws (required: its threshold depends on them; a second
    opinion, never the level);
    kl: KL(q || p) of the final q, exact; kl_best: the family's best KL (nan: unknown);
    kl_local: KL of the local optimum this run was heading for (nan: unknown); n_optima:
    distinct local optima of the family's ELBO found; reference_truncated: the reference
    posterior itself is doubtful; family: a name for q's family; note: one more sentence. w1: for a family
    without a density (particles), its marginal W1 to the truth in posterior sds, which then leads instead, read
    against w1_floor: what as many independent exact draws would score (vi_core.metrics.Yardstick.w1_resolution).
    """
    if w1 is not None:
        return _no_density_verdict(w1, w1_floor, reference_truncated, note)
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
    level = worst(levels)
    head = {
        "good": "Good: q matches the posterior closely.",
        "warn": "Mixed: do not read this q as the posterior.",
        "bad": "Don't trust this q as the posterior.",
    }[level]
    if note:
        parts.append(note)
    return Verdict(level, " ".join([head, *parts]))


W1_GOOD, W1_LARGE = 0.05, 0.2  # posterior sds: a particle cloud this close to every marginal / this far off


def _no_density_verdict(w1: float, floor: float, reference_truncated: bool, note: str) -> Verdict:
    """Particles have no density, so no KL: the marginal W1 to the exact posterior leads, against the W1 that as many
    independent exact draws would score (a few particles cannot do better than that)."""
    good = max(W1_GOOD, 1.5 * floor) if math.isfinite(floor) else W1_GOOD
    noise = f" ({floor:.2g} is what as many exact draws would score)" if math.isfinite(floor) else ""
    if not math.isfinite(w1):
        level, text = "warn", "Its distance to the posterior could not be computed."
    elif w1 <= good:
        level, text = (
            "good",
            f"Marginal W1 = {w1:.2g} posterior sds{noise}: the particles' marginals match the truth's.",
        )
    elif w1 <= max(W1_LARGE, 3 * good):
        level, text = (
            "warn",
            f"Marginal W1 = {w1:.2g} posterior sds{noise}: the particles are near the posterior but off.",
        )
    else:
        level, text = "bad", f"Marginal W1 = {w1:.2g} posterior sds{noise}: the particles miss much of the posterior."
    head = {"good": "Good: the particles cover the posterior.", "warn": "Mixed: do not read these particles as the "
            "posterior.", "bad": "Don't trust these particles as the posterior."}[level]  # fmt: skip
    parts = [head, "Particles have no density, so there is no ELBO, KL or k̂: they are judged by the distance of "
             "their marginals to the exact ones.", text]  # fmt: skip
    if reference_truncated:
        parts.append("The reference posterior is itself uncertain, so the distance is not measured against the truth.")
        level = worst([level, "warn"])
    if note:
        parts.append(note)
    return Verdict(level, " ".join(parts))


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
