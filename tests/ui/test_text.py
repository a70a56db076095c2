"""ui.text.plain: text from outside displays as itself, never as Markdown, KaTeX or an icon."""

import logging
import math
import re
import string

import pytest

from ui.spec import num_text
from ui.text import ZWSP, plain, user_message

PAYLOADS = [
    "[click me](https://evil.example)",
    "![x](https://evil.example/pixel.png)",
    r"$\rule{9999px}{9999px}$",
    "**bold** _it_ `code` ~~gone~~",
    "<img src=x onerror=alert(1)>",
    ":material/warning: :smile:",
    "# heading\n- item\n> quote",
    "back\\slash \\$ \\[",
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_every_punctuation_mark_is_escaped_and_shows_as_itself(text):
    out = plain(text)
    # each ASCII punctuation mark comes escaped, so CommonMark renders it as the character
    assert not re.search(r"(?<!\\)(\\\\)*[" + re.escape(string.punctuation.replace("\\", "")) + "]", out)
    # stripping the escapes (and the zero-width spaces that stop autolinks) gives back the text, on one line
    assert re.sub(r"\\(.)", r"\1", out).replace(ZWSP, "") == " ".join(text.split())
    assert "\n" not in out


@pytest.mark.parametrize("text", ["https://evil.example", "www.evil.example", "me@evil.example"])
def test_nothing_can_become_an_autolink(text):
    out = plain(text)
    assert "://" not in out.replace("\\", "") and "www." not in out.lower().replace("\\", "") and "@e" not in out


def test_plain_text_is_untouched():
    assert plain("Ignored the value 7 in the link") == "Ignored the value 7 in the link"


# ------------------------------------------------------------------------------------ user_message


def _shown(markdown: str) -> str:
    """What escaped Markdown displays: the text without the backslashes and zero-width spaces."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(ZWSP, "")


def _raised(fn):
    try:
        fn()
    except Exception as exc:  # the point: any exception
        return exc
    raise AssertionError("no exception")


def _histogram():
    import numpy as np

    np.histogram(np.float32([100.0]), bins=50, range=(100.0, float(np.float32(100.00011))))


def _emcee_infinite():
    import numpy as np
    from emcee import EnsembleSampler

    EnsembleSampler(4, 2, lambda z: 0.0).compute_log_prob(np.full((4, 2), np.inf))


def _psis_constant_tail():
    import numpy as np
    from arviz_stats.base import array_stats

    array_stats.psislw(np.zeros(1000), r_eff=1.0)


LIBRARY = [
    (_histogram, "Too many bins", "too narrow"),
    (_emcee_infinite, "parameter value was infinite", "ran off to infinity"),
    (_psis_constant_tail, "All tail values are the same", "k̂ could not be fitted"),
    (lambda: math.log(-1.0), "math domain error", "range where it is defined"),
    (lambda: math.exp(1e6), "math range error", "too large"),
]


@pytest.mark.parametrize(("fn", "raw", "says"), LIBRARY, ids=[r for _, r, _ in LIBRARY])
def test_library_messages_become_sentences(fn, raw, says, caplog):
    exc = _raised(fn)
    assert raw.lower() in str(exc).lower()  # the library still says this: the mapping is not stale
    out = _shown(user_message(exc))
    assert says in out and raw.lower() not in out.lower()


def test_our_refusals_pass_through_escaped():
    from vi_core.targets.expr import make_expr_target

    exc = _raised(lambda: make_expr_target("x + [a](https://evil.example)", "-1,1,-1,1"))
    out = user_message(exc)
    assert out == plain(f"This run cannot be done: {exc}")  # every character escaped: no link
    assert _shown(out).startswith("This run cannot be done: ") and "Traceback" not in out


@pytest.mark.parametrize(
    "fn",
    [
        lambda: {}["missing"],
        lambda: [][1],
        lambda: int("x"),
        lambda: num_text("not a number"),  # a ValueError inside ui/, but float()'s, not a refusal of ours
        lambda: (_ for _ in ()).throw(TypeError("unsupported operand type(s) for +: 'NoneType' and 'int'")),
    ],
)
def test_anything_else_is_a_generic_sentence_and_is_logged(fn, caplog):
    exc = _raised(fn)
    with caplog.at_level(logging.ERROR, logger="ui.text"):
        out = _shown(user_message(exc))
    assert "Try" in out and str(exc) not in out and "Traceback" not in out and ".py" not in out
    assert out.startswith("This run failed on these settings")
    assert any(r.exc_info for r in caplog.records), "the traceback goes to the server's log"


def test_a_long_message_is_cut_and_on_one_line():
    exc = _raised(lambda: (_ for _ in ()).throw(ValueError("x" * 5000)))
    assert len(user_message(exc)) < 1000 and "\n" not in user_message(exc)


def test_the_servers_own_refusals_pass_through():
    from vi_core import budget

    def over():
        with budget.within(0.0):
            budget.checkpoint()

    exc = _raised(over)
    assert isinstance(exc, budget.OutOfTime)
    assert _shown(user_message(exc)) == f"This run cannot be done: {exc}"


def test_a_refusal_from_a_worker_process_is_still_ours_and_a_library_error_is_not():
    import functools

    from ui.workers import Elsewhere
    from vi_core.targets.expr import make_expr_target

    worker = Elsewhere()
    refusal = _raised(lambda: worker.call(functools.partial(make_expr_target, "x + (", "-1,1,-1,1")))
    assert _shown(user_message(refusal)) == f"This run cannot be done: {refusal}"
    library = _raised(lambda: worker.call(functools.partial(int, "x")))
    assert _shown(user_message(library)).startswith("This run failed on these settings")


def test_a_worker_traceback_is_read_up_to_its_message_only():
    from ui.text import _remote_last_frame

    ours = "/app/vi_core/grid.py"
    text = (
        '\n"""\nTraceback (most recent call last):\n'
        '  File "/usr/lib/python3.11/concurrent/futures/process.py", line 256, in _process_worker\n'
        "    r = call_item.fn(*call_item.args, **call_item.kwargs)\n"
        '  File "/usr/lib/python3/numpy/core.py", line 12, in f\n'
        "    raise ValueError(msg)\n"
        "    ^^^^^^^^^^^^^^^^^^^^^\n"
        f'ValueError: a typed expression\n  File "{ours}", line 296, in _check_values\n    raise it\n"""'
    )
    assert _remote_last_frame(text) == ("/usr/lib/python3/numpy/core.py", 12), "the message's text is not a frame"
