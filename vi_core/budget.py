"""A run's deadline and cancellation, seen by every loop without threading it through every call.

A caller (the app's job queue, a test) opens ``within(seconds, cancel=event, progress=fn)`` around a
whole run -- grid, algorithm and scoring. Long loops call ``checkpoint()`` once per step or chunk:
it raises ``Cancelled`` when the event is set (the visitor left or pressed Run again) and
``OutOfTime`` when the hard deadline has passed; ``soft_left()`` tells the run loop how long it may
keep stepping so that scoring still fits. Outside ``within`` every call is a no-op, so the CLI and the
engine's tests run unbounded as before. The budget lives in a context variable: each thread (each
run) has its own.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import contextvars
import math
import multiprocessing
import queue
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Cancelled", "Elsewhere", "OutOfTime", "checkpoint", "report", "soft_left", "within"]

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

    def __reduce__(self):  # pickled from a worker process by its seconds, not its message
        return (OutOfTime, (self.seconds,))


class _Budget:
    def __init__(self, seconds: float, cancel: threading.Event | None, progress: Callable[[str, float], None] | None):
        self.seconds = seconds
        self.deadline = time.perf_counter() + seconds
        self.cancel = cancel
        self.progress = progress


_CURRENT: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("vi_core_budget", default=None)


@contextlib.contextmanager
def within(
    seconds: float = math.inf,
    cancel: threading.Event | None = None,
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


# ---------------------------------------------------------------------------- a worker process

_SHARED: dict = {}


class _SharedFlag:
    """The cancel event as the worker process sees it: a byte in shared memory."""

    def is_set(self) -> bool:
        return bool(_SHARED["flag"].value)


def _share_progress(stage: str, fraction: float) -> None:
    _SHARED["stage"].value = stage.encode("utf-8", "replace")[:63]
    _SHARED["fraction"].value = fraction


def _child_init(flag, fraction, stage) -> None:
    _SHARED.update(flag=flag, fraction=fraction, stage=stage)


def _child_call(fn: Callable[[], Any], seconds: float) -> Any:
    with within(seconds, cancel=_SharedFlag(), progress=_share_progress):
        return fn()


class _Worker:
    """One worker process (started on first use) and the shared memory its calls report through."""

    def __init__(self, ctx):
        self._ctx = ctx
        self.flag = ctx.Value("b", 0, lock=False)
        self.fraction = ctx.Value("d", 0.0, lock=False)
        self.stage = ctx.Array("c", 64, lock=False)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            pool = concurrent.futures.ProcessPoolExecutor(
                1, mp_context=self._ctx, initializer=_child_init, initargs=(self.flag, self.fraction, self.stage)
            )
            # A new process re-runs the parent's __main__ from its path, and inside Streamlit __main__ is the
            # app script. Start the worker (submit starts it) while __main__ is a blank module.
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                started = pool.submit(int)
            finally:
                if main is not None:
                    sys.modules["__main__"] = main
            started.result()
            self._pool = pool
            atexit.register(pool.shutdown, wait=True, cancel_futures=True)  # before module teardown, not during
        return self._pool

    def lost(self) -> None:
        """The process died (out of memory, killed): the next call starts a new one."""
        self._pool = None


class Elsewhere:
    """Worker processes that run calls under the caller's budget, so a run neither holds the calling
    process's interpreter lock nor keeps its memory. Each worker runs one call at a time; a call waits
    for a free worker. Cancel and progress cross through shared memory. Workers start on first use."""

    def __init__(self, workers: int = 1):
        # Never fork a threaded server: a fork server forks from a clean process that has imported the engine.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["vi_core.api"])  # imported once; each worker forks with it
        self._workers = [_Worker(ctx) for _ in range(workers)]
        self._free: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        for w in self._workers:
            self._free.put(w)
        self._start_lock = threading.Lock()  # two callers must not start one worker twice

    def start(self, *calls: Callable[[], Any]) -> None:
        """Start every worker now (the fork server imports the engine once, ~1-2 s), not on the first run,
        and run each of calls once in every worker (a warm-up)."""
        with self._start_lock:
            pending = [w.executor().submit(c) for w in self._workers for c in calls]
        for p in pending:
            p.result()

    def call(self, fn: Callable[[], Any]) -> Any:
        """fn() (picklable, as its result) in a free worker, under the current budget: the deadline
        left, cancellation and progress are forwarded; exceptions come back as raised."""
        b = _CURRENT.get()
        w = self._free.get()
        future = None
        try:
            w.flag.value, w.fraction.value, w.stage.value = 0, 0.0, b""
            seconds = math.inf if b is None else max(0.0, b.deadline - time.perf_counter())
            with self._start_lock:
                try:
                    future = w.executor().submit(_child_call, fn, seconds)
                except concurrent.futures.BrokenExecutor:
                    w.lost()
                    future = w.executor().submit(_child_call, fn, seconds)
            while True:
                try:
                    return future.result(timeout=0.1)
                except concurrent.futures.TimeoutError:
                    if b is not None and b.cancel is not None and b.cancel.is_set():
                        w.flag.value = 1
                    if b is not None and b.progress is not None and w.stage.value:
                        b.progress(w.stage.value.decode("utf-8", "replace"), w.fraction.value)
                except concurrent.futures.BrokenExecutor as exc:  # the worker died (out of memory, killed)
                    w.lost()
                    raise RuntimeError("the worker running this run stopped; try smaller settings.") from exc
        finally:
            if future is not None and not future.done():  # left early (an exception here): stop the run first,
                w.flag.value = 1  # or the next call would reset its flag and queue behind it
                concurrent.futures.wait([future])
            self._free.put(w)
