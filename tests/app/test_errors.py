"""Every failure speaks the user's language: no traceback and no raw library message on the page, for any input the
widgets or a link can produce (ui.text.user_message; the root causes fixed where they were bugs)."""

import math
import pathlib
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.pages import charts
from ui import compute

APP = str(pathlib.Path(__file__).parents[2] / "app.py")
SCALING = "pages/4_Scaling.py"
SMALL = {"vi_steps": "20", "cavi_sweeps": "10", "walkers": "8", "steps": "30", "chains": "2", "grid": "50", "run": "1"}
# what the libraries underneath say; none of it may reach the page
RAW = (
    "Too many bins",
    "All tail values are the same",
    "math domain error",
    "math range error",
    "At least one parameter value was",
    "Traceback",
    "site-packages",
    ".py",
    "KeyError",
    "division by zero",
)


def _app(query: dict, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    if page:
        at.switch_page(page)
    return at.run()


def _shown(markdown: str) -> str:
    """What a message escaped by ui.text.plain displays."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def _messages(at) -> list[str]:
    return [_shown(e.value) for kind in (at.error, at.warning, at.info) for e in kind]


def _page_text(at) -> str:
    return " ".join(_messages(at) + [_shown(m.value) for m in at.markdown] + [_shown(c.value) for c in at.caption])


def _assert_clean(at) -> None:
    assert not at.exception, at.exception
    text = _page_text(at)
    for raw in RAW:
        assert raw not in text, (raw, text[:500])


# --------------------------------------------------------------------------------- a narrow box far from 0


@pytest.mark.parametrize("box", ["100,100.0001,-4,4", "1e6,1000001,-4,4", "-4,4,1e5,100000.01"])
def test_a_box_too_narrow_for_its_distance_from_0_is_a_notice(box):
    at = _app({"target": "gaussian", "box": box, **SMALL})
    _assert_clean(at)
    notices = [w for w in _messages(at) if "too narrow" in w]
    assert len(notices) == 1 and f"box={box}" in notices[0]
    assert not at.error  # the run goes ahead on the target's own box


@pytest.mark.parametrize("box", ["100,100.01,-4,4", "100,100.00011,-4,4", "1e5,100000.11,-4,4"])
def test_a_narrow_box_far_out_runs_and_draws_its_histograms(box):
    # 100.00011: float32 draws cannot hold 50 bins there (np.histogram's "Too many bins"): binned in float64 now
    at = _app({"target": "gaussian", "box": box, **SMALL})
    _assert_clean(at)
    assert not at.error
    assert len(charts(at)) == 4  # race, accuracy, two marginals


def test_a_typed_box_too_narrow_is_said_beside_the_box_with_every_digit():
    at = _app({"target": "gaussian", **SMALL})
    at.sidebar.text_input[0].set_value("100, 100.0001, -4, 4")
    at.sidebar.button[0].click().run()
    _assert_clean(at)
    assert len(at.error) == 1 and "100 to 100.0001" in _shown(at.error[0].value)


def test_a_typed_targets_narrow_box_is_refused_before_any_run():
    at = _app({"target": "custom", "expr": "-(x**2 + y**2)/2", "box": "-4,4,-4,4", **SMALL})
    at.sidebar.text_input[0].set_value("100, 100.0001, -4, 4")
    at.sidebar.button[0].click().run()
    _assert_clean(at)
    assert len(at.error) == 1 and "xmax=100.0001" in _shown(at.error[0].value)


# --------------------------------------------------------------------------------- Pareto k̂ on a constant tail


def test_a_constant_tail_gives_a_khat_verdict_not_an_error():
    # a uniform target: grid CAVI's q is uniform where p is, so the largest ratios p/q are all equal
    flat = "where(maximum(abs(x), abs(y)) < 1, 0, -1e6)"
    at = _app({"target": "custom", "expr": flat, "box": "-1,1,-1,1", "vi": "cavi", "mcmc": "emcee", **SMALL})
    _assert_clean(at)
    assert not at.error
    verdict = at.get("markdown")
    assert any("k̂ = −∞" in _shown(m.value) for m in verdict), [m.value for m in verdict][-4:]


# --------------------------------------------------------------------------------- anything the engine may raise


def _raiser(exc: BaseException, stage: str = "run"):
    """A compute.run (or compute.race) that fails as the Playground's (it passes on_wait); the warm-up's own
    run of the default scenario (a worker's first app test may be this one) still works."""
    real = getattr(compute, stage)

    def run(*args, **kwargs):
        if "on_wait" not in kwargs:
            return real(*args, **kwargs)
        raise exc

    return run


def _library_errors() -> list[tuple[str, BaseException, str]]:
    """(id, exception as the library raises it, what the page should say)."""
    import numpy as np

    def caught(fn):
        try:
            fn()
        except Exception as exc:
            return exc
        raise AssertionError

    return [
        ("bins", caught(lambda: np.histogram(np.float32([100.0]), 50, (100.0, 100.0001))), "too narrow"),
        ("domain", caught(lambda: math.log(-1.0)), "where it is defined"),
        ("overflow", caught(lambda: math.exp(1e6)), "too large"),
        ("emcee", ValueError("At least one parameter value was infinite"), "ran off to infinity"),
        ("arviz", ValueError("All tail values are the same"), "could not be fitted"),
        ("key", KeyError("walkers"), "This run failed on these settings"),
        ("type", TypeError("unsupported operand type(s) for +: 'NoneType' and 'int'"), "This run failed"),
        ("memory", MemoryError(), "more memory"),
        ("zero", ZeroDivisionError("division by zero"), "A division by zero occurred"),
    ]


@pytest.mark.parametrize("stage", ["race", "run"])
@pytest.mark.parametrize(("exc", "says"), [e[1:] for e in _library_errors()], ids=[e[0] for e in _library_errors()])
def test_any_failure_of_a_run_is_one_clear_error_without_internals(monkeypatch, exc, says, stage):
    """stage: the run's first stage (VI and the draws: nothing to show) or its second (the draws' scores: the
    race stands above the message)."""
    monkeypatch.setattr(compute, stage, _raiser(exc, stage))
    at = _app({"target": "gaussian", **SMALL})
    assert not at.exception, at.exception
    assert len(charts(at)) == (stage == "run")
    errors = [_shown(e.value) for e in at.error]
    assert len(errors) == 1 and says in errors[0], errors
    assert not [raw for raw in RAW[:-1] if raw in errors[0]]  # the last, "division by zero", is said in words
    assert not str(exc) or isinstance(exc, ZeroDivisionError) or str(exc) not in errors[0]


def test_our_own_refusal_of_a_run_is_shown_as_it_is(monkeypatch):
    monkeypatch.setattr(compute, "run", _raiser(_ours()))
    at = _app({"target": "gaussian", **SMALL})
    assert not at.exception
    assert len(at.error) == 1 and _shown(at.error[0].value) == f"This run cannot be done: {_ours()}"


def _ours() -> ValueError:
    from vi_core.settings import Settings

    try:
        Settings(walkers=3)
    except ValueError as exc:
        return exc
    raise AssertionError


# --------------------------------------------------------------------------------- the Scaling page's own keys


@pytest.mark.parametrize(
    "query",
    [
        {"data": "[x](https://evil.example)", "n": "inf", "centred": "**b**"},
        {"n": "nan"},
        {"n": "1e400", "run": "$x$"},
        {"n": "-0"},
    ],
)
def test_scaling_bad_links_give_plain_notices(query):
    at = _app(query, SCALING)
    _assert_clean(at)
    warnings = [_shown(w.value) for w in at.warning]
    assert len(warnings) == len(query), warnings
    for key, raw in query.items():
        assert any(f"{key}={raw}" in w for w in warnings)
    for w in at.warning:  # every punctuation mark escaped: no link, no formula, no bold
        assert "](" not in w.value and "$x$" not in w.value and "**" not in w.value
    assert dict(at.query_params)["data"] in ("synthetic", "arsenic")


# --------------------------------------------------------------------------------- typed text in a chart title


def test_a_typed_expression_in_the_preview_title_is_text_not_markup():
    # a # comment may hold any text, and Plotly reads <a href>, <b>, <br> in a title: it must arrive as entities
    from ui import figures
    from vi_core.targets.expr import make_expr_target

    target = make_expr_target("-(x**2 + y**2)/2 # <a href='https://evil.example'>x</a> <b>b</b>", "-4,4,-4,4")
    fig = figures.target_figure(compute.grid_for(target, 50), f"{target.name}: {target.description}")
    title = fig["layout"]["title"]["text"].replace("<br>", " ")
    assert "&lt;a href='https://evil.example'&gt;x&lt;/a&gt; &lt;b&gt;b&lt;/b&gt;" in title
    assert "<a" not in title and "<b>" not in title


# --------------------------------------------------------------------------------- odd walker counts


def test_odd_walkers_in_a_link_are_rounded_up_with_a_notice():
    at = _app({"target": "gaussian", **SMALL, "mcmc": "emcee", "walkers": "9"})
    _assert_clean(at)
    assert not at.error
    assert at.sidebar.number_input(key="s_walkers").value == 10 and at.query_params["walkers"] == "10"
    assert any("walkers=9" in w and "to 10" in w for w in _messages(at))


def test_the_walker_widget_steps_by_2_and_an_odd_count_typed_is_rounded_with_a_notice():
    at = _app({"target": "gaussian", **SMALL, "mcmc": "emcee"})
    widget = at.sidebar.number_input(key="s_walkers")
    assert widget.step == 2
    widget.set_value(widget.value + 3)  # typed, not stepped: odd
    at.sidebar.button[0].click().run()
    _assert_clean(at)
    assert at.sidebar.number_input(key="s_walkers").value == 12 and at.query_params["walkers"] == "12"
    assert any("Rounded 11 walkers to 12" in w for w in _messages(at))


def test_samplers_without_the_even_rule_keep_an_odd_count():
    at = _app({"target": "gaussian", **SMALL, "mcmc": "gibbs"})
    at.sidebar.number_input(key="s_walkers").set_value(9)
    at.sidebar.button[0].click().run()
    _assert_clean(at)
    assert at.sidebar.number_input(key="s_walkers").value == 9 and not any("Rounded" in w for w in _messages(at))
