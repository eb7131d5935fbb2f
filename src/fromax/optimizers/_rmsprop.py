"""RMSprop (Hinton's lecture notes), with Graves's centred variant and momentum."""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import NONNEGATIVE, UNIT_INTERVAL
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import compute_dtype, map_arrays

__all__ = ["RMSpropState", "rmsprop"]


class RMSpropState(NamedTuple):
    """RMSprop's own state, arrays like the parameters in float32 (or wider).

    Attributes:
        nu: the moving average of g**2.
        mu: the moving average of g (``centered=True``), else None.
        momentum: the momentum buffer (``momentum`` given), else None.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.rmsprop(1e-3).init({'w': jnp.ones((2, 2))})
        >>> type(state.inner).__name__
        'RMSpropState'
    """

    nu: Any
    mu: Any
    momentum: Any


def _rmsprop_update(
    grad, nu, mu, buffer, lr, decay, eps, momentum, *, eps_in_sqrt, bias_correction, nesterov, step
):
    dtype = compute_dtype(grad.dtype)
    g = grad.astype(dtype)
    new_nu = decay * nu + (1 - decay) * g * g
    # step + 1 in float: in int32 it wraps to -2**31 at the saturated count.
    correction = 1 - decay ** (step.astype(dtype) + 1) if bias_correction else 1
    variance = new_nu / correction
    new_mu = None
    if mu is not None:
        new_mu = decay * mu + (1 - decay) * g
        mean = new_mu / correction
        # >= 0 in exact arithmetic; float rounding must not make sqrt NaN.
        variance = jnp.maximum(variance - mean * mean, 0)
    if eps_in_sqrt:
        scaled = lr * g * jax.lax.rsqrt(variance + eps)
    else:
        scaled = lr * g / (jnp.sqrt(variance) + eps)
    new_buffer = None
    if buffer is not None:
        new_buffer = momentum * buffer + scaled
        scaled = scaled + momentum * new_buffer if nesterov else new_buffer
    return (-scaled).astype(grad.dtype), new_nu, new_mu, new_buffer


def rmsprop(
    learning_rate: Any,
    decay: Any = 0.9,
    eps: Any = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: Any = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> GradientTransformation:
    """RMSprop: the gradient divided by a moving root mean square of past gradients.

    For every array with gradient g (t = 1, 2, ... counts the updates)::

        nu <- decay nu + (1 - decay) g**2                (nu_0 = initial_scale)
        mu <- decay mu + (1 - decay) g                   (centred only, mu_0 = 0)
        s = nu (- mu**2 if centred), both divided by 1 - decay**t with bias_correction
        u = lr g / sqrt(s + eps)       (eps_in_sqrt, the default)
        u = lr g / (sqrt(s) + eps)     (eps_in_sqrt=False)
        b <- momentum b + u;  u = b, or u + momentum b with nesterov   (momentum given)
        w <- w - u

    The arguments, defaults and order of operations are optax's, so results
    agree with ``optax.rmsprop``. As in optax the learning rate is applied
    before the momentum buffer; PyTorch applies it after (``b <- momentum b
    + g / sqrt(s)``, ``w <- w - lr b``), which differs only while the
    learning rate changes. PyTorch puts eps outside the square root
    (``eps_in_sqrt=False``). The centred variant is Graves (2013), eq. 38-41;
    its ``nu - mu**2`` is floored at 0, where rounding could make it
    slightly negative (optax would return NaN there).

    Args:
        learning_rate: lr >= 0.
        decay: the moving averages' decay in [0, 1], default 0.9.
        eps: >= 0, default 1e-8.
        initial_scale: nu's initial value, >= 0 (a number: it is used once, at
            ``init``).
        eps_in_sqrt: whether eps goes inside the square root.
        centered: subtract the square of the moving average of g (Graves).
        momentum: None (off), or the momentum in [0, 1].
        nesterov: Nesterov momentum (with ``momentum``).
        bias_correction: divide the moving averages by ``1 - decay**t``.

    ``learning_rate``, ``decay``, ``eps`` and ``momentum`` are each a number,
    a JAX scalar, a schedule or a callable ``step -> scalar``.

    Returns:
        A :class:`~fromax.GradientTransformation`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.rmsprop(0.1, decay=0.75, eps=0.0)
        >>> state = opt.init(jnp.zeros(2))
        >>> updates, state = opt.update(jnp.array([2.0, -1.0]), state)
        >>> updates  # -0.1 g / sqrt(0.25 g**2) = -0.2 sign(g)
        Array([-0.2,  0.2], dtype=float32)

    References:
        Tieleman and Hinton, Lecture 6.5, Neural Networks for Machine
        Learning (Coursera), 2012. Graves, Generating sequences with
        recurrent neural networks, 2013 (arXiv 1308.0850).
    """
    if not isinstance(initial_scale, numbers.Real) or isinstance(initial_scale, bool):
        raise TypeError(
            f"rmsprop's initial_scale must be a number (it is used once, at init), "
            f"got {type(initial_scale).__name__}"
        )
    if not initial_scale >= 0:
        raise ValueError(f"rmsprop's initial_scale must be a number >= 0, got {initial_scale}")
    if nesterov and momentum is None:
        raise ValueError("rmsprop's nesterov=True needs a momentum: pass momentum=0.9, say")
    options = {
        "eps_in_sqrt": bool(eps_in_sqrt),
        "bias_correction": bool(bias_correction),
        "nesterov": bool(nesterov),
    }

    def init(params: Any) -> RMSpropState:
        def filled(value):
            return map_arrays(
                lambda p: jnp.full(p.shape, value, compute_dtype(p.dtype)),
                params,
                names=("params",),
            )

        return RMSpropState(
            nu=filled(initial_scale),
            mu=filled(0.0) if centered else None,
            momentum=filled(0.0) if momentum is not None else None,
        )

    def update(updates: Any, state: RMSpropState, params: Any, hyper: dict[str, jax.Array], step):
        del params
        lr, decay_t, eps_t = hyper["learning_rate"], hyper["decay"], hyper["eps"]
        momentum_t = hyper.get("momentum")
        trees = [updates, state.nu]
        names = ["updates", "state.nu"]
        for tree, name in ((state.mu, "state.mu"), (state.momentum, "state.momentum")):
            if tree is not None:
                trees.append(tree)
                names.append(name)

        def one(g, nu, *rest):
            rest = list(rest)
            mu = rest.pop(0) if centered else None
            buffer = rest.pop(0) if momentum is not None else None
            return _rmsprop_update(
                g, nu, mu, buffer, lr, decay_t, eps_t, momentum_t, step=step, **options
            )

        new, nu, mu, buffer = map_arrays(one, *trees, names=tuple(names), outputs=4)
        return new, RMSpropState(
            nu=nu,
            mu=mu if centered else None,
            momentum=buffer if momentum is not None else None,
        )

    return scheduled_transformation(
        "rmsprop",
        {
            "learning_rate": (learning_rate, NONNEGATIVE),
            "decay": (decay, UNIT_INTERVAL),
            "eps": (eps, NONNEGATIVE),
            "momentum": (momentum, UNIT_INTERVAL),
        },
        init,
        update,
    )
