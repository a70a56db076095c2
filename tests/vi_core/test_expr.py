"""Typed targets: known answers, finite-difference gradients, and a hostile corpus."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import json
import math
import pickle
import time
import warnings

import numpy as np
import pytest

from vi_core import chunks
from vi_core.targets.classic import Banana, Gaussian, Squiggle
from vi_core.targets.expr import (
    FUNCTIONS,
    MAX_LENGTH,
    CompiledExpr,
    ExprTarget,
    compile_expression,
    make_expr_target,
)

RNG = np.random.default_rng(0)
PTS = RNG.uniform(-3, 3, size=(200, 2))


@pytest.fixture
def no_code_execution(monkeypatch):
    """Fail if eval/exec run, or compile() is asked for anything but an AST."""

    def forbidden(*a, **k):
        raise AssertionError("eval/exec called")

    real_compile = builtins.compile

    def ast_only_compile(source, filename, mode, flags=0, *a, **k):
        assert flags & ast.PyCF_ONLY_AST, "compile() asked for code, not an AST"
        return real_compile(source, filename, mode, flags, *a, **k)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", ast_only_compile)


# ---- known answers ---------------------------------------------------------------------


def test_standard_normal_known_values():
    f = compile_expression("-(x**2 + y**2)/2")
    x, y = PTS[:, 0], PTS[:, 1]
    np.testing.assert_array_equal(f(x, y), -(x**2 + y**2) / 2)
    assert f(0.0, 0.0) == 0.0 and f(1.0, 2.0) == -2.5


def test_typed_correlated_gaussian_matches_classic():
    t = make_expr_target("-(x**2 - 2*0.8*x*y + y**2)/(2*(1-0.8**2))", Gaussian(rho=0.8).box)
    np.testing.assert_allclose(t.log_density(PTS), Gaussian(rho=0.8).log_density(PTS), rtol=0, atol=1e-12)


FUNC_CASES = {
    "exp": ("exp(x)", lambda x, y: np.exp(x)),
    "log": ("log(x)", lambda x, y: np.log(x)),
    "log1p": ("log1p(x)", lambda x, y: np.log1p(x)),
    "sqrt": ("sqrt(x)", lambda x, y: np.sqrt(x)),
    "abs": ("abs(x - y)", lambda x, y: np.abs(x - y)),
    "sin": ("sin(x)", lambda x, y: np.sin(x)),
    "cos": ("cos(y)", lambda x, y: np.cos(y)),
    "tan": ("tan(x)", lambda x, y: np.tan(x)),
    "tanh": ("tanh(x - y)", lambda x, y: np.tanh(x - y)),
    "arctan": ("arctan(y)", lambda x, y: np.arctan(y)),
    "logaddexp": ("logaddexp(x, -y)", lambda x, y: np.logaddexp(x, -y)),
    "minimum": ("minimum(x, y)", lambda x, y: np.minimum(x, y)),
    "maximum": ("maximum(x, y)", lambda x, y: np.maximum(x, y)),
    "where": ("where(x < y, x, 2*y)", lambda x, y: np.where(x < y, x, 2 * y)),
}


def test_every_function_is_covered():
    assert set(FUNC_CASES) == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNC_CASES))
def test_allowed_function_matches_numpy(name, no_code_execution):
    text, ref = FUNC_CASES[name]
    x, y = RNG.uniform(0.1, 3, size=(2, 50))  # positive so log/sqrt are defined
    np.testing.assert_array_equal(compile_expression(text)(x, y), ref(x, y))


@pytest.mark.parametrize(
    "text, ref",
    [
        ("where(x < 0, 1, 0)", lambda x, y: np.where(x < 0, 1.0, 0.0)),
        ("where(x <= y, 1, 0)", lambda x, y: np.where(x <= y, 1.0, 0.0)),
        ("where(x > 0, x, -x)", lambda x, y: np.abs(x)),
        ("where(x >= 1, 1, 0)", lambda x, y: np.where(x >= 1, 1.0, 0.0)),
        ("where(x == 0, 5, 0)", lambda x, y: np.where(x == 0, 5.0, 0.0)),
        ("where(x != 0, 5, 0)", lambda x, y: np.where(x != 0, 5.0, 0.0)),
        ("where(-1 < x <= 1, y, 0)", lambda x, y: np.where((x > -1) & (x <= 1), y, 0.0)),
        ("where(x < 0, where(y < 0, 1, 2), 3)", lambda x, y: np.where(x < 0, np.where(y < 0, 1, 2), 3.0)),
    ],
)
def test_where_and_comparisons(text, ref):
    x = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0])
    y = np.array([1.0, -1.0, 0.0, -0.5, 3.0, 2.0])
    np.testing.assert_array_equal(compile_expression(text)(x, y), ref(x, y))


def test_constants_unary_plus_and_powers():
    assert compile_expression("pi")(0.0, 0.0) == math.pi
    assert compile_expression("e")(0.0, 0.0) == math.e
    assert compile_expression("+x - -y")(2.0, 3.0) == 5.0
    assert compile_expression("x**-2 + x**(10) + x**(-0.5)")(4.0, 0.0) == 4.0**-2 + 4.0**10 + 4.0**-0.5
    assert compile_expression("1e6 - 1_000")(0.0, 0.0) == 999000.0


def test_result_shape_broadcast_and_fresh():
    out = compile_expression("1")(np.zeros((3, 4)), np.zeros((3, 4)))
    assert out.shape == (3, 4) and out.dtype == float and (out == 1).all()
    assert compile_expression("x + y")(np.zeros((3, 1)), np.zeros((1, 4))).shape == (3, 4)
    x = np.arange(3.0)
    out = compile_expression("x")(x, 0.0)
    out[0] = 99.0
    assert x[0] == 0.0  # never an alias of the input


def test_nan_and_inf_without_warnings():
    f = compile_expression("log(x) + 1/y + exp(1000*x) - sqrt(y)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = f(np.array([-1.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0, -1.0]))
    assert np.isnan(out[0]) and out[1] == -np.inf and out[2] == np.inf and np.isnan(out[3])


def test_hash_equality_pickle():
    a, b = compile_expression("x + y"), compile_expression("x + y")
    assert a == b and hash(a) == hash(b) and a != compile_expression("y + x")
    assert pickle.loads(pickle.dumps(a)) == a and isinstance(a, CompiledExpr)
    t = make_expr_target("-(x**2 + y**2)/2", "-3, 3, -4, 4")
    t2 = pickle.loads(pickle.dumps(t))
    assert t2 == t and hash(t2) == hash(t)
    np.testing.assert_array_equal(t2.log_density(PTS), t.log_density(PTS))
    assert t.box == (-3.0, 3.0, -4.0, 4.0) and t.description == "Typed: -(x**2 + y**2)/2"
    assert t.name == "custom" and t.params == ()
    json.dumps(t.to_dict())
    t3 = dataclasses.replace(t, xmax=5.0)
    assert t3.box == (-3.0, 5.0, -4.0, 4.0) and t3.log_density(np.zeros(2)) == 0.0


# ---- finite-difference gradients against the classic analytic ones ----------------------

CLASSIC_AS_TEXT = [
    (Gaussian(rho=0.8), "-(x*x - 2*0.8*x*y + y*y)/(2*(1 - 0.8**2))"),
    (Gaussian(rho=-0.5), "-(x*x + 2*0.5*x*y + y*y)/(2*(1 - 0.5**2))"),
    (Banana(b=0.25, s=2.0), "-0.5*(x/2)**2 - 0.5*(y - 0.25*(x**2 - 2**2))**2"),
    (Squiggle(a=1.5, omega=2.0, s1=1.5, s2=0.4), "-(x*x)/(2*1.5**2) - (y - 1.5*sin(2*x))**2/(2*0.4**2)"),
]


@pytest.mark.parametrize("target, text", CLASSIC_AS_TEXT, ids=lambda v: getattr(v, "name", "expr"))
def test_fd_gradient_matches_classic(target, text):
    t = make_expr_target(text, target.box)
    xmin, xmax, ymin, ymax = target.box
    z = np.stack([RNG.uniform(xmin, xmax, 300), RNG.uniform(ymin, ymax, 300)], axis=-1)
    np.testing.assert_allclose(t.log_density(z), target.log_density(z), rtol=1e-12, atol=1e-12)
    g, fd = target.grad_log_density(z), t.grad_log_density(z)
    assert fd.shape == g.shape == (300, 2)
    assert (np.abs(fd - g) <= 1e-5 * np.maximum(np.abs(g), 1.0)).all()


def test_gradient_shapes():
    t = make_expr_target("x*y", (-1, 1, -1, 1))
    assert t.grad_log_density(np.zeros(2)).shape == (2,)
    assert t.grad_log_density(np.zeros((4, 5, 2))).shape == (4, 5, 2)
    assert make_expr_target("1", (-1, 1, -1, 1)).grad_log_density(np.ones((3, 2))).shape == (3, 2)


# ---- limits: accepted at the boundary, refused just past it -----------------------------


@pytest.mark.parametrize("text", ["x**10", "x**-10", "1e6*x", "-1000000", "-" * 45 + "x", "(" * 49 + "x" + ")" * 49])
def test_boundary_accepted(text):
    compile_expression(text)


def _longest_sum(term: str) -> str:
    """The longest sum of ``term`` within MAX_LENGTH, grouped by 40 so depth stays <= 50."""
    best, n = term, 1
    while True:
        n += 1
        s = "+".join("(" + "+".join([term] * min(40, n - i)) + ")" for i in range(0, n, 40))
        if len(s) > MAX_LENGTH:
            return best
        best = s


@pytest.mark.parametrize(
    "text", ["-(x*x+y*y)/2+(0.1*sin(x)+(0.1*tanh(x*y)+(where(x<y,x,-y)+0)))", "x", "2.5", "logaddexp(x,y)"]
)
def test_chunked_evaluation_equals_one_pass(text, monkeypatch):
    f = compile_expression(text)
    x = np.linspace(-3, 3, 300)[:, None]  # broadcast against y: (300, 7)
    y = np.linspace(-2, 2, 7)[None, :]
    whole = f(x, y)
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 64)  # 33 chunks, the last one short
    chunked = f(x, y)
    assert chunked.shape == (300, 7) and chunked.dtype == float
    np.testing.assert_array_equal(chunked, whole)
    assert f(0.5, 0.25).shape == ()


@pytest.mark.parametrize("term", ["sin(x*1e6*1e6)", "x**-.7", "sin(x)", "logaddexp(x,y)", "-x"])
def test_worst_case_evaluation_is_fast(term):
    text = _longest_sum(term)
    assert len(text) > MAX_LENGTH - len(term) - 3
    f = compile_expression(text)
    x, y = np.meshgrid(np.linspace(-3, 3, 200), np.linspace(-3, 3, 200))
    t0 = time.perf_counter()
    f(x, y)
    assert time.perf_counter() - t0 < 1.0


# ---- the hostile corpus: every entry refused, quickly, with a one-line message -----------

S = "{S}"  # replaced by the sentinel file's absolute path
HOSTILE = [
    f"__import__('os').system('touch {S}')",
    "__import__('os').system('touch SENTINEL')",
    f"exec(\"open('{S}', 'w')\")",
    f"open('{S}', 'w').write('x')",
    "eval('1+1')",
    "exec('x=1')",
    "compile('1', '', 'eval')",
    "getattr(x, 'real')",
    "globals()",
    "breakpoint()",
    "__builtins__",
    "x.__class__",
    "().__class__.__bases__",
    "x.__class__.__mro__[1].__subclasses__()",
    "exp.__globals__",
    "pi.real",
    "np.exp(x)",
    "os",
    "lambda: 0",
    "(lambda q: q)(x)",
    "[i for i in range(3)]",
    "{i: i for i in range(3)}",
    "{i for i in range(3)}",
    "sum(i for i in range(10**9))",
    "exp(i for i in x)",
    "f'{x}'",
    "'abc'",
    "b'abc'",
    "9**9**9",
    "10**10**10",
    "x**100",
    "x**y",
    "x**(1/2)",
    "1e999",
    "1" + "0" * 400,
    "10000001",
    "(" * 10_000 + "x" + ")" * 10_000,
    "exp(" * 60 + "x" + ")" * 60,
    "-" * 60 + "x",
    "+".join(["x"] * 60),
    "x+" * 50_000 + "x",
    "'" + "a" * 100_000 + "'",
    "\u0445**2",  # Cyrillic х
    "\u0435xp(x)",  # Cyrillic е
    "\uff58 + y",  # fullwidth ｘ
    "\uff45\uff58\uff50(x)",  # fullwidth ｅｘｐ
    "x\u200b+y",  # zero-width space
    "x\u00a0+ y",  # no-break space
    "(z := 1)",
    "exp(x=1)",
    "exp(*x)",
    "maximum(*[x, y])",
    "x[0]",
    "x[0:1]",
    "x and y",
    "x or y",
    "not x",
    "x if y else 1",
    "x; y",
    f"x; __import__('os').system('touch {S}')",
    "x = 1",
    "import os",
    "x < y",
    "exp(x < 1)",
    "where(x, 1, 2)",
    "where(x < 0 and y < 0, 1, 2)",
    "1j",
    "x + 2j",
    "",
    "   ",
    "\n\t",
    "(x + y",
    "x + y)",
    "x +* y",
    "2x",
    "1if x else 2",  # the tokenizer's SyntaxWarning is turned into a refusal
    "x y",
    "# comment",
    "exp(x, y)",
    "where(x)",
    "where(x < 0, 1)",
    "log()",
    "logaddexp(x)",
    "exp",
    "exp(x)(y)",
    "x // y",
    "x % y",
    "x @ y",
    "x << 1",
    "~x",
    "x ^ y",
    "x in y",
    "True",
    "None",
    "...",
    "[x, y]",
    "(x, y)",
    "x, y",
    "await x",
    "(yield)",
    "x\x00",
    "x\x1b[2J",
    "where(" + "<".join(["x"] * 120) + ", 1, 0)",  # a long comparison chain nests deeply
    "del x",
]


def _id(text: str) -> str:
    s = text.encode("unicode_escape").decode()
    return s if len(s) <= 30 else f"{s[:24]}..len{len(text)}"


@pytest.mark.parametrize("payload", HOSTILE, ids=[_id(p) for p in HOSTILE])
def test_hostile_refused(payload, tmp_path, monkeypatch, no_code_execution):
    monkeypatch.chdir(tmp_path)
    sentinel = tmp_path / "SENTINEL"
    text = payload.replace(S, str(sentinel))
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as info:
        compile_expression(text)
    with pytest.raises(ValueError):
        make_expr_target(text, (-1, 1, -1, 1))
    assert time.perf_counter() - t0 < 1.0
    msg = str(info.value)
    assert msg.strip() and "\n" not in msg and "\r" not in msg
    assert not sentinel.exists() and list(tmp_path.iterdir()) == []


TOKENS = [*FUNCTIONS, "x", "y", "pi", "e", "1", "2.5", "1e6", "(", ")", ",", "+", "-", "*", "/", "**"]
TOKENS += ["<", "<=", "==", "!=", "os", ".", "[", "]", "'", "lambda", ":", "=", "and", "if", "else", "_", " "]


def test_random_token_soup_only_raises_value_error(no_code_execution):
    """Fuzz: any token soup either compiles and evaluates silently, or raises ValueError."""
    rng = np.random.default_rng(1)
    x, y = np.meshgrid(np.linspace(-3, 3, 20), np.linspace(-3, 3, 20))
    accepted = 0
    for _ in range(3000):
        text = "".join(rng.choice(TOKENS, size=rng.integers(1, 30)))
        try:
            f = compile_expression(text)
        except ValueError as ex:
            assert str(ex).strip() and "\n" not in str(ex)
            continue
        accepted += 1
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert f(x, y).shape == x.shape
    assert accepted > 10


def test_corpus_is_large():
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("os", "unknown name 'os' at column 1: allowed names are x, y, pi, e"),
        ("eval('1')", "function 'eval' is not allowed at column 1; allowed: exp, log,"),
        ("x" * 501, "expression too long (501 > 500 characters)"),
        ("x + * y", "syntax error at column 5"),
        ("9**9**9", "exponent of **"),
        ("x**11", "|p| must be <= 10"),
        ("2e6*x", "too large"),
        ("\u0445 + y", "non-ASCII character"),
        ("exp(x, y)", "exp at column 1 takes 1 argument, got 2"),
        ("where(x)", "where at column 1 takes 3 arguments"),
        ("x < 1", "only allowed as the first argument of where"),
        ("x.real", "attribute access (.real)"),
        ("x^2", "for powers write x**2"),
        ("x if y else 1", "use where(c, a, b)"),
        ("(x\n + os)", "line 2, column 4"),
    ],
)
def test_messages_are_precise(text, fragment):
    with pytest.raises(ValueError) as info:
        compile_expression(text)
    assert fragment in str(info.value)


def test_non_string_expression():
    with pytest.raises(ValueError, match="must be a string"):
        compile_expression(42)


# ---- boxes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box, fragment",
    [
        ("a,1,0,1", "xmin is not a number"),
        ("0,1,0", "got 3"),
        ("0,1,0,1,2", "got 5"),
        ("", "got 1"),
        ("1,0,0,1", "xmin < xmax"),
        ("0,1,1,1", "ymin < ymax"),
        ("-inf,1,0,1", "finite"),
        ("0,1,nan,1", "finite"),
        ("0,1e5,0,1", "too wide"),
        ("2e6,3e6,0,1", "too far out"),
        ("0,\u0661,0,1", "not a number"),  # Arabic-Indic digit one
        ("0," * 200 + "1", "too long"),
        ((0, 1, 0), "got 3"),
        ((0, float("nan"), 0, 1), "finite"),
        ((0, float("inf"), 0, 1), "finite"),
        (("0", 1, 0, 1), "must be a number"),
        ((True, 2, 0, 1), "must be a number"),
        ((np.zeros((3, 3)), 1, 0, 1), "must be a number"),
        (None, "box must be"),
        (np.zeros((2, 2)), "box must be"),
        (np.float64(1.0), "box must be"),
        (b"abcd", "box must be"),
        (5.0, "box must be"),
    ],
)
def test_box_errors(box, fragment):
    with pytest.raises(ValueError) as info:
        make_expr_target("x + y", box)
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg


@pytest.mark.parametrize(
    "box",
    [
        "-3,3,-2,2",
        " (-3, 3, -2, 2) ",
        "[-3,3,-2,2]",
        (-3, 3, -2, 2),
        np.array([-3.0, 3, -2, 2]),
        "\u22123, 3, \u22122, 2",  # the typographic minus the Lessons page prints, pasted
        "\u20133, 3, \u20132, 2",  # an en dash for a minus, as word processors turn it
    ],
)
def test_box_accepted(box):
    t = make_expr_target("x + y", box)
    assert t.box == (-3.0, 3.0, -2.0, 2.0) and all(type(v) is float for v in t.box)


def test_direct_construction_validates():
    with pytest.raises(ValueError, match="unknown name"):
        ExprTarget("os", -1.0, 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="xmin < xmax"):
        ExprTarget("x", 1.0, 1.0, -1.0, 1.0)
