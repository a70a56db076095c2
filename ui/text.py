"""Text from outside (a link, a typed expression, an error message quoting either) shown as plain text.

Streamlit renders the body of st.warning, st.error, st.info and st.caption as Markdown with KaTeX
(``$...$``) and emoji/icon shortcodes (``:smile:``, ``:material/...:``): a link could otherwise put a clickable
link, a remote image or a page-covering formula into the page. ``plain`` backslash-escapes every ASCII
punctuation character, which CommonMark renders as the character itself. Escapes do not stop GitHub-style
autolinks (found in the rendered text: ``https://…``, ``www.…``, ``a@b.c``), so a zero-width space follows every
``:`` and ``@`` and splits ``www.``: the text reads the same, and nothing becomes a link.
"""

from __future__ import annotations

import re
import string

__all__ = ["ZWSP", "plain"]

ZWSP = "\u200b"
_ESCAPE = str.maketrans({c: "\\" + c for c in string.punctuation})
_WWW = re.compile(r"(w)(ww\.)", re.IGNORECASE)


def plain(text: object) -> str:
    """``text`` as Markdown that displays exactly those characters (newlines become spaces: one line)."""
    one_line = " ".join(str(text).split())
    unlinked = _WWW.sub(r"\1" + ZWSP + r"\2", one_line.replace(":", ":" + ZWSP).replace("@", "@" + ZWSP))
    return unlinked.translate(_ESCAPE)
