"""One registry of optimisers: how to build each, test values, and its float64 reference.

A new optimiser is tested by adding one ``Entry``: the contract suite
(``test_optimizer_contract.py``) runs every entry through the same checks.
Entries live in this file and in ``optimizer_registry_blocks.py`` and
``optimizer_registry_standalone.py`` (one per group of optimisers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

import fromax
import reference
from fromax import schedules
from fromax._core._mask import MASK
from fromax._core._registry import DType, Flag, Integer, Number, Real, WholeNumber, spec
from fromax._core._transformation import TRANSFORMATION
from fromax.transforms._partition import LABELS, TRANSFORMS


@dataclasses.dataclass(frozen=True)
class Entry:
    """How the contract suite builds and checks one optimiser.

    Attributes:
        name: the public name, ``fromax.<name>``.
        make: the constructor, e.g. ``fromax.adam``.
        hyperparams: a constant test value for EVERY numeric hyperparameter
            of ``make`` (the suite checks none is missing), as Python numbers.
        scheduled: non-constant schedules for at least two hyperparameters
            (the learning rate and one more), used in the exactness test in
            place of the constants.
        reference_init: ``(param) -> state``: the float64 per-array initial
            state, a dict of float64 arrays/numbers (may be empty).
        reference_step: ``(param, grad, state, values, t) -> (new_param,
            new_state)``: one step for ONE array in float64, written from the
            paper's formula; ``values`` maps each hyperparameter name to its
            value at step ``t`` (0-based).
        options: non-numeric keyword arguments passed to ``make`` (e.g.
            ``{"nesterov": True}``); every other parameter of ``make`` must be
            in ``hyperparams``.
        optax: ``(**hyperparams, **options) -> optax transformation`` for the
            same algorithm, or None.
        optax_note: where fromax differs from optax and why (empty if none).
        needs_params: whether ``update`` needs ``params``.
        rtol: the exactness test's relative tolerance (at most 1e-5).
        optax_overrides: hyperparameters changed (for both libraries) in the
            comparison with optax, where the algorithms coincide only there
            (say why in ``optax_note``).
        invalid: ``((kwargs, error type, message fragment), ...)``: arguments
            that ``make`` must refuse, merged into the test hyperparameters.
            Every entry is also checked with a negative learning rate.
        convergence: arguments changed for the convergence tests (a
            quadratic, Rosenbrock, a small MLP), which run ``make`` at its
            signature defaults (``options`` are not passed) and sweep the
            learning rate around ``hyperparams["learning_rate"]`` (or this
            dict's) under a cosine decay.
        convergence_thresholds: per problem, a looser threshold for an
            optimiser that cannot meet the suite's, with the start loss, the
            measured best and the reason beside it.
    """

    name: str
    make: Callable[..., Any]
    hyperparams: dict[str, float]
    scheduled: dict[str, Any]
    reference_init: Callable[[np.ndarray], dict[str, Any]]
    reference_step: Callable[..., tuple[np.ndarray, dict[str, Any]]]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    optax: Callable[..., Any] | None = None
    optax_note: str = ""
    needs_params: bool = False
    rtol: float = 1e-5
    optax_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    invalid: tuple[tuple[dict[str, Any], type[Exception], str], ...] = ()
    convergence: dict[str, Any] = dataclasses.field(default_factory=dict)
    convergence_thresholds: dict[str, float] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:  # pytest ids
        return self.name

    @property
    def optax_options(self) -> dict[str, Any]:
        """``options`` for optax's factory: without fromax's storage dtypes (None here),
        which optax takes only in part, under other names or defaults."""
        declaration = spec(self.name)
        return {k: v for k, v in self.options.items() if not isinstance(declaration[k].kind, DType)}


def _fromage_init(param):
    return {"initial_norm": float(np.linalg.norm(param))}


def _fromage_step(param, grad, state, values, t):
    del t
    new = reference.fromage_step(
        param, grad, values["learning_rate"], state["initial_norm"], values.get("p_bound")
    )
    return new, state


FROMAGE = Entry(
    name="fromage",
    make=fromax.fromage,
    hyperparams={"learning_rate": 0.05, "p_bound": 1.5},
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=10, decay_steps=100),
        "p_bound": schedules.linear(1.2, 1.02, transition_steps=60),
    },
    reference_init=_fromage_init,
    reference_step=_fromage_step,
    optax_note="optax.fromage has no p_bound; compared in test_fromage.py without it",
    needs_params=True,
)

ENTRIES: list[Entry] = [FROMAGE]


def valid_value(hyperparameter: Any) -> Any:
    """A value a declared argument admits: its default, or one of its kind."""
    if not hyperparameter.required:
        return hyperparameter.default
    kind = hyperparameter.kind
    if kind is TRANSFORMATION:
        return fromax.sgd(0.1)
    if kind is MASK:
        return True
    if kind is TRANSFORMS:
        return {"a": fromax.sgd(0.1)}
    if kind is LABELS:
        return "a"
    if isinstance(kind, Integer | WholeNumber):
        return max(kind.minimum, 1)
    return {Number: 0.1, Real: 0.1, Flag: False}[type(kind)]


def all_entries() -> list[Entry]:
    """Every registered optimiser, in a fixed order."""
    import optimizer_registry_blocks
    import optimizer_registry_muon
    import optimizer_registry_standalone

    found = [
        *ENTRIES,
        *optimizer_registry_blocks.ENTRIES,
        *optimizer_registry_standalone.ENTRIES,
        *optimizer_registry_muon.ENTRIES,
    ]
    names = [e.name for e in found]
    assert len(names) == len(set(names)), f"duplicate registry names: {names}"
    return found
