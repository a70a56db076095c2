"""The Lessons page: one-click scenarios, each a Playground link plus what to watch.

Every caption's numbers are what the Playground shows for that lesson's spec (runs are
seeded, so they are reproducible); tests/ui/test_lessons.py re-measures each claim.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode, urljoin

import streamlit as st

from ui import compute
from ui.compute import MCMC_LABELS, VI_LABELS, Settings, Target, make_target
from ui.figures import ready
from ui.figures.lessons import preview_figure
from ui.spec import RunSpec, to_query

__all__ = ["LESSONS", "Lesson", "render"]


@dataclasses.dataclass(frozen=True)
class Lesson:
    """title; caption: two sentences, the point then what to watch; spec: the run the link opens.

    verdicts: the (VI, MCMC) verdict levels the run ends on, and closer: which method "What this run shows" says
    ends closer to the truth ("vi", "mcmc" or "tie", vi_core.story.closer). The caption is written to agree
    with both; tests/ui/test_lessons.py runs every lesson and checks that they still hold."""

    title: str
    caption: str
    spec: RunSpec
    verdicts: tuple[str, str]
    closer: str
    clock: str = "iteration"

    @property
    def query(self) -> dict[str, str]:
        return {**to_query(self.spec, self.clock), "run": "1"}

    @property
    def href(self) -> str:
        # Relative to the Lessons page (/Lessons), so "./" is the Playground (the root page) on
        # whatever host, port or base path served this page. A full page load, not st.page_link:
        # the Playground reads the query only in a fresh session.
        return "./?" + urlencode(self.query)

    @property
    def present_href(self) -> str:
        """The same link in the presenter view (ui.playground: the race alone at a projector's size)."""
        return "./?" + urlencode({**self.query, "view": "present"})


LESSONS = [
    Lesson(
        "Mean-field VI under-estimates the variance",
        "A mean-field q must treat z₁ and z₂ as independent, so on this narrow ridge (ρ = 0.95) it shrinks to "
        "the ridge's width: each variance is 1 − ρ² ≈ 0.10 of the truth and KL ≈ 1.16 nats, all of it the family's "
        "bias. Watch the vermillion ellipses shrink to a small circle in the middle of the blue ridge while emcee's "
        "draws spread along all of it and pass emcee's own convergence check.",
        RunSpec(make_target("gaussian", rho=0.95), "cavi", "emcee"),
        ("bad", "good"),
        "mcmc",
    ),
    Lesson(
        "Reverse KL is mode-seeking",
        "Gaussian VI minimises KL(q ‖ p), which punishes q for mass where p has none, so it settles on one "
        "mode and ignores the other: KL = ln 2 ≈ 0.69 nats, the price of missing half the posterior, while "
        "emcee's DE move hops between both and converges. Twist: switch VI to CAVI and it is exact (KL = 0), because "
        "this mixture factorises as p(z₁) p(z₂): the Gaussian shape is the problem here, not mean-field.",
        RunSpec(make_target("mixture"), "gauss-mf", "emcee-de"),
        ("bad", "good"),
        "mcmc",
    ),
    Lesson(
        "VI cannot bend",
        "A full-rank Gaussian can stretch and tilt its ellipse but cannot bend it: watch it first lean into "
        "one arm of the banana, then shrink into the bottom of the U, ending ≈ 0.56 nats of KL from the truth, "
        "all of it the family's bias. emcee's DE move follows the curved ridge into both arms, and over its 4,000 "
        "steps earns a converged verdict.",
        RunSpec(
            make_target("banana", b=0.5),
            "gauss-fr",
            "emcee-de",
            settings=Settings(vi_steps=2000, mcmc_steps=4000),
        ),
        ("bad", "good"),
        "mcmc",
    ),
    Lesson(
        "MCMC's hard case: Neal's funnel",
        "Random-walk Metropolis proposes from one Gaussian everywhere (tuned to the draws during burn-in): too wide "
        "for the funnel's narrow neck (left), where most proposals are rejected, and too narrow for its wide mouth "
        "(right), so its 32 chains still disagree (R-hat ≈ 1.07, not yet trustworthy) and, on the W1 yardstick, "
        "miss the tails. Switch the sampler to Gibbs sampling, whose exact 1D draws reach into neck and mouth "
        "alike, and the verdict turns good while the marginal W1 roughly halves.",
        RunSpec(make_target("funnel"), "cavi", "rwm"),
        ("bad", "warn"),
        "mcmc",
    ),
    Lesson(
        "Both do fine",
        "With ρ = 0 the posterior factorises, so mean-field CAVI is exact: KL = 0 after its first sweep, "
        "within milliseconds. emcee gets there too, only more slowly: with the clock on wall-clock time, "
        "watch its distance to the truth fall towards zero while VI is long done, and both verdicts end good.",
        RunSpec(make_target("gaussian", rho=0.0), "cavi", "emcee"),
        ("good", "good"),
        "vi",
        clock="time",
    ),
    Lesson(
        "Real data: the Challenger O-rings",
        "Logistic regression on the 23 flights before Challenger: α is the log-odds of an O-ring failure at "
        "the mean launch temperature (69.6 °F), β the change per 10 °F warmer. Watch both methods put the "
        "slope firmly below zero (β ≈ −2.3, P(β < 0) > 0.99: colder launches, more failures) and both verdicts end "
        "good: the full-rank Gaussian is only ≈ 0.03 nats of KL from the truth, and Pareto k̂ ≈ 0.4 agrees.",
        RunSpec(make_target("challenger"), "gauss-fr", "emcee"),
        ("good", "good"),
        "mcmc",
    ),
    Lesson(
        "Gibbs crawls along a narrow ridge",
        "Gibbs moves along one axis at a time, and across a ridge with ρ = 0.99 the conditional sd is only "
        "√(1 − ρ²) ≈ 0.14, so each sweep's draw is correlated ρ² ≈ 0.98 with the last: after 2,000 sweeps the "
        "4 chains hold well under 400 effective draws and R-hat is above 1.01, so the verdict says not to trust them, "
        "while CAVI's means shrink at the same rate ρ² but have nothing to average (its ELBO is within 0.01 nats of "
        "its optimum after ≈ 130 sweeps, at the price of KL ≈ 1.96). Watch the staircase: tiny axis-parallel steps "
        "up the ridge.",
        RunSpec(make_target("gaussian", rho=0.99), "cavi", "gibbs"),
        ("bad", "bad"),
        "mcmc",
    ),
    Lesson(
        "NUTS diverges in the funnel's neck",
        "Where the funnel narrows, the step size NUTS adapted for the rest of it is too big for the "
        "curvature, the simulated energy explodes and the trajectory is cut short: hundreds of divergent "
        "transitions after warm-up (the red ×; the exact count changes with the seed and even the machine's "
        "floating point), most of them starting at v < 0, its acceptance statistic below its 0.8 target, and the neck "
        "goes under-sampled, so NUTS ends no closer to the truth than VI. "
        "The cure is a reparameterisation, not a smaller step: in non-centred coordinates (v, x̃ = "
        "x·e^(−v/2)) the posterior is a plain Gaussian N(0, 9)·N(0, 1), so type `-x**2/18 - y**2/2` as a custom "
        "target with the box −9, 9, −4, 4 and NUTS runs without a single divergence.",
        RunSpec(make_target("funnel"), "cavi", "nuts"),
        ("bad", "bad"),
        "tie",
    ),
    Lesson(
        "HMC follows the banana",
        "HMC's leapfrog paths (grey) use the gradient to sweep along the curved ridge, so its draws are nearly "
        "independent a few steps apart (τ ≈ 5 steps, against ≈ 17 for random-walk Metropolis), but at the tips of "
        "the arms the curvature outgrows the step size tuned for target acceptance 0.8: hundreds of divergent "
        "transitions (red ×) leave the tips under-sampled, and the verdict says not yet. "
        "Raise the target acceptance to 0.95 and the smaller step follows the tips: the divergences fall to a "
        "handful and the spread of the draws comes right.",
        RunSpec(make_target("banana"), "gauss-fr", "hmc"),
        ("warn", "warn"),
        "mcmc",
    ),
    Lesson(
        "Mean-field's ceiling, and what lifts it",
        "On U1 the best mean-field q of any shape, grid CAVI, stops at KL ≈ 0.14 nats because the two arcs tie z₁ to "
        "z₂, while the normalizing flow shown here (8 coupling layers, 8,000 steps) bends its contours round both arcs "
        "to KL ≈ 0.02 and a mixture of 8 Gaussians (switch VI to it) reaches KL ≈ 0.001, all exact KLs by quadrature. "
        "Watch the flow's contours take the arcs' shape while emcee's draws, closer still on the W1 yardstick, are not "
        "yet trustworthy by emcee's own check (τ ≈ 110 steps asks for a longer run); the Ladder page sets every "
        "family side by side.",
        RunSpec(make_target("u1"), "flow", "emcee"),
        ("good", "warn"),
        "mcmc",
    ),
    Lesson(
        "Particles that never find the other modes",
        "SVGD's particles push one another apart only through a kernel whose width is set by their own distances, so "
        "started in a tight clump (initial spread 0.1) all 100 climb the nearest of the four clusters and stay there, "
        "putting mass 1.0 where the exact is 0.4 and none on the other three. Spread them over the box (spread 4) and "
        "every cluster is found, but in the shares they began with (0.27, 0.26, 0.19, 0.28 against the exact 0.1, "
        "0.2, 0.3, 0.4), while emcee's walkers share the mass out about right (0.10, 0.26, 0.30, 0.34), though not "
        "yet trustworthy by emcee's own check.",
        RunSpec(make_target("modes"), "svgd", "emcee", settings=Settings(svgd_spread=0.1)),
        ("bad", "warn"),
        "mcmc",
    ),
    Lesson(
        "A ring defeats a mixture of few components",
        "A thin ring (radius 8, width 0.1) puts all its mass on a circle and each Gaussian of a mixture covers only a "
        "short arc of it, so with K = 4 components the fit ends at KL ≈ 1.5 nats and a mean marginal total variation "
        "(mmtv) of ≈ 0.43; switch to K = 16 and it falls to KL ≈ 0.33 and mmtv ≈ 0.15, inside the bar of a published "
        "benchmark (|ln Z − ELBO| < 1, mmtv < 0.2) that a 50-component black-box mixture missed there (8.0 and 0.51). "
        "Watch the dotted component ellipses spread round the ring, while emcee's straight-line moves cut across the "
        "hole and are mostly rejected: its verdict says not to trust its draws at this run length.",
        RunSpec(make_target("ring"), "mog", "emcee", settings=Settings(components=4)),
        ("bad", "bad"),
        "vi",
    ),
]


def _setup(lesson: Lesson) -> str:
    t = lesson.spec.target
    params = ", ".join(f"{k} = {v:g}" for k, v in t.param_values().items())
    return f"`{t.name}` ({params}) · VI: {VI_LABELS[lesson.spec.vi]} · MCMC: {MCMC_LABELS[lesson.spec.mcmc]}"


@st.cache_data(show_spinner=False)
def _preview(target: Target) -> dict:
    """A small static picture of the target: the figure only needs the box and the density,
    so a coarse grid will do."""
    return preview_figure(compute.preview_grid(target))


def render() -> None:
    st.markdown("### Lessons")
    st.caption(
        f"{len(LESSONS)} scenarios, one click each: the button opens the Playground in a new tab with these "
        "settings and runs them at once, so this page stays open beside it. Each link below is also the scenario's "
        "shareable address."
    )
    # st.context.url is this page's address as the browser sees it; joining resolves "./" as the link does.
    here = (st.context.url or "").split("?")[0]
    for i, lesson in enumerate(LESSONS, start=1):
        with st.container(border=True):
            pic, text = st.columns([1, 4], vertical_alignment="center")
            pic.plotly_chart(
                ready(_preview(lesson.spec.target)), key=f"preview{i}", config={"staticPlot": True}, theme=None
            )
            with text:
                st.markdown(f"##### {i}. {lesson.title}")
                st.markdown(lesson.caption)
                st.caption(_setup(lesson))
                b1, b2 = st.columns(2)
                b1.link_button("Open in the Playground", lesson.href, type="primary", icon="▶️", width="stretch")
                b2.link_button(
                    "Present on a projector", lesson.present_href, icon=":material/co_present:", width="stretch"
                )
                st.code(urljoin(here, lesson.href), language=None, wrap_lines=True)
