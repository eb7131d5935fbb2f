"""The optimisers the application offers, read from the library's registry.

Nothing here lists an optimiser by name: ``fromax optimizers``, its
``--markdown`` table (the README's), ``--hyper`` parsing and the check for
a missing learning rate all come from each optimiser's ``@declare``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fromax._core._registry import OptimizerSpec, declared, parse_hyperparameters, spec

__all__ = ["build", "listing", "markdown_table", "optimizer_spec", "parse_hyper"]


def optimizer_spec(name: str) -> OptimizerSpec:
    """The declaration of optimiser ``name``, or a ValueError listing the optimisers."""
    names = [s.name for s in declared("optimizer")]
    if name not in names:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(names)}")
    return spec(name)


def parse_hyper(name: str, texts: Mapping[str, str]) -> dict[str, Any]:
    """``--hyper NAME=TEXT`` options, each parsed by its declared kind."""
    optimizer_spec(name)
    return parse_hyperparameters(name, texts)


def build(name: str, kwargs: Mapping[str, Any], learning_rate: str | None = None) -> Any:
    """Optimiser ``name`` built from parsed ``kwargs`` and a ``--learning-rate`` text.

    A required hyperparameter that is missing is named with the option that
    sets it (``--learning-rate``, or ``--hyper NAME=VALUE``).
    """
    declaration = optimizer_spec(name)
    kwargs = dict(kwargs)
    if learning_rate is not None:
        if "learning_rate" not in declaration:
            raise ValueError(f"{name} has no learning_rate")
        rate = declaration["learning_rate"]
        kwargs["learning_rate"] = rate.kind.parse(learning_rate, "--learning-rate")
    for hyperparameter in declaration.hyperparameters:
        if hyperparameter.required and hyperparameter.name not in kwargs:
            option = (
                "--learning-rate SPEC"
                if hyperparameter.name == "learning_rate"
                else f"--hyper {hyperparameter.name}=VALUE"
            )
            raise ValueError(f"{name} needs {hyperparameter.name}: pass {option}")
    return declaration.constructor(**kwargs)


def listing() -> str:
    """``fromax optimizers``: each optimiser, its summary and its hyperparameters.

    Example:
        >>> from fromax.lab._optimizers import listing
        >>> print(listing().split("\\n\\n")[0])
        fromage: Fromage: ...
          learning_rate=0.01: eta: the step, relative to ||W|| (a finite number >= 0, or a schedule)
          p_bound=None: the largest ||W|| / ||W_0|| allowed (a finite number > 0, ...; None: off)
    """
    blocks = []
    for declaration in declared("optimizer"):
        lines = [f"{declaration.name}: {declaration.summary}"]
        lines += [f"  {h.describe()}" for h in declaration.hyperparameters]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(hyperparameter: Any) -> str:
    if hyperparameter.required:
        return f"`{hyperparameter.name}`"
    return f"`{hyperparameter.name}={hyperparameter.default!r}`"


def markdown_table() -> str:
    """The README's optimiser table: name, hyperparameters with defaults, summary.

    Regenerate the README's copy with ``fromax optimizers --markdown``.

    Example:
        >>> from fromax.lab._optimizers import markdown_table
        >>> print("\\n".join(markdown_table().splitlines()[:3]))
        | optimiser | hyperparameters (defaults) | what it is |
        | --- | --- | --- |
        | `fromage` | `learning_rate=0.01`, `p_bound=None` | Fromage: ... |
    """
    lines = ["| optimiser | hyperparameters (defaults) | what it is |", "| --- | --- | --- |"]
    for declaration in declared("optimizer"):
        hyper = ", ".join(_default(h) for h in declaration.hyperparameters)
        lines.append(f"| `{declaration.name}` | {_cell(hyper)} | {_cell(declaration.summary)} |")
    return "\n".join(lines) + "\n"
