"""Schedule-free SGD and AdamW (Defazio et al., 2024), and their evaluation parameters."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import DECAY_RATE, NONNEGATIVE, POSITIVE_FRACTION
from fromax._core._hyperparams import _states, scheduled_transformation
from fromax._core._numerics import bias_correction
from fromax._core._registry import Hyperparameter, Integer, Number, declare, schedulable
from fromax._core._state_dtypes import NU_DTYPE, STATE_DTYPE
from fromax._core._storage import StateDType, load, storage_dtype, store, zeros_for_state
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays
from fromax._core._types import OptState, Params, PyTree, ScalarOrSchedule, Updates
from fromax.transforms._schedule_free_average import (
    average_from,
    averaging_weight,
    change_of_parameters,
)

__all__ = [
    "ScheduleFreeState",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
]


class ScheduleFreeState(NamedTuple):
    """The state of schedule-free SGD and AdamW, besides the step and hyperparameters.

    The parameters the user holds are y, where gradients are taken; the
    average x, where the model is evaluated, is ``(y - (1 - b1) z) / b1``
    (:func:`schedule_free_eval_params`).

    Attributes:
        z: the base optimiser's iterate, like the parameters, in float32 (or wider).
        second_moments: AdamW's moving average of g**2 (None for SGD).
        weight_sum: the float32 sum of the averaging weights so far.
        max_learning_rate: the largest (warmed-up) learning rate so far, float32.
        b1: the b1 that formed the current parameters (1 before the first update).

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.schedule_free_sgd().init(jnp.array([1.0, 2.0]))
        >>> state.inner.z, state.inner.b1  # z starts at the parameters
        (Array([1., 2.], dtype=float32), Array(1., dtype=float32))
    """

    z: PyTree
    second_moments: PyTree
    weight_sum: jax.Array
    max_learning_rate: jax.Array
    b1: jax.Array


def _interpolate(param, new_z, z_step, previous_b1, b1, c):
    """The change of y once z moved to ``new_z = z - z_step`` (x moves c of the way to it)."""
    # The old z, rebuilt from the new one (to a rounding of z): with nothing but the z
    # update reading the old z, XLA updates a donated z in place instead of copying it
    # first (XLA:CPU's copy made the step about 2x slower).
    return change_of_parameters(param, new_z + z_step, new_z, previous_b1, b1, c)


# Declared once for both: the same names, bounds and meaning.
_LEARNING_RATE = Hyperparameter("learning_rate", Number(NONNEGATIVE), "the step size on z")
_WARMUP_STEPS = Hyperparameter(
    "warmup_steps",
    Integer(minimum=1),
    "the linear warm-up's length",
    optional=True,
    none_means="no warm-up",
)
_B1 = Hyperparameter("b1", Number(POSITIVE_FRACTION), "the interpolation between x and z")
_WEIGHT_DECAY = Hyperparameter(
    "weight_decay", Number(NONNEGATIVE), "applied at y, times the learning rate", optional=True
)
_WEIGHT_LR_POWER = Hyperparameter(
    "weight_lr_power", Number(NONNEGATIVE), "p: the averaging weights are lr_max**p"
)


def _schedule_free(
    owner: str,
    numbers: dict[str, ScalarOrSchedule | None],
    warmup_steps: int | None,
    adam: bool,
    dtypes: tuple[StateDType, StateDType] = (None, None),
) -> GradientTransformation:
    """Schedule-free averaging around a plain SGD or an Adam-scaled step on z.

    ``numbers`` maps each of ``owner``'s schedulable hyperparameters to its
    value; ``dtypes`` are z's and the second moment's storage dtypes.
    """
    state_dtype, nu_dtype = dtypes
    warmup = None if warmup_steps is None else int(warmup_steps)

    def init(params: Params) -> ScheduleFreeState:
        # A copy: a state that aliased the parameters could not be donated with them.
        z = map_arrays(
            lambda p: jnp.array(p, dtype=storage_dtype(state_dtype, p), copy=True),
            params,
            names=("params",),
        )
        return ScheduleFreeState(
            z,
            zeros_for_state(params, nu_dtype) if adam else None,
            weight_sum=jnp.zeros((), jnp.float32),
            max_learning_rate=jnp.zeros((), jnp.float32),
            b1=jnp.ones((), jnp.float32),
        )

    def update(
        updates: Updates,
        state: ScheduleFreeState,
        params: Params,
        hyper: dict[str, jax.Array],
        step,
    ):
        lr = hyper["learning_rate"]
        if warmup is not None:
            # step + 1 in float: in int32 it wraps to -2**31 at the saturated count.
            lr = lr * jnp.minimum(1.0, (step.astype(jnp.float32) + 1) / warmup)
        b1 = hyper["b1"]
        decay = hyper.get("weight_decay")
        c, max_lr, weight_sum = averaging_weight(
            state.max_learning_rate, state.weight_sum, lr, hyper["weight_lr_power"]
        )
        stored_z = load(state.z, updates)

        def step_on_z(direction, p):
            # lr_t (direction + weight_decay y), the same for SGD's and Adam's direction.
            if decay is not None:
                direction = direction + decay * p.astype(direction.dtype)
            return lr * direction

        if adam:
            b2, eps = hyper["b2"], hyper["eps"]
            correction = bias_correction(b2, step.astype(jnp.float32) + 1)

            def one(g, p, z, v):
                g = g.astype(z.dtype)
                new_v = b2 * v + (1 - b2) * g * g

                def z_step(v):
                    return step_on_z(g / (jnp.sqrt(v / correction) + eps), p)

                new_z = z - z_step(new_v)
                # The parameter's loop computes the same step again (same operations, same
                # result) from new_v rather than reading it from a temporary array: the
                # barrier keeps XLA from merging the two. XLA:CPU allocates temporaries
                # afresh on every call; this made the step 1.6x faster at 100M parameters.
                again = z_step(jax.lax.optimization_barrier(new_v))
                return _interpolate(p, new_z, again, state.b1, b1, c), new_z, new_v

            new, z, moments = map_arrays(
                one,
                updates,
                params,
                stored_z,
                load(state.second_moments, updates),
                names=("updates", "params", "state.z", "state.second_moments"),
                outputs=3,
            )
        else:

            def one_without_moments(g, p, z):
                z_step = step_on_z(g.astype(z.dtype), p)
                new_z = z - z_step
                return _interpolate(p, new_z, z_step, state.b1, b1, c), new_z

            new, z = map_arrays(
                one_without_moments,
                updates,
                params,
                stored_z,
                names=("updates", "params", "state.z"),
                outputs=2,
            )
            moments = None
        z = store(z, state_dtype, step=step, salt=0)
        moments = store(moments, nu_dtype, step=step, salt=1)
        return new, ScheduleFreeState(z, moments, weight_sum, max_lr, b1)

    return scheduled_transformation(
        owner,
        schedulable(owner, **numbers),
        init,
        update,
        needs_params=True,
        complex_refused="its steps have not been checked against a complex reference yet",
    )


@declare(
    _LEARNING_RATE,
    _WARMUP_STEPS,
    _B1,
    _WEIGHT_DECAY,
    _WEIGHT_LR_POWER,
    STATE_DTYPE,
    summary=(
        "Schedule-free SGD: no decay schedule needed; gradients at an interpolation, "
        "evaluation at the average (Defazio et al., NeurIPS 2024, arXiv 2405.15682)"
    ),
)
def schedule_free_sgd(
    learning_rate: ScalarOrSchedule = 1.0,
    warmup_steps: int | None = None,
    b1: ScalarOrSchedule = 0.9,
    weight_decay: ScalarOrSchedule | None = None,
    weight_lr_power: ScalarOrSchedule = 2.0,
    *,
    state_dtype: StateDType = None,
) -> GradientTransformation:
    """Schedule-free SGD: SGD on z, gradients at an interpolation y, evaluation at the average x.

    The parameters you hold are y. At update t = 0, 1, ..., with
    lr_t = learning_rate_t * min(1, (t + 1) / warmup_steps)::

        z <- z - lr_t (g(y) + weight_decay y)               (z_0 = y_0)
        c = lrmax_t**p / sum_{i <= t} lrmax_i**p,  lrmax_t = max_{i <= t} lr_i,  p = weight_lr_power
        x <- (1 - c) x + c z                                (x_0 = y_0)
        y <- b1 x + (1 - b1) z

    Only z is stored: x is recovered as ``(y - (1 - b1) z) / b1``, so b1 must
    be > 0. Evaluate the model at x, :func:`schedule_free_eval_params`.

    How fromax differs from optax's ``optax.contrib.schedule_free_sgd``:

    - one step counter: optax evaluates the learning rate at step t for the
      step on z and at t + 1 for the averaging weight (so its warm-up's first
      step on z is 0); fromax uses the same lr_t for both, with the warm-up
      ``min(1, (t + 1) / warmup_steps)`` of the authors' reference. With a
      constant learning rate and no warm-up the two agree.
    - b1 may be scheduled: x is recovered with the b1 that formed y.
    - z is kept in float32 (or wider) unless ``state_dtype`` (optax's name)
      asks for less.

    Args:
        learning_rate: >= 0, default 1.0; the paper needs no decay.
        warmup_steps: None, or the length of the linear warm-up (static integer >= 1).
        b1: the interpolation in (0, 1], default 0.9.
        weight_decay: None (off), or >= 0, applied at y and multiplied by lr_t.
        weight_lr_power: p >= 0, default 2.
        state_dtype: z's storage dtype: None (float32, or the parameters'
            dtype if wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding`; the maths stays in float32.

    The numeric arguments other than ``warmup_steps`` are each a number, a
    JAX scalar, a schedule or a callable ``step -> scalar``.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> opt = fromax.schedule_free_sgd(0.5, b1=0.5)
        >>> params = jnp.array([4.0])
        >>> state = opt.init(params)
        >>> updates, state = opt.update(jnp.array([2.0]), state, params)
        >>> params = fromax.apply_updates(params, updates)
        >>> params, state.inner.z  # z = 4 - 0.5 * 2, x = z (c = 1), y = x
        (Array([3.], dtype=float32), Array([3.], dtype=float32))
        >>> updates, state = opt.update(jnp.array([2.0]), state, params)
        >>> params = fromax.apply_updates(params, updates)  # z = 2, c = 1/2
        >>> params, fromax.schedule_free_eval_params(state, params)  # y = 2.25, x = 2.5
        (Array([2.25], dtype=float32), Array([2.5], dtype=float32))

    References:
        Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky, The road less
        scheduled, NeurIPS 2024 (arXiv 2405.15682).
    """
    numbers = {
        "learning_rate": learning_rate,
        "b1": b1,
        "weight_decay": weight_decay,
        "weight_lr_power": weight_lr_power,
    }
    return _schedule_free(
        "schedule_free_sgd", numbers, warmup_steps, adam=False, dtypes=(state_dtype, None)
    )


@declare(
    _LEARNING_RATE,
    _WARMUP_STEPS,
    _B1,
    Hyperparameter("b2", Number(DECAY_RATE), "the second moment's decay"),
    Hyperparameter("eps", Number(NONNEGATIVE), "added to the denominator"),
    _WEIGHT_DECAY,
    _WEIGHT_LR_POWER,
    STATE_DTYPE,
    NU_DTYPE,
    summary=(
        "Schedule-free AdamW: the same around an Adam-scaled step (Defazio et al., NeurIPS 2024)"
    ),
)
def schedule_free_adamw(
    learning_rate: ScalarOrSchedule = 0.0025,
    warmup_steps: int | None = None,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule | None = 0.0,
    weight_lr_power: ScalarOrSchedule = 2.0,
    *,
    state_dtype: StateDType = None,
    nu_dtype: StateDType = None,
) -> GradientTransformation:
    """Schedule-free AdamW: an Adam-scaled step on z, gradients at y, evaluation at x.

    As :func:`schedule_free_sgd`, with the step on z scaled by a bias-corrected
    second moment, at update t = 0, 1, ...::

        v <- b2 v + (1 - b2) g(y)**2                                  (v_0 = 0)
        z <- z - lr_t (g(y) / (sqrt(v / (1 - b2**(t+1))) + eps) + weight_decay y)
        x <- (1 - c) x + c z;  y <- b1 x + (1 - b1) z

    with c, lr_t and the warm-up as in :func:`schedule_free_sgd`. This is
    optax's formulation (``optax.contrib.schedule_free_adamw``), and agrees
    with it under a constant learning rate without warm-up. The paper's
    Algorithm 1 folds ``sqrt(1 - b2**t)`` into the learning rate instead (so
    eps is scaled with it, and the averaging weights follow it).

    Args:
        learning_rate: >= 0, default 0.0025.
        b2: the second moment's decay in [0, 1), default 0.999.
        eps: >= 0, default 1e-8.
        weight_decay: >= 0, default 0, applied at y and multiplied by lr_t.
        nu_dtype: the second moment's storage dtype, as ``state_dtype`` is z's.
        warmup_steps, b1, weight_lr_power, state_dtype: as in :func:`schedule_free_sgd`.

    The numeric arguments are schedulable, as in :func:`schedule_free_sgd`.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> opt = fromax.schedule_free_adamw(0.1, b1=0.5, eps=0.0)
        >>> params = jnp.array([1.0, -1.0])
        >>> state = opt.init(params)
        >>> updates, state = opt.update(jnp.array([3.0, -0.5]), state, params)
        >>> state.inner.z  # z - lr sign(g) on the first step
        Array([ 0.9, -0.9], dtype=float32)

    References:
        As :func:`schedule_free_sgd`.
    """
    numbers = {
        "learning_rate": learning_rate,
        "b1": b1,
        "b2": b2,
        "eps": eps,
        "weight_decay": weight_decay,
        "weight_lr_power": weight_lr_power,
    }
    return _schedule_free(
        "schedule_free_adamw", numbers, warmup_steps, adam=True, dtypes=(state_dtype, nu_dtype)
    )


def schedule_free_eval_params(state: OptState, params: Params) -> Params:
    """The parameters to evaluate a schedule-free model at: x = (y - (1 - b1) z) / b1.

    Training holds y (where gradients are taken); the paper evaluates the
    average x. ``b1`` is the one that formed ``params`` (the latest update's).

    Args:
        state: the state of :func:`schedule_free_sgd`,
            :func:`schedule_free_adamw` or :func:`~fromax.schedule_free`, or a
            state that holds exactly one of them (a chain's).
        params: the current parameters y.

    Returns:
        x, like ``params``, each in its parameter's dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.schedule_free_sgd(0.1)
        >>> params = jnp.ones(2)
        >>> state = opt.init(params)
        >>> fromax.schedule_free_eval_params(state, params)  # x = y before any update
        Array([1., 1.], dtype=float32)

    References:
        Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky, The road less
        scheduled, NeurIPS 2024 (arXiv 2405.15682).
    """
    # schedule_free_sgd's, schedule_free_adamw's and the schedule_free wrapper's own
    # states all keep z and the b1 that formed the parameters.
    found = [
        node.inner
        for _, node in _states(state)
        if {"z", "b1"} <= set(getattr(type(node.inner), "_fields", ()))
    ]
    if len(found) != 1:
        raise ValueError(
            "schedule_free_eval_params needs the state of schedule_free_sgd, "
            "schedule_free_adamw or schedule_free (or a chain holding exactly one); found "
            f"{len(found)} in "
            f"{type(state).__name__}"
        )
    inner = found[0]

    def average(p, z):
        z = z.astype(compute_dtype(p.dtype))  # z may be stored in a lower precision
        return average_from(p.astype(z.dtype), z, inner.b1).astype(p.dtype)

    return map_arrays(average, params, inner.z, names=("params", "state.z"))
