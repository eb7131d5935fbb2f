"""``schedule_free``: schedule-free averaging (Defazio et al., 2024) around any optimiser."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import NONNEGATIVE, POSITIVE_FRACTION
from fromax._core._hyperparams import hyperparams as read_hyperparams
from fromax._core._registry import Hyperparameter, Number, declare, schedulable
from fromax._core._transformation import (
    TRANSFORMATION,
    GradientTransformation,
    check_state,
    forward_extra,
)
from fromax._core._tree import copy_in_compute_dtype, map_arrays
from fromax._core._types import PyTree, ScalarOrSchedule, TransformationLike
from fromax.transforms._schedule_free_average import averaging_weight, change_of_parameters
from fromax.transforms._scheduled_wrapper import scheduled_wrapper

__all__ = ["ScheduleFreeWrapperState", "schedule_free"]


class ScheduleFreeWrapperState(NamedTuple):
    """``schedule_free``'s own state (its ``TransformState``'s ``inner``).

    Attributes:
        z: the base optimiser's iterate, like the parameters, in float32 (or wider).
        weight_sum: the float32 sum of the averaging weights so far.
        max_learning_rate: the largest learning rate so far, float32.
        b1: the b1 that formed the current parameters (1 before the first update).
        base: the base optimiser's state.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.schedule_free(fromax.sgd(0.1)).init(jnp.array([1.0, 2.0]))
        >>> state.inner.z, int(state.inner.base.count)
        (Array([1., 2.], dtype=float32), 0)
    """

    z: PyTree
    weight_sum: jax.Array
    max_learning_rate: jax.Array
    b1: jax.Array
    base: Any


def _base_learning_rate(base_state: Any) -> jax.Array | None:
    """The one ``learning_rate`` the base optimiser's state reports, or None."""
    found = [
        value
        for key, value in read_hyperparams(base_state).items()
        if key == "learning_rate" or key.endswith("/learning_rate")
    ]
    return found[0] if len(found) == 1 else None


@declare(
    Hyperparameter("base", TRANSFORMATION, "the optimiser whose steps move z"),
    Hyperparameter(
        "learning_rate",
        Number(NONNEGATIVE),
        "the learning rate that weighs the average",
        optional=True,
        none_means="the base optimiser's own learning_rate, read from its state",
    ),
    Hyperparameter("b1", Number(POSITIVE_FRACTION), "the interpolation between x and z"),
    Hyperparameter(
        "weight_lr_power", Number(NONNEGATIVE), "p: the averaging weights are lr_max**p"
    ),
    summary="Schedule-free averaging around any optimiser (Defazio et al., NeurIPS 2024)",
    role="transform",
)
def schedule_free(
    base: TransformationLike,
    learning_rate: ScalarOrSchedule | None = None,
    b1: ScalarOrSchedule = 0.9,
    weight_lr_power: ScalarOrSchedule = 2.0,
) -> GradientTransformation:
    """Makes ``base`` schedule-free: its steps move z; you hold y; evaluate at x.

    optax's ``optax.contrib.schedule_free``. At update t = 0, 1, ..., with
    the parameters y and u the base optimiser's update of the gradient at y::

        z <- z + u                                          (z_0 = y_0)
        c = lrmax_t**p / sum_{i <= t} lrmax_i**p,  lrmax_t = max_{i <= t} lr_i
        x <- (1 - c) x + c z                                (x_0 = y_0)
        y <- b1 x + (1 - b1) z

    Evaluate the model at x: :func:`~fromax.schedule_free_eval_params`. Turn
    the base optimiser's momentum off (``fromax.adam(lr, b1=0.0)``,
    ``fromax.sgd(lr)``): the interpolation replaces it. Extra keyword
    arguments to ``update`` are passed on to the base's.

    The learning rate lr_t that weighs the average is, by default, the one
    the base optimiser used at this step (read from its state: it must
    report exactly one ``learning_rate``); pass ``learning_rate`` for an optax
    base or to weigh with another schedule, evaluated at t. optax evaluates
    its ``learning_rate`` at t + 1 (its count starts at 1) while its base
    evaluates at t; with a constant learning rate the two agree. z is kept
    in float32 (or wider); b1 may be scheduled (x is recovered with the b1
    that formed y).

    Args:
        base: the optimiser (fromax's or optax's), without momentum.
        learning_rate: None (the base's), or >= 0.
        b1: the interpolation in (0, 1], default 0.9.
        weight_lr_power: p >= 0, default 2.

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is a
        ``TransformState`` holding ``b1``, ``weight_lr_power`` (and
        ``learning_rate`` if given) and a :class:`ScheduleFreeWrapperState`.
        ``update`` needs ``params``.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.schedule_free(fromax.sgd(0.5), b1=0.5)
        >>> params = jnp.array([4.0])
        >>> state = opt.init(params)
        >>> for _ in range(2):  # as fromax.schedule_free_sgd(0.5, b1=0.5)
        ...     updates, state = opt.update(jnp.array([2.0]), state, params)
        ...     params = fromax.apply_updates(params, updates)
        >>> params, fromax.schedule_free_eval_params(state, params)  # y = 2.25, x = 2.5
        (Array([2.25], dtype=float32), Array([2.5], dtype=float32))

    References:
        Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky, The road less
        scheduled, NeurIPS 2024 (arXiv 2405.15682).
    """
    base_update = forward_extra(base)
    numbers = {"b1": b1, "weight_lr_power": weight_lr_power}
    if learning_rate is not None:
        numbers["learning_rate"] = learning_rate

    def init(params: Any) -> ScheduleFreeWrapperState:
        base_state = base.init(params)
        if learning_rate is None and _base_learning_rate(base_state) is None:
            raise ValueError(
                "schedule_free's base does not report exactly one learning_rate: pass "
                "schedule_free(base, learning_rate=...)"
            )
        z = copy_in_compute_dtype(params)
        zero = jnp.zeros((), jnp.float32)
        return ScheduleFreeWrapperState(z, zero, zero, jnp.ones((), jnp.float32), base_state)

    def update(updates, state, params, values, step, **extra):
        del step
        check_state(state, ScheduleFreeWrapperState, "schedule_free")
        base_updates, base_state = base_update(updates, state.base, params, **extra)
        if learning_rate is None:
            lr = _base_learning_rate(base_state)
        else:
            lr = values["learning_rate"]
        lr = jnp.asarray(lr).astype(jnp.float32)
        b1_now = values["b1"]
        c, max_lr, weight_sum = averaging_weight(
            state.max_learning_rate, state.weight_sum, lr, values["weight_lr_power"]
        )

        def one(y, u, z):
            new_z = z + u.astype(z.dtype)
            return change_of_parameters(y, z, new_z, state.b1, b1_now, c), new_z

        new, z = map_arrays(
            one,
            params,
            base_updates,
            state.z,
            names=("params", "base's updates", "state.z"),
            outputs=2,
        )
        return new, ScheduleFreeWrapperState(z, weight_sum, max_lr, b1_now, base_state)

    hyper = schedulable("schedule_free", **numbers)
    return scheduled_wrapper("schedule_free", hyper, init, update, needs_params=True)
