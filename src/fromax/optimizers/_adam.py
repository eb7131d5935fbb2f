"""Adam and its family: ``scale_by_adam``, ``adam``, ``adamw``, ``nadam``.

Each is one transformation (one step counter, one flat state); the per-array
maths is written once, in :func:`~fromax.adam_direction` (``_adam_direction.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

from fromax._core._bounds import NONNEGATIVE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._mask import MASK, resolve_mask
from fromax._core._registry import Flag, Hyperparameter, Number, declare, schedulable
from fromax._core._state_dtypes import MU_DTYPE, NU_DTYPE
from fromax._core._storage import StateDType, load
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import map_arrays
from fromax._core._types import Mask, ScalarOrSchedule
from fromax.optimizers._adam_direction import (
    ADAM_MOMENTS,
    _direction,
    _hyper_step_scalars,
    _stored_moments,
    _zero_moments,
)

__all__ = ["adam", "adamw", "nadam", "scale_by_adam"]

_LEARNING_RATE = Hyperparameter("learning_rate", Number(NONNEGATIVE), "eta, the step size")
_NESTEROV = Hyperparameter("nesterov", Flag(), "Nadam's look-ahead first moment")


def _adam_family(
    owner: str,
    numbers: Mapping[str, ScalarOrSchedule | None],
    mask: Mask,
    nesterov: bool,
    dtypes: tuple[StateDType, StateDType] = (None, None),
) -> GradientTransformation:
    """Adam's direction; times -learning_rate and with decoupled decay when ``numbers`` has them.

    ``numbers`` maps each of ``owner``'s declared schedulable hyperparameters
    to its value; ``dtypes`` are the moments' storage dtypes.
    """
    nesterov = bool(nesterov)
    mu_dtype, nu_dtype = dtypes

    def update(updates, state, params, hyper, step):
        scalars = _hyper_step_scalars(hyper, step, nesterov)
        lr = hyper.get("learning_rate")
        minus_lr = None if lr is None else -lr
        decay = hyper.get("weight_decay")
        stored = (load(state.mu, updates), load(state.nu, updates))
        trees, names, flags = [updates, *stored], ["updates", "state.mu", "state.nu"], ()
        if decay is not None:  # only then are the parameters read (and needed)
            trees.append(params)
            flags = (resolve_mask(mask, params, "mask", owner),)
            names += ["params", "mask"]

        def one(g, m, v, p=None, decay_on=False):
            d, m, v = _direction(g, m, v, scalars)
            if decay_on:
                d = d + decay.astype(d.dtype) * p.astype(d.dtype)
            if minus_lr is not None:
                d = minus_lr.astype(d.dtype) * d
            return d.astype(g.dtype), m, v

        new, mu, nu = map_arrays(one, *trees, per_tensor=flags, names=tuple(names), outputs=3)
        return new, _stored_moments(mu, nu, mu_dtype, nu_dtype, step)

    return scheduled_transformation(
        owner,
        schedulable(owner, **numbers),
        lambda params: _zero_moments(params, mu_dtype, nu_dtype),
        update,
        needs_params=numbers.get("weight_decay") is not None,
    )


@declare(
    *ADAM_MOMENTS,
    _NESTEROV,
    MU_DTYPE,
    NU_DTYPE,
    summary="Adam's direction without the learning rate, a building block (Kingma & Ba 2015)",
    role="transform",
)
def scale_by_adam(
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    eps_root: ScalarOrSchedule = 0.0,
    *,
    nesterov: bool = False,
    mu_dtype: StateDType = None,
    nu_dtype: StateDType = None,
) -> GradientTransformation:
    """Adam's direction, without the learning rate: a building block.

    Turns the updates into :func:`adam_direction`'s ``m_hat / (sqrt(v_hat +
    eps_root) + eps)``; chain it with :func:`~fromax.scale_by_learning_rate`
    to get Adam. Moments are float32 (or wider) whatever the dtype of the
    updates unless ``mu_dtype`` or ``nu_dtype`` says otherwise.

    Args:
        b1, b2, eps, eps_root, nesterov, mu_dtype, nu_dtype: as in :func:`adam`.

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
    numbers = {"b1": b1, "b2": b2, "eps": eps, "eps_root": eps_root}
    return _adam_family("scale_by_adam", numbers, None, nesterov, (mu_dtype, nu_dtype))


@declare(
    _LEARNING_RATE,
    *ADAM_MOMENTS,
    _NESTEROV,
    MU_DTYPE,
    NU_DTYPE,
    summary=(
        "Adam, with 1 - b**t computed without float32 cancellation (Kingma & Ba, arXiv 1412.6980)"
    ),
)
def adam(
    learning_rate: ScalarOrSchedule,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    eps_root: ScalarOrSchedule = 0.0,
    *,
    nesterov: bool = False,
    mu_dtype: StateDType = None,
    nu_dtype: StateDType = None,
) -> GradientTransformation:
    """Adam, every hyperparameter schedulable.

    For each array, with t the 1-based step and values at step t::

        m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g**2
        w <- w - eta_t * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t) + eps_root) + eps)

    optax's ``adam`` (same names and defaults; eps outside the root as in the
    paper and PyTorch). Differences from optax: moments are float32 (or
    wider) whatever the parameters' dtype unless ``mu_dtype`` / ``nu_dtype``
    ask for less (optax keeps ``nu`` in the parameters' dtype), and ``1 - b**t``
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
        mu_dtype: the first moment's storage dtype: None (float32, or the
            parameters' dtype if wider), a float dtype or its name
            (``"bfloat16"``), or :class:`~fromax.StochasticRounding`. The
            maths stays in float32; only the stored moment takes the dtype.
        nu_dtype: the second moment's, likewise.

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
    numbers = {"learning_rate": learning_rate, "b1": b1, "b2": b2, "eps": eps, "eps_root": eps_root}
    return _adam_family("adam", numbers, None, nesterov, (mu_dtype, nu_dtype))


@declare(
    _LEARNING_RATE,
    *ADAM_MOMENTS,
    Hyperparameter("weight_decay", Number(NONNEGATIVE), "lambda, times the learning rate"),
    Hyperparameter(
        "mask", MASK, "True where the decay applies", optional=True, none_means="every leaf"
    ),
    _NESTEROV,
    MU_DTYPE,
    NU_DTYPE,
    summary=(
        "Adam with decoupled weight decay, multiplied by the learning rate as in optax and "
        "PyTorch (Loshchilov & Hutter, arXiv 1711.05101)"
    ),
)
def adamw(
    learning_rate: ScalarOrSchedule,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    eps_root: ScalarOrSchedule = 0.0,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: Mask = None,
    *,
    nesterov: bool = False,
    mu_dtype: StateDType = None,
    nu_dtype: StateDType = None,
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
        mu_dtype, nu_dtype: as in :func:`adam`.

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
    numbers = {
        "learning_rate": learning_rate,
        "b1": b1,
        "b2": b2,
        "eps": eps,
        "eps_root": eps_root,
        "weight_decay": weight_decay,
    }
    return _adam_family("adamw", numbers, mask, nesterov, (mu_dtype, nu_dtype))


@declare(
    _LEARNING_RATE,
    *ADAM_MOMENTS,
    MU_DTYPE,
    NU_DTYPE,
    summary="Adam with a Nesterov look-ahead first moment, optax's form (Dozat 2016)",
)
def nadam(
    learning_rate: ScalarOrSchedule,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    eps_root: ScalarOrSchedule = 0.0,
    *,
    mu_dtype: StateDType = None,
    nu_dtype: StateDType = None,
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
        mu_dtype, nu_dtype: as in :func:`adam`.

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
    numbers = {"learning_rate": learning_rate, "b1": b1, "b2": b2, "eps": eps, "eps_root": eps_root}
    return _adam_family("nadam", numbers, None, True, (mu_dtype, nu_dtype))
