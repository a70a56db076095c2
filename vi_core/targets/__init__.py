"""Targets: 2D unnormalised log densities ln p(X, Z) and a registry by name.

Importing this package registers every built-in target; each module owns its family.
"""

from vi_core.targets import (  # noqa: F401  (importing registers each module's targets)
    classic,  # the classic shapes
    data,  # the real-data posteriors
    flows,  # U1-U4 of Rezende & Mohamed (2015)
    ladder,  # shapes for the variational ladder: a thin ring, many modes
)
from vi_core.targets.base import REGISTRY, Param, Target, make_target, register

__all__ = ["REGISTRY", "Param", "Target", "make_target", "register", "target_names"]


def target_names() -> list[str]:
    """Registered target names in registration order."""
    return list(REGISTRY)
