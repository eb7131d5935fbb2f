"""The optax-compatible core contract: transformations, chains, applying updates."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from fromax._core._registry import Tree
from fromax._core._tree import compute_dtype, map_arrays

__all__ = [
    "TRANSFORMATION",
    "GradientTransformation",
    "apply_updates",
    "chain",
    "check_transformation",
]


class GradientTransformation(NamedTuple):
    """A pair of pure functions, ``init`` and ``update``: optax's protocol.

    ``init(params) -> state`` builds the optimiser's state;
    ``update(updates, state, params=None, **extra) -> (updates, state)`` turns
    gradients into the updates to add to the parameters. Being a NamedTuple
    of the same two fields, a fromax transformation goes into ``optax.chain``
    and an optax one into :func:`fromax.chain`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.fromage(learning_rate=0.1)
        >>> params = {"w": jnp.ones(3)}
        >>> state = opt.init(params)
        >>> updates, state = opt.update({"w": jnp.array([1.0, 0.0, 0.0])}, state, params)
        >>> params = fromax.apply_updates(params, updates)
    """

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


def check_transformation(value: Any, where: str) -> None:
    """Raises TypeError naming ``where`` unless ``value`` has callable ``init`` and ``update``.

    fromax's transformations and optax's (or anyone's) pass: the contract is
    the two functions, not the class.
    """
    if not (callable(getattr(value, "init", None)) and callable(getattr(value, "update", None))):
        raise TypeError(
            f"{where} must be a gradient transformation (with init and update), "
            f"got {type(value).__name__}"
        )


# The kind every wrapper's inner transformation is declared with (see _registry.declare).
TRANSFORMATION = Tree(
    "a gradient transformation, fromax's or optax's (with init and update)",
    check_transformation,
)


def _accepts_extra_args(update: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(update).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def chain(*transforms: Any) -> GradientTransformation:
    """Applies transformations one after another; the state is a tuple of theirs.

    Accepts fromax and optax transformations alike (anything with ``init``
    and ``update``). Extra keyword arguments to ``update`` reach the
    transformations whose ``update`` takes ``**kwargs``.

    Args:
        *transforms: the transformations, in order.

    Returns:
        A :class:`GradientTransformation`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> from fromax import schedules
        >>> opt = fromax.chain(fromax.fromage(schedules.linear(0.0, 0.1, transition_steps=10)))
        >>> params = {"w": jnp.ones(2)}
        >>> state = opt.init(params)
        >>> updates, state = opt.update({"w": jnp.ones(2)}, state, params)
        >>> fromax.hyperparams(state)
        {'learning_rate': Array(0., dtype=float32)}
    """
    for i, t in enumerate(transforms):
        check_transformation(t, f"chain's argument {i}")
    takes_extra = tuple(_accepts_extra_args(t.update) for t in transforms)

    def init(params: Any) -> tuple[Any, ...]:
        return tuple(t.init(params) for t in transforms)

    def update(updates: Any, state: Any, params: Any = None, **extra: Any):
        if not isinstance(state, tuple) or len(state) != len(transforms):
            raise ValueError(
                f"state must be the tuple of {len(transforms)} states that this chain's "
                f"init returns; call init(params) first"
            )
        new_state = []
        for t, s, extra_ok in zip(transforms, state, takes_extra, strict=True):
            if extra_ok:
                updates, s = t.update(updates, s, params, **extra)
            else:
                updates, s = t.update(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    return GradientTransformation(init, update)


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates``, leaf by leaf, added in float32 (at least).

    Each result keeps its parameter's dtype; a None update leaves its
    parameter as it is.

    Args:
        params: the parameters.
        updates: the updates from ``update``, of the same structure.

    Returns:
        The new parameters.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> fromax.apply_updates({"w": jnp.ones(2)}, {"w": jnp.array([0.5, -1.0])})
        {'w': Array([1.5, 0. ], dtype=float32)}
    """

    def add(p: Any, u: Any) -> Any:
        if u is None:
            return p
        dtype = compute_dtype(p.dtype)
        return (p.astype(dtype) + u.astype(dtype)).astype(p.dtype)

    return map_arrays(add, params, updates, names=("params", "updates"))
