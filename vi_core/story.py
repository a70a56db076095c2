""" "What this run shows": two or three sentences drawn from a finished run's numbers.

Which method ends closer to the exact posterior and by how much (on the tail-sensitive yardstick, the
marginal 1-Wasserstein distance in posterior sds, when it is known; else the MMD), how long each took, and
whether VI's remaining error is its family's bias or an unfinished optimisation. The sentences agree with
the verdicts (vi_core.verdicts): a sampler whose own checks fail is not called the more accurate, only the
closer at the end, with the reason its figure may still move; a sampler's distance within its Monte Carlo
resolution is called noise, not bias.
"""

from __future__ import annotations

import math

from vi_core.verdicts import GAP_TOL, KL_GOOD

__all__ = ["CLOSE_RATIO", "NOISE_RATIO", "closer", "what_this_run_shows"]

CLOSE_RATIO = 1.5  # distances within this factor of each other: "about as close"
NOISE_RATIO = 2.0  # a sampler's W1 within this factor of its Monte Carlo resolution: noise, not bias


def _final(res, name: str) -> float:
    v = getattr(res, name, None)
    return float(v[-1]) if v is not None and len(v) and math.isfinite(float(v[-1])) else math.nan


def _yardstick(vi, mc) -> tuple[str, float, float]:
    """(what is compared, VI's final distance, MCMC's final distance): W1 when both have it, else MMD."""
    w_vi, w_mc = _final(vi, "w1_sd"), _final(mc, "w1_sd")
    if math.isfinite(w_vi) and math.isfinite(w_mc):
        return "marginal W1", w_vi, w_mc
    return "MMD", _final(vi, "mmd"), _final(mc, "mmd")


def closer(vi, mc) -> str:
    """ "vi", "mcmc", "tie" (within CLOSE_RATIO) or "unknown" (a distance is not a number): which ends closer."""
    _, a, b = _yardstick(vi, mc)
    if not (math.isfinite(a) and math.isfinite(b)):
        return "unknown"
    floor = 1e-3  # distances below this are both at the yardstick's resolution
    a, b = max(a, floor), max(b, floor)
    if a > CLOSE_RATIO * b:
        return "mcmc"
    if b > CLOSE_RATIO * a:
        return "vi"
    return "tie"


def _s(t: float) -> str:
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def _times(a: float, b: float) -> str:
    r = a / b if b > 0 else math.inf
    return f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"


def _first(vi, mc) -> str:
    what, d_vi, d_mc = _yardstick(vi, mc)
    unit = " sd" if what == "marginal W1" else ""
    who = closer(vi, mc)
    if who == "unknown":
        return "The final distances to the exact posterior could not both be computed, so they are not compared."
    if who == "tie":
        first = (
            f"Both end about equally close to the exact posterior ({what} {d_vi:.3g}{unit} for VI, "
            f"{d_mc:.3g}{unit} for MCMC)"
        )
    else:
        vi_name, mc_name = f"VI, {vi.label},", f"MCMC, {mc.label},"
        (w, dw), (l_, dl) = ((vi_name, d_vi), (mc_name, d_mc)) if who == "vi" else ((mc_name, d_mc), (vi_name, d_vi))
        first = (
            f"{w} ends closer to the exact posterior: {what} {dw:.3g}{unit} against {dl:.3g}{unit} for "
            f"{l_.split(',')[0]}, {_times(max(dl, 1e-3), max(dw, 1e-3))} closer"
        )
    resolution = float(getattr(mc, "w1_resolution", math.nan))
    if what == "marginal W1" and math.isfinite(resolution) and d_mc <= NOISE_RATIO * resolution:
        first += (
            f"; MCMC's {d_mc:.2g} sd is about what as many independent exact draws as its effective draws would "
            f"score ({resolution:.2g}): Monte Carlo noise that more draws shrink, not bias"
        )
    if mc.verdict_level != "good":
        first += ", though the draws are not yet trustworthy by the sampler's own checks (see its verdict)"
    return first + "."


def _vi_error(vi) -> str | None:
    kl, best = _final(vi, "kl"), float(getattr(vi, "kl_best", math.nan))
    if not math.isfinite(kl):
        return None
    gap = kl - best if math.isfinite(best) else math.nan
    if math.isfinite(gap) and gap > GAP_TOL:
        if gap > 0.5 * kl:
            return (
                f"Most of VI's error is an unfinished optimisation ({gap:.2g} of its {kl:.2g} nats of KL): "
                "more steps, or a better start, would bring it closer."
            )
        return (
            f"VI's error is mostly its family's bias ({max(best, 0.0):.2g} of its {kl:.2g} nats of KL, the best its "
            f"family can do); the other {gap:.2g} nats are this run's unfinished optimisation."
        )
    if kl > KL_GOOD and math.isfinite(best) and not (math.isfinite(gap) and gap < -GAP_TOL):
        return (
            f"VI's error is its family's bias: KL {kl:.2g} nats, all of it the best its family can do; more steps "
            "would not help, only a richer family would."
        )
    if kl <= KL_GOOD:
        return f"VI's q is close to the posterior (KL {kl:.2g} nats)."
    return f"VI's q is {kl:.2g} nats of KL from the posterior."


def what_this_run_shows(vi, mc) -> list[str]:
    """Sentences for a VI result (vi_core.api.ViResult) and a sampler's (McmcResult), from their numbers."""
    sentences = [_first(vi, mc)]
    t_vi, t_mc = vi.wall_time_s, mc.wall_time_s
    if t_mc >= t_vi:
        sentences.append(f"VI took {_s(t_vi)}, MCMC {_s(t_mc)}: {_times(t_mc, max(t_vi, 1e-9))} as long.")
    else:
        sentences.append(f"MCMC took {_s(t_mc)}, VI {_s(t_vi)}: {_times(t_vi, max(t_mc, 1e-9))} as long.")
    vi_error = _vi_error(vi)
    if vi_error:
        sentences.append(vi_error)
    return sentences
