"""Every declared argument of every declared constructor refuses bad values when built.

Generated from the declarations (``declared(None)``): each argument is given
None (where None does not mean "off"), NaN, inf, a number finite in float64
but not in float32, a string, an array of shape (2,), a bool where a number
is wanted, 2**31 where an integer is, and a non-bool where a flag is. Each
must be a TypeError or ValueError at construction whose message is one line
and names the constructor and the argument. Construction only: nothing is
compiled, so the whole file takes a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from fromax._core._mask import MASK
from fromax._core._registry import Choice, Flag, Integer, Number, Real, Tree, declared
from optimizer_registry import all_entries, valid_value

ENTRIES = {entry.name: entry for entry in all_entries()}


def _valid_arguments(declaration):
    """Arguments the constructor accepts: the test registry's where it has an entry,
    else each argument's default, or a value of its kind."""
    entry = ENTRIES.get(declaration.name)
    if entry is not None:
        return {**entry.hyperparams, **entry.options}
    return {h.name: valid_value(h) for h in declaration.hyperparameters}


def _bad_values(hyperparameter):
    """``(label, value)`` pairs the argument must refuse."""
    kind = hyperparameter.kind
    bad = [] if hyperparameter.optional else [("None", None)]
    if isinstance(kind, Tree) and kind is not MASK:
        # A transformation or labels: only None is a value of no meaning to all of them.
        return bad
    bad += [
        ("nan", float("nan")),
        ("inf", float("inf")),
        ("1e39", 1e39),
        ("string", "0.5"),
        ("array (2,)", np.ones(2, np.float32)),
    ]
    if isinstance(kind, Number | Real | Integer):
        bad += [("bool", True), ("10**400", 10**400), ("np.float64 1e39", np.float64(1e39))]
    if isinstance(kind, Integer):
        bad += [("2**31", 2**31), ("-2**31-1", -(2**31) - 1), ("float", 2.0)]
    if isinstance(kind, Flag):
        bad += [("int 1", 1), ("string false", "false")]
    if isinstance(kind, Choice):
        bad.append(("int", 3))
    return bad


CASES = [
    pytest.param(
        declaration,
        hyperparameter,
        label,
        value,
        id=f"{declaration.name}-{hyperparameter.name}-{label}",
    )
    for declaration in declared(None)
    for hyperparameter in declaration.hyperparameters
    for label, value in _bad_values(hyperparameter)
]


def test_every_declared_constructor_builds_from_its_valid_arguments():
    for declaration in declared(None):
        declaration.constructor(**_valid_arguments(declaration))


@pytest.mark.parametrize(("declaration", "hyperparameter", "label", "value"), CASES)
def test_a_bad_argument_is_refused_at_construction_in_one_line(
    declaration, hyperparameter, label, value
):
    arguments = {**_valid_arguments(declaration), hyperparameter.name: value}
    with pytest.raises((TypeError, ValueError)) as error:
        declaration.constructor(**arguments)
    message = str(error.value)
    assert "\n" not in message, message
    assert f"{declaration.name}'s {hyperparameter.name}" in message, message
