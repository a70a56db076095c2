"""emcee's ensemble sampler on the one run loop (vi_core.runner.run), as an init/step pair.

The moves (stretch, differential evolution) are registered methods in vi_core.methods.emcee_moves.
emcee's per-step Python overhead dominates on cheap 2D densities, so the defaults use
many walkers and few steps, and the log density is vectorised over walkers. What every sampler's
chains share (burn-in, initial walkers, diagnostics) is in vi_core.chains.
"""

from __future__ import annotations

from typing import NamedTuple

import emcee
import numpy as np
from emcee.model import Model  # what moves' propose(model, state) take; emcee builds it the same way
from emcee.moves.move import Move
from emcee.moves.red_blue import RedBlueMove

from vi_core.chains import initial_walkers
from vi_core.runner import Algorithm
from vi_core.targets.base import Target

__all__ = ["EnsembleState", "ensemble", "log_prob_fn"]


def _propose_red_blue(move: RedBlueMove, model: Model, state: emcee.State) -> tuple[emcee.State, np.ndarray]:
    """RedBlueMove.propose (the stretch and DE moves) with its accept step for all of a half at once.

    emcee accepts walker by walker in a Python loop, one ``random.rand()`` each (a third of a default run's
    stepping); ``random.rand(n)`` draws the same n numbers in the same order, so the chain is emcee's own. The
    proposals are the move's own; so is the update when the move has its own, else ``Move.update``'s assignment is
    done here (without the State it would wrap the proposals in: its construction and the call cost ~15 % of a
    default run's stepping)."""
    nwalkers, ndim = state.coords.shape
    if nwalkers < 2 * ndim and not move.live_dangerously:
        raise RuntimeError(
            "It is unadvisable to use a red-blue move with fewer walkers than twice the number of dimensions."
        )
    move.setup(state.coords)
    accepted = np.zeros(nwalkers, dtype=bool)
    all_inds = np.arange(nwalkers)
    inds = all_inds % move.nsplits
    if move.randomize_split:
        model.random.shuffle(inds)
    halves = [inds == j for j in range(move.nsplits)]
    own_update = type(move).update is not Move.update
    for split in range(move.nsplits):
        half = halves[split]
        sets = [state.coords[h] for h in halves]  # after the last half's update, as emcee takes them
        q, factors = move.get_proposal(sets[split], sets[:split] + sets[split + 1 :], model.random)
        new_log_probs, new_blobs = model.compute_log_prob_fn(q)
        j = all_inds[half]
        lnpdiff = factors + new_log_probs - state.log_prob[j]
        accepted[j] = lnpdiff > np.log(model.random.rand(j.size))
        if own_update or new_blobs is not None:
            state = move.update(state, emcee.State(q, log_prob=new_log_probs, blobs=new_blobs), accepted, half)
        else:
            took = accepted[j]
            state.coords[j[took]] = q[took]
            state.log_prob[j[took]] = new_log_probs[took]
    return state, accepted


def log_prob_fn(target: Target):
    """The target's log density for a batch of walkers, nan (outside the support) as -inf."""

    def log_prob(z):
        with np.errstate(all="ignore"):
            lp = target.log_density(z)
        return np.where(np.isnan(lp), -np.inf, lp)

    return log_prob


class EnsembleState(NamedTuple):
    """walkers: emcee's State (coords (W, 2), log_prob (W,)); random: the legacy RandomState
    emcee's moves draw from, seeded from our Generator at init and passed along like it."""

    walkers: emcee.State
    random: np.random.RandomState


def ensemble(target: Target, move, start: np.ndarray, spread: np.ndarray, n_walkers: int) -> Algorithm:
    """emcee's EnsembleSampler with one move as an init/step pair.

    init draws the walkers around ``start`` and seeds emcee's RandomState from our Generator
    (one seed fixes all); step is the body of ``EnsembleSampler.sample``'s loop -- pick the
    move (one draw, as emcee does), ``move.propose(model, state)`` (for the red-blue moves the same
    propose with its accept step vectorised, ``_propose_red_blue``) -- so the chain is the one
    ``EnsembleSampler.run_mcmc`` draws from the same State, faster. The run loop keeps
    only the walker positions (``keep``). The ensemble moves need an even number of walkers.
    """
    if n_walkers < 4 or n_walkers % 2:
        raise ValueError(f"walkers must be an even number >= 4 for emcee's moves, got {n_walkers}")
    start, spread = np.asarray(start, float), np.asarray(spread, float)
    log_prob = log_prob_fn(target)
    sampler = emcee.EnsembleSampler(n_walkers, 2, log_prob, moves=move, vectorize=True)
    moves, cdf = [move], np.ones(1)

    def compute_log_prob(coords):
        """EnsembleSampler.compute_log_prob for our vectorised, blob-free log density, and its checks: emcee's own
        turns each walker's value into a Python float one at a time (a third of a default run's stepping)."""
        if not np.isfinite(coords).all():  # the array methods: np.all's dispatch costs more than the check
            raise ValueError("At least one parameter value was infinite or NaN")
        lp = np.asarray(log_prob(coords), dtype=float)
        if lp.shape != coords.shape[:1]:
            raise ValueError(f"the log density gave shape {lp.shape} for {coords.shape[0]} walkers")
        if np.isnan(lp).any():
            raise ValueError("Probability function returned NaN")
        return lp, None

    def init(rng):
        p0 = initial_walkers(rng, start, spread, n_walkers)
        random = np.random.RandomState(int(rng.integers(2**31)))
        walkers = emcee.State(p0)
        walkers.log_prob, walkers.blobs = compute_log_prob(p0)
        return EnsembleState(walkers, random)

    def step(rng, state):
        model = Model(sampler.log_prob_fn, compute_log_prob, map, state.random)
        # emcee draws its move even when there is one: RandomState.choice(moves, p=weights) takes one uniform
        # and searches the weights' cdf; the same draw without choice's checks (the same stream, the same move)
        chosen = moves[int(np.searchsorted(cdf, state.random.random_sample(), side="right"))]
        old = state.walkers  # moves update the State they are given in place: give them a copy
        fresh = emcee.State(old.coords.copy(), log_prob=old.log_prob.copy())
        if isinstance(chosen, RedBlueMove):
            walkers, accepted = _propose_red_blue(chosen, model, fresh)
        else:
            walkers, accepted = chosen.propose(model, fresh)
        return EnsembleState(walkers, state.random), accepted

    return Algorithm(init, step, keep=lambda state: state.walkers.coords)
