"""``accumulate_gradients``: average k steps' gradients, apply once every k steps."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._hyperparams import scheduled_transformation
from fromax._core._registry import Hyperparameter, Integer, declare
from fromax._core._transformation import TRANSFORMATION, GradientTransformation
from fromax._core._tree import map_arrays
from fromax._core._types import TransformationLike
from fromax.transforms._building_blocks import zeros_in_compute_dtype

__all__ = ["AccumulateState", "accumulate_gradients"]


class AccumulateState(NamedTuple):
    """``accumulate_gradients``'s own state.

    Attributes:
        accumulated: the sum of the gradients since the last applied step, a
            pytree like the parameters in float32 (or wider).
        inner: the inner transformation's state.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.accumulate_gradients(fromax.sgd(0.1), every_k=2)
        >>> state = opt.init({'w': jnp.ones((2, 2))})
        >>> type(state.inner).__name__
        'AccumulateState'
    """

    accumulated: Any
    inner: Any


@declare(
    Hyperparameter("inner", TRANSFORMATION, "the transformation to apply to the mean"),
    Hyperparameter("every_k", Integer(minimum=1), "k: how many steps' gradients to average"),
    summary="averages k steps' gradients and applies a transformation to the mean every k steps",
    role="transform",
)
def accumulate_gradients(inner: TransformationLike, every_k: int) -> GradientTransformation:
    """Averages the gradients of ``every_k`` steps and applies ``inner`` to the mean.

    At steps k-1, 2k-1, ... (0-based) the updates are ``inner``'s update of
    the mean of the last k gradients; at the other steps they are zeros and
    ``inner``'s state does not change. So ``inner``'s step count, and its
    schedules, advance once per k steps: an optimiser scheduled over N
    applied steps runs N * k calls. The same semantics as optax's
    ``MultiSteps`` with ``use_grad_mean=True``; the sum is kept in float32
    (or wider).

    Args:
        inner: a transformation (fromax's or optax's).
        every_k: k, a Python int >= 1 (static: it sets the state's cadence).

    Returns:
        A :class:`~fromax.GradientTransformation` whose state's ``inner`` is an
        :class:`AccumulateState`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.accumulate_gradients(fromax.sgd(1.0), every_k=2)
        >>> state = opt.init(jnp.zeros(1))
        >>> first, state = opt.update(jnp.array([1.0]), state)
        >>> second, state = opt.update(jnp.array([3.0]), state)
        >>> first, second
        (Array([0.], dtype=float32), Array([-2.], dtype=float32))
    """
    k = int(every_k)

    def init(params):
        return AccumulateState(zeros_in_compute_dtype(params), inner.init(params))

    def update(updates, state, params, hyper, step):
        del hyper
        total = map_arrays(
            lambda s, g: s + g.astype(s.dtype),
            state.accumulated,
            updates,
            names=("state.accumulated", "updates"),
        )
        zeros = map_arrays(jnp.zeros_like, updates, names=("updates",))

        def apply(total, inner_state):
            mean = map_arrays(
                lambda s, g: (s / k).astype(g.dtype), total, updates, names=("sum", "updates")
            )
            new, inner_state = inner.update(mean, inner_state, params)
            new = map_arrays(
                lambda n, g: n.astype(g.dtype), new, updates, names=("inner's updates", "updates")
            )
            return new, map_arrays(jnp.zeros_like, total, names=("sum",)), inner_state

        def wait(total, inner_state):
            return zeros, total, inner_state

        new, total, inner_state = jax.lax.cond((step + 1) % k == 0, apply, wait, total, state.inner)
        return new, AccumulateState(total, inner_state)

    return scheduled_transformation("accumulate_gradients", {}, init, update)
