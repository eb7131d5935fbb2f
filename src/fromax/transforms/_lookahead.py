"""``lookahead``: k fast steps forward, then the slow weights move alpha of the way."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import UNIT_INTERVAL
from fromax._core._registry import Hyperparameter, Integer, Number, declare, schedulable
from fromax._core._transformation import (
    TRANSFORMATION,
    GradientTransformation,
    check_state,
    forward_extra,
)
from fromax._core._tree import copy_in_compute_dtype, map_arrays
from fromax._core._types import PyTree, ScalarOrSchedule, TransformationLike
from fromax.transforms._scheduled_wrapper import scheduled_wrapper

__all__ = ["LookaheadState", "lookahead"]


class LookaheadState(NamedTuple):
    """``lookahead``'s own state (its ``TransformState``'s ``inner``).

    Attributes:
        slow: the slow weights, like the parameters, in float32 (or wider).
            Right after a synchronising step the parameters equal them (to
            a rounding); evaluate the model at them.
        since_sync: int32, fast steps taken since the last synchronisation
            (0 to sync_period - 1).
        inner: the fast optimiser's state.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.lookahead(fromax.sgd(0.1)).init(jnp.ones(2))
        >>> state.inner.slow, int(state.inner.since_sync)
        (Array([1., 1.], dtype=float32), 0)
    """

    slow: PyTree
    since_sync: jax.Array
    inner: Any


@declare(
    Hyperparameter("inner", TRANSFORMATION, "the fast optimiser"),
    Hyperparameter("sync_period", Integer(minimum=1), "k: fast steps per synchronisation"),
    Hyperparameter("alpha", Number(UNIT_INTERVAL), "how far the slow weights move to the fast"),
    summary="Lookahead: k fast steps, then the slow weights move alpha of the way "
    "(Zhang et al., NeurIPS 2019)",
    role="transform",
)
def lookahead(
    inner: TransformationLike, sync_period: int = 5, alpha: ScalarOrSchedule = 0.5
) -> GradientTransformation:
    """Lookahead around a fast optimiser: the parameters you hold are the fast weights.

    With slow weights phi (phi_0 = the initial parameters) and k =
    ``sync_period``, each block of k calls runs ``inner`` on the fast weights
    theta from theta = phi; at the k-th call (t = k-1, 2k-1, ..., 0-based)::

        theta_k = theta_{k-1} + inner's update
        phi <- phi + alpha (theta_k - phi);   theta <- phi

    so the update returned at that call takes the parameters straight to the
    new phi, and a plain loop (``update``, ``apply_updates``) runs the
    paper's algorithm. optax's ``lookahead`` returns the same fast weights
    but needs its ``LookaheadParams`` (fast and slow) in place of the
    parameters; here the slow weights stay in the state
    (``state.inner.slow``), in float32. ``inner``'s state is carried across
    synchronisations (optax's ``reset_state=False``).

    Use the updates as returned: they assume the parameters moved by the
    previous ones. Extra keyword arguments to ``update`` are passed on to
    ``inner``'s.

    Args:
        inner: the fast optimiser (fromax's or optax's).
        sync_period: k >= 1 (static), default 5.
        alpha: in [0, 1], default 0.5: a number, a JAX scalar, a schedule or
            a callable ``step -> alpha``, read at each synchronising call.

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is a
        ``TransformState`` holding ``alpha`` and a :class:`LookaheadState`.
        ``update`` needs ``params``.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.lookahead(fromax.sgd(1.0), sync_period=2, alpha=0.5)
        >>> params = jnp.array([0.0])
        >>> state = opt.init(params)
        >>> for _ in range(2):  # fast: 0 -> -1 -> -2; slow: 0 + 0.5 (-2 - 0) = -1
        ...     updates, state = opt.update(jnp.array([1.0]), state, params)
        ...     params = fromax.apply_updates(params, updates)
        >>> params, state.inner.slow, fromax.hyperparams(state)
        (Array([-1.], dtype=float32), Array([-1.], dtype=float32), \
{'learning_rate': Array(1., dtype=float32), 'alpha': Array(0.5, dtype=float32)})

    References:
        Zhang, Lucas, Hinton, Ba, Lookahead optimizer: k steps forward, 1
        step back, NeurIPS 2019 (arXiv 1907.08610).
    """
    k = int(sync_period)
    inner_update = forward_extra(inner)

    def init(params: Any) -> LookaheadState:
        slow = copy_in_compute_dtype(params)
        return LookaheadState(slow, jnp.zeros((), jnp.int32), inner.init(params))

    def update(updates, state, params, values, step, **extra):
        del step
        check_state(state, LookaheadState, "lookahead")
        fast_updates, inner_state = inner_update(updates, state.inner, params, **extra)
        sync = state.since_sync == k - 1
        alpha = values["alpha"]

        def one(p, u, slow):
            fast = p.astype(slow.dtype) + u.astype(slow.dtype)
            new_slow = slow + alpha * (fast - slow)
            jump = (new_slow - p.astype(slow.dtype)).astype(p.dtype)
            return jnp.where(sync, jump, u.astype(p.dtype)), jnp.where(sync, new_slow, slow)

        new, slow = map_arrays(
            one,
            params,
            fast_updates,
            state.slow,
            names=("params", "inner's updates", "state.slow"),
            outputs=2,
        )
        since_sync = jnp.where(sync, 0, state.since_sync + 1).astype(jnp.int32)
        return new, LookaheadState(slow, since_sync, inner_state)

    return scheduled_wrapper(
        "lookahead", schedulable("lookahead", alpha=alpha), init, update, needs_params=True
    )
