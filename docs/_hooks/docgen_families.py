"""The optimiser family pages: what each claims, checked, and what none claims yet.

A family page (``docs/optimizers/*.md``) names its optimisers in its front
matter, ``optimizers: [fromage, nero, madam]``. The build checks that each is
public and that the page's text names it as ``fromax.NAME``, and appends the
signatures (so defaults on the page are always the code's). An optimiser of
``fromax.optimizers`` that no family page claims (a new one) is listed on a
generated page, so it is on the site before its family page is written.
"""

from __future__ import annotations

import inspect
import pathlib
import re
from typing import Any

import fromax
from fromax import optimizers

FAMILY_FOLDER = pathlib.Path(__file__).resolve().parent.parent / "optimizers"
UNCLAIMED_PAGE = "optimizers/more.md"
_WIDTH = 80  # a signature longer than this is shown one argument a line


def front_matter_list(text: str, key: str) -> list[str]:
    """``key: [a, b]`` from a page's front matter (the one form the family pages use)."""
    match = re.match(r"---\n(.*?)\n---\n", text, flags=re.S)
    if not match:
        return []
    found = re.search(rf"^{key}:\s*\[(.*?)\]\s*$", match.group(1), flags=re.M)
    return [n.strip() for n in found.group(1).split(",") if n.strip()] if found else []


def family_pages() -> dict[str, list[str]]:
    """``{page path under docs/: [optimiser names]}`` for every family page."""
    return {
        f"optimizers/{path.name}": front_matter_list(path.read_text(), "optimizers")
        for path in sorted(FAMILY_FOLDER.glob("*.md"))
        if front_matter_list(path.read_text(), "optimizers")
    }


def check_family_page(path: str, names: list[str], markdown: str) -> list[str]:
    """The problems of one family page: names that are not public, or not named in its text."""
    problems = []
    for name in names:
        if name not in fromax.__all__:
            problems.append(f"{path}: {name!r} is not in fromax.__all__")
        elif not re.search(rf"\bfromax\.{re.escape(name)}\b", markdown):
            problems.append(f"{path}: the text never names fromax.{name}")
    return problems


def is_optimizer(obj: Any) -> bool:
    """A public function of ``fromax.optimizers`` that builds a transformation."""
    if not inspect.isfunction(obj):
        return False
    returns = inspect.signature(obj).return_annotation
    return returns is fromax.GradientTransformation or returns == "GradientTransformation"


def unclaimed() -> list[str]:
    """The optimisers that no family page claims."""
    claimed = {name for names in family_pages().values() for name in names}
    return [
        name
        for name in optimizers.__all__
        if is_optimizer(getattr(optimizers, name)) and name not in claimed
    ]


def signature(name: str) -> str:
    """``fromax.NAME(arg=default, ...)``: the call, without annotations."""
    full = inspect.signature(getattr(fromax, name))
    empty = inspect.Parameter.empty
    bare = full.replace(
        parameters=[p.replace(annotation=empty) for p in full.parameters.values()],
        return_annotation=empty,
    )
    call = f"fromax.{name}{bare}"
    if len(call) <= _WIDTH:
        return call
    # One argument a line, as a formatter would lay out a long call.
    inner = call[call.index("(") + 1 : -1]
    return f"fromax.{name}(\n" + "".join(f"    {part},\n" for part in _top_level(inner)) + ")"


def _top_level(arguments: str) -> list[str]:
    """``arguments`` split at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(arguments):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(arguments[start:i].strip())
            start = i + 1
    return [*parts, arguments[start:].strip()]


def signatures_markdown(names: list[str]) -> str:
    """The appendix of a family page: each optimiser's call with its defaults."""
    lines = [
        "## Signatures",
        "",
        "Generated from the code when the site is built; every numeric argument",
        "takes a number, a JAX scalar, a schedule or a callable `step -> scalar`",
        "unless its entry in the API reference says it is static.",
        "",
    ]
    for name in names:
        lines += ["```python", signature(name), "```", "", f"[Reference][fromax.{name}]", ""]
    return "\n".join(lines)


def unclaimed_markdown(names: list[str]) -> str:
    """A page for the optimisers that have no family page yet."""
    lines = [
        "# More optimisers",
        "",
        "These optimisers have no family page yet; each entry of the API reference",
        "has their maths, defaults and references.",
        "",
    ]
    for name in names:
        summary = (inspect.getdoc(getattr(fromax, name)) or "").split("\n\n")[0]
        lines += [
            f"## {name}",
            "",
            summary.replace("\n", " "),
            "",
            "```python",
            signature(name),
            "```",
            "",
            f"[Reference][fromax.{name}]",
            "",
        ]
    return "\n".join(lines)
