"""The API reference, generated from the public lists: every public name gets an entry.

The public names are ``fromax.__all__`` and ``fromax.schedules.__all__``.
Each goes on the page of the module that defines it (``fromax.optimizers._adam``
-> ``api/optimizers/adam.md``), rendered from its docstring by mkdocstrings,
so a name added to either list appears with no change here, and one that
cannot be placed stops the build.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import types
from typing import Any

import fromax
from fromax import schedules

# Sections of the reference, in the order of the navigation; an area not
# listed here (a new subpackage) follows them, titled from its name.
AREAS = {
    "core": "Core",
    "optimizers": "Optimisers",
    "transforms": "Building blocks and wrappers",
    "schedules": "Schedules",
    "checkpoint": "Checkpoints",
}


@dataclasses.dataclass
class Entry:
    """One public name: how it is written and the module that defines it."""

    identifier: str  # fromax.adam, fromax.schedules.cosine_decay
    obj: Any
    module: str  # fromax.optimizers._adam


@dataclasses.dataclass
class Page:
    """One generated page of the reference."""

    path: str  # api/optimizers/adam.md
    area: str  # optimizers
    title: str
    intro: str
    entries: list[Entry]
    module: str | None = None  # rendered without its members (the schedules package)

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", self.intro, ""]
        if self.module is not None:
            lines += [f"::: {self.module}", "    options:", "      members: false", ""]
        for entry in self.entries:
            lines += [f"::: {entry.identifier}", ""]
        return "\n".join(lines)


def public_entries() -> list[Entry]:
    """Every public name, with the module that defines it."""
    entries = []
    for prefix, namespace in (("fromax", fromax), ("fromax.schedules", schedules)):
        for name in namespace.__all__:
            if not hasattr(namespace, name):
                raise ValueError(f"{prefix}.__all__ lists {name!r}, which {prefix} does not define")
            obj = getattr(namespace, name)
            entries.append(Entry(f"{prefix}.{name}", obj, defining_module(name, obj)))
    return entries


def defining_module(name: str, obj: Any) -> str:
    """The fromax module where ``obj`` is defined (a package for a module object)."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None) or ""
    defined = inspect.isfunction(obj) or inspect.isclass(obj)
    if defined and module.startswith("fromax.") and not hasattr(sys.modules[module], "__path__"):
        return module
    # A constant (fromax.ANY), or a class that names its package as its module
    # (SpecError, for shorter tracebacks): the non-package module that defines it.
    for module_name, candidate in sorted(sys.modules.items()):
        if not module_name.startswith("fromax.") or candidate is None:
            continue
        if hasattr(candidate, "__path__") or vars(candidate).get(name) is not obj:
            continue
        if _definition(inspect.getsource(candidate), name):
            return module_name
    raise ValueError(f"cannot tell which fromax module defines the public name {name!r}")


def _definition(source: str, name: str) -> re.Match[str] | None:
    return re.search(rf"^(?:def |class )?{re.escape(name)}\b", source, flags=re.M)


def _area_and_stem(module: str) -> tuple[str, str]:
    parts = module.split(".")
    area = parts[1].strip("_")
    stem = parts[2].strip("_") if len(parts) > 2 else "index"
    return area, stem


# Stems that do not read well capitalised.
_TITLES = {
    "hyperparams": "Hyperparameters",
    "rmsprop": "RMSprop",
    "schedule_free": "Schedule-free",
    "schedule_free_wrapper": "Schedule-free wrapper",
    "sgd": "SGD",
    "sgdr": "SGDR",
    "skip_nonfinite": "Skip non-finite",
}


def _title(stem: str) -> str:
    return _TITLES.get(stem, stem.replace("_", " ").capitalize())


def _source_line(entry: Entry) -> int:
    """Where the module defines the name (a def, a class or an assignment)."""
    source = inspect.getsource(sys.modules[entry.module])
    match = _definition(source, entry.identifier.rpartition(".")[2])
    return source.count("\n", 0, match.start()) if match else len(source)


def _first_paragraph(module: str) -> str:
    doc = inspect.getdoc(sys.modules[module]) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def api_pages() -> list[Page]:
    """The pages of the reference, one per defining module, entries in source order."""
    by_module: dict[str, list[Entry]] = {}
    packages: dict[str, Entry] = {}
    for entry in public_entries():
        if isinstance(entry.obj, types.ModuleType):
            packages[entry.module] = entry
        else:
            by_module.setdefault(entry.module, []).append(entry)
    pages = []
    for module, entries in by_module.items():
        area, stem = _area_and_stem(module)
        entries.sort(key=_source_line)
        title = AREAS[area] if stem == "index" and area in AREAS else _title(stem)
        pages.append(Page(f"api/{area}/{stem}.md", area, title, _first_paragraph(module), entries))
    for module, entry in packages.items():
        area = module.split(".")[1].strip("_")
        intro = f"The package `{entry.identifier}`; each of its names is on a page of this section."
        pages.append(Page(f"api/{area}/index.md", area, AREAS.get(area, _title(area)), intro, []))
        pages[-1].module = entry.identifier
    order = list(AREAS)
    pages.sort(
        key=lambda p: (
            order.index(p.area) if p.area in order else len(order),
            p.area,
            not p.path.endswith("index.md"),
            p.title,
        )
    )
    return pages


def index_page(pages: list[Page]) -> str:
    """A table of every public name: its one-line summary and its page."""
    lines = [
        "# API reference",
        "",
        "Every public name of `fromax` and `fromax.schedules`, generated from the",
        "docstrings when the site is built. Each entry gives the maths, the",
        "arguments and their defaults, and a runnable example.",
        "",
        "| name | what it is |",
        "| --- | --- |",
    ]
    rows = []
    for page in pages:
        entries = page.entries
        if page.module is not None:
            entries = [e for e in public_entries() if e.identifier == page.module]
        for entry in entries:
            summary = (inspect.getdoc(entry.obj) or "").split("\n\n")[0].replace("\n", " ")
            if isinstance(entry.obj, fromax.Bounds):
                summary = f"`{entry.obj!r}`"
            summary = summary.replace("|", "\\|")
            rows.append(f"| [`{entry.identifier}`][{entry.identifier}] | {summary} |")
    lines += sorted(rows, key=str.lower)
    return "\n".join(lines) + "\n"


def nav(pages: list[Page]) -> list[Any]:
    """The navigation entries of the reference."""
    items: list[Any] = [{"Index": "api/index.md"}]
    sections: dict[str, list[Any]] = {}
    for page in pages:
        sections.setdefault(page.area, []).append(page)
    for area, area_pages in sections.items():
        title = AREAS.get(area, _title(area))
        if len(area_pages) == 1:
            items.append({title: area_pages[0].path})
        else:
            items.append({title: [p.path if p.module else {p.title: p.path} for p in area_pages]})
    return items


def check_coverage(pages: list[Page]) -> None:
    """Raises unless every public name is on exactly one page."""
    placed: dict[str, int] = {}
    for page in pages:
        for identifier in [e.identifier for e in page.entries] + [page.module]:
            if identifier is not None:
                placed[identifier] = placed.get(identifier, 0) + 1
    wanted = [e.identifier for e in public_entries()]
    missing = [i for i in wanted if i not in placed]
    twice = [i for i, n in placed.items() if n > 1]
    if missing or twice:
        raise ValueError(
            f"API reference: public names without an entry {missing}, with two {twice}; "
            "fix docs/_hooks/docgen_api.py"
        )
