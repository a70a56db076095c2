"""The normalizing flow's mathematics: parameters, forward and inverse passes, and backprop written out by hand.

The flow works in box-normalised coordinates w (vi_core.flow maps them to z); with u ~ N(0, I) in R^2:

    w = b + A u                                     A lower triangular, A_ii = e^{a_i} (the affine layer)
    layer k = 1..L, conditioner c = (k - 1) mod 2, the other coordinate d = 1 - c:
        h = tanh(w_c win_k + bin_k)                 (H,) hidden tanh units of a 1 -> H -> 2 MLP
        (r, t) = Wout_k h + bout_k
        s = S_MAX tanh(r / S_MAX)                   a bounded log scale, |s| < S_MAX
        w_d <- w_d e^s + t                          w_c is unchanged

    ln |det dw/du| = a_1 + a_2 + sum_k s_k

Each coupling is invertible whatever its parameters (w_c passes through, so s and t can be recomputed from the
output): w_d = (w_d' - t) e^{-s}. All parameters live in one flat vector theta (what Adam steps); ``Layout``
views it by name. ``backward`` is reverse-mode differentiation through the cached forward pass of a batch:
given dJ/dw (K, 2) at the flow's output and dJ/d ln|det| (K,), it returns dJ/dtheta.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vi_core import chunks

__all__ = ["S_MAX", "Layout", "Params", "backward", "forward", "inverse", "log_base", "push"]

S_MAX = 2.0  # bound on each coupling's log scale: a layer stretches a coordinate by at most e^2
LOG_2PI = float(np.log(2.0 * np.pi))


class Params(NamedTuple):
    """Named views into theta. shift (2,), log_diag (2,), shear (1,): the affine layer b, a, A_21;
    w_in, b_in (L, H): the hidden layer of each coupling's MLP (its input is a scalar); w_out (L, 2, H),
    b_out (L, 2): its outputs (row 0 the raw log scale r, row 1 the shift t)."""

    shift: np.ndarray
    log_diag: np.ndarray
    shear: np.ndarray
    w_in: np.ndarray
    b_in: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray


class Layout(NamedTuple):
    """The flow's shape: L coupling layers of H hidden units."""

    n_layers: int
    hidden: int

    @property
    def size(self) -> int:
        return 5 + self.n_layers * (4 * self.hidden + 2)

    def views(self, theta: np.ndarray) -> Params:
        """Params as views of theta (writing a view writes theta)."""
        L, H = self.n_layers, self.hidden
        if theta.shape != (self.size,):
            raise ValueError(f"flow parameters must have shape ({self.size},) for {L} layers of {H}, got {theta.shape}")
        o = 5 + 2 * L * H
        return Params(
            theta[0:2],
            theta[2:4],
            theta[4:5],
            theta[5 : 5 + L * H].reshape(L, H),
            theta[5 + L * H : o].reshape(L, H),
            theta[o : o + 2 * L * H].reshape(L, 2, H),
            theta[o + 2 * L * H :].reshape(L, 2),
        )


class Cache(NamedTuple):
    """What backward needs of a forward pass: u (K, 2); per layer its input w (L, K, 2), hidden units h (L, K, H),
    tanh(r / S_MAX) (L, K) and e^s (L, K)."""

    u: np.ndarray
    w: np.ndarray
    h: np.ndarray
    th: np.ndarray
    es: np.ndarray


def log_base(u: np.ndarray) -> np.ndarray:
    """ln N(u; 0, I) for u (..., 2) -> (...)."""
    return -0.5 * (u[..., 0] ** 2 + u[..., 1] ** 2) - LOG_2PI


def _affine(p: Params, u: np.ndarray) -> np.ndarray:
    a11, a22 = np.exp(p.log_diag)
    w = np.empty_like(u)
    w[..., 0] = p.shift[0] + a11 * u[..., 0]
    w[..., 1] = p.shift[1] + p.shear[0] * u[..., 0] + a22 * u[..., 1]
    return w


def _coupling(
    p: Params, k: int, x: np.ndarray, h: np.ndarray | None = None, th: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hidden units (N, H), tanh(r / S_MAX) (N,) and t (N,) of layer k at its conditioning values x (N,); h and th,
    when given, are where the first two are written (forward's cache)."""
    # in place where a temporary would do: the same operations in the same order, fewer allocations (numpy's
    # per-call cost is most of a K = 128 batch's time)
    h = np.multiply.outer(x, p.w_in[k], out=h)
    h += p.b_in[k]
    np.tanh(h, out=h)
    out = h @ p.w_out[k].T
    out += p.b_out[k]
    return h, np.tanh(out[:, 0] / S_MAX, out=th), out[:, 1]


def forward(layout: Layout, theta: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, Cache]:
    """w = T(u) for base draws u (K, 2) -> (w (K, 2), ln|det dT/du| (K,), Cache)."""
    p = layout.views(theta)
    u = np.asarray(u, dtype=float)
    n, L, H = u.shape[0], layout.n_layers, layout.hidden
    ws, hs, ths, ess = np.empty((L, n, 2)), np.empty((L, n, H)), np.empty((L, n)), np.empty((L, n))
    w = _affine(p, u)
    logdet = np.full(n, p.log_diag.sum())
    for k in range(L):
        c = k % 2
        ws[k] = w  # a copy: w itself is updated in place below
        _, th, t = _coupling(p, k, w[:, c], hs[k], ths[k])  # written straight into the cache
        s = S_MAX * th
        es = np.exp(s, out=ess[k])
        w[:, 1 - c] = w[:, 1 - c] * es + t
        logdet += s
    return w, logdet, Cache(u, ws, hs, ths, ess)


def backward(layout: Layout, theta: np.ndarray, cache: Cache, g_w: np.ndarray, g_ld: np.ndarray) -> np.ndarray:
    """dJ/dtheta (P,) for any J whose derivatives at the flow's output are g_w = dJ/dw (K, 2) and
    g_ld = dJ/d ln|det| (K,) (the chain rule through ``forward``'s cached pass, layer by layer backwards)."""
    p = layout.views(theta)
    grad = np.zeros_like(theta)
    gp = layout.views(grad)
    g = np.array(g_w, dtype=float)  # dJ/d(current layer's output), updated in place layer by layer
    g_ld = np.broadcast_to(np.asarray(g_ld, dtype=float), g.shape[:1])
    g_out = np.empty_like(g)  # (K, 2): dJ/dr, dJ/dt
    for k in range(layout.n_layers - 1, -1, -1):
        c, d = k % 2, 1 - k % 2
        x, h, th, es = cache.w[k], cache.h[k], cache.th[k], cache.es[k]
        g_d = g[:, d]
        # w_d' = w_d e^s + t: d/ds = w_d e^s, plus g_ld from ln|det| += s; s = S_MAX tanh(r / S_MAX)
        g_out[:, 0] = (g_d * x[:, d] * es + g_ld) * (1.0 - th * th)
        g_out[:, 1] = g_d
        np.matmul(g_out.T, h, out=gp.w_out[k])
        np.add.reduce(g_out, axis=0, out=gp.b_out[k])
        g_pre = g_out @ p.w_out[k]  # (K, H)
        g_pre *= 1.0 - h * h
        np.matmul(x[:, c], g_pre, out=gp.w_in[k])
        np.add.reduce(g_pre, axis=0, out=gp.b_in[k])
        g[:, d] = g_d * es  # g_d's values are in g_out: overwriting them here is safe
        g[:, c] += g_pre @ p.w_in[k]
    # w = b + A u
    u = cache.u
    a11, a22 = np.exp(p.log_diag)
    gp.shift[:] = g.sum(axis=0)
    gp.log_diag[0] = a11 * (g[:, 0] @ u[:, 0]) + g_ld.sum()
    gp.log_diag[1] = a22 * (g[:, 1] @ u[:, 1]) + g_ld.sum()
    gp.shear[0] = g[:, 1] @ u[:, 0]
    return grad


def push(layout: Layout, theta: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w = T(u) for u (..., 2) -> (w (..., 2), ln|det dT/du| (...)) without a cache, a chunk of points at a time."""
    p = layout.views(theta)
    u = np.asarray(u, dtype=float)
    flat = u.reshape(-1, 2)
    w = np.empty_like(flat)
    logdet = np.empty(flat.shape[0])
    for sl in chunks.spans(flat.shape[0], layout.hidden):
        x = _affine(p, flat[sl])
        ld = np.full(x.shape[0], p.log_diag.sum())
        for k in range(layout.n_layers):
            c = k % 2
            _, th, t = _coupling(p, k, x[:, c])
            s = S_MAX * th
            x[:, 1 - c] = x[:, 1 - c] * np.exp(s) + t
            ld += s
        w[sl], logdet[sl] = x, ld
    return w.reshape(u.shape), logdet.reshape(u.shape[:-1])


def inverse(layout: Layout, theta: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u = T^{-1}(w) for w (..., 2) -> (u (..., 2), ln|det dT/du| at u (...)), a chunk of points at a time
    (vi_core.chunks: each temporary (chunk, H) stays at 0.5 MB)."""
    p = layout.views(theta)
    w = np.asarray(w, dtype=float)
    shape = w.shape[:-1]
    flat = w.reshape(-1, 2)
    u = np.empty_like(flat)
    logdet = np.empty(flat.shape[0])
    a11, a22 = np.exp(p.log_diag)
    for sl in chunks.spans(flat.shape[0], layout.hidden):
        x = flat[sl].copy()
        ld = np.full(x.shape[0], p.log_diag.sum())
        for k in range(layout.n_layers - 1, -1, -1):
            c = k % 2
            _, th, t = _coupling(p, k, x[:, c])
            s = S_MAX * th
            x[:, 1 - c] = (x[:, 1 - c] - t) * np.exp(-s)
            ld += s
        u0 = (x[:, 0] - p.shift[0]) / a11
        u[sl, 0] = u0
        u[sl, 1] = (x[:, 1] - p.shift[1] - p.shear[0] * u0) / a22
        logdet[sl] = ld
    return u.reshape(w.shape), logdet.reshape(shape)
