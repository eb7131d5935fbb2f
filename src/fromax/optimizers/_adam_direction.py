"""Adam's direction for one array, shared by the Adam family and LAMB.

The per-array maths (:func:`adam_direction`), the step's scalars computed
once per step, the family's state (made, stored), and the declarations of the
hyperparameters every member takes (b1, b2, eps, eps_root).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import DECAY_RATE, NONNEGATIVE
from fromax._core._numerics import abs_squared, bias_correction
from fromax._core._registry import Hyperparameter, Number
from fromax._core._storage import StateDType, store, zeros_for_state
from fromax._core._types import PyTree

__all__ = ["ADAM_MOMENTS", "AdamState", "adam_direction"]

# Declared once for scale_by_adam, adam, adamw, nadam and lamb.
ADAM_MOMENTS = (
    Hyperparameter("b1", Number(DECAY_RATE), "the first moment's decay"),
    Hyperparameter("b2", Number(DECAY_RATE), "the second moment's decay"),
    Hyperparameter("eps", Number(NONNEGATIVE), "added to the denominator"),
    Hyperparameter("eps_root", Number(NONNEGATIVE), "added inside the square root"),
)


class AdamState(NamedTuple):
    """The state of Adam and its family.

    Attributes:
        mu: the first moment, a pytree like the parameters in float32 (or wider).
        nu: the second moment, likewise.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.adam(1e-3).init({'w': jnp.ones((2, 2))})
        >>> type(state.inner).__name__
        'AdamState'
    """

    mu: PyTree
    nu: PyTree


def adam_direction(
    grad: jax.Array,
    mu: jax.Array,
    nu: jax.Array,
    b1: jax.Array,
    b2: jax.Array,
    eps: jax.Array,
    eps_root: jax.Array,
    step: jax.Array,
    nesterov: bool = False,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Adam's direction for one array, and its new moments.

    With g the gradient and t = step + 1 (the update's 1-based index)::

        m <- b1 m + (1 - b1) g
        v <- b2 v + (1 - b2) g**2
        m_hat = m / (1 - b1**t)
                (nesterov: b1 m / (1 - b1**(t+1)) + (1 - b1) g / (1 - b1**t), Dozat 2016)
        v_hat = v / (1 - b2**t)
        direction = m_hat / (sqrt(v_hat + eps_root) + eps)

    The bias corrections use the values of b1 and b2 at this step, as optax
    does under a schedule, computed by :func:`bias_correction`. The maths runs
    in the moments' dtype (float32 or wider).

    Args:
        grad: g.
        mu, nu: the moments before this step.
        b1, b2, eps, eps_root: scalars.
        step: the int32 index of this update (0 for the first).
        nesterov: Nadam's look-ahead first moment.

    Returns:
        ``(direction, new_mu, new_nu)`` in the moments' dtype.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> g = jnp.array([2.0, -0.5])
        >>> d, m, v = fromax.adam_direction(g, jnp.zeros(2), jnp.zeros(2), 0.9, 0.999, 0.0, 0.0, 0)
        >>> d  # the first step is sign(g)
        Array([ 1., -1.], dtype=float32)
    """
    return _direction(grad, mu, nu, _step_scalars(b1, b2, eps, eps_root, step, nesterov))


class _StepScalars(NamedTuple):
    """One step's scalars, float32, computed once per step rather than once per
    array: a model of 1,000 tensors would otherwise trace (and XLA compile)
    1,000 copies of them."""

    b1: jax.Array
    b2: jax.Array
    one_minus_b1: jax.Array
    one_minus_b2: jax.Array
    c1: jax.Array  # 1 - b1**t
    c2: jax.Array  # 1 - b2**t
    next_c1: jax.Array | None  # 1 - b1**(t+1), for Nesterov's look-ahead
    eps: jax.Array
    eps_root: jax.Array


def _step_scalars(b1, b2, eps, eps_root, step, nesterov: bool) -> _StepScalars:
    b1 = jnp.asarray(b1, jnp.float32)
    b2 = jnp.asarray(b2, jnp.float32)
    # The 1-based index in float: int32 step + 1 wraps to -2**31 at the saturated count.
    t = jnp.asarray(step).astype(jnp.float32) + 1
    return _StepScalars(
        b1,
        b2,
        1 - b1,
        1 - b2,
        bias_correction(b1, t),
        bias_correction(b2, t),
        bias_correction(b1, t + 1) if nesterov else None,
        jnp.asarray(eps, jnp.float32),
        jnp.asarray(eps_root, jnp.float32),
    )


def _hyper_step_scalars(hyper, step, nesterov: bool) -> _StepScalars:
    """:func:`_step_scalars` from the values of a member's declared b1, b2, eps and eps_root."""
    return _step_scalars(hyper["b1"], hyper["b2"], hyper["eps"], hyper["eps_root"], step, nesterov)


def _zero_moments(params: PyTree, mu_dtype: StateDType, nu_dtype: StateDType) -> AdamState:
    """The first state: both moments zero, nu real (|g|**2) for a complex parameter."""
    return AdamState(
        zeros_for_state(params, mu_dtype), zeros_for_state(params, nu_dtype, real=True)
    )


def _stored_moments(
    mu: PyTree, nu: PyTree, mu_dtype: StateDType, nu_dtype: StateDType, step
) -> AdamState:
    """The new moments in their storage dtypes (distinct salts: independent rounding)."""
    return AdamState(store(mu, mu_dtype, step=step, salt=0), store(nu, nu_dtype, step=step, salt=1))


def _direction(grad, mu, nu, k: _StepScalars):
    """:func:`adam_direction` with the step's scalars given."""
    # mu is complex for a complex parameter, nu (|g|**2, as optax) real: each product
    # takes its scalars in its own dtype (the two are one for a real parameter).
    dtype = mu.dtype
    # A NamedTuple is a pytree; the None of next_c1 is an empty subtree, kept.
    r: _StepScalars = jax.tree.map(lambda x: x.astype(nu.dtype), k)
    k = jax.tree.map(lambda x: x.astype(dtype), k)
    g = grad.astype(dtype)
    new_mu = k.b1 * mu + k.one_minus_b1 * g
    new_nu = r.b2 * nu + r.one_minus_b2 * abs_squared(g)
    if k.next_c1 is not None:
        m_hat = k.b1 / k.next_c1 * new_mu + k.one_minus_b1 / k.c1 * g
    else:
        m_hat = new_mu / k.c1
    direction = m_hat / (jnp.sqrt(new_nu / r.c2 + r.eps_root) + r.eps).astype(dtype)
    return direction, new_mu, new_nu
