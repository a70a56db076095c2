"""Chunked evaluation: the same numbers as one call, bounded memory, a budget checkpoint per chunk."""

import threading
import tracemalloc

import numpy as np
import pytest

from benchmarks.memory import long_expression
from vi_core import api, budget, chunks
from vi_core.settings import Settings
from vi_core.targets import make_target
from vi_core.targets.expr import make_expr_target


def test_spans_cover_every_row_once_within_the_limit():
    for n, row, limit in ((10, 3, 7), (1, 5, 2), (100, 1, 64), (0, 4, 8)):
        got = list(chunks.spans(n, row, limit))
        assert np.array_equal(np.concatenate([np.arange(n)[s] for s in got] or [[]]), np.arange(n))
        assert all((s.stop - s.start) * row <= max(limit, row) for s in got)


def test_log_density_in_chunks_equals_one_call():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(37, 11, 2))
    for t in (make_target("banana"), make_target("funnel")):
        np.testing.assert_array_equal(chunks.log_density(t, z, limit=16), t.log_density(z))


def test_a_cancelled_run_stops_between_chunks():
    cancel = threading.Event()
    cancel.set()
    with budget.within(cancel=cancel), pytest.raises(budget.Cancelled):
        chunks.log_density(make_target("gaussian"), np.zeros((100, 2)), limit=10)


def test_worst_typed_gaussian_vi_run_stays_small():
    # A near-MAX_LENGTH right-nested expression keeps one temporary per nesting level. Whole-input
    # evaluation of this run's ~250k ELBO quadrature nodes would trace over 80 MB; in chunks, ~20 MB.
    t = make_expr_target(long_expression(), (-4, 4, -4, 4))
    tracemalloc.start()
    try:
        api.run_method(t, "gauss-fr", 0, Settings(vi_steps=150, vi_samples=16, n_grid=80))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"traced peak {peak / 1e6:.0f} MB"
