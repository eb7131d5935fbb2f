"""Clipping the updates: element-wise (``clip``) and by their global norm."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from fromax._core._bounds import NONNEGATIVE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._numerics import safe_ratio, squared_norm
from fromax._core._registry import Hyperparameter, Number, declare, schedulable
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays, scale_in_compute_dtype
from fromax._core._types import PyTree, ScalarOrSchedule

__all__ = ["clip", "clip_by_global_norm", "global_norm"]


def global_norm(tree: PyTree) -> jax.Array:
    """The Euclidean norm of all the arrays in ``tree`` together, in float32 (or wider).

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> float(fromax.global_norm({"a": jnp.array([3.0]), "b": jnp.array([[4.0]])}))
        5.0
    """
    squares = [squared_norm(x.astype(compute_dtype(x.dtype))) for x in jax.tree.leaves(tree)]
    return jnp.sqrt(sum(squares)) if squares else jnp.zeros((), jnp.float32)


@declare(
    Hyperparameter("max_delta", Number(NONNEGATIVE), "the largest |u| of an element"),
    summary="clips every element of the updates to [-max_delta, max_delta]",
    role="transform",
)
def clip(max_delta: ScalarOrSchedule) -> GradientTransformation:
    """Clips every element of the updates to ``[-max_delta, max_delta]``.

    Args:
        max_delta: >= 0: a number, a JAX scalar, a schedule or a callable.

    Returns:
        A :class:`~fromax.GradientTransformation`; updates keep their dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.clip(1.0)
        >>> opt.update(jnp.array([-3.0, 0.5, 2.0]), opt.init(jnp.zeros(3)))[0]
        Array([-1. ,  0.5,  1. ], dtype=float32)
    """

    def update(updates, state, params, hyper, step):
        del params, step
        limit = hyper["max_delta"]

        def one(u):
            x = u.astype(compute_dtype(u.dtype))
            return jnp.clip(x, -limit, limit).astype(u.dtype)

        return map_arrays(one, updates, names=("updates",)), state

    return scheduled_transformation(
        "clip",
        schedulable("clip", max_delta=max_delta),
        lambda params: None,
        update,
        complex_refused="complex numbers have no order to clip by",
    )


@declare(
    Hyperparameter("max_norm", Number(NONNEGATIVE), "the largest global norm of the updates"),
    summary="scales the updates down so that their global norm is at most max_norm",
    role="transform",
)
def clip_by_global_norm(max_norm: ScalarOrSchedule) -> GradientTransformation:
    """Scales the updates down so that their global norm is at most ``max_norm``.

    With n the norm of all the updates together (:func:`global_norm`)::

        u <- u                      if n <= max_norm
        u <- u * max_norm / n       otherwise

    The direction is kept (Pascanu, Mikolov, Bengio 2013), as in optax's
    ``clip_by_global_norm``.

    Args:
        max_norm: >= 0: a number, a JAX scalar, a schedule or a callable.

    Returns:
        A :class:`~fromax.GradientTransformation`; updates keep their dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.clip_by_global_norm(1.0)
        >>> opt.update({"a": jnp.array([3.0, 4.0])}, opt.init({"a": jnp.zeros(2)}))[0]
        {'a': Array([0.6, 0.8], dtype=float32)}

    References:
        Pascanu, Mikolov, Bengio, On the difficulty of training recurrent
        neural networks, ICML 2013 (arXiv 1211.5063).
    """

    def update(updates, state, params, hyper, step):
        del params, step
        limit = hyper["max_norm"]
        norm = global_norm(updates)
        clipped = norm > limit
        scale = safe_ratio(limit, norm, clipped, 1)
        return scale_in_compute_dtype(scale, updates), state

    return scheduled_transformation(
        "clip_by_global_norm",
        schedulable("clip_by_global_norm", max_norm=max_norm),
        lambda params: None,
        update,
    )
