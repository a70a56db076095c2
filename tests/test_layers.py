"""The house's layers: every engine module imports on its own, and no module of the engine or the UI takes part in
an import cycle (imports inside functions count; those under TYPE_CHECKING do not)."""

import ast
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _modules(package: str) -> dict[str, pathlib.Path]:
    out = {}
    for f in sorted((ROOT / package).rglob("*.py")):
        parts = f.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = f
    return out


def _type_checking_imports(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skip |= {id(n) for n in ast.walk(node)}
    return skip


def _imports(path: pathlib.Path, known: set[str]) -> set[str]:
    """The project modules a file names in its import statements (a submodule imported by name counts as itself)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_imports(tree)
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            subs = {f"{node.module}.{a.name}" for a in node.names} & known
            out |= subs or ({node.module} & known)
            if {f"{node.module}.{a.name}" for a in node.names} - subs:
                out |= {node.module} & known
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names} & known
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_in_the_engine_or_the_ui():
    files = {**_modules("vi_core"), **_modules("ui")}
    graph = {name: _imports(path, set(files)) - {name} for name, path in files.items()}
    assert _cycles(graph) == []


def test_every_engine_module_imports_on_its_own():
    # One interpreter with the heavy libraries loaded; each module is imported first in a fork of it.
    names = sorted(_modules("vi_core"))
    script = textwrap.dedent(
        f"""
        import os, sys, traceback
        import numpy, scipy.special, scipy.stats, emcee, arviz_stats.base  # noqa: F401 (shared, not the subject)
        failed = []
        for name in {names!r}:
            pid = os.fork()
            if pid == 0:
                try:
                    __import__(name)
                    os._exit(0)
                except BaseException:
                    traceback.print_exc()
                    os._exit(1)
            _, status = os.waitpid(pid, 0)
            if status != 0:
                failed.append(name)
        print("FAILED", failed)
        sys.exit(1 if failed else 0)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert len(names) > 30
