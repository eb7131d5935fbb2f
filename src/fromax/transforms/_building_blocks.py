"""Small building blocks: scale by the learning rate, add decayed weights, momentum.

Each is a transformation with its hyperparameters as data (built by
``scheduled_transformation``) and its maths written once, for one array, in
a function that the named optimisers (``sgd``, ``adamw``, ``lars``) call too.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import ANY, NONNEGATIVE, UNIT_INTERVAL
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._mask import MASK, resolve_mask
from fromax._core._registry import Flag, Hyperparameter, Number, declare, schedulable
from fromax._core._state_dtypes import ACCUMULATOR_DTYPE
from fromax._core._storage import StateDType, load, store, zeros_for_state
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays, scale_in_compute_dtype
from fromax._core._types import Mask, PyTree, ScalarOrSchedule

__all__ = [
    "TraceState",
    "add_decayed_weights",
    "momentum_update",
    "scale_by_learning_rate",
    "trace",
]


def momentum_update(
    grad: jax.Array, velocity: jax.Array, momentum: jax.Array, nesterov: bool = False
) -> tuple[jax.Array, jax.Array]:
    """Heavy-ball momentum for one array: the direction and the new velocity.

    ::

        v_new = momentum * v + g
        direction = v_new                     (heavy ball)
        direction = g + momentum * v_new      (nesterov=True, Sutskever et al. 2013)

    The same formula as optax's ``trace`` and PyTorch's SGD with dampening 0.
    Computed in ``velocity``'s dtype (float32 or wider).

    Args:
        grad: g.
        velocity: v, the previous velocity.
        momentum: the coefficient, a scalar.
        nesterov: whether to look ahead.

    Returns:
        ``(direction, v_new)``, both in ``velocity``'s dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> fromax.momentum_update(jnp.ones(2), jnp.full(2, 2.0), jnp.float32(0.5))
        (Array([2., 2.], dtype=float32), Array([2., 2.], dtype=float32))
    """
    g = grad.astype(velocity.dtype)
    m = jnp.asarray(momentum).astype(velocity.dtype)
    new_velocity = m * velocity + g
    return (g + m * new_velocity if nesterov else new_velocity), new_velocity


def _momentum_steps(updates, stored_velocity, decay, nesterov, dtype, step, scale=None):
    """:func:`momentum_update` on every array, for ``trace`` and ``sgd``.

    Returns the directions (times ``scale`` when given), each in its update's
    dtype, and the new velocity stored in ``dtype``.
    """

    def one(u, v):
        direction, v = momentum_update(u, v, decay, nesterov)
        if scale is not None:
            direction = scale.astype(direction.dtype) * direction
        return direction.astype(u.dtype), v

    velocity = load(stored_velocity, updates)
    new, velocity = map_arrays(
        one, updates, velocity, names=("updates", "state.velocity"), outputs=2
    )
    return new, store(velocity, dtype, step=step, salt=0)


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "eta (any real with flip_sign=False)"),
    Hyperparameter("flip_sign", Flag(), "whether to negate (descent)"),
    summary="multiplies the updates by -learning_rate: a chain's last link",
    role="transform",
)
def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule, *, flip_sign: bool = True
) -> GradientTransformation:
    """Multiplies the updates by ``-learning_rate`` (or ``+`` with ``flip_sign=False``).

    ``u <- -eta_t * u``: the last link of a chain that turns a direction into
    a descent step, as optax's ``scale_by_learning_rate``.

    Args:
        learning_rate: eta, >= 0 (any real with ``flip_sign=False``): a number,
            a JAX scalar, a schedule or a callable ``step -> scalar``.
        flip_sign: whether to negate (descent).

    Returns:
        A :class:`~fromax.GradientTransformation`; updates keep their dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.scale_by_learning_rate(fromax.schedules.linear(1.0, 0.0, 4))
        >>> state = opt.init(jnp.ones(2))
        >>> updates, state = opt.update(jnp.array([1.0, -2.0]), state)
        >>> updates
        Array([-1.,  2.], dtype=float32)
    """
    sign = -1.0 if flip_sign else 1.0

    def update(updates, state, params, hyper, step):
        del params, step
        factor = sign * hyper["learning_rate"]
        return scale_in_compute_dtype(factor, updates), state

    hyperparams = schedulable("scale_by_learning_rate", learning_rate=learning_rate)
    if not flip_sign:
        # Ascent, or a scale of either sign: the declared ">= 0" is for descent only.
        hyperparams["learning_rate"] = (learning_rate, ANY)
    return scheduled_transformation(
        "scale_by_learning_rate",
        hyperparams,
        lambda params: None,
        update,
    )


@declare(
    Hyperparameter("weight_decay", Number(NONNEGATIVE), "lambda: adds lambda * w"),
    Hyperparameter(
        "mask", MASK, "True where the decay applies", optional=True, none_means="every leaf"
    ),
    summary="adds weight_decay * params to the updates, on the leaves a mask selects",
    role="transform",
)
def add_decayed_weights(
    weight_decay: ScalarOrSchedule = 0.0, mask: Mask = None
) -> GradientTransformation:
    """Adds ``weight_decay * params`` to the updates, on the leaves ``mask`` selects.

    ``u <- u + lambda_t * w``. Placed before ``scale_by_learning_rate``, the
    decay is multiplied by the learning rate (AdamW's decoupled decay, as in
    optax); placed after, it is not.

    Args:
        weight_decay: lambda, >= 0: a number, a JAX scalar, a schedule or a callable.
        mask: None (every leaf), or a pytree of bools / a callable ``params ->
            pytree of bools``: True where the decay applies (e.g. not on biases).

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> no_bias = lambda p: jax.tree.map(lambda x: x.ndim > 1, p)
        >>> opt = fromax.add_decayed_weights(0.1, mask=no_bias)
        >>> params = {"w": jnp.ones((1, 2)), "b": jnp.ones(2)}
        >>> updates, _ = opt.update(jax.tree.map(jnp.zeros_like, params), opt.init(params), params)
        >>> updates["w"], updates["b"]
        (Array([[0.1, 0.1]], dtype=float32), Array([0., 0.], dtype=float32))
    """

    def update(updates, state, params, hyper, step):
        del step
        decay = hyper["weight_decay"]
        flags = resolve_mask(mask, params, "mask", "add_decayed_weights")

        def add(u, p, on):
            if not on:
                return u
            dtype = compute_dtype(p.dtype)
            return (u.astype(dtype) + decay * p.astype(dtype)).astype(u.dtype)

        return map_arrays(
            add, updates, params, per_tensor=(flags,), names=("updates", "params", "mask")
        ), state

    return scheduled_transformation(
        "add_decayed_weights",
        schedulable("add_decayed_weights", weight_decay=weight_decay),
        lambda params: None,
        update,
        needs_params=True,
    )


class TraceState(NamedTuple):
    """``trace``'s own state: the velocity.

    Attributes:
        velocity: a pytree like the parameters, in float32 (or wider).

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.trace(0.5)
        >>> _, state = opt.update(jnp.ones(2), opt.init(jnp.zeros(2)))
        >>> _, state = opt.update(jnp.ones(2), state)
        >>> state.inner.velocity  # 1 + 0.5 * 1
        Array([1.5, 1.5], dtype=float32)
    """

    velocity: PyTree


@declare(
    Hyperparameter("decay", Number(UNIT_INTERVAL), "the momentum coefficient"),
    Hyperparameter("nesterov", Flag(), "return Nesterov's look-ahead"),
    ACCUMULATOR_DTYPE,
    summary="momentum: accumulates v <- decay * v + u and returns it",
    role="transform",
)
def trace(
    decay: ScalarOrSchedule, nesterov: bool = False, accumulator_dtype: StateDType = None
) -> GradientTransformation:
    """Momentum: accumulates ``v <- decay * v + u`` and returns it (or Nesterov's look-ahead).

    The maths of :func:`momentum_update`, with optax's argument names. The
    velocity is kept in float32 (or wider) whatever the updates' dtype,
    unless ``accumulator_dtype`` asks for less.

    Args:
        decay: the momentum coefficient, in [0, 1]: a number, a JAX scalar, a
            schedule or a callable.
        nesterov: whether to return ``u + decay * v_new`` (Nesterov) instead of ``v_new``.
        accumulator_dtype: the velocity's storage dtype: None (float32, or the
            updates' dtype if wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding`; the maths stays in float32.

    Returns:
        A :class:`~fromax.GradientTransformation`; updates keep their dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.trace(0.5)
        >>> state = opt.init(jnp.zeros(2))
        >>> for _ in range(3):
        ...     updates, state = opt.update(jnp.ones(2), state)
        >>> updates  # 1 + 0.5 + 0.25
        Array([1.75, 1.75], dtype=float32)

    References:
        Polyak, Some methods of speeding up the convergence of iteration
        methods, 1964; Sutskever, Martens, Dahl, Hinton, On the importance of
        initialization and momentum in deep learning, ICML 2013.
    """
    nesterov = bool(nesterov)

    def update(updates, state, params, hyper, step):
        del params
        new, velocity = _momentum_steps(
            updates, state.velocity, hyper["decay"], nesterov, accumulator_dtype, step
        )
        return new, TraceState(velocity)

    return scheduled_transformation(
        "trace",
        schedulable("trace", decay=decay),
        lambda params: TraceState(zeros_for_state(params, accumulator_dtype)),
        update,
    )
