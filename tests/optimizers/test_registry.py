"""The registry: every public constructor is declared, every optimiser has a float64 reference.

The declarations (``@declare`` in each optimiser's module) are the one list
of optimisers: the command line, the README's table, the benchmark suite and
these tests read it. A constructor added without a declaration, or an
optimiser declared without a registry ``Entry`` (its float64 reference),
fails here.
"""

from __future__ import annotations

import inspect

import pytest

import fromax
from fromax._core._registry import (
    Choice,
    Flag,
    Integer,
    Number,
    Real,
    declared,
    spec,
)
from fromax._core._transformation import TRANSFORMATION
from fromax.transforms._partition import LABELS
from optimizer_registry import all_entries, valid_value

# Public functions that return a GradientTransformation but build none of their own.
NOT_CONSTRUCTORS = {
    "chain": "combines transformations given positionally; it has no hyperparameters",
    "scheduled_transformation": "the mechanism every declared constructor is built with",
}


def _returns_a_transformation(value):
    if not inspect.isfunction(value):
        return False
    annotation = inspect.signature(value).return_annotation
    return annotation in (fromax.GradientTransformation, "GradientTransformation")


def test_every_declared_optimizer_has_a_float64_reference_entry():
    entries = {e.name for e in all_entries()}
    optimizers = {s.name for s in declared("optimizer")}
    assert entries - optimizers == set(), "registry entries for optimisers nobody declared"
    assert optimizers - entries == set(), (
        "declared optimisers without an Entry (a float64 reference) in tests/optimizers"
    )


def test_every_public_constructor_is_declared():
    constructors = {
        name
        for name in fromax.__all__
        if _returns_a_transformation(getattr(fromax, name)) and name not in NOT_CONSTRUCTORS
    }
    assert len(constructors) >= 25
    names = {s.name for s in declared(None)}
    assert constructors - names == set(), "public constructors without @declare"
    assert names - set(fromax.__all__) == set(), "declared names that fromax does not export"
    for name in names:
        assert getattr(fromax, name) is spec(name).constructor


def _wrong(hyperparameter):
    """A value of the wrong type for the hyperparameter's kind, and what it is called."""
    kind = hyperparameter.kind
    if isinstance(kind, Number | Real):
        return "fast"
    if isinstance(kind, Integer):
        return 2.5
    if isinstance(kind, Flag):
        return "false"
    if isinstance(kind, Choice):
        return "none of them"
    if kind is LABELS:
        return [1, 2]  # a list of strings would be labels
    return "a string" if kind is TRANSFORMATION else ["a", "list"]


@pytest.mark.parametrize("declaration", declared(None), ids=lambda s: s.name)
def test_declared_arguments_are_checked_by_name(declaration):
    valid = {h.name: valid_value(h) for h in declaration.hyperparameters}
    declaration.constructor(**valid)
    for hyperparameter in declaration.hyperparameters:
        where = f"{declaration.name}'s {hyperparameter.name} must be"
        with pytest.raises((TypeError, ValueError), match=where):
            declaration.constructor(**{**valid, hyperparameter.name: _wrong(hyperparameter)})
        if hyperparameter.optional:
            declaration.constructor(**{**valid, hyperparameter.name: None})
        else:
            with pytest.raises(TypeError, match=f"{where} .*, got None"):
                declaration.constructor(**{**valid, hyperparameter.name: None})


@pytest.mark.parametrize("declaration", declared(None), ids=lambda s: s.name)
def test_declarations_read_well(declaration):
    assert declaration.summary and "\n" not in declaration.summary
    for hyperparameter in declaration.hyperparameters:
        assert hyperparameter.doc and "\n" not in hyperparameter.doc, hyperparameter.name
        # Optional only where None means something: a default of None is optional.
        if hyperparameter.default is None:
            assert hyperparameter.optional, hyperparameter.name
