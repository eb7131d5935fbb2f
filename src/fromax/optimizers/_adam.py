"""Adam and its family: ``scale_by_adam``, ``adam``, ``adamw``, ``nadam``.

Each is one transformation (one step counter, one flat state); the per-array
maths is written once, in :func:`adam_direction`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import DECAY_RATE, NONNEGATIVE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._mask import check_mask, check_option, resolve_mask
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays
from fromax.transforms._building_blocks import zeros_in_compute_dtype

__all__ = [
    "AdamState",
    "adam",
    "adam_direction",
    "adamw",
    "bias_correction",
    "nadam",
    "scale_by_adam",
]


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

    mu: Any
    nu: Any


def bias_correction(beta: jax.Array, t: jax.Array) -> jax.Array:
    """``1 - beta**t`` without float32 cancellation: ``-expm1(t * log1p(beta - 1))``.

    With beta = 0.999 at t = 1, ``1 - beta**t`` in float32 can be off by
    6e-5 relative (``beta**t`` rounds to within an ulp of 1); this form is
    accurate to a few ulps of the result.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> float(fromax.bias_correction(jnp.float32(0.5), jnp.float32(2.0)))
        0.75
    """
    beta = jnp.asarray(beta, jnp.float32)
    return -jnp.expm1(t * jnp.log1p(beta - 1))


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
    t = (jnp.asarray(step) + 1).astype(jnp.float32)
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


def _direction(grad, mu, nu, k: _StepScalars):
    """:func:`adam_direction` with the step's scalars given."""
    dtype = mu.dtype
    k = jax.tree.map(lambda x: x.astype(dtype), k)  # next_c1 may be None: no leaf
    g = grad.astype(dtype)
    new_mu = k.b1 * mu + k.one_minus_b1 * g
    new_nu = k.b2 * nu + k.one_minus_b2 * (g * g)
    if k.next_c1 is not None:
        m_hat = k.b1 / k.next_c1 * new_mu + k.one_minus_b1 / k.c1 * g
    else:
        m_hat = new_mu / k.c1
    direction = m_hat / (jnp.sqrt(new_nu / k.c2 + k.eps_root) + k.eps)
    return direction, new_mu, new_nu


def _adam_hyperparams(b1, b2, eps, eps_root):
    return {
        "b1": (b1, DECAY_RATE),
        "b2": (b2, DECAY_RATE),
        "eps": (eps, NONNEGATIVE),
        "eps_root": (eps_root, NONNEGATIVE),
    }


def _adam_family(
    owner: str,
    learning_rate: Any,
    b1: Any,
    b2: Any,
    eps: Any,
    eps_root: Any,
    weight_decay: Any,
    mask: Any,
    nesterov: bool,
) -> GradientTransformation:
    """Adam's direction; times -learning_rate and with decoupled decay when those are given."""
    nesterov = check_option(nesterov, "nesterov", owner)
    check_mask(mask, "mask", owner)

    def init(params):
        return AdamState(zeros_in_compute_dtype(params), zeros_in_compute_dtype(params))

    def update(updates, state, params, hyper, step):
        b1_, b2_, eps_, root = hyper["b1"], hyper["b2"], hyper["eps"], hyper["eps_root"]
        scalars = _step_scalars(b1_, b2_, eps_, root, step, nesterov)
        lr = hyper.get("learning_rate")
        minus_lr = None if lr is None else -lr
        decay = hyper.get("weight_decay")
        flags = (
            resolve_mask(mask, params, "mask", owner)
            if decay is not None
            else jax.tree.map(lambda _: False, updates)
        )

        def one(g, p, m, v, decay_on):
            d, m, v = _direction(g, m, v, scalars)
            if decay_on:
                d = d + decay * p.astype(compute_dtype(p.dtype))
            if minus_lr is not None:
                d = minus_lr * d
            return d.astype(g.dtype), m, v

        trees = (updates, params if decay is not None else updates, state.mu, state.nu)
        new, mu, nu = map_arrays(
            one,
            *trees,
            per_tensor=(flags,),
            names=("updates", "params", "state.mu", "state.nu", "mask"),
            outputs=3,
        )
        return new, AdamState(mu, nu)

    return scheduled_transformation(
        owner,
        {
            "learning_rate": (learning_rate, NONNEGATIVE),
            **_adam_hyperparams(b1, b2, eps, eps_root),
            "weight_decay": (weight_decay, NONNEGATIVE),
        },
        init,
        update,
        needs_params=weight_decay is not None,
    )


def scale_by_adam(
    b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8, eps_root: Any = 0.0, *, nesterov: bool = False
) -> GradientTransformation:
    """Adam's direction, without the learning rate: a building block.

    Turns the updates into :func:`adam_direction`'s ``m_hat / (sqrt(v_hat +
    eps_root) + eps)``; chain it with :func:`~fromax.scale_by_learning_rate`
    to get Adam. Moments are float32 (or wider) whatever the dtype of the
    updates, so there is no ``mu_dtype`` argument.

    Args:
        b1: the first moment's decay, in [0, 1).
        b2: the second moment's decay, in [0, 1).
        eps: added to the denominator, >= 0.
        eps_root: added inside the square root, >= 0.
        nesterov: Nadam's look-ahead.

    Returns:
        A :class:`~fromax.GradientTransformation`; each of b1, b2, eps and
        eps_root takes a number, a JAX scalar, a schedule or a callable.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.chain(fromax.scale_by_adam(), fromax.scale_by_learning_rate(0.1))
        >>> state = opt.init(jnp.zeros(2))
        >>> updates, state = opt.update(jnp.array([4.0, -0.5]), state)
        >>> updates  # the first step is -0.1 * sign(g)
        Array([-0.1,  0.1], dtype=float32)

    References:
        Kingma and Ba, Adam: a method for stochastic optimization, ICLR 2015
        (arXiv 1412.6980).
    """
    return _adam_family("scale_by_adam", None, b1, b2, eps, eps_root, None, None, nesterov)


def adam(
    learning_rate: Any,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Adam, every hyperparameter schedulable.

    For each array, with t the 1-based step and values at step t::

        m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g**2
        w <- w - eta_t * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t) + eps_root) + eps)

    optax's ``adam`` (same names and defaults; eps outside the root as in the
    paper and PyTorch). Differences from optax: moments are float32 (or
    wider) whatever the parameters' dtype (no ``mu_dtype``), and ``1 - b**t``
    is computed without float32 cancellation (optax's can be 6e-5 off at
    t = 1, b2 = 0.999). PyTorch's ``Adam(weight_decay=...)`` adds an L2 term
    to the gradient; here that is ``chain(add_decayed_weights(wd), adam(lr))``,
    and decoupled decay is :func:`adamw`.

    Args:
        learning_rate: eta, >= 0.
        b1: the first moment's decay, in [0, 1).
        b2: the second moment's decay, in [0, 1).
        eps: added to the denominator, >= 0.
        eps_root: added inside the square root, >= 0.
        nesterov: Nadam's look-ahead (see :func:`nadam`).

    Returns:
        A :class:`~fromax.GradientTransformation`; every numeric argument takes a
        number, a JAX scalar, a schedule or a callable.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> opt = fromax.adam(fromax.schedules.cosine_decay(0.1, 200), b1=0.9)
        >>> params = jnp.array([1.0, -2.0])
        >>> state = opt.init(params)
        >>> for _ in range(200):
        ...     updates, state = opt.update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state)
        ...     params = fromax.apply_updates(params, updates)
        >>> bool(jnp.all(jnp.abs(params) < 1e-2))
        True

    References:
        Kingma and Ba, Adam: a method for stochastic optimization, ICLR 2015
        (arXiv 1412.6980).
    """
    return _adam_family("adam", learning_rate, b1, b2, eps, eps_root, None, None, nesterov)


def adamw(
    learning_rate: Any,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    weight_decay: Any = 1e-4,
    mask: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """AdamW: Adam with decoupled weight decay, every hyperparameter schedulable.

    With Adam's direction d (see :func:`adam`) and values at step t::

        w <- w - eta_t * (d + lambda_t * w)

    on the leaves ``mask`` selects (``w <- w - eta_t * d`` elsewhere). The
    decay is multiplied by the learning rate, as in optax and PyTorch's
    AdamW; the paper writes a separate schedule multiplier eta_t for both
    terms, which is the same when ``learning_rate`` carries the schedule. So
    ``weight_decay=1e-4`` (optax's default) decays far less than PyTorch's
    default 1e-2 at the same learning rate: set it explicitly.

    Args:
        learning_rate: eta, >= 0.
        b1, b2, eps, eps_root: as in :func:`adam`.
        weight_decay: lambda, >= 0.
        mask: None (decay every leaf), a pytree of bools or a callable ``params
            -> pytree of bools``: True where the decay applies.
        nesterov: Nadam's look-ahead.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> no_bias = lambda p: jax.tree.map(lambda x: x.ndim > 1, p)
        >>> opt = fromax.adamw(1e-3, weight_decay=0.01, mask=no_bias)
        >>> params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}
        >>> state = opt.init(params)
        >>> zeros = jax.tree.map(jnp.zeros_like, params)
        >>> updates, state = opt.update(zeros, state, params)
        >>> updates["w"][0, 0], updates["b"][0]  # decay only: -1e-3 * 0.01 * 1
        (Array(-1.e-05, dtype=float32), Array(0., dtype=float32))

    References:
        Loshchilov and Hutter, Decoupled weight decay regularization, ICLR
        2019 (arXiv 1711.05101).
    """
    if weight_decay is None:
        raise ValueError("adamw's weight_decay must be a number or a schedule; use adam for none")
    return _adam_family("adamw", learning_rate, b1, b2, eps, eps_root, weight_decay, mask, nesterov)


def nadam(
    learning_rate: Any,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
) -> GradientTransformation:
    """NAdam: Adam with a Nesterov look-ahead first moment, every hyperparameter schedulable.

    Adam (see :func:`adam`) with, at the 1-based step t::

        m_hat = b1 m / (1 - b1**(t+1)) + (1 - b1) g / (1 - b1**t)

    As optax's ``nadam``: Dozat's algorithm without its momentum schedule
    (mu_t = b1 throughout) and without the extra factor b2 on v_hat. PyTorch's
    NAdam keeps the momentum schedule (``momentum_decay=4e-3``), so its steps
    differ; here schedule ``b1`` to get one.

    Args:
        learning_rate: eta, >= 0.
        b1, b2, eps, eps_root: as in :func:`adam`.

    Returns:
        A :class:`~fromax.GradientTransformation`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.nadam(0.1)
        >>> state = opt.init(jnp.zeros(2))
        >>> updates, state = opt.update(jnp.array([1.0, -1.0]), state)
        >>> updates  # the first step is -eta * (1 + b1 / (1 + b1)) * sign(g)
        Array([-0.1473684...,  0.1473684...], dtype=float32)

    References:
        Dozat, Incorporating Nesterov momentum into Adam, ICLR 2016 workshop.
    """
    return _adam_family("nadam", learning_rate, b1, b2, eps, eps_root, None, None, True)
