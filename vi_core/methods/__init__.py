"""The method registry with the built-in methods registered (vi_core.method holds the types and the registry;
this package imports each built-in method module, which registers itself). Import names from here in code that
wants every method present; kernels and method modules import vi_core.method instead."""

from __future__ import annotations

from vi_core.method import (
    PATH_CHAINS,
    PATH_POINTS,
    REGISTRY,
    Best,
    Method,
    Moves,
    Plan,
    get,
    mcmc_methods,
    readers,
    register,
    unregister,
    vi_methods,
)

__all__ = [
    "PATH_CHAINS",
    "PATH_POINTS",
    "REGISTRY",
    "Best",
    "Method",
    "Moves",
    "Plan",
    "get",
    "mcmc_methods",
    "readers",
    "register",
    "unregister",
    "vi_methods",
]

# The built-ins register themselves, in this order (the order of the app's options and the CLI's choices).
# isort: off
from vi_core.methods import cavi  # noqa: F401
from vi_core.methods import gauss  # noqa: F401
from vi_core.methods import mog  # noqa: F401
from vi_core.methods import flow  # noqa: F401
from vi_core.methods import svgd  # noqa: F401
from vi_core.methods import emcee_moves  # noqa: F401
from vi_core.methods import gibbs  # noqa: F401
from vi_core.methods import hmc  # noqa: F401
# isort: on
