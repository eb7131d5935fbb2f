"""Adagrad: per-coordinate steps from the sum of past squared gradients (Duchi et al., 2011)."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import NONNEGATIVE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._numerics import abs_squared
from fromax._core._registry import Hyperparameter, Number, Real, declare, schedulable
from fromax._core._state_dtypes import ACCUMULATOR_DTYPE
from fromax._core._storage import StateDType, load, storage_dtype, store
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays
from fromax._core._types import Params, PyTree, ScalarOrSchedule, Updates

__all__ = ["AdagradState", "adagrad"]


class AdagradState(NamedTuple):
    """Adagrad's own state: the sum of the squared gradients so far.

    Attributes:
        sum_of_squares: G, like the parameters, in float32 (or wider).

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> fromax.adagrad(0.1).init(jnp.zeros(2)).inner  # initial_accumulator_value=0.1
        AdagradState(sum_of_squares=Array([0.1, 0.1], dtype=float32))
    """

    sum_of_squares: PyTree


def _adagrad_update(grad, total, lr, eps):
    dtype = compute_dtype(grad.dtype)
    g = grad.astype(dtype)
    # |g|**2, real for a complex gradient (as optax); the step keeps g's dtype.
    new_total = total + abs_squared(g)
    scale = jnp.where(new_total > 0, jax.lax.rsqrt(new_total + eps.astype(total.dtype)), 0)
    return ((-lr * scale).astype(dtype) * g).astype(grad.dtype), new_total


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "lr, the step size"),
    Hyperparameter(
        "initial_accumulator_value", Real(NONNEGATIVE), "the sum of squares' initial value"
    ),
    Hyperparameter("eps", Number(NONNEGATIVE), "added inside the square root"),
    dataclasses.replace(ACCUMULATOR_DTYPE, doc="the sum of squares' storage dtype"),
    summary=(
        "Adagrad: per-coordinate steps over the root of the summed squared gradients "
        "(Duchi et al., JMLR 2011)"
    ),
)
def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: float = 0.1,
    eps: ScalarOrSchedule = 1e-7,
    *,
    accumulator_dtype: StateDType = None,
) -> GradientTransformation:
    """Adagrad: each coordinate's step divided by the root of its summed squared gradients.

    For every array with gradient g::

        G <- G + g**2                          (G_0 = initial_accumulator_value)
        w <- w - lr g / sqrt(G + eps)          (0 where G = 0)

    The arguments, defaults and formula are optax's (eps inside the square
    root, G_0 = 0.1), so results agree with ``optax.adagrad``. Duchi et al.
    and PyTorch put eps outside, ``g / (sqrt(G) + eps)``, and PyTorch starts
    from G_0 = 0; the two agree closely once G >> eps.

    Args:
        learning_rate: lr >= 0.
        initial_accumulator_value: G_0 >= 0 (a number: it is used once, at
            ``init``).
        eps: >= 0, default 1e-7.
        accumulator_dtype: G's storage dtype: None (float32, or the
            parameters' dtype if wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding` (a sum that only grows stalls
            in bfloat16 rounded to nearest); the maths stays in float32.

    ``learning_rate`` and ``eps`` are each a number, a JAX scalar, a schedule
    or a callable ``step -> scalar``.

    Returns:
        A :class:`~fromax.GradientTransformation`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
        >>> state = opt.init(jnp.zeros(3))
        >>> updates, state = opt.update(jnp.array([3.0, 0.0, -0.5]), state)
        >>> updates  # -g / |g|, and 0 where G is still 0
        Array([-1.,  0.,  1.], dtype=float32)

    References:
        Duchi, Hazan, Singer, Adaptive subgradient methods for online
        learning and stochastic optimization, JMLR 12, 2011.
    """

    def init(params: Params) -> AdagradState:
        return AdagradState(
            map_arrays(
                lambda p: jnp.full_like(
                    p,
                    initial_accumulator_value,
                    dtype=storage_dtype(accumulator_dtype, p, real=True),
                ),  # full_like: the parameter's sharding
                params,
                names=("params",),
            )
        )

    def update(
        updates: Updates, state: AdagradState, params: Params, hyper: dict[str, jax.Array], step
    ):
        del params
        lr, eps_t = hyper["learning_rate"], hyper["eps"]
        new, total = map_arrays(
            lambda g, s: _adagrad_update(g, s, lr, eps_t),
            updates,
            load(state.sum_of_squares, updates),
            names=("updates", "state.sum_of_squares"),
            outputs=2,
        )
        return new, AdagradState(store(total, accumulator_dtype, step=step, salt=0))

    return scheduled_transformation(
        "adagrad",
        schedulable("adagrad", learning_rate=learning_rate, eps=eps),
        init,
        update,
    )
