"""ui.compute, the UI's one door to the engine: only it (and the run machinery behind it) imports vi_core."""

import ast
import pathlib
import subprocess
import sys

import pytest

from ui import compute, runs

ROOT = pathlib.Path(__file__).resolve().parents[2]
# compute is the door. Behind it, and reached only through it: runs (the shared queue; its jobs run under
# vi_core.budget and it sizes and keys a Playground run from the settings table) and workers (its processes,
# which honour the budget and need nothing else of the engine). spec translates links to engine settings and
# reads the settings table (being moved onto the engine's registry by another change; it may import vi_core).
ALLOWED = {"ui/compute.py", "ui/runs.py", "ui/spec.py", "ui/workers.py"}
BUDGET_ONLY = {"ui/workers.py"}
BEHIND_THE_DOOR = {
    "ui.runs": {"ui/compute.py"},
    "ui.workers": {"ui/runs.py"},
}  # module: the UI files that may import it


def _imports(path: pathlib.Path) -> set[str]:
    """Every module path imports; ``from a import b`` counts as both a and a.b (b may be a module)."""
    mods = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module)
            mods.update(f"{node.module}.{a.name}" for a in node.names)
    return mods


def _engine(rel: str) -> list[str]:
    return sorted(m for m in _imports(ROOT / rel) if m == "vi_core" or m.startswith("vi_core."))


def _ui_files():
    files = sorted((ROOT / "ui").rglob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]
    return [f.relative_to(ROOT).as_posix() for f in files]


@pytest.mark.parametrize("rel", [f for f in _ui_files() if f not in ALLOWED])
def test_only_compute_imports_the_engine(rel):
    engine = _engine(rel)
    assert not engine, f"{rel} imports {engine}: go through ui.compute"


@pytest.mark.parametrize("rel", sorted(BUDGET_ONLY))
def test_the_worker_processes_need_only_the_budget(rel):
    assert set(_engine(rel)) <= {"vi_core", "vi_core.budget"}, f"{rel} imports {_engine(rel)}"


@pytest.mark.parametrize("rel", _ui_files())
def test_the_run_machinery_is_reached_only_through_the_door(rel):
    for module, allowed in BEHIND_THE_DOOR.items():
        assert rel in allowed or module not in _imports(ROOT / rel), f"{rel} imports {module}: go through ui.compute"


def test_the_engine_imports_nothing_of_the_ui():
    for path in sorted((ROOT / "vi_core").rglob("*.py")):
        ui = sorted(m for m in _imports(path) if m.split(".")[0] in {"ui", "streamlit", "pages"})
        assert not ui, f"{path.relative_to(ROOT)} imports {ui}"


def test_the_door_re_exports_the_runs_the_pages_call():
    """compute.run, compute.race_figure, compute.RUN_BUDGET_S... are ui.runs' own objects (patch them there)."""
    for name in set(runs.__all__) - {"queue", "wait"}:  # compute's own calls queue their jobs through these two
        assert getattr(compute, name) is getattr(runs, name), name
    assert all(hasattr(compute, name) for name in compute.__all__)


def test_the_door_does_not_import_the_figures():
    code = "import sys, ui.compute; assert 'ui.figures' not in sys.modules, 'ui.figures imported'"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("rel", _ui_files())
def test_no_page_reaches_into_private_figure_helpers(rel):
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
    private = [
        f"{n.value.id}.{n.attr}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id in {"figures", "compute"}
        and n.attr.startswith("_")
        and not n.attr.startswith("__")
    ]
    if rel == "ui/compute.py":
        private = [p for p in private if not p.startswith("compute.")]
    assert not private, f"{rel} uses private helpers {private}"
