"""Hamiltonian Monte Carlo and NUTS as init/step pairs for vi_core.runner.run.

Own code, not a library. mici (0.4.1, numpy >= 1.22 + scipy; installs and runs on numpy 2.4
/ Python 3.11) was evaluated: its transitions can be stepped with our Generator
(``transition.sample(chain_state, rng)``), report ``tree_depth``, ``diverging`` and
``accept_stat``, and its dual-averaging adapter could be driven by hand. It was not chosen
because (1) it does not expose the leapfrog positions of a trajectory, which the animation
draws (only by wrapping its integrator and re-ordering the NUTS tree ourselves); (2) its
chain states are mutable per-chain objects, so HMC cannot be vectorised over chains; (3) its
overhead (~0.3 ms per leapfrog step, ~2 ms per NUTS transition on a 2D Gaussian) is about ten
times the cost of the 2D target's own calls and would distort the wall-time comparison with
the other samplers. The code here is small and tested against exact properties
(tests/vi_core/test_hmc.py: reversibility, O(eps^2) energy error, moments on targets with an
exact reference).

* HMC: identity -> diagonal metric, a jittered number of leapfrog steps, vectorised over chains
  (every chain takes the same steps with the same step size in one iteration). The number of steps
  is drawn afresh each iteration, uniformly from ``jitter_range(L)`` (mean L): a fixed trajectory
  length can be close to a multiple of the posterior's half-period, and then successive draws are
  anti-correlated or nearly repeat (resonance: tau < 1, or tau ~ 40 and ESS 5 on a Gaussian at one seed
  of the old fixed-length default). A draw independent of the state keeps every chain's kernel valid.
* NUTS: multinomial sampling with the generalised no-U-turn criterion (Betancourt 2017, with
  the extra checks across subtrees Stan makes), per chain, max tree depth 10.
* Warm-up, the first quarter of the iterations (vi_core.chains.burn_in): the step size, shared
  by the chains, is tuned by Nesterov dual averaging (Hoffman & Gelman 2014) to the chains'
  mean accept statistic; halfway through, the diagonal metric is set from the chains' draws
  of the second eighth (regularised as Stan does) and dual averaging restarts; after warm-up
  the step size is fixed to the averaged value.
* A divergence: the energy error exceeds 1000 or is not finite (log density -inf/nan outside
  the support): the trajectory is rejected (HMC) or stops growing (NUTS).

Every log density and gradient is evaluated only where the algorithm needs it: the current
point's are carried in the state.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from vi_core.adaptation import DualAverage, da_init, da_update
from vi_core.chains import burn_in, initial_walkers
from vi_core.method import PATH_CHAINS, PATH_POINTS, Moves
from vi_core.runner import Algorithm
from vi_core.targets import Target

__all__ = [
    "MAX_DELTA_H",
    "MAX_TREE_DEPTH",
    "HmcInfo",
    "HmcState",
    "Kept",
    "hmc",
    "jitter_range",
    "leapfrog",
    "nuts",
    "thin_path",
]

MAX_DELTA_H = 1000.0  # an energy error above this is a divergence (Stan's threshold)
MAX_TREE_DEPTH = 10
INIT_STEP = 0.25  # initial step size in units of sd (1/8 of the box's shorter side)
MIN_METRIC_ITERS = 8  # fewer warm-up iterations in the metric window: keep the identity metric


class HmcInfo(NamedTuple):
    """One iteration, per chain (C,): divergent, accept statistic, leapfrog steps, tree depth
    (NUTS; HMC: 0), energy error of the proposal (HMC) or of the draw (NUTS) H(new) - H(old);
    step_size the one used; warmup whether the iteration was in warm-up."""

    divergent: np.ndarray
    accept_stat: np.ndarray
    n_leapfrog: np.ndarray
    tree_depth: np.ndarray
    energy_error: np.ndarray
    step_size: float
    warmup: bool


class Kept(NamedTuple):
    """What the run loop records: positions (C, 2); moves: the first PATH_CHAINS chains'
    trajectories (vi_core.methods.Moves)."""

    positions: np.ndarray
    moves: Moves


class HmcState(NamedTuple):
    """z (C, 2), lp (C,), grad (C, 2): the chains and their log density and gradient;
    it: iterations done; step_size; inv_metric (2,) diagonal; da: dual averaging;
    window: (n, sum (2,), sum of squares (2,)) of the draws for the metric; moves: last step's."""

    z: np.ndarray
    lp: np.ndarray
    grad: np.ndarray
    it: int
    step_size: float
    inv_metric: np.ndarray
    da: DualAverage
    window: tuple
    moves: Moves


def _clean(lp):
    """nan (outside the support) as -inf."""
    lp = np.asarray(lp, dtype=float)
    return np.where(np.isnan(lp), -np.inf, lp)


def leapfrog(grad_fn, z, p, g, eps, inv_metric, n_steps: int):
    """``n_steps`` leapfrog steps of size ``eps`` (may be negative: backwards in time) from
    z, p, g (..., 2) -> (z, p, g, path (n_steps, ..., 2)): path holds every position reached.
    inv_metric (2,): the diagonal inverse mass matrix. grad_fn is called once per step."""
    path = np.empty((n_steps, *np.shape(z)))
    with np.errstate(all="ignore"):  # a diverging trajectory may overflow: it is caught by its energy
        p = p + 0.5 * eps * g
        for i in range(n_steps):
            z = z + eps * inv_metric * p
            path[i] = z
            g = np.asarray(grad_fn(z), dtype=float)
            # the last half step closes the trajectory; between steps the two half kicks merge
            p = p + (0.5 if i == n_steps - 1 else 1.0) * eps * g
    return z, p, g, path


def _leapfrog_once(grad_fn, z, p, g, eps, inv_metric):
    """One step: ``leapfrog(..., 1)``'s operations in its order, without its path array and errstate (the caller
    holds one). NUTS takes one step per leaf, and that per-call set-up was a third of a leaf's cost."""
    p = p + 0.5 * eps * g
    z = z + eps * inv_metric * p
    g = np.asarray(grad_fn(z), dtype=float)
    return z, p + 0.5 * eps * g, g


def thin_path(path: np.ndarray, n_max: int = PATH_POINTS) -> np.ndarray:
    """(L, ...) -> at most n_max rows, evenly spaced, first and last kept."""
    n = path.shape[0]
    if n <= n_max:
        return path
    return path[np.round(np.linspace(0, n - 1, n_max)).astype(int)]


def _moves(paths: list[np.ndarray], accepted, divergent) -> Moves:
    """Per-chain paths (L_c, 2) -> Moves with points (c, max L, 2) float32, NaN-padded."""
    paths = [thin_path(p) for p in paths]
    n = max(p.shape[0] for p in paths)
    pts = np.full((len(paths), n, 2), np.nan, dtype=np.float32)
    with np.errstate(all="ignore"):  # beyond float32's range (a divergence): NaN, not drawn
        for i, p in enumerate(paths):
            pts[i, : p.shape[0]] = np.where(np.abs(p) < 1e30, p, np.nan)
    return Moves(pts, np.asarray(accepted, bool), np.asarray(divergent, bool))


def _kinetic(p, inv_metric):
    return 0.5 * np.sum(inv_metric * p * p, axis=-1)


def _sampler(target: Target, settings, start, sd, transition) -> Algorithm:
    """The warm-up and bookkeeping HMC and NUTS share; ``transition(rng, state, eps)`` ->
    (z, lp, grad, info fields, paths: per chain (L_c, 2), every position of its trajectory in
    time order, the old point included) does one iteration at step size eps."""
    n_chains, n_steps, delta = int(settings.chains), int(settings.mcmc_steps), float(settings.target_accept)
    n_warm = burn_in(n_steps)
    # the metric window is the second eighth of the iterations; set at the half of warm-up
    win_lo, win_hi = n_warm // 4, n_warm // 2
    adapt_metric = win_hi - win_lo >= MIN_METRIC_ITERS
    start = np.asarray(start, dtype=float)
    c = min(PATH_CHAINS, n_chains)

    def init(rng):
        z = initial_walkers(rng, start, np.full(2, sd / 4.0), n_chains)
        with np.errstate(all="ignore"):
            lp, g = _clean(target.log_density(z)), np.asarray(target.grad_log_density(z), dtype=float)
        eps = INIT_STEP * sd
        moves = Moves(z[:c, None].astype(np.float32), np.zeros(c, bool), np.zeros(c, bool))
        window = (0, np.zeros(2), np.zeros(2))
        return HmcState(z, lp, g, 0, eps, np.ones(2), da_init(eps), window, moves)

    def step(rng, s: HmcState):
        z, lp, g, info, paths = transition(rng, s, s.step_size)
        warm = s.it < n_warm
        eps, da, inv_metric, window = s.step_size, s.da, s.inv_metric, s.window
        if warm:
            mean_accept = float(np.mean(info["accept_stat"]))
            da, eps = da_update(da, mean_accept, delta)
            if adapt_metric and win_lo <= s.it < win_hi:
                n, s1, s2 = window
                window = (n + z.shape[0], s1 + z.sum(0), s2 + (z * z).sum(0))
            if adapt_metric and s.it == win_hi - 1:
                n, s1, s2 = window
                var = np.maximum(s2 / n - (s1 / n) ** 2, 0.0)
                var = (n / (n + 5.0)) * var + 1e-3 * (5.0 / (n + 5.0))  # Stan's regularisation
                # keep the step size's scale in the new metric: it was set by the narrowest direction
                eps = float(np.exp(da.log_eps_bar) / np.sqrt(var.min()))
                inv_metric, da = var, da_init(eps)
            if s.it == n_warm - 1:
                eps = math.exp(da.log_eps_bar)  # warm-up over: the averaged step size from now on
        moved = np.any(z[:c] != s.z[:c], axis=-1)
        moves = _moves(paths[:c], moved, info["divergent"][:c])
        new = HmcState(z, lp, g, s.it + 1, eps, inv_metric, da, window, moves)
        return new, HmcInfo(step_size=s.step_size, warmup=warm, **info)

    return Algorithm(init, step, keep=lambda s: Kept(s.z, s.moves))


def jitter_range(n_leapfrog: int) -> tuple[int, int]:
    """(lo, hi), inclusive: the leapfrog steps an HMC iteration draws from, uniformly; mean n_leapfrog.
    From half to one and a half times L: long enough to move, varied enough not to resonate."""
    lo = max(1, math.ceil(n_leapfrog / 2))
    return lo, 2 * n_leapfrog - lo


def hmc(target: Target, settings, start, sd) -> Algorithm:
    """HMC with a jittered number of leapfrog steps (mean ``settings.leapfrog_steps``, ``jitter_range``),
    all ``settings.chains`` chains at once."""
    lo, hi = jitter_range(int(settings.leapfrog_steps))

    def transition(rng, s: HmcState, eps):
        inv_metric = s.inv_metric
        n_leap = int(rng.integers(lo, hi + 1))
        p0 = rng.standard_normal(s.z.shape) / np.sqrt(inv_metric)
        z, p, g, path = leapfrog(target.grad_log_density, s.z, p0, s.grad, eps, inv_metric, n_leap)
        with np.errstate(all="ignore"):
            lp = _clean(target.log_density(z))
            h0 = -s.lp + _kinetic(p0, inv_metric)
            dh = (-lp + _kinetic(p, inv_metric)) - h0
        bad = ~np.isfinite(dh) | ~np.all(np.isfinite(g), axis=-1)
        # a chain that starts outside the support (h0 = inf) moves to any finite point
        dh = np.where(np.isneginf(dh) & np.isfinite(lp), -np.inf, np.where(bad, np.inf, dh))
        divergent = dh > MAX_DELTA_H
        accept_stat = np.exp(np.minimum(0.0, -dh))
        accept = (rng.uniform(size=len(dh)) < accept_stat) & ~divergent
        a = accept[:, None]
        info = {
            "divergent": divergent,
            "accept_stat": accept_stat,
            "n_leapfrog": np.full(len(dh), n_leap),
            "tree_depth": np.zeros(len(dh), int),
            "energy_error": dh,
        }
        paths = np.concatenate([s.z[:, None], np.moveaxis(path, 1, 0)], axis=1)  # (C, L + 1, 2)
        return np.where(a, z, s.z), np.where(accept, lp, s.lp), np.where(a, g, s.grad), info, paths

    return _sampler(target, settings, start, sd, transition)


class _Leaf(NamedTuple):
    z: np.ndarray
    p: np.ndarray
    g: np.ndarray
    lp: float


class _Tree(NamedTuple):
    """A subtree: its leftmost and rightmost leaves (in time), sum of momenta rho, log of its
    summed weights exp(-(H - H0)), and its multinomial draw (a leaf)."""

    left: _Leaf
    right: _Leaf
    rho: np.ndarray
    log_w: float
    draw: _Leaf


def nuts(target: Target, settings, start, sd) -> Algorithm:
    """Multinomial NUTS, chain by chain."""

    grad_fn, log_density = target.grad_log_density, target.log_density

    def one_chain(rng, leaf0: _Leaf, eps, inv_metric):
        h0 = -leaf0.lp + float(_kinetic(leaf0.p, inv_metric))
        times, points = [], []  # every leaf's time index (start 0) and position
        acc = {"sum_accept": 0.0, "n": 0, "divergent": False}

        def uturn(left: _Tree, right: _Tree) -> bool:
            """The generalised criterion on the merged tree, and across its two halves."""

            def ok(p_a, p_b, rho):
                return float(np.dot(inv_metric * p_a, rho)) > 0 and float(np.dot(inv_metric * p_b, rho)) > 0

            return not (
                ok(left.left.p, right.right.p, left.rho + right.rho)
                and ok(left.left.p, right.left.p, left.rho + right.left.p)
                and ok(left.right.p, right.right.p, left.right.p + right.rho)
            )

        def build(edge: _Leaf, t_edge: int, direction: int, depth: int):
            """A subtree of 2**depth leaves beyond ``edge`` -> (tree, far time) or (None, _)
            when it diverged or U-turned inside (then it is not used)."""
            if depth == 0:
                z, p, g = _leapfrog_once(grad_fn, edge.z, edge.p, edge.g, direction * eps, inv_metric)
                t = t_edge + direction
                times.append(t)
                points.append(z)
                lp = float(log_density(z))
                lp = -math.inf if math.isnan(lp) else lp
                h = -lp + float(_kinetic(p, inv_metric))
                if not (math.isfinite(h) and np.all(np.isfinite(g))):
                    h = np.inf
                acc["n"] += 1
                acc["sum_accept"] += 1.0 if h0 - h > 0 else math.exp(h0 - h)
                if h - h0 > MAX_DELTA_H or not np.isfinite(h):
                    acc["divergent"] = True
                    return None, t
                leaf = _Leaf(z, p, g, lp)
                return _Tree(leaf, leaf, p, h0 - h, leaf), t
            inner, t = build(edge, t_edge, direction, depth - 1)
            if inner is None:
                return None, t
            outer, t = build(inner.right if direction > 0 else inner.left, t, direction, depth - 1)
            if outer is None:
                return None, t
            left, right = (inner, outer) if direction > 0 else (outer, inner)
            log_w = float(np.logaddexp(inner.log_w, outer.log_w))
            # uniform progressive sampling inside a subtree
            draw = outer.draw if rng.uniform() < math.exp(outer.log_w - log_w) else inner.draw
            if uturn(left, right):
                return None, t
            return _Tree(left.left, right.right, left.rho + right.rho, log_w, draw), t

        tree = _Tree(leaf0, leaf0, leaf0.p, 0.0, leaf0)
        t_left = t_right = 0
        draw, depth = leaf0, 0
        while depth < MAX_TREE_DEPTH:
            direction = 1 if rng.uniform() < 0.5 else -1
            if direction > 0:
                new, t_right = build(tree.right, t_right, 1, depth)
            else:
                new, t_left = build(tree.left, t_left, -1, depth)
            depth += 1
            if new is None:
                break
            # biased progressive sampling: favour the new subtree
            if rng.uniform() < math.exp(min(0.0, new.log_w - tree.log_w)):
                draw = new.draw
            left, right = (tree, new) if direction > 0 else (new, tree)
            turned = uturn(left, right)
            tree = _Tree(left.left, right.right, left.rho + right.rho, float(np.logaddexp(tree.log_w, new.log_w)), draw)
            if turned:
                break
        order = np.argsort(np.array([0, *times]), kind="stable")
        path = np.array([leaf0.z, *points])[order]
        dh = -draw.lp + float(_kinetic(draw.p, inv_metric)) - h0
        accept_stat = acc["sum_accept"] / max(acc["n"], 1)
        return draw, path, (acc["divergent"], accept_stat, acc["n"], depth, dh)

    def transition(rng, s: HmcState, eps):
        inv_metric = s.inv_metric
        p0 = rng.standard_normal(s.z.shape) / np.sqrt(inv_metric)
        z, lp, g = s.z.copy(), s.lp.copy(), s.grad.copy()
        paths, rows = [], []
        with np.errstate(all="ignore"):  # a diverging trajectory may overflow: it is caught by its energy
            for i in range(len(z)):
                draw, path, row = one_chain(rng, _Leaf(s.z[i], p0[i], s.grad[i], float(s.lp[i])), eps, inv_metric)
                z[i], lp[i], g[i] = draw.z, draw.lp, draw.g
                paths.append(path)
                rows.append(row)
        div, acc, n, depth, dh = (np.array(col) for col in zip(*rows, strict=True))
        info = {"divergent": div, "accept_stat": acc, "n_leapfrog": n, "tree_depth": depth, "energy_error": dh}
        return z, lp, g, info, paths

    return _sampler(target, settings, start, sd, transition)
