"""ui.nav.PAGES is the one list of pages: every script in it, every script calling nav.start, URLs as served."""

import pathlib

import pytest

from ui import nav

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_pages_list_every_script_once_entry_first():
    paths = [p.path for p in nav.PAGES]
    assert paths[0] == "app.py"
    on_disk = sorted(f"pages/{f.name}" for f in (ROOT / "pages").glob("*.py"))
    assert sorted(paths[1:]) == on_disk, "pages/ and ui.nav.PAGES disagree"
    assert paths[1:] == on_disk, "PAGES order must follow the files' number prefixes (Streamlit's order)"
    assert len({p.label for p in nav.PAGES}) == len(nav.PAGES)


def test_urls_follow_streamlits_pages_directory():
    assert [p.url for p in nav.PAGES] == ["/", "/Theory", "/Conjugate_example", "/Lessons", "/Scaling", "/Ladder"]


def test_every_script_starts_from_its_row():
    for p in nav.PAGES:
        src = (ROOT / p.path).read_text(encoding="utf-8")
        assert "nav.start(__file__)" in src, f"{p.path} must call nav.start(__file__)"
        assert nav.page_for(str(ROOT / p.path)) is p


def test_an_unknown_script_is_an_error():
    with pytest.raises(KeyError, match=r"not in ui\.nav\.PAGES"):
        nav.page_for(str(ROOT / "ui" / "nav.py"))
