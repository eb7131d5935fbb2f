"""``masked``: a transformation applied to some of the parameters only."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from fromax._core._mask import MASK, resolve_mask
from fromax._core._registry import Hyperparameter, declare
from fromax._core._transformation import (
    TRANSFORMATION,
    GradientTransformation,
    check_state,
    forward_extra,
)
from fromax._core._tree import flatten_up_to, is_none
from fromax._core._types import Mask, TransformationLike

__all__ = ["MaskedState", "masked", "select_leaves"]


class MaskedState(NamedTuple):
    """``masked``'s state: the inner transformation's, and nothing else.

    Attributes:
        inner: the inner transformation's state, for the selected leaves.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.masked(fromax.sgd(0.1), {'w': True}).init({'w': jnp.ones((2, 2))})
        >>> type(state).__name__, int(state.inner.count)
        ('MaskedState', 0)
    """

    inner: Any


def select_leaves(tree: Any, flags: Any) -> Any:
    """``tree`` with None in place of each leaf whose flag is False."""
    return jax.tree.map(lambda x, on: x if on else None, tree, flags, is_leaf=is_none)


@declare(
    Hyperparameter("inner", TRANSFORMATION, "the transformation to apply"),
    Hyperparameter(
        "mask", MASK, "True where inner applies", optional=True, none_means="every leaf"
    ),
    summary="applies a transformation to the leaves a mask selects; the others pass through",
    role="transform",
)
def masked(inner: TransformationLike, mask: Mask) -> GradientTransformation:
    """Applies ``inner`` to the leaves ``mask`` selects; the others pass through unchanged.

    ``inner`` sees the parameters and updates with None in place of the
    leaves left out (fromax's transformations and optax's skip None leaves),
    so its state holds nothing for them. Its hyperparameters stay visible to
    :func:`~fromax.hyperparams` and :func:`~fromax.set_hyperparams`. Extra
    keyword arguments to ``update`` are passed on to ``inner``'s.

    Args:
        inner: a transformation (fromax's or optax's).
        mask: a pytree of bools (the parameters' structure, or a prefix of
            it), or a callable ``params -> pytree of bools``: True where
            ``inner`` applies. A callable is given the parameters at ``init``
            and the updates at ``update`` (as optax's ``masked``).

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is a
        :class:`MaskedState`.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> no_bias = lambda p: jax.tree.map(lambda x: x.ndim > 1, p)
        >>> opt = fromax.chain(
        ...     fromax.masked(fromax.add_decayed_weights(0.5), no_bias),
        ...     fromax.scale_by_learning_rate(0.1))
        >>> params = {"w": jnp.ones((1, 2)), "b": jnp.ones(2)}
        >>> state = opt.init(params)
        >>> updates, state = opt.update(jax.tree.map(jnp.zeros_like, params), state, params)
        >>> updates["w"], updates["b"]
        (Array([[-0.05, -0.05]], dtype=float32), Array([0., 0.], dtype=float32))
        >>> sorted(fromax.hyperparams(state))
        ['learning_rate', 'weight_decay']
    """
    inner_update = forward_extra(inner)

    def init(params: Any) -> MaskedState:
        flags = resolve_mask(mask, params, "mask", "masked")
        return MaskedState(inner.init(select_leaves(params, flags)))

    def update(
        updates: Any, state: MaskedState, params: Any = None, **extra: Any
    ) -> tuple[Any, MaskedState]:
        check_state(state, MaskedState, "masked")
        flags = resolve_mask(mask, updates, "mask", "masked")
        chosen_params = None if params is None else select_leaves(params, flags)
        new, inner_state = inner_update(
            select_leaves(updates, flags), state.inner, chosen_params, **extra
        )
        treedef = jax.tree.structure(updates, is_leaf=is_none)
        merged = [
            n if on else u
            for u, on, n in zip(
                flatten_up_to(treedef, updates),
                flatten_up_to(treedef, flags),
                flatten_up_to(treedef, new),
                strict=True,
            )
        ]
        return jax.tree.unflatten(treedef, merged), MaskedState(inner_state)

    return GradientTransformation(init, update)
