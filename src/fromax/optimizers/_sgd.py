"""Stochastic gradient descent, with heavy-ball or Nesterov momentum."""

from __future__ import annotations

from typing import NamedTuple

from fromax._core._bounds import NONNEGATIVE, UNIT_INTERVAL
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._registry import Flag, Hyperparameter, Number, declare, schedulable
from fromax._core._state_dtypes import ACCUMULATOR_DTYPE
from fromax._core._storage import StateDType, zeros_for_state
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import scale_in_compute_dtype
from fromax._core._types import PyTree, ScalarOrSchedule
from fromax.transforms._building_blocks import _momentum_steps

__all__ = ["SgdState", "sgd"]


class SgdState(NamedTuple):
    """``sgd``'s own state: the momentum's velocity, if any.

    Attributes:
        velocity: a pytree like the parameters in float32 (or wider), or None
            without momentum.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> print(fromax.sgd(0.1).init(jnp.zeros(2)).inner.velocity)  # no momentum
        None
    """

    velocity: PyTree


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "eta, the step size"),
    Hyperparameter(
        "momentum",
        Number(UNIT_INTERVAL),
        "mu, the velocity's decay",
        optional=True,
        none_means="no velocity",
    ),
    Hyperparameter("nesterov", Flag(), "Nesterov's look-ahead (needs momentum)"),
    ACCUMULATOR_DTYPE,
    summary=(
        "SGD with heavy-ball or Nesterov momentum, optax's and PyTorch's form "
        "(Robbins & Monro 1951; Sutskever et al. 2013)"
    ),
)
def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: ScalarOrSchedule | None = None,
    nesterov: bool = False,
    accumulator_dtype: StateDType = None,
) -> GradientTransformation:
    """SGD, optionally with momentum, every hyperparameter schedulable.

    For each array, with g the gradient and eta_t, mu_t the values at step t::

        v <- mu_t * v + g
        w <- w - eta_t * v                    (heavy ball)
        w <- w - eta_t * (g + mu_t * v)       (nesterov=True)

    and ``w <- w - eta_t * g`` without momentum (``momentum=None``). This is
    optax's ``sgd`` (``trace`` then ``scale_by_learning_rate``) and PyTorch's
    SGD with dampening 0: the learning rate multiplies the velocity, so a
    scheduled learning rate rescales past gradients too. The velocity is
    float32 (or wider) whatever the parameters' dtype, unless
    ``accumulator_dtype`` asks for less. ``momentum=0.0`` keeps a (zero-effect)
    velocity, so a momentum schedule may start at 0.

    Args:
        learning_rate: eta, >= 0: a number, a JAX scalar, a schedule or a callable.
        momentum: None (no velocity), or mu in [0, 1]: a number or a schedule.
        nesterov: Nesterov's look-ahead (needs ``momentum``).
        accumulator_dtype: the velocity's storage dtype: None (float32, or the
            parameters' dtype if wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding`; the maths stays in float32.

    Returns:
        A :class:`~fromax.GradientTransformation`.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> opt = fromax.sgd(0.1, momentum=0.9, nesterov=True)
        >>> params = {"w": jnp.array([1.0, -2.0])}
        >>> state = opt.init(params)
        >>> for _ in range(100):
        ...     grads = jax.grad(lambda p: jnp.sum(p["w"] ** 2))(params)
        ...     updates, state = opt.update(grads, state)
        ...     params = fromax.apply_updates(params, updates)
        >>> bool(jnp.all(jnp.abs(params["w"]) < 1e-3))
        True

    References:
        Robbins and Monro, A stochastic approximation method, 1951; Sutskever,
        Martens, Dahl, Hinton, On the importance of initialization and momentum
        in deep learning, ICML 2013.
    """
    nesterov = bool(nesterov)
    if nesterov and momentum is None:
        raise ValueError("sgd's nesterov=True needs a momentum: pass momentum=0.9, say")

    def init(params):
        return SgdState(None if momentum is None else zeros_for_state(params, accumulator_dtype))

    def update(updates, state, params, hyper, step):
        del params
        minus_lr = -hyper["learning_rate"]  # once per step, not per array
        if state.velocity is None:
            return scale_in_compute_dtype(minus_lr, updates), state
        new, velocity = _momentum_steps(
            updates,
            state.velocity,
            hyper["momentum"],
            nesterov,
            accumulator_dtype,
            step,
            scale=minus_lr,
        )
        return new, SgdState(velocity)

    return scheduled_transformation(
        "sgd",
        schedulable("sgd", learning_rate=learning_rate, momentum=momentum),
        init,
        update,
    )
