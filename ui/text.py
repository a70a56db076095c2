"""Text from outside (a link, a typed expression, an error message quoting either) shown as plain text,
and any failure told in the user's language.

Streamlit renders the body of st.warning, st.error, st.info and st.caption as Markdown with KaTeX
(``$...$``) and emoji/icon shortcodes (``:smile:``, ``:material/...:``): a link could otherwise put a clickable
link, a remote image or a page-covering formula into the page. ``plain`` backslash-escapes every ASCII
punctuation character, which CommonMark renders as the character itself. Escapes do not stop GitHub-style
autolinks (found in the rendered text: ``https://…``, ``www.…``, ``a@b.c``), so a zero-width space follows every
``:`` and ``@`` and splits ``www.``: the text reads the same, and nothing becomes a link.

``user_message`` turns any exception into one such plain sentence: our own refusals (a ``ValueError`` or
``RuntimeError`` raised by this app's code) pass through; messages of the libraries underneath (numpy, arviz,
emcee, ``math``) are told as what they mean here; anything else becomes a generic sentence, with the traceback
logged on the server, never shown.
"""

from __future__ import annotations

import linecache
import logging
import pathlib
import re
import string

__all__ = ["GENERIC", "ZWSP", "plain", "user_message"]

ZWSP = "\u200b"
_ESCAPE = str.maketrans({c: "\\" + c for c in string.punctuation})
_WWW = re.compile(r"(w)(ww\.)", re.IGNORECASE)
_ROOT = pathlib.Path(__file__).resolve().parent.parent
_OURS = tuple(str(_ROOT / d) + "/" for d in ("ui", "vi_core"))
_LOG = logging.getLogger(__name__)
_MAX_CHARS = 400  # a message longer than this is cut (it quotes the input at most partly anyway)


def plain(text: object) -> str:
    """``text`` as Markdown that displays exactly those characters (newlines become spaces: one line)."""
    one_line = " ".join(str(text).split())
    unlinked = _WWW.sub(r"\1" + ZWSP + r"\2", one_line.replace(":", ":" + ZWSP).replace("@", "@" + ZWSP))
    return unlinked.translate(_ESCAPE)


GENERIC = (
    "This run failed on these settings: the computation broke down in a way this app does not yet explain "
    "(the details are in the server's log). Try a wider box, fewer steps or walkers, another seed or another method."
)
# Messages of the libraries underneath, as what they mean here (matched anywhere in the message, any case).
KNOWN: tuple[tuple[str, str], ...] = (
    (
        "too many bins for data range",
        "The box is too narrow for its distance from 0: at that width, numbers so far out cannot be told apart. "
        "Widen the box or move it closer to 0.",
    ),
    (
        "all tail values are the same",
        "Pareto k̂ could not be fitted: q's largest importance weights are all equal. Try other settings.",
    ),
    (
        "parameter value was infinite",
        "The MCMC walkers ran off to infinity: the density does not fall off fast enough far out, or the moves "
        "are too large. Check the target, narrow the box or choose another sampler.",
    ),
    (
        "parameter value was nan",
        "The MCMC walkers reached a point where the density is not a number (NaN). Check the target and the box, "
        "or choose another sampler.",
    ),
    (
        "math domain error",
        "A quantity left the range where it is defined on these settings (the logarithm or square root of a "
        "negative number). Try a wider box or other settings.",
    ),
    (
        "math range error",
        "A number grew too large to compute on these settings. Try a smaller box, a smaller step or other settings.",
    ),
    (
        "not positive definite",
        "A covariance matrix stopped being positive definite (q or the draws collapsed onto a line). Try more "
        "steps, a smaller learning rate or another method.",
    ),
    (
        "singular matrix",
        "A covariance matrix became singular (q or the draws collapsed onto a line). Try more steps, a smaller "
        "learning rate or another method.",
    ),
)
_BY_TYPE = {
    MemoryError: "This run needs more memory than the server has: use fewer steps, walkers or grid points.",
    OverflowError: KNOWN[5][1],
    ZeroDivisionError: "A division by zero occurred on these settings. Try a wider box or other settings.",
}


_REMOTE_FRAME = re.compile(r'  File "([^"]+)", line (\d+), in ')


def _remote_last_frame(text: str) -> tuple[str, int] | None:
    """The last frame of the last traceback in a worker's traceback text; lines after the frames (the
    exception's own message, which may hold anything a user typed) are not read."""
    last = None
    for line in text.rsplit("Traceback (most recent call last):\n", 1)[-1].splitlines():
        if m := _REMOTE_FRAME.match(line):
            last = (m.group(1), int(m.group(2)))
        elif not line.startswith("    "):  # neither a frame nor its code: the exception's text begins
            break
    return last


def _last_frame(exc: BaseException) -> tuple[str, int] | None:
    """(file, line) where exc was raised. For an exception from a worker process (concurrent.futures
    re-raises it here and chains the worker's traceback as text), the worker's last frame."""
    remote = exc.__cause__
    if remote is not None and type(remote).__name__ == "_RemoteTraceback":
        return _remote_last_frame(str(remote))
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename, tb.tb_lineno


def _raised_by_us(exc: BaseException) -> bool:
    """True when ``exc`` comes from a ``raise`` statement in this app's own code (ui/, vi_core/): a refusal
    worded for the user, not a library's or the interpreter's message."""
    frame = _last_frame(exc)
    if frame is None or not frame[0].startswith(_OURS):
        return False
    return linecache.getline(*frame).lstrip().startswith("raise")


def user_message(exc: BaseException) -> str:
    """``exc`` as one plain-text sentence (already escaped by ``plain``: show it with st.error as it is).

    Our own ValueError/RuntimeError: its message. A known library message: what it means here. Anything else:
    ``GENERIC``, and the traceback goes to the server's log (never to the page)."""
    text = " ".join(str(exc).split())
    low = text.lower()
    for needle, sentence in KNOWN:
        if needle in low:
            _LOG.warning("run failed with a known library error: %s", text[:_MAX_CHARS])
            return plain(sentence)
    if isinstance(exc, ValueError | RuntimeError) and text and _raised_by_us(exc):
        if len(text) > _MAX_CHARS:
            text = text[: _MAX_CHARS - 1] + "…"
        return plain(f"This run cannot be done: {text}")
    _LOG.error("run failed", exc_info=exc)
    for kind, sentence in _BY_TYPE.items():
        if isinstance(exc, kind):
            return plain(sentence)
    return plain(GENERIC)
