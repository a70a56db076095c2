"""The conjugate worked example: Newcomb's data, the Normal-Gamma model, closed-form CAVI.

Wikipedia's "Variational Bayesian methods" worked example made live: the closed-form updates
of q(μ) = N(μ_N, 1/λ_N) and q(τ) = Gamma(a_N, b_N) iteration by iteration, beside grid CAVI
(vi_core.cavi on the same posterior) and the exact Normal-Gamma posterior. Every number comes
from vi_core; this module arranges them (``analyse``, cached) and draws them (``*_figure``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st
from scipy import stats
from scipy.special import polygamma

from ui.contours import contour_segments
from ui.figures import MCMC_COLOUR, TARGET_COLOUR, TRUTH_COLOUR, VI_COLOUR, WALKER_COLOUR, equal_axes
from vi_core.cavi import cavi
from vi_core.grid import make_grid
from vi_core.runner import run
from vi_core.targets import make_target
from vi_core.targets.data import NEWCOMB_OUTLIERS, ClosedFormCavi, Newcomb, NormalGamma, newcomb_cavi_closed_form

__all__ = ["ACCEPTED", "Analysis", "Moments", "analyse", "render"]

N_ITER = 10  # both CAVIs reach their fixed point to 1e-12 within 8 iterations at the defaults
ACCEPTED = 33.02  # Stigler (1977): 24.833 02 µs after Newcomb's corrections, i.e. (µs - 24.8) * 1000
GRID_COLOUR = "#111111"
# Okabe-Ito blue and orange, and a different dash: the two data sets apart without colour vision
ALL_COLOUR = MCMC_COLOUR
CLEAN_COLOUR = WALKER_COLOUR
DASHES = {ALL_COLOUR: ("solid", "dot"), CLEAN_COLOUR: ("dash", "dashdot")}  # (exact, CAVI q)
_FONT = dict(size=13)
M = 90  # points a side of the contour figure's grid


class Moments(NamedTuple):
    """One row of the comparison table: moments of μ and τ, ELBO and KL(q ‖ p) in nats."""

    mean_mu: float
    sd_mu: float
    mean_tau: float
    sd_tau: float
    elbo: float
    kl: float


class Analysis(NamedTuple):
    """Everything the page shows for one target (arrays float64).

    cf: closed-form CAVI, N_ITER + 1 iterates; grid_elbo (N_ITER + 1,): grid CAVI's ELBO per sweep;
    log_z: exact ln p(X); log_z_grid: ln p(X) by quadrature; post: the exact Normal-Gamma posterior;
    n, xbar, sum_x, sum_x2: the data's statistics; rows: 'closed form', 'grid', 'exact' -> Moments;
    xs (n,), ys (n,): grid axes (μ, ln τ); marg_mu, marg_s (n,): exact marginal densities;
    q_mu, q_s (n,): grid CAVI's factor densities; cx (M,), cy (M,): contour axes;
    r_exact, r_cf, r_grid (M, M): each density as sqrt(-2 ln(p / max p)), rows follow cy;
    warnings: the grid's own warnings.
    """

    cf: ClosedFormCavi
    grid_elbo: np.ndarray
    log_z: float
    log_z_grid: float
    post: NormalGamma
    n: int
    xbar: float
    sum_x: float
    sum_x2: float
    rows: dict
    xs: np.ndarray
    ys: np.ndarray
    marg_mu: np.ndarray
    marg_s: np.ndarray
    q_mu: np.ndarray
    q_s: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    r_exact: np.ndarray
    r_cf: np.ndarray
    r_grid: np.ndarray
    warnings: list


def _radius(lp: np.ndarray) -> np.ndarray:
    """sqrt(-2 ln(p / max p)): levels 1, 2, 3 are the 1, 2, 3σ ellipses of a Gaussian (as in ui.figures)."""
    lp = lp - np.max(lp[np.isfinite(lp)])
    r = np.sqrt(np.maximum(-2.0 * lp, 0.0))
    return np.where(np.isfinite(r), np.minimum(r, 4.0), 4.0)


@st.cache_data(max_entries=32, show_spinner=False)
def analyse(target: Newcomb, n_iter: int = N_ITER) -> Analysis:
    """Closed-form CAVI, grid CAVI (n_iter sweeps on make_grid(target)) and the exact posterior."""
    cf = newcomb_cavi_closed_form(target, n_iter)
    grid = make_grid(target)
    trace = run(cavi(grid), n_iter, seed=0)
    w1, w2 = trace.states[-1].w1, trace.states[-1].w2
    post, log_z = target.posterior, target.log_z_exact
    x = target.data

    tau = np.exp(grid.ys)
    m_mu, m_tau = float(w1 @ grid.xs), float(w2 @ tau)
    rows = {
        "closed form": Moments(
            cf.mu_n[-1],
            1.0 / math.sqrt(cf.lambda_n[-1]),
            cf.a_n[-1] / cf.b_n[-1],
            math.sqrt(cf.a_n[-1]) / cf.b_n[-1],
            cf.elbo[-1],
            log_z - cf.elbo[-1],
        ),
        "grid": Moments(
            m_mu,
            math.sqrt(w1 @ (grid.xs - m_mu) ** 2),
            m_tau,
            math.sqrt(w2 @ (tau - m_tau) ** 2),
            trace.states[-1].elbo,
            grid.log_z - trace.states[-1].elbo,
        ),
        # μ's marginal is Student-t with 2a dof: variance b / (λ (a - 1)); τ's is Gamma(a, b).
        "exact": Moments(
            post.mu,
            math.sqrt(post.b / (post.lam * (post.a - 1))),
            post.a / post.b,
            math.sqrt(post.a) / post.b,
            log_z,
            0.0,
        ),
    }

    # Contours on the exact posterior's ±4.5 sd (μ) and ±5 sd (ln τ): the grid's box holds 1e-10 tails.
    half_mu = 4.5 * rows["exact"].sd_mu
    # ln τ under Gamma(a, b): mean ψ(a) − ln b, variance ψ'(a).
    s_mid, s_half = float(polygamma(0, post.a)) - math.log(post.b), 5.0 * math.sqrt(float(polygamma(1, post.a)))
    cx = np.linspace(post.mu - half_mu, post.mu + half_mu, M)
    cy = np.linspace(s_mid - s_half, s_mid + s_half, M)
    mu, s = np.meshgrid(cx, cy, indexing="xy")  # (M, M), rows follow cy as Plotly's z
    lp_exact = target.log_density(np.stack([mu, s], axis=-1))
    a_n, b_n, lam_n = cf.a_n[-1], cf.b_n[-1], cf.lambda_n[-1]
    # q(μ) q(τ) carried to (μ, s = ln τ): the Jacobian dτ/ds = e^s.
    lq_cf = (
        stats.norm.logpdf(mu, cf.mu_n[-1], 1 / math.sqrt(lam_n)) + stats.gamma.logpdf(np.exp(s), a_n, scale=1 / b_n) + s
    )
    with np.errstate(divide="ignore"):
        lq_grid = np.log(np.interp(cy, grid.ys, w2 / grid.dy))[:, None] + np.log(np.interp(cx, grid.xs, w1 / grid.dx))
    return Analysis(
        cf=cf,
        grid_elbo=np.array([state.elbo for state in trace.states]),
        log_z=log_z,
        log_z_grid=grid.log_z,
        post=post,
        n=int(x.size),
        xbar=float(x.mean()),
        sum_x=float(x.sum()),
        sum_x2=float(x @ x),
        rows=rows,
        xs=grid.xs,
        ys=grid.ys,
        marg_mu=grid.marginal_x,
        marg_s=grid.marginal_y,
        q_mu=w1 / grid.dx,
        q_s=w2 / grid.dy,
        cx=cx,
        cy=cy,
        r_exact=_radius(lp_exact),
        r_cf=_radius(lq_cf),
        r_grid=_radius(lq_grid),
        warnings=grid.warnings(),
    )


# ------------------------------------------------------------------------------------ figures


def data_figure(x_all: np.ndarray, dropped: bool) -> dict:
    """Histogram of the 66 values (x_all (66,)), the two outliers in red, the accepted value dashed."""
    out = np.isin(x_all, NEWCOMB_OUTLIERS)
    bins = dict(start=-46.0, end=42.0, size=2.0)
    bar = dict(type="histogram", xbins=bins, autobinx=False, hoverinfo="x+y")
    return dict(
        data=[
            {**bar, "x": x_all[~out], "marker": dict(color=ALL_COLOUR), "name": "measurements"},
            {
                **bar,
                "x": x_all[out],
                "marker": dict(color="rgba(0,0,0,0)" if dropped else VI_COLOUR, line=dict(color=VI_COLOUR, width=2)),
                "name": "outliers −44, −2" + (" (removed)" if dropped else ""),
            },
        ],
        layout=dict(
            height=300,
            margin=dict(l=45, r=10, t=30, b=40),
            font=_FONT,
            barmode="overlay",
            bargap=0.05,
            xaxis=dict(title=dict(text="passage time: (µs − 24.8) × 1000"), range=[-48, 44]),
            yaxis=dict(title=dict(text="count")),
            legend=dict(orientation="h", x=0, y=1.15),
            **_accepted_mark("x"),
        ),
    )


def _accepted_mark(xref: str) -> dict:
    """Layout entries: a dashed vertical line at the accepted value, labelled above the plot area."""
    line = dict(color=TRUTH_COLOUR, dash="dash", width=1.5)
    return dict(
        shapes=[dict(type="line", xref=xref, yref="paper", x0=ACCEPTED, x1=ACCEPTED, y0=0, y1=1, line=line)],
        annotations=[
            dict(x=ACCEPTED, xref=xref, y=1, yref="paper", text="accepted 33.02", showarrow=False, yanchor="bottom")
        ],
    )


def elbo_figure(a: Analysis) -> dict:
    """Left: the ELBO of both CAVIs per iteration under the dashed ln p(X), zoomed on the finish.
    Right: the gap ln p(X) − ELBO on a log axis, which settles at KL(q* ‖ p), not at 0."""
    k = np.arange(a.cf.elbo.size)
    kl = a.rows["closed form"].kl
    span = max(0.05, 25.0 * kl)
    line = dict(type="scatter", mode="lines+markers")
    cf_style = dict(line=dict(color=VI_COLOUR, width=3), marker=dict(size=8), name="closed-form CAVI")
    grid_style = dict(line=dict(color=GRID_COLOUR, width=1.5, dash="dot"), marker=dict(size=5), name="grid CAVI")
    data = [
        {**line, **cf_style, "x": k, "y": a.cf.elbo},
        {**line, **grid_style, "x": k, "y": a.grid_elbo},
        dict(
            type="scatter",
            x=[0, k[-1]],
            y=[a.log_z, a.log_z],
            mode="lines",
            line=dict(color=TRUTH_COLOUR, dash="dash", width=1.5),
            name="exact ln p(X)",
        ),
        {**line, **cf_style, "x": k, "y": a.log_z - a.cf.elbo, "xaxis": "x2", "yaxis": "y2", "showlegend": False},
        {
            **line,
            **grid_style,
            "x": k,
            "y": a.log_z_grid - a.grid_elbo,
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
        },
        dict(
            type="scatter",
            x=[0, k[-1]],
            y=[kl, kl],
            mode="lines",
            line=dict(color=TRUTH_COLOUR, dash="dash", width=1.5),
            xaxis="x2",
            yaxis="y2",
            name="KL(q* ‖ p)",
        ),
    ]
    gaps = np.concatenate([a.log_z - a.cf.elbo, a.log_z_grid - a.grid_elbo])
    gaps = gaps[gaps > 0]
    return dict(
        data=data,
        layout=dict(
            height=360,
            margin=dict(l=60, r=10, t=50, b=45),
            font=_FONT,
            legend=dict(orientation="h", x=0, y=1.2),
            xaxis=dict(domain=[0, 0.5], range=[-0.4, k[-1] + 0.4], title=dict(text="iteration k"), dtick=2),
            yaxis=dict(range=[a.log_z - span, a.log_z + 0.15 * span], title=dict(text="ELBO (nats)")),
            xaxis2=dict(
                domain=[0.64, 1], anchor="y2", range=[-0.4, k[-1] + 0.4], title=dict(text="iteration k"), dtick=2
            ),
            yaxis2=dict(
                type="log",
                anchor="x2",
                range=[math.log10(min(gaps.min(), kl)) - 0.3, math.log10(gaps.max()) + 0.3],
                title=dict(text="ln p(X) − ELBO (log)"),
            ),
        ),
    )


def contour_figure(a: Analysis) -> dict:
    """The exact posterior and both CAVI q's in (μ, ln τ), each at its 1, 2, 3σ-like levels.

    μ and ln τ are different kinds of quantity, so each axis keeps its own scale, and says so."""
    traces = []
    for r, name, line in (
        (a.r_exact, "exact posterior", dict(color=TARGET_COLOUR, width=2.5)),
        (a.r_cf, "closed-form CAVI q", dict(color=VI_COLOUR, width=3.5)),
        (a.r_grid, "grid CAVI q", dict(color=GRID_COLOUR, width=1.5, dash="dot")),
    ):
        x, y = contour_segments(a.cx, a.cy, r, (1, 2, 3))
        traces.append(dict(type="scatter", x=x, y=y, mode="lines", line=line, name=name, hoverinfo="skip"))
    xa = dict(title=dict(text="μ"), range=[a.cx[0], a.cx[-1]], showgrid=False, zeroline=False)
    ya = dict(title=dict(text="ln τ"), range=[a.cy[0], a.cy[-1]], showgrid=False, zeroline=False)
    equal_axes(xa, ya, "x", same_units=False)
    return dict(
        data=traces,
        layout=dict(
            height=360,
            margin=dict(l=60, r=10, t=50, b=45),
            font=_FONT,
            legend=dict(orientation="h", x=0, y=1.2),
            xaxis=xa,
            yaxis=ya,
        ),
    )


def shift_figure(both: dict[str, Analysis]) -> dict:
    """Marginals of μ (left) and ln τ (right): exact (solid) and grid CAVI q (dotted), with and without the outliers."""
    data = []
    for (label, a), colour in zip(both.items(), (ALL_COLOUR, CLEAN_COLOUR), strict=True):
        for axis, (xs, exact, q) in enumerate(((a.xs, a.marg_mu, a.q_mu), (a.ys, a.marg_s, a.q_s))):
            ax = {} if axis == 0 else dict(xaxis="x2", yaxis="y2")
            common = dict(type="scatter", x=xs, mode="lines", showlegend=axis == 0, **ax)
            d_exact, d_q = DASHES[colour]
            data.append(
                {**common, "y": exact, "line": dict(color=colour, width=2.5, dash=d_exact), "name": f"{label}: exact"}
            )
            data.append({**common, "y": q, "line": dict(color=colour, width=1.5, dash=d_q), "name": f"{label}: CAVI q"})
    lo_mu = min(a.post.mu - 4.5 * a.rows["exact"].sd_mu for a in both.values())
    s_lo = min(a.cy[0] for a in both.values())
    s_hi = max(a.cy[-1] for a in both.values())
    return dict(
        data=data,
        layout=dict(
            height=340,
            margin=dict(l=55, r=10, t=50, b=45),
            font=_FONT,
            legend=dict(orientation="h", x=0, y=1.22),
            xaxis=dict(domain=[0, 0.55], range=[lo_mu, ACCEPTED + 1.0], title=dict(text="μ")),
            yaxis=dict(title=dict(text="density")),
            xaxis2=dict(domain=[0.65, 1], anchor="y2", range=[s_lo, s_hi], title=dict(text="ln τ")),
            yaxis2=dict(anchor="x2"),
            **_accepted_mark("x"),
        ),
    )


# ------------------------------------------------------------------------------------ tables


def iteration_table(a: Analysis) -> pd.DataFrame:
    """One row per iteration k: the closed-form q's parameters, E[τ], its ELBO; grid CAVI's ELBO beside it."""
    cf = a.cf
    return pd.DataFrame(
        {
            "k": np.arange(cf.elbo.size),
            "μ_N": cf.mu_n,
            "λ_N": cf.lambda_n,
            "a_N": cf.a_n,
            "b_N": cf.b_n,
            "E[τ] = a_N/b_N": cf.a_n / cf.b_n,
            "ELBO_k": cf.elbo,
            "ln p(X) − ELBO_k": a.log_z - cf.elbo,
            "grid CAVI ELBO_k": a.grid_elbo,
        }
    )


_MOMENT_COLS = {
    "mean_mu": "E[μ]",
    "sd_mu": "sd(μ)",
    "mean_tau": "E[τ]",
    "sd_tau": "sd(τ)",
    "elbo": "ELBO",
    "kl": "KL(q ‖ p)",
}
_ROW_LABELS = {"closed form": "closed-form CAVI q", "grid": "grid CAVI q", "exact": "exact posterior"}


def comparison_table(a: Analysis) -> pd.DataFrame:
    """Closed-form CAVI vs grid CAVI vs the exact posterior: moments of μ and τ, ELBO, KL."""
    df = pd.DataFrame([r._asdict() for r in a.rows.values()]).rename(columns=_MOMENT_COLS)
    df.insert(0, "", [_ROW_LABELS[k] for k in a.rows])
    return df


def outlier_table(both: dict[str, Analysis]) -> pd.DataFrame:
    """Per data set: N, x̄, the exact posterior of μ and τ, and CAVI's fixed point with its KL."""
    rows = []
    for label, a in both.items():
        ex, cf = a.rows["exact"], a.rows["closed form"]
        rows.append(
            {
                "data": label,
                "N": a.n,
                "x̄": a.xbar,
                "E[μ] exact": ex.mean_mu,
                "sd(μ) exact": ex.sd_mu,
                "sd(μ) CAVI": cf.sd_mu,
                "(33.02 − E[μ]) / sd(μ)": (ACCEPTED - ex.mean_mu) / ex.sd_mu,
                "E[τ]": ex.mean_tau,
                "σ = 1/√E[τ]": 1 / math.sqrt(ex.mean_tau),
                "KL(q ‖ p)": cf.kl,
            }
        )
    return pd.DataFrame(rows)


def _num(fmt: str) -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(format=fmt)


# ------------------------------------------------------------------------------------ page

MODEL = r"""
\begin{aligned}
x_i \mid \mu, \tau &\sim \mathcal N\!\left(\mu,\ \tau^{-1}\right), \quad i = 1, \dots, N \\
\mu \mid \tau &\sim \mathcal N\!\left(\mu_0,\ (\lambda_0 \tau)^{-1}\right) \\
\tau &\sim \operatorname{Gamma}(a_0,\ b_0) \quad \text{(rate } b_0\text{)}
\end{aligned}
"""

UPDATES = r"""
\begin{aligned}
q(\mu) &= \mathcal N\!\left(\mu \mid \mu_N,\ \lambda_N^{-1}\right) \\
q(\tau) &= \operatorname{Gamma}(\tau \mid a_N,\ b_N) \\
\mu_N &= \frac{\lambda_0 \mu_0 + N \bar x}{\lambda_0 + N} \\
a_N &= a_0 + \frac{N + 1}{2} \\
\mathbb E_\mu[\cdots] &= \mathbb E_\mu\Big[\textstyle\sum_i (x_i - \mu)^2 + \lambda_0 (\mu - \mu_0)^2\Big] \\
  &= (\lambda_0 + N)\left(\lambda_N^{-1} + \mu_N^2\right) \\
  &\quad - 2 \mu_N \Big(\lambda_0 \mu_0 + \textstyle\sum_i x_i\Big) \\
  &\quad + \textstyle\sum_i x_i^2 + \lambda_0 \mu_0^2 \\
b_N &= b_0 + \tfrac12\, \mathbb E_\mu[\cdots] \\
\mathbb E[\tau] &= a_N / b_N \\
\lambda_N &= (\lambda_0 + N)\, \mathbb E[\tau]
\end{aligned}
"""


def _p(v: float) -> str:
    """A number for a product in KaTeX: negatives in parentheses."""
    return f"({v:g})" if v < 0 else f"{v:g}"


def _with_numbers(t: Newcomb, a: Analysis) -> str:
    """UPDATES line by line at the fixed point, with this prior's and these data's numbers (KaTeX)."""
    cf = a.cf
    mu_n, lam_n, a_n, b_n = cf.mu_n[-1], cf.lambda_n[-1], cf.a_n[-1], cf.b_n[-1]
    e_quad = 2.0 * (b_n - t.b0)  # from vi_core's b_N, so the line agrees with the table
    lam0, mu0, n = t.lambda0, t.mu0, a.n
    return rf"""
\begin{{aligned}}
q(\mu) &= \mathcal N\!\left(\mu \mid {mu_n:.4f},\ 1/{lam_n:.5f}\right) \\
q(\tau) &= \operatorname{{Gamma}}(\tau \mid {a_n:g},\ {b_n:.3f}) \\
\mu_N &= \frac{{{lam0:g} \cdot {_p(mu0)} + {n} \cdot {a.xbar:.4f}}}{{{lam0:g} + {n}}} = {mu_n:.4f} \\
a_N &= {t.a0:g} + \frac{{{n} + 1}}{{2}} = {a_n:g} \\
\mathbb E_\mu[\cdots] &= {e_quad:.2f} \\
  &= {lam0 + n:g}\left(1/{lam_n:.5f} + {_p(mu_n)}^2\right) \\
  &\quad - 2 \cdot {_p(mu_n)} \left({_p(lam0 * mu0)} + {a.sum_x:g}\right) \\
  &\quad + {a.sum_x2:g} + {lam0 * mu0**2:g} \\
b_N &= {t.b0:g} + \tfrac12 \cdot {e_quad:.2f} = {b_n:.3f} \\
\mathbb E[\tau] &= {a_n:g} / {b_n:.3f} = {a_n / b_n:.6f} \\
\lambda_N &= {lam0 + n:g} \cdot {a_n / b_n:.6f} = {lam_n:.5f}
\end{{aligned}}
"""


def _prior_widgets() -> tuple[dict[str, float], bool]:
    """Sidebar: the Normal-Gamma prior (bounded like the newcomb target's params) and the outlier toggle."""
    with st.sidebar:
        st.markdown("**Prior and data**")
        values = {}
        for p in Newcomb.params:
            step = {"mu0": 1.0, "lambda0": 0.01, "a0": 0.5, "b0": 10.0}[p.name]
            values[p.name] = st.number_input(
                p.help, float(p.lo), float(p.hi), float(p.default), step=step, key=f"cj_{p.name}", format="%g"
            )
        drop = st.toggle("remove the two outliers (−44, −2)", key="cj_drop")
    return values, drop


def render() -> None:
    params, drop = _prior_widgets()
    target = make_target("newcomb-clean" if drop else "newcomb", **params)
    a = analyse(target)

    st.markdown("### Worked example: Newcomb's speed of light, closed-form CAVI")
    st.caption(
        "“A basic non-hierarchical model with only two parameters” — the worked example of Wikipedia's "
        "*Variational Bayesian methods* (also Murphy, *MLPP* §21.5.1). Its variational updates have closed forms; "
        "here they run next to CAVI on a 200 × 200 grid and the exact posterior, which is Normal-Gamma."
    )
    for w in a.warnings:
        st.warning(w, icon="⚠️")

    left, right = st.columns([1, 1.3])
    with left:
        st.markdown("**The model**")
        st.latex(MODEL)
        st.markdown(
            f"Simon Newcomb's 66 measurements (1882) of the time light took to travel 7.44 km (to a mirror and back), "
            f"in units of (µs − 24.8) × 1000. The accepted value, after Newcomb's own corrections, is "
            f"**{ACCEPTED}** (24.833 02 µs; Stigler 1977). Two gross outliers, −44 and −2, pull x̄ down. "
            f"{'They are removed: ' if drop else 'All are used: '}N = {a.n}, x̄ = {a.xbar:.3f}. "
            "Prior and data are in the sidebar."
        )
    with right:
        st.plotly_chart(data_figure(Newcomb().data, drop), key="cj_data", config={"displaylogo": False})

    st.markdown("#### The updates, one at a time")
    c1, c2 = st.columns([1, 1.15])
    with c1:
        st.latex(UPDATES)
        st.caption(
            "μ_N and a_N are fixed by the data and the prior; λ_N and b_N depend on each other through "
            "E[τ] and E_μ[·], so they are iterated: update q(τ) (b_N), then q(μ) (λ_N)."
        )
    with c2:
        st.markdown("At the fixed point, with these numbers:")
        st.latex(_with_numbers(target, a))
        e_tau, lam_n = a.cf.a_n[-1] / a.cf.b_n[-1], a.cf.lambda_n[-1]
        st.caption(
            f"So σ ≈ 1/√E[τ] = {1 / math.sqrt(e_tau):.2f} and q's sd of μ is 1/√λ_N = {1 / math.sqrt(lam_n):.3f}."
        )
    st.dataframe(
        iteration_table(a),
        hide_index=True,
        width="stretch",
        column_config={
            "μ_N": _num("%.4f"),
            "λ_N": _num("%.6f"),
            "a_N": _num("%.1f"),
            "b_N": _num("%.4f"),
            "E[τ] = a_N/b_N": _num("%.8f"),
            "ELBO_k": _num("%.6f"),
            "ln p(X) − ELBO_k": _num("%.6g"),
            "grid CAVI ELBO_k": _num("%.6f"),
        },
        key="cj_iterations",
        height=35 * (a.cf.elbo.size + 1) + 3,  # every row, no inner scrollbar
    )
    st.caption(
        "Row 0 is the starting q with E[τ] = 1 (σ = 1: far too confident), hence its very low ELBO. "
        "Grid CAVI starts elsewhere (an off-centre q on the grid), so its early ELBOs differ; both reach the same "
        "fixed point."
    )

    cf_row = a.rows["closed form"]
    g1, g2 = st.columns([1.2, 1])
    with g1:
        st.markdown("**The ELBO climbs to just under ln p(X)**")
        st.plotly_chart(elbo_figure(a), key="cj_elbo", config={"displaylogo": False})
        st.markdown(
            f"Exact ln p(X) = {a.log_z:.6f} (Normal-Gamma evidence; the grid's quadrature gives {a.log_z_grid:.6f}). "
            f"Final ELBO = {cf_row.elbo:.6f}: the gap that never closes is **KL(q ‖ p) = {cf_row.kl:.6f} nats**, "
            "the price of making μ and τ independent. Left, zoomed on the finish (the k = 0 ELBOs, "
            f"{a.cf.elbo[0]:.1f} and {a.grid_elbo[0]:.1f}, lie far below); right, the gap on a log scale."
        )
    with g2:
        st.markdown("**The posterior and both q's in (μ, ln τ)**")
        st.plotly_chart(contour_figure(a), key="cj_contours", config={"displaylogo": False})
        st.caption(
            "Lines where each density is e^(−k²/2) of its peak, k = 1, 2, 3. The closed-form q is "
            "N(μ_N, 1/λ_N) · Gamma(e^s; a_N, b_N) · e^s (the Jacobian of τ = e^s); grid CAVI lies on top of it. "
            "The exact posterior is narrower in μ where τ is large: the dependence a product q cannot hold."
        )

    st.markdown("**Closed form, grid and truth**")
    st.dataframe(
        comparison_table(a),
        hide_index=True,
        width="stretch",
        column_config={
            "E[μ]": _num("%.6f"),
            "sd(μ)": _num("%.6f"),
            "E[τ]": _num("%.8f"),
            "sd(τ)": _num("%.8f"),
            "ELBO": _num("%.6f"),
            "KL(q ‖ p)": _num("%.6f"),
        },
        key="cj_compare",
    )
    st.caption(
        "At the fixed point q gets both means exactly (λ_N = (λ₀ + N) E[τ] turns b_N into the exact posterior's b "
        "plus 1/(2E[τ]), so a_N/b_N equals the exact E[τ]); what it misses is spread: sd(μ) and sd(τ) come out too "
        "small."
    )
    st.caption(
        "Bishop's PRML prints a_N = a₀ + N/2 (eq. 10.29); with the prior μ | τ ~ N(μ₀, (λ₀τ)⁻¹) the optimal update is "
        "a₀ + (N + 1)/2 (Wikipedia; Murphy §21.5.1): that prior contributes one more τ^½, and N/2 gives a lower ELBO."
    )

    _without_outliers(params)


def _without_outliers(params: dict[str, float]) -> None:
    st.markdown("#### Without the outliers")
    both = {
        "all 66": analyse(make_target("newcomb", **params)),
        "without −44, −2": analyse(make_target("newcomb-clean", **params)),
    }
    full, clean = both.values()
    ef, ec = full.rows["exact"], clean.rows["exact"]
    st.plotly_chart(shift_figure(both), key="cj_shift", config={"displaylogo": False})
    st.dataframe(
        outlier_table(both),
        hide_index=True,
        width="stretch",
        column_config={
            "x̄": _num("%.3f"),
            "E[μ] exact": _num("%.4f"),
            "sd(μ) exact": _num("%.4f"),
            "sd(μ) CAVI": _num("%.4f"),
            "(33.02 − E[μ]) / sd(μ)": _num("%.1f"),
            "E[τ]": _num("%.5f"),
            "σ = 1/√E[τ]": _num("%.2f"),
            "KL(q ‖ p)": _num("%.6f"),
        },
        key="cj_outliers",
    )
    st.markdown(
        f"Dropping −44 and −2 moves μ's posterior mean from {ef.mean_mu:.2f} to {ec.mean_mu:.2f}, towards the accepted "
        f"{ACCEPTED}, and E[τ] rises {ec.mean_tau / ef.mean_tau:.1f}-fold (σ from {1 / math.sqrt(ef.mean_tau):.1f} "
        f"to {1 / math.sqrt(ec.mean_tau):.1f}): two values inflated the noise estimate. The posterior of μ also "
        f"narrows (sd {ef.sd_mu:.2f} → {ec.sd_mu:.2f}), so 33.02 ends up *further* out in sd units "
        f"({(ACCEPTED - ef.mean_mu) / ef.sd_mu:.1f} → {(ACCEPTED - ec.mean_mu) / ec.sd_mu:.1f}): what remains is "
        "systematic error of the 1882 apparatus, which no model of these data alone can see. Mean-field VI is "
        f"almost exact here either way (KL {full.rows['closed form'].kl:.4f} and "
        f"{clean.rows['closed form'].kl:.4f} nats)."
    )
