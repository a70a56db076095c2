"""Runs for many visitors on one small server: a fair queue, cancellation and caches bounded by bytes.

No Streamlit here: ``ui.compute`` submits work and waits; this module decides what runs when.

* ``Scheduler``: ``slots`` worker threads. A job is *heavy* when its estimated work is well above a
  default run's; at most ``heavy_slots`` heavy jobs run at once, so a cheap run never waits
  behind an expensive one for a slot (the cheap ones go first); a *later* job (what a page shows
  after its first picture) starts after the other waiting jobs of its weight; each visitor holds at
  most one heavy job: submitting another cancels the first. Identical work asked by several visitors is
  one job. A job runs inside ``guard(job)`` (ui.compute passes vi_core.budget's deadline and the
  job's cancel event); when its last waiter leaves, it is cancelled; nothing from a cancelled or
  failed job is cached.
* ``ByteCache``: a thread-safe LRU bounded by the bytes of what it holds (numpy arrays counted
  exactly, other objects roughly), with keys that can be pinned (the default scenario).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

__all__ = ["ByteCache", "Job", "QueueFull", "Scheduler", "nbytes"]

log = logging.getLogger(__name__)
_MISSING = object()


def nbytes(obj: Any, _seen: set | None = None, _depth: int = 0) -> int:
    """Approximate bytes held by obj: numpy arrays exactly, containers, dataclasses and objects with
    __dict__ recursively (shared objects counted once), other objects by sys.getsizeof."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 12:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes + 112
    if isinstance(obj, (str, bytes, int, float, complex, bool, type(None))):
        return sys.getsizeof(obj)
    size = sys.getsizeof(obj, 64)
    if isinstance(obj, dict):
        items = itertools.chain(obj.keys(), obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
        items = iter(obj)
    elif dataclasses.is_dataclass(obj):
        items = (getattr(obj, f.name, None) for f in dataclasses.fields(obj))
    elif hasattr(obj, "__dict__"):
        items = iter(vars(obj).values())
    else:
        return size
    return size + sum(nbytes(v, seen, _depth + 1) for v in items)


class ByteCache:
    """LRU mapping bounded by ``max_bytes`` (sizes from ``sizer``); pinned keys are never evicted."""

    def __init__(self, max_bytes: int, sizer: Callable[[Any], int] = nbytes):
        self.max_bytes = max_bytes
        self._sizer = sizer
        self._items: collections.OrderedDict[Hashable, tuple[Any, int]] = collections.OrderedDict()
        self._pinned: set[Hashable] = set()
        self._lock = threading.Lock()
        self.bytes = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list:
        with self._lock:
            return list(self._items)

    def put(self, key: Hashable, value: Any, pin: bool = False, size: int | None = None) -> None:
        """Store value (of ``size`` bytes, measured when not given); evict the least recently used
        unpinned entries until the total fits. A value larger than the whole cache is not kept."""
        size = self._sizer(value) if size is None else size
        with self._lock:
            if key in self._items:
                self.bytes -= self._items.pop(key)[1]
            if pin:
                self._pinned.add(key)
            elif size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self.bytes += size
            for old in list(self._items):
                if self.bytes <= self.max_bytes:
                    break
                if old not in self._pinned and old != key:
                    self.bytes -= self._items.pop(old)[1]

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` (pinned or not); nothing happens if it is not here."""
        with self._lock:
            if key in self._items:
                self.bytes -= self._items.pop(key)[1]
            self._pinned.discard(key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._pinned.clear()
            self.bytes = 0


class Cancelled(RuntimeError):
    """The job was cancelled before it finished (nobody waits for it any more)."""


class QueueFull(RuntimeError):
    """Too many heavy runs are waiting; the visitor is asked to try a smaller run or come back."""


class Job:
    """One unit of work: ``fn()`` run by a worker under a deadline; many visitors may wait on it."""

    _ids = itertools.count()

    def __init__(
        self, key: Hashable, fn: Callable[[], Any], heavy: bool, owner: Hashable, budget_s: float, later: bool = False
    ):
        self.id = next(self._ids)
        self.key, self.fn, self.heavy, self.budget_s, self.later = key, fn, heavy, budget_s, later
        self.owners: dict[Hashable, Hashable] = {}  # waiter -> the group it asked in
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.stage, self.fraction = "queued", 0.0
        self.started: float | None = None

    @classmethod
    def finished(cls, key: Hashable, result: Any) -> Job:
        """A job that is already done with ``result`` (a cache hit)."""
        job = cls(key, lambda: result, heavy=False, owner=None, budget_s=0.0)
        job.result = result
        job.done.set()
        return job

    def progress(self, stage: str, fraction: float) -> None:
        """What the job's work reports about itself (shown to its waiters)."""
        self.stage, self.fraction = stage, fraction

    @property
    def running(self) -> bool:
        return self.started is not None and not self.done.is_set()


class Scheduler:
    """``slots`` workers; at most ``heavy_slots`` heavy jobs at once; light jobs first, later jobs after the
    others of their weight, then FIFO."""

    def __init__(
        self,
        slots: int = 2,
        heavy_slots: int = 1,
        max_waiting_heavy: int = 24,
        cache: ByteCache | None = None,
        guard: Callable[[Job], contextlib.AbstractContextManager] = lambda job: contextlib.nullcontext(),
        expected: tuple[type[BaseException], ...] = (ValueError,),
    ):
        """guard(job): the context each job runs in; expected: errors that are the visitor's, not logged."""
        self.slots, self.heavy_slots, self.max_waiting_heavy = slots, heavy_slots, max_waiting_heavy
        self.guard, self.expected = guard, (Cancelled, *expected)
        self.cache = cache if cache is not None else ByteCache(256 << 20)
        self._lock = threading.Condition()
        self._waiting: list[Job] = []
        self._running: list[Job] = []
        self._by_key: dict[Hashable, Job] = {}
        self._threads = [threading.Thread(target=self._work, name=f"run-slot-{i}", daemon=True) for i in range(slots)]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------------ visitors' side

    def submit(
        self,
        key: Hashable,
        fn: Callable[[], Any],
        *,
        heavy: bool,
        owner: Hashable,
        budget_s: float,
        group: Hashable = None,
        later: bool = False,
    ) -> Job:
        """The job computing ``key`` (an existing one when someone already asked for it), with
        ``owner`` among its waiters; ``later``: it waits for the others of its weight. A heavy job lets
        go of the owner's heavy jobs from other groups (a group: the jobs of one press of Run), which
        cancels those nobody else waits for."""
        with self._lock:
            hit = self.cache.get(key, _MISSING)
            if hit is not _MISSING:  # finished since the caller looked: a done job
                return Job.finished(key, hit)
            job = self._by_key.get(key)
            if heavy:
                for other in [*self._waiting, *self._running]:
                    if other.heavy and other is not job and other.owners.get(owner, group) != group:
                        self._leave(other, owner)
            if job is not None and not job.cancel.is_set():
                job.owners[owner] = group
                return job
            if heavy and sum(j.heavy for j in self._waiting) >= self.max_waiting_heavy:
                raise QueueFull(
                    "the server's queue for large runs is full. Smaller settings run at once; or try again in a minute."
                )
            job = Job(key, fn, heavy, owner, budget_s, later)
            job.owners[owner] = group
            self._by_key[key] = job
            self._waiting.append(job)
            self._lock.notify_all()
            return job

    def leave(self, job: Job, owner: Hashable) -> None:
        """``owner`` stops waiting for ``job``; with nobody left waiting, the job is cancelled."""
        with self._lock:
            self._leave(job, owner)

    def _leave(self, job: Job, owner: Hashable) -> None:
        job.owners.pop(owner, None)
        if not job.owners and not job.done.is_set():
            job.cancel.set()
            if job in self._waiting:
                self._waiting.remove(job)
                self._finish(job, Cancelled("the run was cancelled"))

    def position(self, job: Job) -> int:
        """0 when running (or done); else how many jobs will start before it."""
        with self._lock:
            if job not in self._waiting:
                return 0
            return self._order().index(job) + 1

    def load(self) -> tuple[int, int]:
        """(jobs running, jobs waiting)."""
        with self._lock:
            return len(self._running), len(self._waiting)

    # ------------------------------------------------------------------ workers' side

    def _order(self) -> list[Job]:
        # light before heavy; within each, later jobs after the others (a class's races before their tables), FIFO
        return sorted(self._waiting, key=lambda j: (j.heavy, j.later, j.id))

    def _next(self) -> Job | None:
        heavy_running = sum(j.heavy for j in self._running)
        for job in self._order():
            if not job.heavy or heavy_running < self.heavy_slots:
                return job
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                job = self._next()
                while job is None:
                    self._lock.wait()
                    job = self._next()
                self._waiting.remove(job)
                self._running.append(job)
                job.started = time.perf_counter()
            try:
                with self.guard(job):
                    result, error = job.fn(), None
            except Exception as exc:  # handed to every waiter, who shows it in words
                result, error = None, exc
                if not isinstance(exc, self.expected) and not job.cancel.is_set():
                    log.exception("run %r failed", job.key)
            with self._lock:
                self._running.remove(job)
                if error is None and not job.cancel.is_set():
                    self.cache.put(job.key, result)
                job.result = result
                if job.cancel.is_set():
                    error = Cancelled("the run was cancelled")
                self._finish(job, error)
                self._lock.notify_all()

    def _finish(self, job: Job, error: BaseException | None) -> None:
        job.error = error
        if self._by_key.get(job.key) is job:
            del self._by_key[job.key]
        job.done.set()
