"""The keyboard binding's page script: bound to one chart key, safe to inline."""

import pytest

from ui import keys


def test_script_binds_the_named_chart_and_says_which_keys():
    html = keys.script("race")
    assert '".st-key-" + KEY' in html and 'const KEY = "race";' in html
    assert ".st-key-race:focus-visible" in html
    for key in ("ArrowRight", "ArrowLeft", "Home", "End", '" "'):
        assert key in html
    assert "__" not in html.replace("__animationKeys", "")  # every placeholder filled


@pytest.mark.parametrize("bad", ["", "race chart", "x'];alert(1)//", "a.b"])
def test_chart_keys_that_are_not_plain_names_are_refused(bad):
    with pytest.raises(ValueError, match="chart_key must be"):
        keys.script(bad)
