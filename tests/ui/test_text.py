"""ui.text.plain: text from outside displays as itself, never as Markdown, KaTeX or an icon."""

import re
import string

import pytest

from ui.text import ZWSP, plain

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
