"""Worker processes for the app's runs, each honouring the caller's budget (vi_core.budget).

``Elsewhere(workers)`` runs picklable calls in worker processes started from a fork server, so a run neither
holds the server's interpreter lock nor keeps its memory. The calling thread's budget crosses over: the deadline
left, cancellation (a byte in shared memory) and progress (a stage and a fraction in shared memory, polled here).

The child's side lives here too (``_child_call`` and the shared memory it reads): it is part of this pool's
protocol, not of the engine's. The engine's half is only ``vi_core.budget.within``, which the child opens around
the call; this module imports nothing else from vi_core and nothing from Streamlit, so a worker that unpickles
``_child_call`` imports only the standard library and the budget. Reached through ui.runs (the run queue).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import queue
import sys
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any

from vi_core import budget

__all__ = ["Elsewhere"]

POLL_S = 0.1  # how often a waiting caller forwards cancellation and progress

# ---------------------------------------------------------------------------- the child's side

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
    """fn() under a budget of ``seconds``, cancelled through the shared flag, reporting through shared memory."""
    with budget.within(seconds, cancel=_SharedFlag(), progress=_share_progress):
        return fn()


# ---------------------------------------------------------------------------- the caller's side


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
    """Worker processes that run calls under the caller's budget. Each worker runs one call at a time; a call
    waits for a free worker. Workers start on first use (or at ``start``). preload: modules the fork server
    imports once, so that every worker forks with them (e.g. the engine's api)."""

    def __init__(self, workers: int = 1, preload: Sequence[str] = ()):
        # Never fork a threaded server: a fork server forks from a clean process that has imported the preload.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([*preload, __name__])  # not the default, __main__: inside Streamlit, the app
        self._workers = [_Worker(ctx) for _ in range(workers)]
        self._free: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        for w in self._workers:
            self._free.put(w)
        self._start_lock = threading.Lock()  # two callers must not start one worker twice

    def start(self, *calls: Callable[[], Any]) -> None:
        """Start every worker now (the fork server imports the preload once, ~1-2 s), not on the first run,
        and run each of calls once in every worker (a warm-up)."""
        with self._start_lock:
            pending = [w.executor().submit(c) for w in self._workers for c in calls]
        for p in pending:
            p.result()

    def call(self, fn: Callable[[], Any]) -> Any:
        """fn() (picklable, as its result) in a free worker, under the current budget: the deadline
        left, cancellation and progress are forwarded; exceptions come back as raised."""
        w = self._free.get()
        future = None
        try:
            w.flag.value, w.fraction.value, w.stage.value = 0, 0.0, b""
            seconds = budget.left()
            with self._start_lock:
                try:
                    future = w.executor().submit(_child_call, fn, seconds)
                except concurrent.futures.BrokenExecutor:
                    w.lost()
                    future = w.executor().submit(_child_call, fn, seconds)
            while True:
                try:
                    return future.result(timeout=POLL_S)
                except concurrent.futures.TimeoutError:
                    if budget.cancelled():
                        w.flag.value = 1
                    if w.stage.value:
                        budget.report(w.stage.value.decode("utf-8", "replace"), w.fraction.value)
                except concurrent.futures.BrokenExecutor as exc:  # the worker died (out of memory, killed)
                    w.lost()
                    raise RuntimeError("the worker running this run stopped; try smaller settings.") from exc
        finally:
            if future is not None and not future.done():  # left early (an exception here): stop the run first,
                w.flag.value = 1  # or the next call would reset its flag and queue behind it
                concurrent.futures.wait([future])
            self._free.put(w)
