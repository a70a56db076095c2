"""The quadrature grid on the box, and the reference posterior ("the truth") beside it.

Two things live here, kept apart on purpose:

* The working grid: an n x n midpoint grid of cell centres on the box. It is what is
  drawn and what grid CAVI runs on: ``xs, ys, dx, dy, log_p`` (ln p~ at the centres),
  ``weights`` (cell probabilities normalised to the box), ``density``, ``points``.
  Array layout: ``log_p[i, j] = ln p~(xs[i], ys[j])`` -- axis 0 is z1, axis 1 is z2.
* The reference: ``log_z`` = ln p(X), ``mean``, ``cov``, ``marginal_x``, ``marginal_y``
  (the true marginal densities at xs and ys) and ``reference`` (with the mass outside the
  box and how it was computed). These are the whole posterior's, not the box's: a box
  that cuts the target or cells too wide for its features spoil the picture, not the
  yardstick. How the reference is computed is in vi_core.reference: exactly from a
  target's closed form where it has one (every classic shape, U2-U4), else by the working
  grid plus a scan of the space around the box.

KL(q || p) = ln Z - ELBO(q) everywhere, so a right ln Z makes every KL right.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy.special import logsumexp

from vi_core import chunks
from vi_core.reference import (
    ConditionalReference,
    Reference,
    ScanReference,
    TailScan,
    log_box_mass_exact,
    refuse_improper,
    scan_outside,
)
from vi_core.targets.base import Target, check_box_side, num_text

__all__ = ["DEFAULT_N", "REFERENCE_TOL", "Grid", "Reference", "make_grid"]

DEFAULT_N = 200
EDGE_MASS_WARN = 1e-3  # probability outside the box above which the picture is called cut
RESOLUTION_WARN = 1e-3  # error of the box's ln Z (nats) above which the cells are called too wide
REFERENCE_TOL = 1e-3  # error of the reference's ln Z (nats) above which it is not "the truth"


@dataclasses.dataclass(frozen=True, eq=False)
class Grid:
    """A target on the working grid, with its reference posterior.

    Working grid: xs (nx,), ys (ny,) cell centres; dx, dy cell widths; log_p (nx, ny) ln p~;
    log_z_box: ln of p~'s mass in the box by the midpoint rule; weights (nx, ny): cell
    probabilities normalised to the box (sum 1). Reference (the whole posterior): log_z,
    mean, cov, marginal_x, marginal_y, mass_outside_box, reference, reference_truncated.
    """

    target: Target
    box: tuple[float, float, float, float]
    xs: np.ndarray
    ys: np.ndarray
    dx: float
    dy: float
    log_p: np.ndarray
    log_z_box: float
    weights: np.ndarray
    scan: TailScan | None = dataclasses.field(default=None, repr=False)

    def __getstate__(self):
        # the reference holds the target's closed form (closures): rebuilt after unpickling
        state = self.__dict__.copy()
        state.pop("_ref", None)
        state.pop("_yardstick", None)  # vi_core.metrics.yardstick: rebuilt where it is needed
        return state

    # ---- the working grid ----

    @property
    def points(self) -> np.ndarray:
        """Cell centres, shape (nx, ny, 2)."""
        return np.stack(np.meshgrid(self.xs, self.ys, indexing="ij"), axis=-1)

    @property
    def density(self) -> np.ndarray:
        """The box-normalised density at the cell centres, (nx, ny): what is drawn."""
        return self.weights / (self.dx * self.dy)

    # ---- the reference ----

    @functools.cached_property
    def _ref(self) -> ConditionalReference | ScanReference:
        cond = getattr(self.target, "conditional", None)
        if cond is not None:
            return ConditionalReference(cond, self.target.log_z_exact, self.box)
        return ScanReference(self, self.scan)

    @property
    def reference(self) -> Reference:
        """The posterior every score is measured against (vi_core.reference.Reference)."""
        return self._ref.reference

    @property
    def log_z(self) -> float:
        """ln p(X) = ln Z of the whole posterior."""
        return self._ref.log_z  # as reference.log_evidence, without computing its error estimate

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean, (2,)."""
        return self._ref.mean

    @property
    def cov(self) -> np.ndarray:
        """Posterior covariance, (2, 2)."""
        return self._ref.cov

    @functools.cached_property
    def marginal_x(self) -> np.ndarray:
        """The posterior's marginal density of z1 at xs, (nx,) (integrates to P(x0 < z1 < x1))."""
        return self._ref.marginal_x(self.xs)

    @functools.cached_property
    def marginal_y(self) -> np.ndarray:
        """The posterior's marginal density of z2 at ys, (ny,)."""
        return self._ref.marginal_y(self.ys)

    @property
    def mass_outside_box(self) -> float:
        """The posterior's probability outside the box (exact, or from the scan around it)."""
        return self._ref.mass_outside_box

    @property
    def reference_truncated(self) -> bool:
        """True when the reference itself may be off by more than REFERENCE_TOL nats in ln Z
        (it misses mass or is under-resolved): it is then not to be called the truth."""
        return self.reference.log_evidence_error > REFERENCE_TOL

    @functools.cached_property
    def reference_support(self) -> tuple[float, float, float, float]:
        """A box holding all but ~1e-6 a side of the posterior, containing the working box."""
        return self._ref.support()

    def cell_probabilities(self, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
        """The posterior's probability of each cell of a product of intervals (Mx, My); the
        outermost intervals are open, so the cells hold all the mass."""
        return self._ref.cell_probabilities(np.asarray(x_edges, dtype=float), np.asarray(y_edges, dtype=float))

    # ---- diagnostics ----

    @property
    def edge_mass(self) -> float:
        """Box probability within 2.5% of the box's width of its edges (a picture diagnostic)."""
        w = self.weights
        k = max(1, round(0.025 * w.shape[0])), max(1, round(0.025 * w.shape[1]))
        inner = w[k[0] : -k[0], k[1] : -k[1]].sum()
        return float(max(0.0, 1.0 - inner))

    @functools.cached_property
    def resolution_error(self) -> float:
        """Error of the working grid's ln (mass in the box) from its cell size, in nats.

        Exact where the target has a closed form (against the box mass from the reference).
        Otherwise |ln T - ln M|: M the midpoint rule (the grid), T the trapezoid rule on the
        cell corners of the same box. Both are spectrally accurate on resolved features;
        features narrower than a cell (a needle, the funnel's neck) are sampled very
        differently by the two.
        """
        if isinstance(self._ref, ConditionalReference):
            return abs(self.log_z_box - log_box_mass_exact(self._ref))
        return abs(self._log_z_trapezoid - self.log_z_box)

    @functools.cached_property
    def _log_z_trapezoid(self) -> float:
        x0, x1, y0, y1 = self.box
        n, m = self.xs.size, self.ys.size
        xc, yc = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, m + 1)
        lwx = np.zeros(n + 1)
        lwy = np.zeros(m + 1)
        lwx[[0, -1]] = lwy[[0, -1]] = -math.log(2.0)
        pts = np.stack(np.meshgrid(xc, yc, indexing="ij"), axis=-1)
        lp = _log_density_rows(self.target, pts)
        lp = np.where(np.isnan(lp) | (lp == np.inf), -np.inf, lp) + lwx[:, None] + lwy[None, :]
        return float(logsumexp(lp) + math.log(self.dx * self.dy))

    def _problems(self) -> list[str]:
        out = []
        if self.reference_truncated:
            # the reference is the working grid plus the scan around it (no closed form)
            res = self.resolution_error
            res_part = res * math.exp(min(self.log_z_box - self.log_z, 0.0))
            far = self.reference.log_evidence_error - res_part
            if res_part > RESOLUTION_WARN:
                out.append(
                    f"ln p(X) changes by {res:.2g} between two quadrature rules on this grid: the target has "
                    "features narrower than the grid, so ln p(X), KL and the distances are only approximate "
                    "(the reference is not exact). Use more grid points per side."
                )
            if far > REFERENCE_TOL:
                out.append(
                    f"{self.mass_outside_box:.2%} of the posterior lies outside the box, where it is integrated "
                    f"only coarsely: ln p(X), KL and the distances are approximate (about {far:.2g} nats in "
                    "ln p(X); the reference is not exact). Widen the box."
                )
            return out
        if self.mass_outside_box > EDGE_MASS_WARN:
            out.append(
                f"{self.mass_outside_box:.2%} of the posterior lies outside the box: the picture and grid "
                "CAVI see only the part inside, while ln p(X) and the scores are computed from the whole "
                "posterior. Widen the box."
            )
        if self.resolution_error > RESOLUTION_WARN:
            out.append(
                f"The target has features narrower than the grid's cells (the grid's ln p(X) over the box "
                f"is off by {self.resolution_error:.2g}): the picture and grid CAVI are coarse, while "
                "ln p(X) and the scores are computed apart from the grid. Use more grid points per side."
            )
        return out

    def warnings(self) -> list[str]:
        """Plain-language problems with this grid, each ending with the one change that fixes it.

        A target that declares its box a window (``window_note``: the funnel) reports a cut
        box or coarse cells as ``notes()`` instead, as long as its reference is exact.
        """
        if getattr(self.target, "window_note", "") and not self.reference_truncated:
            return []
        return self._problems()

    def notes(self) -> list[str]:
        """Information that needs no action: for a windowed target, what the window leaves out."""
        note = getattr(self.target, "window_note", "")
        if not note or self.reference_truncated or not self._problems():
            return []
        return [
            f"{note} Here {self.mass_outside_box:.1%} of the posterior lies outside the box and the grid's "
            f"ln p(X) over the box is off by {self.resolution_error:.2g}: the picture and grid CAVI see this "
            "window, while ln p(X) and the scores use the exact posterior."
        ]


def make_grid(target: Target, n: int = DEFAULT_N, box: tuple[float, ...] | None = None) -> Grid:
    """Evaluate ``target`` on an n x n midpoint grid over ``box`` (default: the target's).

    Raises ValueError for a bad n or box, a density that is NaN or +inf somewhere in the
    box or zero everywhere in it, saying where, and a density that cannot be normalised
    (checked far outside the box for targets not proper by construction, e.g. typed ones).
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 8 <= n <= 2000:
        raise ValueError(f"grid size n must be an integer in [8, 2000], got {n!r}")
    x0, x1, y0, y1 = (float(v) for v in (box if box is not None else target.box))
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or not (x0 < x1 and y0 < y1):
        got = ", ".join(num_text(v) for v in (x0, x1, y0, y1))
        raise ValueError(f"box must be finite with xmin < xmax and ymin < ymax, got {got}")
    for axis, lo, hi in (("x", x0, x1), ("y", y0, y1)):
        check_box_side(lo, hi, axis)
    dx, dy = (x1 - x0) / n, (y1 - y0) / n
    xs = x0 + (np.arange(n) + 0.5) * dx
    ys = y0 + (np.arange(n) + 0.5) * dy
    pts = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
    log_p = _log_density_rows(target, pts)
    _check_values(log_p, pts)
    lse = float(logsumexp(log_p))
    log_z_box = lse + math.log(dx * dy)
    weights = np.exp(log_p - lse)
    scan = None
    if getattr(target, "conditional", None) is None:
        proper = getattr(target, "known_proper", False)
        scan = scan_outside(target, (x0, x1, y0, y1), log_z_box, full=not proper, fine=16 if proper else 32)
        if not proper:  # a built-in target is proper by construction: a tiny box is warned about instead
            refuse_improper(scan, log_z_box)
    return Grid(target, (x0, x1, y0, y1), xs, ys, dx, dy, log_p, log_z_box, weights, scan)


def _log_density_rows(target: Target, pts: np.ndarray) -> np.ndarray:
    """ln p~ at pts (nx, ny, 2) -> (nx, ny), a chunk of rows at a time (vi_core.chunks): a typed
    expression keeps one temporary per nesting level, each the size of what it is given.

    Raises ValueError if the target returns the wrong shape."""
    nx, ny = pts.shape[:2]
    log_p = np.empty((nx, ny))
    for s in chunks.spans(nx, ny):
        with np.errstate(all="ignore"):
            part = np.asarray(target.log_density(pts[s]), dtype=float)
        if part.shape != (s.stop - s.start, ny):
            raise ValueError(f"log density returned shape {part.shape} for points of shape {pts[s].shape[:-1]}")
        log_p[s] = part
    return log_p


def _check_values(log_p: np.ndarray, pts: np.ndarray) -> None:
    for mask, what in ((np.isnan(log_p), "NaN"), (log_p == np.inf, "+inf")):
        count = int(mask.sum())
        if count:
            x, y = pts[np.unravel_index(np.argmax(mask), mask.shape)]
            raise ValueError(
                f"the log density is {what} at {count} of {mask.size} grid points (e.g. at "
                f"x={x:.3g}, y={y:.3g}); change the expression or the box so it is finite there"
            )
    if not np.isfinite(log_p).any():
        raise ValueError("the density is zero (log density -inf) everywhere in the box; move or widen the box")
