"""Cost in the currency that transfers: a target that counts its evaluations.

Wall-clock time depends on the machine and on Python's overhead; the number of
log-density and gradient evaluations does not, and it is the axis the ADVI and
Pathfinder papers compare methods on. ``Counted`` wraps a target for the duration of a
run; every other attribute is the target's own. A vectorised call on z (..., 2) counts
one evaluation per point, not one per call.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Counted"]


class Counted:
    """``target`` with counters: n_density (log-density evaluations), n_grad (gradient
    evaluations), both in points."""

    def __init__(self, target) -> None:
        self._target = target
        self.n_density = 0
        self.n_grad = 0

    def __getattr__(self, name: str):
        return getattr(self._target, name)

    @property
    def target(self):
        """The wrapped target."""
        return self._target

    def log_density(self, z: np.ndarray) -> np.ndarray:
        self.n_density += np.size(z) // 2
        return self._target.log_density(z)

    def grad_log_density(self, z: np.ndarray) -> np.ndarray:
        self.n_grad += np.size(z) // 2
        return self._target.grad_log_density(z)

    def counts(self) -> tuple[int, int]:
        """(density evaluations, gradient evaluations) so far."""
        return self.n_density, self.n_grad
