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
    "check_state",
    "check_transformation",
    "forward_extra",
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
    """Raises TypeError unless ``value`` has callable ``init`` and ``update`` (fromax's or optax's).

    ``where`` names the argument: ``"masked's inner"``, ``"chain's argument 0"``.
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


def forward_extra(transform: Any) -> Callable[..., tuple[Any, Any]]:
    """``transform.update`` as ``update(updates, state, params=None, **extra)``.

    Extra keyword arguments reach an ``update`` that takes ``**kwargs`` (every
    fromax transformation, optax's ``GradientTransformationExtraArgs``) and
    are dropped for one that does not (optax's plain transformations), as
    optax's ``chain`` does.
    """
    if _accepts_extra_args(transform.update):
        return transform.update

    def update(updates: Any, state: Any, params: Any = None, **extra: Any) -> tuple[Any, Any]:
        del extra
        return transform.update(updates, state, params)

    return update


def check_state(state: Any, expected: type, owner: str) -> None:
    """Raises TypeError unless ``state`` is an ``expected``, the state ``owner``'s init returns."""
    if not isinstance(state, expected):
        raise TypeError(
            f"{owner}'s update was given a {type(state).__name__}: pass the state that "
            f"{owner}'s init(params) returned"
        )


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
    update_fns = tuple(forward_extra(t) for t in transforms)

    def init(params: Any) -> tuple[Any, ...]:
        return tuple(t.init(params) for t in transforms)

    def update(updates: Any, state: Any, params: Any = None, **extra: Any):
        if not isinstance(state, tuple) or len(state) != len(transforms):
            raise ValueError(
                f"state must be the tuple of {len(transforms)} states that this chain's "
                f"init returns; call init(params) first"
            )
        new_state = []
        for update_fn, s in zip(update_fns, state, strict=True):
            updates, s = update_fn(updates, s, params, **extra)
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
