"""Bounded work per call: large batches of points are evaluated a chunk of rows at a time.

A public demo serves every visitor from one process, so no run may hold many arrays the size
of its whole input at once: a density evaluated on 3,000 q's times a 61 x 61 quadrature grid
(11 M points) makes every temporary 89 MB, and a typed expression keeps one per nesting level.
Evaluated ``CHUNK_POINTS`` points at a time, each temporary stays at 0.5 MB whatever the input,
the results are the same (the densities are pointwise) and the work stays in cache. Each chunk
is one ``vi_core.budget.checkpoint``: a cancelled or late run stops between chunks.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vi_core import budget

__all__ = ["CHUNK_POINTS", "log_density", "spans"]

CHUNK_POINTS = 2**16  # points per chunk: 0.5 MB per float64 temporary


def spans(n_rows: int, row_points: int = 1, limit: int | None = None) -> Iterator[slice]:
    """Slices over n_rows rows of row_points points each, at most ``limit`` points (default
    CHUNK_POINTS, read at call time) per slice but at least one row; a budget checkpoint before each."""
    limit = CHUNK_POINTS if limit is None else limit
    step = max(1, limit // max(1, row_points))
    for start in range(0, n_rows, step):
        budget.checkpoint()
        yield slice(start, min(start + step, n_rows))


def log_density(target, z: np.ndarray, limit: int | None = None) -> np.ndarray:
    """target.log_density on z (..., 2) -> float (...), evaluated in chunks of points."""
    z = np.asarray(z, dtype=float)
    shape = z.shape[:-1]
    flat = z.reshape(-1, 2)  # a view for the contiguous arrays the engine builds
    out = np.empty(flat.shape[0])
    for s in spans(flat.shape[0], 1, limit):
        out[s] = target.log_density(flat[s])
    return out.reshape(shape)
