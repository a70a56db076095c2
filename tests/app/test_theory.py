"""The Theory page through AppTest: it runs, and every number on it is vi_core's, recomputed here."""

import math
import pathlib
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from vi_core.cavi import cavi
from vi_core.families import GaussianQ, GridProductQ
from vi_core.fits import elbo_terms, forward_kl_fit, mc_elbo, reverse_kl_fit, summarise
from vi_core.grid import make_grid
from vi_core.runner import run
from vi_core.targets import REGISTRY, make_target

APP = str(pathlib.Path(__file__).parents[2] / "app.py")
LABELS = ("ln p(X)", "E_q[ln p]", "H[q]", "ELBO", "KL")  # the five metrics, in page order
MC_DRAWS = 10_000


def _page() -> AppTest:
    # From the entry script, then switch: running the page file alone breaks st.page_link.
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/1_Theory.py")
    return at.run()


def _metrics(at) -> dict[str, str]:
    assert len(at.metric) == 5
    return dict(zip(LABELS, (m.value for m in at.metric), strict=True))


def _check_line(at) -> str:
    (line,) = [lx.value for lx in at.latex if "residual" in lx.value]
    return line


def _q_from_sliders(at, name: str) -> GaussianQ:
    """The Gaussian q the sliders describe, built here independently of ui.theory."""
    m1, s1 = at.slider(key=f"th_m0_{name}").value, at.slider(key=f"th_s0_{name}").value
    m2, s2 = at.slider(key=f"th_m1_{name}").value, at.slider(key=f"th_s1_{name}").value
    r = at.slider(key=f"th_r_{name}").value
    cov = np.array([[s1 * s1, r * s1 * s2], [r * s1 * s2, s2 * s2]])
    return GaussianQ(np.array([m1, m2]), np.linalg.cholesky(cov))


def _assert_numbers_are_vi_core(at, grid, q) -> None:
    t = elbo_terms(grid, q)
    expected = [t.log_evidence, t.energy, t.entropy, t.elbo, t.kl]
    shown = _metrics(at)
    assert list(shown.values()) == [f"{v:.4f}" for v in expected], (shown, expected)
    line = _check_line(at)
    for v in (t.elbo, t.kl, t.elbo + t.kl, t.log_evidence):
        assert f"{v:.4f}" in line
    # the printed check holds: the three printed numbers add up to display rounding
    a, b, c, d = (float(x) for x in re.findall(r"-?\d+\.\d{4}", line))
    assert abs(a + b - c) <= 1.5e-4 and c == d
    est, se = mc_elbo(grid, q, seed=0, n=MC_DRAWS)
    assert any(f"{est:.4f} ± {se:.4f}" in c.value for c in at.caption)


def test_page_runs_with_the_derivation_in_order():
    at = _page()
    assert not at.exception, at.exception
    heads = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert [h[5] for h in heads] == ["1", "2", "3", "4", "5"], heads
    tex = "\n".join(lx.value for lx in at.latex)
    for piece in (r"\mathcal{L}(q)", r"q_1(z_1)\,q_2(z_2)", r"\ln q_j^*(z_j)", r"L\,w_2", r"\mathrm{KL}(p\,\|\,q)"):
        assert piece in tex, piece
    assert r"\begin{align}" not in tex and tex.count(r"\begin{aligned}") >= 3
    assert len(at.get("plotly_chart")) == 3


def test_default_numbers_are_vi_cores():
    at = _page()
    grid = make_grid(make_target("gaussian"))
    _assert_numbers_are_vi_core(at, grid, _q_from_sliders(at, "gaussian"))
    # the closed-form ln Z line
    t = make_target("gaussian")
    assert any(f"**{t.log_z_exact:.4f}**" in c.value for c in at.caption)


def test_moving_the_widgets_changes_the_numbers_and_the_check_still_holds():
    at = _page()
    before = _metrics(at)
    at.slider(key="th_p_gaussian_rho").set_value(0.3)
    at.slider(key="th_m0_gaussian").set_value(1.0)
    at.slider(key="th_s1_gaussian").set_value(1.2)
    at.slider(key="th_r_gaussian").set_value(0.5).run()
    assert not at.exception
    after = _metrics(at)
    assert after["ln p(X)"] != before["ln p(X)"] and after["KL"] != before["KL"]
    _assert_numbers_are_vi_core(at, make_grid(make_target("gaussian", rho=0.3)), _q_from_sliders(at, "gaussian"))


def test_cavi_after_k_sweeps():
    at = _page()
    at.radio(key="th_q").set_value("cavi").run()
    at.slider(key="th_k").set_value(5).run()
    assert not at.exception
    grid = make_grid(make_target("gaussian"))
    state = run(cavi(grid), 5, seed=0).states[-1]
    q = GridProductQ.on(grid, state.w1, state.w2)
    _assert_numbers_are_vi_core(at, grid, q)
    assert _metrics(at)["ELBO"] == f"{state.elbo:.4f}"
    kl5 = float(_metrics(at)["KL"])
    at.slider(key="th_k").set_value(30).run()
    assert float(_metrics(at)["KL"]) < kl5, "CAVI's KL falls with more sweeps"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_target_gives_vi_cores_numbers(name):
    at = _page()
    at.selectbox(key="th_target").set_value(name).run()
    assert not at.exception, at.exception
    target = make_target(name)
    grid = make_grid(target)
    _assert_numbers_are_vi_core(at, grid, _q_from_sliders(at, name))
    at.radio(key="th_q").set_value("cavi").run()
    assert not at.exception, at.exception
    state = run(cavi(grid), at.slider(key="th_k").value, seed=0).states[-1]
    _assert_numbers_are_vi_core(at, grid, GridProductQ.on(grid, state.w1, state.w2))


def test_kl_fit_tables_are_vi_cores():
    at = _page()
    tables = [df.value for df in at.dataframe]
    assert len(tables) == 2
    for name, table in zip(("mixture", "banana"), tables, strict=True):
        grid = make_grid(make_target(name))
        rows = {r[""]: r for r in table.to_dict("records")}
        for col, q in (("reverse fit", reverse_kl_fit(grid)), ("forward fit", forward_kl_fit(grid))):
            s = summarise(grid, q)
            assert rows["KL(q‖p)"][col] == f"{s.kl_qp:.4f}"
            assert rows["KL(p‖q)"][col] == f"{s.kl_pq:.4f}"
            assert rows["sd"][col] == f"({s.sd[0]:.3f}, {s.sd[1]:.3f})"
            mean = [float(v) for v in rows["mean"][col].strip("()").split(",")]
            assert np.allclose(mean, s.mean, atol=5e-4)
    mixture = {r[""]: r for r in tables[0].to_dict("records")}
    assert abs(float(mixture["KL(q‖p)"]["reverse fit"]) - math.log(2)) < 0.01  # one of two equal modes
