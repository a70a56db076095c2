"""Typed targets: the user types ln p(x, y) as an expression and a box.

Safety (this runs in a public demo): the typed text is NEVER executed as Python. It is
parsed with ``ast.parse`` and walked by a whitelist; only numeric literals, ``x``, ``y``,
``pi``, ``e``, ``+ - * / **``, unary ``-``/``+``, comparisons inside ``where`` and calls of
``FUNCTIONS`` pass. The accepted tree is turned into nested tuples of numpy ufuncs that our
own interpreter walks. Why ast + whitelist rather than ``eval`` or a third-party evaluator:
``eval`` (even with empty builtins) is escapable via attribute chains; a library would be a
new dependency whose grammar we would still have to audit. ``ast`` is stdlib, its output is
data, and nothing is ever ``compile``d or ``eval``'d.

Limits (each refusal is a one-line ``ValueError``):
  * ``MAX_LENGTH`` = 500 characters, ASCII only (Python NFKC-normalises identifiers, so
    ``ｅｘｐ`` or a Cyrillic ``х`` would silently become ``exp``/``x``: we refuse them);
  * ``MAX_DEPTH`` = 50 levels, checked on the raw brackets before ``ast.parse`` and on the
    tree (iteratively) after, so neither the parser nor our recursive walk can overflow;
  * numeric literals ``|c| <= MAX_CONST`` = 1e6, stored as float64 (no Python big ints);
  * the exponent of ``**`` must be a plain number ``|p| <= MAX_POWER`` = 10, so towers such
    as ``9**9**9`` are refused at parse time; for other powers write ``exp(p*log(b))``.
Evaluation cost: every ufunc call comes from an operator or function name in the text, so
an accepted expression makes at most ``MAX_LENGTH`` ufunc calls over arrays of the input's
size: bounded time (a few ms to a few tens of ms on a 200x200 grid). Bounded memory: inputs
larger than ``vi_core.chunks.CHUNK_POINTS`` are evaluated that many points at a time, so the
temporaries of a deeply nested expression stay small whatever the input's size.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from vi_core import chunks
from vi_core.targets.base import Target, check_box_side, num_text

__all__ = [
    "FUNCTIONS",
    "MAX_CONST",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_POWER",
    "MAX_WIDTH",
    "CompiledExpr",
    "ExprTarget",
    "compile_expression",
    "make_expr_target",
    "parse_box",
]

MAX_LENGTH = 500
MAX_DEPTH = 50
MAX_CONST = 1e6
MAX_POWER = 10
MAX_WIDTH = 1e4  # largest box side; box corners also must satisfy |v| <= MAX_CONST

# name -> (ufunc, number of arguments)
FUNCTIONS = {
    "exp": (np.exp, 1),
    "log": (np.log, 1),
    "log1p": (np.log1p, 1),
    "sqrt": (np.sqrt, 1),
    "abs": (np.abs, 1),
    "sin": (np.sin, 1),
    "cos": (np.cos, 1),
    "tan": (np.tan, 1),
    "tanh": (np.tanh, 1),
    "arctan": (np.arctan, 1),
    "logaddexp": (np.logaddexp, 2),
    "minimum": (np.minimum, 2),
    "maximum": (np.maximum, 2),
    "where": (np.where, 3),
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
_CMPOPS = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_OP_SYMBOLS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Not: "not",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_FORBIDDEN = {  # friendly names for constructs the whitelist refuses, with a hint
    ast.Subscript: ("indexing x[...] is", ""),
    ast.Lambda: ("lambda is", ""),
    ast.IfExp: ("'a if c else b' is", "; use where(c, a, b)"),
    ast.BoolOp: ("'and'/'or' are", "; use where(...) with a comparison"),
    ast.NamedExpr: ("':=' assignment is", ""),
    ast.JoinedStr: ("f-strings are", ""),
    ast.ListComp: ("comprehensions are", ""),
    ast.SetComp: ("comprehensions are", ""),
    ast.DictComp: ("comprehensions are", ""),
    ast.GeneratorExp: ("generator expressions are", ""),
    ast.List: ("lists [...] are", ""),
    ast.Tuple: ("tuples (a, b) are", ""),
    ast.Set: ("sets {...} are", ""),
    ast.Dict: ("dicts {...} are", ""),
    ast.Starred: ("starred expressions (*a) are", ""),
    ast.Await: ("await is", ""),
    ast.Yield: ("yield is", ""),
    ast.YieldFrom: ("yield is", ""),
    ast.Slice: ("slices are", ""),
}
_ALLOWED_FUNCS = ", ".join(FUNCTIONS)


def _at(node: ast.AST) -> str:
    """' at column C' (1-based), with the line when the text has several lines."""
    col = getattr(node, "col_offset", 0) + 1
    line = getattr(node, "lineno", 1)
    return f" at column {col}" if line == 1 else f" at line {line}, column {col}"


def _snippet(text: str, node: ast.AST, limit: int = 20) -> str:
    s = " ".join((ast.get_source_segment(text, node) or "?").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _check_text(text: str) -> None:
    """Cheap checks on the raw text that protect ``ast.parse`` itself."""
    if not isinstance(text, str):
        raise ValueError(f"expression must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("expression is empty: type ln p(x, y), e.g. -(x**2 + y**2)/2")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"expression too long ({len(text)} > {MAX_LENGTH} characters)")
    depth = 0
    for i, ch in enumerate(text):
        if not ch.isascii():
            raise ValueError(
                f"non-ASCII character {ch!r} (U+{ord(ch):04X}) at position {i + 1}: "
                "type plain ASCII (look-alike letters are refused)"
            )
        if not (ch.isprintable() or ch in " \t\n\r"):
            raise ValueError(f"control character U+{ord(ch):04X} at position {i + 1} is not allowed")
        depth += (ch in "([{") - (ch in ")]}")
        if depth > MAX_DEPTH:
            raise ValueError(f"expression too deeply nested (more than {MAX_DEPTH} open brackets)")


def _check_depth(root: ast.AST) -> None:
    """Refuse trees deeper than MAX_DEPTH, without recursion."""
    stack = [(root, 1)]
    while stack:
        node, d = stack.pop()
        if d > MAX_DEPTH:
            raise ValueError(f"expression too deeply nested (more than {MAX_DEPTH} levels)")
        for child in ast.iter_child_nodes(node):
            # a chain a < b < c < ... becomes nested logical_and: one level per comparison
            step = len(child.ops) if isinstance(child, ast.Compare) else isinstance(child, ast.expr)
            stack.append((child, d + step))


def _number(text: str, node: ast.AST) -> float:
    """A numeric literal, possibly signed (for exponents)."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if not isinstance(node, ast.Constant):
        raise ValueError("not a number")
    v = node.value
    if isinstance(v, complex):
        raise ValueError(f"complex numbers are not allowed{_at(node)}")
    if isinstance(v, (str, bytes)):
        raise ValueError(f"{'strings' if isinstance(v, str) else 'bytes'} are not allowed{_at(node)}")
    if type(v) not in (int, float):  # True/False/None/...
        raise ValueError(f"{_snippet(text, node)!r} is not allowed{_at(node)}: only numbers")
    if not abs(v) <= MAX_CONST:  # also catches inf from 1e999; int compare is exact, no float()
        raise ValueError(f"number {_snippet(text, node)} is too large{_at(node)}: |c| must be <= 1e6")
    return sign * float(v)


def _build(text: str, node: ast.AST, cond: bool = False):
    """Validate ``node`` and return its tree: float | 'x' | 'y' | (ufunc, *children).

    ``cond`` is True only for the first argument of where(), the one place comparisons go.
    Recursion is safe: _check_depth bounded the depth first.
    """
    if isinstance(node, ast.Constant):
        return _number(text, node)
    if isinstance(node, ast.Name):
        if node.id in ("x", "y"):
            return node.id
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise ValueError(f"'{node.id}' is a function{_at(node)}: call it as {node.id}(...)")
        raise ValueError(f"unknown name {node.id!r}{_at(node)}: allowed names are x, y, pi, e")
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return (np.negative, _build(text, node.operand))
        if isinstance(node.op, ast.UAdd):
            return _build(text, node.operand)
        op = _OP_SYMBOLS.get(type(node.op), "?")
        raise ValueError(f"operator '{op}' is not allowed{_at(node)}; allowed: + - * / **")
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow):
            try:
                p = _number(text, node.right)
            except ValueError:
                raise ValueError(
                    f"the exponent of **{_at(node.right)} must be a plain number with |p| <= {MAX_POWER}"
                    " (for other powers write exp(p*log(b)))"
                ) from None
            if abs(p) > MAX_POWER:
                raise ValueError(f"exponent {p:g}{_at(node.right)} is too large: |p| must be <= {MAX_POWER}")
            return (np.power, _build(text, node.left), p)
        if type(node.op) not in _BINOPS:
            op = _OP_SYMBOLS.get(type(node.op), "?")
            hint = " (for powers write x**2, not x^2)" if op == "^" else ""
            raise ValueError(f"operator '{op}' is not allowed{_at(node)}; allowed: + - * / **{hint}")
        return (_BINOPS[type(node.op)], _build(text, node.left), _build(text, node.right))
    if isinstance(node, ast.Compare):
        if not cond:
            raise ValueError(f"comparison{_at(node)} is only allowed as the first argument of where(cond, a, b)")
        for op in node.ops:
            if type(op) not in _CMPOPS:
                raise ValueError(f"operator '{_OP_SYMBOLS.get(type(op), '?')}' is not allowed{_at(node)}")
        sides = [_build(text, n) for n in (node.left, *node.comparators)]
        parts = [(_CMPOPS[type(op)], a, b) for op, a, b in zip(node.ops, sides[:-1], sides[1:], strict=True)]
        tree = parts[0]
        for part in parts[1:]:  # a < b < c means (a < b) and (b < c)
            tree = (np.logical_and, tree, part)
        return tree
    if isinstance(node, ast.Call):
        return _build_call(text, node)
    if isinstance(node, ast.Attribute):
        raise ValueError(f"attribute access (.{node.attr}) is not allowed{_at(node)}")
    what, hint = _FORBIDDEN.get(type(node), (f"this construct ({type(node).__name__}) is", ""))
    raise ValueError(f"{what} not allowed{_at(node)}{hint}")


def _build_call(text: str, node: ast.Call):
    f = node.func
    if isinstance(f, ast.Attribute):
        raise ValueError(f"attribute access (.{f.attr}) is not allowed{_at(f)}")
    if not isinstance(f, ast.Name):
        raise ValueError(f"only the allowed functions can be called{_at(node)}: {_ALLOWED_FUNCS}")
    if f.id not in FUNCTIONS:
        raise ValueError(f"function {f.id!r} is not allowed{_at(f)}; allowed: {_ALLOWED_FUNCS}")
    if node.keywords:
        raise ValueError(f"keyword arguments are not allowed (in {f.id}(...){_at(node)})")
    fn, arity = FUNCTIONS[f.id]
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise ValueError(f"starred arguments (*args) are not allowed (in {f.id}(...){_at(node)})")
    if len(node.args) != arity:
        s = "" if arity == 1 else "s"
        hint = " (condition, if_true, if_false)" if f.id == "where" else ""
        raise ValueError(f"{f.id}{_at(node)} takes {arity} argument{s}{hint}, got {len(node.args)}")
    if f.id == "where" and not isinstance(node.args[0], ast.Compare):
        raise ValueError(f"the first argument of where{_at(node.args[0])} must be a comparison such as x < 0")
    args = [_build(text, a, cond=(f.id == "where" and i == 0)) for i, a in enumerate(node.args)]
    return (fn, *args)


def _compile(text: str):
    _check_text(text)
    try:
        with warnings.catch_warnings():  # "1if x" warns; refuse it rather than print to stderr
            warnings.simplefilter("error", SyntaxWarning)
            root = ast.parse(text, mode="eval")
    except SyntaxError as ex:
        msg = (ex.msg or "invalid syntax").splitlines()[0]
        where = f"line {ex.lineno}, column {max(ex.offset or 1, 1)}" if (ex.lineno or 1) > 1 else None
        where = where or f"column {max(ex.offset or 1, 1)}"
        raise ValueError(f"syntax error at {where}: {msg}") from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ValueError("expression could not be parsed (too complex)") from None
    _check_depth(root)
    return _build(text, root.body)


def _eval(tree, x, y):
    if type(tree) is tuple:
        return tree[0](*[_eval(a, x, y) for a in tree[1:]])
    if type(tree) is str:
        return x if tree == "x" else y
    return tree


@dataclasses.dataclass(frozen=True)
class CompiledExpr:
    """A validated expression ln p(x, y); equality, hash and pickling go by ``text``."""

    text: str
    _tree: object = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_tree", _compile(self.text))

    def __reduce__(self):  # re-validate on unpickling rather than trust a stored tree
        return (CompiledExpr, (self.text,))

    def __call__(self, x, y) -> np.ndarray:
        """x, y broadcastable arrays -> float array of their broadcast shape; nan/inf, no warnings."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        shape = np.broadcast_shapes(x.shape, y.shape)
        size = math.prod(shape)
        if size <= chunks.CHUNK_POINTS:
            with np.errstate(all="ignore"):
                out = _eval(self._tree, x, y)
            return np.array(np.broadcast_to(out, shape), dtype=float)  # a fresh array, never x itself
        # Large inputs a chunk at a time: the walk keeps one temporary per nesting level (up to
        # MAX_DEPTH), so whole-input temporaries would cost MAX_DEPTH times the input's size.
        xf = np.broadcast_to(x, shape).reshape(-1)
        yf = np.broadcast_to(y, shape).reshape(-1)
        out = np.empty(size)
        with np.errstate(all="ignore"):
            for s in chunks.spans(size):
                out[s] = _eval(self._tree, xf[s], yf[s])
        return out.reshape(shape)


def compile_expression(text: str) -> CompiledExpr:
    """Parse and validate ``text``; raise a one-line ValueError if it is refused."""
    return CompiledExpr(text)


def _short(v) -> str:
    """repr(v) on one line, at most 40 characters, for error messages."""
    s = " ".join(repr(v).split())
    return s if len(s) <= 40 else s[:39] + "…"


def _coord(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"box {what} must be a number, got {_short(v)}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"box {what} must be finite, got {v}")
    if abs(v) > MAX_CONST:
        raise ValueError(f"box {what}={num_text(v)} is too far out: |value| must be <= 1e6")
    return v


@dataclasses.dataclass(frozen=True)
class ExprTarget(Target):
    """A typed target: ln p~(x, y) = ``expr`` on the box [xmin, xmax] x [ymin, ymax].

    The gradient is a central finite difference with step h = 1e-5 x box side per axis:
    error ~ h²|f'''|/6 + eps|f|/h. On the classic Gaussian, banana and squiggle written as
    text it is <= 5e-7 relative (the tests ask for 1e-5 against their analytic gradients);
    at kinks (abs, where, minimum) it averages the two one-sided slopes.
    """

    expr: str
    xmin: float
    xmax: float
    ymin: float
    ymax: float
    _fn: CompiledExpr = dataclasses.field(init=False, repr=False, compare=False)

    name = "custom"
    params = ()
    labels = ("x", "y")
    known_proper = False  # typed text may not be normalisable: the grid checks far out

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "_fn", compile_expression(self.expr))
        for k in ("xmin", "xmax", "ymin", "ymax"):
            object.__setattr__(self, k, _coord(getattr(self, k), k))  # plain floats hash stably
        for lo, hi in (("xmin", "xmax"), ("ymin", "ymax")):
            a, b = getattr(self, lo), getattr(self, hi)
            if not a < b:
                raise ValueError(f"box needs {lo} < {hi}, got {lo}={num_text(a)}, {hi}={num_text(b)}")
            if b - a > MAX_WIDTH:
                raise ValueError(f"box is too wide: {hi} - {lo} = {num_text(b - a)} > {MAX_WIDTH:g}")
            check_box_side(a, b, names=(lo, hi))  # vi_core.grid.make_grid's rule, said before any run

    @property
    def description(self) -> str:  # per instance: the base declares a ClassVar string
        return f"Typed: {self.expr}"

    @property
    def box(self):
        return (self.xmin, self.xmax, self.ymin, self.ymax)

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        return self._fn(z[..., 0], z[..., 1])

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        hx = 1e-5 * (self.xmax - self.xmin)
        hy = 1e-5 * (self.ymax - self.ymin)
        gx = (self._fn(x + hx, y) - self._fn(x - hx, y)) / (2.0 * hx)
        gy = (self._fn(x, y + hy) - self._fn(x, y - hy)) / (2.0 * hy)
        return np.stack(np.broadcast_arrays(gx, gy), axis=-1)


_MINUSES = str.maketrans(dict.fromkeys("\u2212\u2012\u2013\ufe63\uff0d", "-"))


def parse_box(box) -> tuple[float, float, float, float]:
    """A 4-sequence or a string "xmin,xmax,ymin,ymax" -> 4 floats (not yet range-checked)."""
    if isinstance(box, str):
        if len(box) > 200:
            raise ValueError(f"box text too long ({len(box)} > 200 characters)")
        # a box copied from a page or a document often carries a typographic minus (U+2212, as the Lessons print
        # it) or a dash for "-": read them as the minus they stand for
        s = box.translate(_MINUSES).strip().strip("()[]")
        parts = [p.strip() for p in s.split(",")]
        if len(parts) != 4:
            raise ValueError(f"box must be 4 numbers 'xmin,xmax,ymin,ymax', got {len(parts)}")
        vals = []
        for k, p in zip(("xmin", "xmax", "ymin", "ymax"), parts, strict=True):
            try:
                if not p.isascii():
                    raise ValueError
                vals.append(float(p))
            except ValueError:
                raise ValueError(f"box {k} is not a number: {_short(p)}") from None
        return tuple(vals)
    if isinstance(box, np.ndarray) and box.ndim == 1:
        box = box.tolist()
    if not isinstance(box, Sequence) or isinstance(box, bytes):
        raise ValueError(f"box must be 4 numbers or a string 'xmin,xmax,ymin,ymax', got {type(box).__name__}")
    if len(box) != 4:
        raise ValueError(f"box must be 4 numbers (xmin, xmax, ymin, ymax), got {len(box)}")
    return tuple(_coord(v, k) for k, v in zip(("xmin", "xmax", "ymin", "ymax"), box, strict=True))


def make_expr_target(expr: str, box) -> ExprTarget:
    """ExprTarget from an expression and a box (4-sequence or "xmin,xmax,ymin,ymax")."""
    return ExprTarget(expr, *parse_box(box))
