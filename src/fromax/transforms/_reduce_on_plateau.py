"""``reduce_on_plateau``: scale the updates down when a monitored value stops improving."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import NONNEGATIVE, UNIT_INTERVAL, Bounds
from fromax._core._hyperparams import TransformState
from fromax._core._registry import (
    INT32_MAX,
    Hyperparameter,
    Number,
    WholeNumber,
    declare,
    schedulable,
)
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import scale_in_compute_dtype
from fromax._core._types import ScalarOrSchedule
from fromax.schedules import constant
from fromax.transforms._scheduled_wrapper import hyperparameter_clock, whole_value

__all__ = ["PlateauState", "reduce_on_plateau"]

_OWNER = "reduce_on_plateau"


class PlateauState(NamedTuple):
    """``reduce_on_plateau``'s own state (its ``TransformState``'s ``inner``).

    The current scale is not here: it is the ``scale`` hyperparameter
    (``fromax.hyperparams(state)["scale"]``).

    Attributes:
        best_value: float32, the best (lowest) averaged value so far (inf at first).
        plateau_count: int32, averaged values in a row without improvement.
        cooldown_count: int32, averaged values still to wait after a reduction.
        held: int32, values in the current average (0 to accumulation_size - 1).
        average: float32, the mean of the values since the last check.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.reduce_on_plateau().init(jnp.zeros(2))
        >>> state.inner.best_value, int(state.inner.plateau_count)
        (Array(inf, dtype=float32), 0)
    """

    best_value: jax.Array
    plateau_count: jax.Array
    cooldown_count: jax.Array
    held: jax.Array
    average: jax.Array


def _increment(count: jax.Array) -> jax.Array:
    return jnp.where(count < INT32_MAX, count + 1, count).astype(jnp.int32)


def _check(state: PlateauState, scale: jax.Array, h: dict[str, jax.Array]):
    """optax's ``_update_scale``: one comparison of an averaged value with the best."""
    patience, cooldown = whole_value(h["patience"], 1), whole_value(h["cooldown"], 0)
    improved = state.average < (1 - h["rtol"]) * state.best_value - h["atol"]
    best = jnp.where(improved, state.average, state.best_value)
    plateau = jnp.where(improved, 0, _increment(state.plateau_count))
    cooling = state.cooldown_count > 0
    # >= rather than optax's ==: a patience lowered below the current count still acts.
    hit = ~cooling & (plateau >= patience)
    new_scale = jnp.where(
        cooling, scale, jnp.maximum(jnp.where(hit, scale * h["factor"], scale), h["min_scale"])
    )
    plateau = jnp.where(cooling | hit, 0, plateau)
    cooldown_count = jnp.where(cooling, state.cooldown_count - 1, jnp.where(hit, cooldown, 0))
    zero = jnp.zeros((), jnp.int32)
    checked = PlateauState(
        best, plateau.astype(jnp.int32), cooldown_count.astype(jnp.int32), zero, state.average * 0
    )
    return checked, new_scale.astype(jnp.float32)


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and value == 0


_FACTOR = Bounds(minimum=0.0, maximum=1.0, exclusive_minimum=True, exclusive_maximum=True)


@declare(
    Hyperparameter("factor", Number(_FACTOR), "the scale is multiplied by this at a plateau"),
    Hyperparameter("patience", WholeNumber(minimum=1), "checks without improvement to wait"),
    Hyperparameter("rtol", Number(UNIT_INTERVAL), "relative improvement needed"),
    Hyperparameter("atol", Number(NONNEGATIVE), "absolute improvement needed"),
    Hyperparameter("cooldown", WholeNumber(minimum=0), "checks to wait after a reduction"),
    Hyperparameter("accumulation_size", WholeNumber(minimum=1), "values averaged per check"),
    Hyperparameter("min_scale", Number(NONNEGATIVE), "the scale is never reduced below this"),
    summary="scales the updates down by a factor when the value passed stops improving",
    role="transform",
)
def reduce_on_plateau(
    factor: ScalarOrSchedule = 0.1,
    patience: int | ScalarOrSchedule = 10,
    rtol: ScalarOrSchedule = 1e-4,
    atol: ScalarOrSchedule = 0.0,
    cooldown: int | ScalarOrSchedule = 0,
    accumulation_size: int | ScalarOrSchedule = 1,
    min_scale: ScalarOrSchedule = 0.0,
) -> GradientTransformation:
    """Multiplies the updates by a scale that drops by ``factor`` when a value stops improving.

    optax's ``optax.contrib.reduce_on_plateau``, with every argument a
    hyperparameter held as data, and the scale one too. ``update`` takes the
    monitored value (a loss) as ``value``: ``update(updates, state, params,
    value=loss)`` (``fromax.chain`` and the wrappers pass it on). Each call
    adds it to a running mean; every ``accumulation_size`` calls the mean is
    compared with the best so far: it improves if it is below
    ``(1 - rtol) * best - atol``. After ``patience`` checks in a row without
    improvement the scale becomes ``max(scale * factor, min_scale)``, and
    the next ``cooldown`` checks change nothing. The updates are multiplied
    by the scale after this step's check.

    Chained after an optimiser, ``fromax.chain(fromax.adam(lr),
    fromax.reduce_on_plateau())``, the effective learning rate is ``lr *
    scale``. :func:`~fromax.hyperparams` reports ``scale`` (the one the
    latest update used; 1 at first) with the other hyperparameters, and
    :func:`~fromax.set_hyperparams` changes any of them without a retrace
    (``set_hyperparams(state, scale=1.0)`` restores the full step; give the
    scale a number: the controller keeps it a constant).

    ``patience``, ``cooldown`` and ``accumulation_size`` are counts: Python
    ints, or schedules and JAX scalars rounded to the nearest integer. A
    patience reached while it is lowered acts at the next check (optax
    compares with ``==``, fromax with ``>=``).

    Args:
        factor: in (0, 1), default 0.1.
        patience: >= 1, default 10.
        rtol: in [0, 1], default 1e-4.
        atol: >= 0, default 0; rtol and atol may not both be 0.
        cooldown: >= 0, default 0.
        accumulation_size: >= 1, default 1 (a validation loss); more for the
            noisy losses of minibatches.
        min_scale: >= 0, default 0.

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is a
        ``TransformState`` whose ``inner`` is a :class:`PlateauState`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.reduce_on_plateau(factor=0.5, patience=2)
        >>> state = opt.init(jnp.zeros(1))
        >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0]:
        ...     updates, state = opt.update(jnp.ones(1), state, value=loss)
        >>> updates, fromax.hyperparams(state)["scale"]
        (Array([0.5], dtype=float32), Array(0.5, dtype=float32))
    """
    if _is_zero(rtol) and _is_zero(atol):
        raise ValueError("reduce_on_plateau's rtol and atol are both 0: make one of them > 0")
    numbers = schedulable(
        _OWNER,
        factor=factor,
        patience=patience,
        rtol=rtol,
        atol=atol,
        cooldown=cooldown,
        accumulation_size=accumulation_size,
        min_scale=min_scale,
    )

    def init(params: Any) -> PlateauState:
        del params
        zero = jnp.zeros((), jnp.int32)
        inf = jnp.full((), jnp.inf, jnp.float32)
        return PlateauState(inf, zero, zero, zero, jnp.zeros((), jnp.float32))

    clock = hyperparameter_clock(_OWNER, {**numbers, "scale": (1.0, NONNEGATIVE)}, init)
    scale_tree = jax.tree.structure(constant(1.0))

    def update(
        updates: Any, state: TransformState, params: Any = None, **extra: Any
    ) -> tuple[Any, TransformState]:
        del params
        if extra.get("value") is None:
            raise ValueError(
                "reduce_on_plateau needs the monitored value: call "
                "update(updates, state, params, value=loss)"
            )
        h, ticked = clock.update(None, state)  # checks the state's owner
        plateau: PlateauState = state.inner
        value = jnp.asarray(extra["value"]).astype(jnp.float32)
        held = _increment(plateau.held)
        average = (plateau.held.astype(jnp.float32) * plateau.average + value) / held.astype(
            jnp.float32
        )
        gathered = plateau._replace(held=held, average=average)
        checked, checked_scale = _check(gathered, h["scale"], h)
        due = held >= whole_value(h["accumulation_size"], 1)
        plateau = jax.tree.map(lambda a, b: jnp.where(due, a, b), checked, gathered)
        scale = jnp.where(due, checked_scale, h["scale"])
        scaled = scale_in_compute_dtype(scale, updates)
        # The scale is a hyperparameter: the next update starts from this one.
        schedules = {**ticked.schedules, "scale": jax.tree.unflatten(scale_tree, [scale])}
        values = {**ticked.hyperparams, "scale": scale}
        return scaled, dataclasses.replace(
            ticked, schedules=schedules, hyperparams=values, inner=plateau
        )

    return GradientTransformation(clock.init, update)
