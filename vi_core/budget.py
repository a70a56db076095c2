"""A run's deadline and cancellation, seen by every loop without threading it through every call.

A caller (the app's job queue or its worker processes, a test) opens ``within(seconds, cancel=event,
progress=fn)`` around a whole run -- grid, algorithm and scoring. Long loops call ``checkpoint()`` once
per step or chunk: it raises ``Cancelled`` when the event is set (the visitor left or pressed Run again) and
``OutOfTime`` when the hard deadline has passed; ``soft_left()`` tells the run loop how long it may
keep stepping so that scoring still fits. Outside ``within`` every call is a no-op, so the CLI and the
engine's tests run unbounded as before. The budget lives in a context variable: each thread (each
run) has its own. ``left()`` and ``cancelled()`` let a caller that hands the run on to another process forward
what is left of the budget there; the engine itself only honours it.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Callable, Iterator
from typing import Protocol

__all__ = ["Cancelled", "OutOfTime", "cancelled", "checkpoint", "left", "report", "soft_left", "within"]

# The algorithm loop may use this share of what is left; scoring (a few dozen snapshots) gets the rest.
LOOP_SHARE = 0.6


class Cancelled(Exception):
    """The run was cancelled by its caller; nothing it computed should be kept."""


class OutOfTime(RuntimeError):
    """The run passed its hard deadline (grid, algorithm and scoring together)."""

    def __init__(self, seconds: float):
        super().__init__(
            f"this run needed more than its {seconds:.3g} s budget. Fewer steps, fewer walkers or samples, "
            "or fewer grid points per side will fit."
        )
        self.seconds = seconds

    def __reduce__(self):  # pickled (from a worker process) by its seconds, not its message
        return (OutOfTime, (self.seconds,))


class _Event(Protocol):
    """What ``within`` reads of its cancel argument: a threading.Event, or anything else with is_set()."""

    def is_set(self) -> bool: ...


class _Budget:
    def __init__(self, seconds: float, cancel: _Event | None, progress: Callable[[str, float], None] | None):
        self.seconds = seconds
        self.deadline = time.perf_counter() + seconds
        self.cancel = cancel
        self.progress = progress


_CURRENT: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("vi_core_budget", default=None)


@contextlib.contextmanager
def within(
    seconds: float = math.inf,
    cancel: _Event | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> Iterator[None]:
    """Run the block under a hard deadline ``seconds`` from now, cancellable through ``cancel``;
    ``progress(stage, fraction)`` receives what ``report`` is told."""
    token = _CURRENT.set(_Budget(seconds, cancel, progress))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def checkpoint() -> None:
    """Raise Cancelled or OutOfTime if the current run must stop; free outside ``within``."""
    b = _CURRENT.get()
    if b is None:
        return
    if b.cancel is not None and b.cancel.is_set():
        raise Cancelled("the run was cancelled")
    if time.perf_counter() > b.deadline:
        raise OutOfTime(b.seconds)


def soft_left() -> float:
    """Seconds the algorithm loop may still use (a share of what is left before the hard deadline); inf outside."""
    b = _CURRENT.get()
    if b is None:
        return math.inf
    return max(0.0, LOOP_SHARE * (b.deadline - time.perf_counter()))


def report(stage: str, fraction: float) -> None:
    """Tell the caller how far the run is: stage (e.g. "VI", "MCMC", "scoring") and fraction in [0, 1]."""
    b = _CURRENT.get()
    if b is not None and b.progress is not None:
        b.progress(stage, min(max(float(fraction), 0.0), 1.0))


def left() -> float:
    """Seconds before the hard deadline (0 once past it); inf outside ``within``."""
    b = _CURRENT.get()
    return math.inf if b is None else max(0.0, b.deadline - time.perf_counter())


def cancelled() -> bool:
    """Whether the current run's caller has cancelled it; False outside ``within``."""
    b = _CURRENT.get()
    return b is not None and b.cancel is not None and b.cancel.is_set()
