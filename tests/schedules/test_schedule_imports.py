"""The schedules package's modules import each other at module top, in one direction only,
and the names a spec or config may use are exactly the public schedule classes."""

from __future__ import annotations

import ast
import pathlib

from fromax import schedules
from fromax.schedules._config import schedule_classes

PACKAGE = pathlib.Path(schedules.__file__).parent


def _dependencies(path: pathlib.Path) -> set[str]:
    """The modules of the package that ``path`` imports; fails on an import that is not at
    module top (a function-level import is how a circle hides)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        assert node in tree.body, f"{path.name}:{node.lineno} imports below the module top"
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif node.module in ("fromax", "fromax.schedules"):
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            names = [node.module]
        for name in names:
            if name == "fromax.schedules" or name.startswith("fromax.schedules."):
                module = name.removeprefix("fromax.schedules").removeprefix(".")
                found.add(module if module.startswith("_") else "__init__")
    return found - {path.stem}


def test_schedule_modules_import_at_the_top_and_in_no_circle():
    graph = {path.stem: _dependencies(path) for path in sorted(PACKAGE.glob("*.py"))}
    assert graph["_base"] == set()  # the protocol builds on nothing of the package
    assert graph["__init__"] >= {"_compose", "_config"}
    # Peel off modules whose dependencies are all peeled: all of them go, or there is a circle.
    done: set[str] = set()
    while len(done) < len(graph):
        ready = {name for name, needs in graph.items() if name not in done and needs <= done}
        assert ready, f"import circle among {sorted(set(graph) - done)}"
        done |= ready


def test_specs_and_configs_name_exactly_the_public_schedule_classes():
    public = {
        name
        for name in schedules.__all__
        if isinstance(getattr(schedules, name), type)
        and issubclass(getattr(schedules, name), schedules.Schedule)
    }
    assert set(schedule_classes()) == public - {"Schedule", "function"}
