"""ui.jobs: the fair queue (light first, one heavy run per visitor, shared identical work,
cancellation) and caches bounded by bytes."""

import threading
import time

import numpy as np
import pytest

from ui import jobs


def test_nbytes_counts_arrays_once_inside_containers():
    a = np.zeros(1000)
    assert jobs.nbytes(a) >= 8000
    both = jobs.nbytes({"x": a, "y": (a, [a])})
    assert 8000 <= both < 9000, "a shared array is counted once"


def test_byte_cache_evicts_least_recently_used_by_bytes_and_keeps_pinned():
    cache = jobs.ByteCache(max_bytes=100, sizer=lambda v: v)
    cache.put("pinned", 30, pin=True)
    cache.put("a", 30)
    cache.put("b", 30)
    assert cache.get("a") == 30  # a is now more recent than b
    cache.put("c", 30)
    assert "b" not in cache and "a" in cache and "c" in cache and "pinned" in cache
    assert cache.bytes == 90
    cache.put("d", 60)
    assert "pinned" in cache and "d" in cache and cache.bytes <= 100
    cache.put("huge", 101)
    assert "huge" not in cache, "a value larger than the cache is not kept"


def _gate_fn(gate: threading.Event, value, log: list):
    def fn():
        log.append(("start", value))
        gate.wait(5)
        return value

    return fn


def _scheduler(**kw):
    return jobs.Scheduler(cache=jobs.ByteCache(1 << 20), **kw)


def test_identical_work_from_several_visitors_is_one_job_and_is_cached():
    sched, calls = _scheduler(), []
    gate = threading.Event()
    a = sched.submit("k", _gate_fn(gate, 1, calls), heavy=False, owner="A", budget_s=5)
    b = sched.submit("k", _gate_fn(gate, 1, calls), heavy=False, owner="B", budget_s=5)
    assert a is b
    gate.set()
    assert a.done.wait(5) and a.result == 1 and a.error is None
    c = sched.submit("k", lambda: 2, heavy=False, owner="C", budget_s=5)
    assert c.done.is_set() and c.result == 1 and calls == [("start", 1)]


def test_light_runs_pass_heavy_ones_and_only_one_heavy_runs_at_a_time():
    sched, log = _scheduler(slots=2, heavy_slots=1), []
    gates = {k: threading.Event() for k in "HIL"}
    h = sched.submit("H", _gate_fn(gates["H"], "H", log), heavy=True, owner="A", budget_s=5)
    while not h.running:
        time.sleep(0.01)
    i = sched.submit("I", _gate_fn(gates["I"], "I", log), heavy=True, owner="B", budget_s=5)
    light = sched.submit("L", _gate_fn(gates["L"], "L", log), heavy=False, owner="C", budget_s=5)
    while not light.running:
        time.sleep(0.01)
    assert not i.running and sched.position(i) == 1, "the second heavy run waits though a slot is free"
    assert sched.load() == (2, 1)
    for k in "LHI":
        gates[k].set()
    assert i.done.wait(5) and [v for _, v in log] == ["H", "L", "I"]


def test_a_cheap_run_queued_after_heavy_ones_starts_first():
    sched, log = _scheduler(slots=1, heavy_slots=1), []
    gate = threading.Event()
    first = sched.submit("busy", _gate_fn(gate, "busy", log), heavy=False, owner="A", budget_s=5)
    while not first.running:
        time.sleep(0.01)
    heavy = sched.submit("H", _gate_fn(gate, "H", log), heavy=True, owner="B", budget_s=5)
    light = sched.submit("L", _gate_fn(gate, "L", log), heavy=False, owner="C", budget_s=5)
    assert sched.position(light) == 1 and sched.position(heavy) == 2
    gate.set()
    assert heavy.done.wait(5) and [v for _, v in log] == ["busy", "L", "H"]


def test_later_jobs_wait_for_the_others_of_their_weight():
    """A class pressing Run together: every visitor's race (first stage) before anyone's tables (later)."""
    sched, log = _scheduler(slots=1, heavy_slots=1), []
    gate = threading.Event()
    first = sched.submit("busy", _gate_fn(gate, "busy", log), heavy=False, owner="A", budget_s=5)
    while not first.running:
        time.sleep(0.01)
    rest_a = sched.submit("A rest", _gate_fn(gate, "A rest", log), heavy=False, owner="A", budget_s=5, later=True)
    heavy = sched.submit("H", _gate_fn(gate, "H", log), heavy=True, owner="C", budget_s=5)
    race_b = sched.submit("B race", _gate_fn(gate, "B race", log), heavy=False, owner="B", budget_s=5)
    assert [sched.position(j) for j in (race_b, rest_a, heavy)] == [1, 2, 3]
    gate.set()
    assert heavy.done.wait(5) and [v for _, v in log] == ["busy", "B race", "A rest", "H"]


def test_a_visitor_holds_one_heavy_run_a_new_one_cancels_the_old():
    sched, log = _scheduler(slots=1), []
    gate = threading.Event()
    blocker = sched.submit("busy", _gate_fn(gate, "busy", log), heavy=False, owner="Z", budget_s=5)
    while not blocker.running:
        time.sleep(0.01)
    old = sched.submit("old", _gate_fn(gate, "old", log), heavy=True, owner="A", budget_s=5, group=1)
    twin = sched.submit("twin", _gate_fn(gate, "twin", log), heavy=True, owner="A", budget_s=5, group=1)
    assert not old.done.is_set(), "the heavy jobs of one press of Run (VI and MCMC) both stay"
    new = sched.submit("new", _gate_fn(gate, "new", log), heavy=True, owner="A", budget_s=5, group=2)
    assert old.done.is_set() and isinstance(old.error, jobs.Cancelled)
    assert twin.done.is_set() and isinstance(twin.error, jobs.Cancelled)
    gate.set()
    assert new.done.wait(5) and new.result == "new"
    assert "old" not in [v for _, v in log] and "old" not in sched.cache


def test_the_last_waiter_leaving_cancels_a_running_job_and_nothing_is_cached():
    def cooperative(job_cancel_seen: list):
        def fn():
            while not sched_job[0].cancel.is_set():
                time.sleep(0.005)
            job_cancel_seen.append(True)
            raise RuntimeError("stopped")

        return fn

    sched, seen, sched_job = _scheduler(), [], []
    job = sched.submit("k", cooperative(seen), heavy=False, owner="A", budget_s=5)
    sched_job.append(job)
    sched.submit("k", cooperative(seen), heavy=False, owner="B", budget_s=5)
    while not job.running:
        time.sleep(0.01)
    sched.leave(job, "A")
    assert not job.cancel.is_set(), "B still waits"
    sched.leave(job, "B")
    assert job.done.wait(5) and seen == [True]
    assert isinstance(job.error, jobs.Cancelled) and "k" not in sched.cache
    again = sched.submit("k", lambda: 7, heavy=False, owner="A", budget_s=5)
    assert again is not job and again.done.wait(5) and again.result == 7


def test_a_failure_reaches_the_waiter_and_is_not_cached():
    sched = _scheduler()

    def boom():
        raise ValueError("bad settings")

    job = sched.submit("k", boom, heavy=False, owner="A", budget_s=5)
    assert job.done.wait(5) and isinstance(job.error, ValueError) and "k" not in sched.cache


def test_the_heavy_queue_is_bounded():
    sched = _scheduler(slots=1, max_waiting_heavy=2)
    gate = threading.Event()
    sched.submit("busy", _gate_fn(gate, 0, []), heavy=True, owner="A", budget_s=5)
    time.sleep(0.05)
    sched.submit("h1", lambda: 1, heavy=True, owner="B", budget_s=5)
    sched.submit("h2", lambda: 2, heavy=True, owner="C", budget_s=5)
    with pytest.raises(jobs.QueueFull, match="Smaller settings run at once"):
        sched.submit("h3", lambda: 3, heavy=True, owner="D", budget_s=5)
    sched.submit("light", lambda: 4, heavy=False, owner="D", budget_s=5)  # cheap runs are still taken
    gate.set()


def test_the_guard_wraps_every_job():
    entered = []

    class Guard:
        def __init__(self, job):
            self.job = job

        def __enter__(self):
            entered.append(self.job.key)

        def __exit__(self, *exc):
            return False

    sched = jobs.Scheduler(cache=jobs.ByteCache(1 << 20), guard=Guard)
    job = sched.submit("g", lambda: 1, heavy=False, owner="A", budget_s=5)
    assert job.done.wait(5) and entered == ["g"]
