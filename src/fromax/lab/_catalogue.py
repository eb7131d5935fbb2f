"""The optimisers the command line knows, and their hyperparameters, read from their signatures."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import fromax

__all__ = ["hyperparameters", "optimizer", "optimizers"]

# In the order `fromax optimizers` lists them: Fromage's family (and its successors, Muon
# and Scion), then the standard ones.
_NAMES = (
    "fromage",
    "muon",
    "scion",
    "nero",
    "madam",
    "lars",
    "lamb",
    "sgd",
    "adam",
    "adamw",
    "nadam",
    "lion",
    "rmsprop",
    "adagrad",
    "adafactor",
    "schedule_free_sgd",
    "schedule_free_adamw",
)


def optimizers() -> dict[str, Callable[..., Any]]:
    """``{name: constructor}`` for every optimiser this fromax has."""
    return {name: getattr(fromax, name) for name in _NAMES if hasattr(fromax, name)}


def optimizer(name: str) -> Callable[..., Any]:
    """The constructor called ``name``, or a ValueError listing the valid names."""
    known = optimizers()
    if name not in known:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(known)}")
    return known[name]


def hyperparameters(name: str) -> dict[str, Any]:
    """``{parameter: default}`` of optimiser ``name``, in signature order."""
    signature = inspect.signature(optimizer(name))
    return {
        p.name: (None if p.default is inspect.Parameter.empty else p.default)
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
