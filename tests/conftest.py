"""Suite-wide order: the long tests first, so the two xdist workers finish together.

The end-to-end tests (a real server and Chromium, 3-20 s each, partly waiting on the browser) go first,
then the AppTest page tests, then the many short engine and UI tests, which fill in around them. In file
order the e2e tests came in the middle and their tail ran alone at the end.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from streamlit.components.v2 import manifest_scanner

TESTS = Path(__file__).resolve().parent
FIRST = (TESTS / "e2e", TESTS / "app")  # slowest kinds first


def _rank(item: pytest.Item) -> int:
    for i, folder in enumerate(FIRST):
        if folder in item.path.parents:
            return i
    return len(FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: file order within each kind


@pytest.fixture(autouse=True, scope="session")
def _scan_component_manifests_once():
    """Every AppTest instance (tests/app, and the toy-method test) scans all installed packages' metadata for
    Streamlit components (~0.35 s each, a quarter of the AppTest time); a server scans once at startup. The
    installed packages do not change while pytest runs, so the session scans once too."""
    scan = manifest_scanner.scan_component_manifests
    manifest_scanner.scan_component_manifests = functools.cache(scan)
    yield
    manifest_scanner.scan_component_manifests = scan
