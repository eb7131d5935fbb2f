"""``ema``: an exponential moving average of the parameters, kept in the optimiser's state."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import DECAY_RATE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._registry import Flag, Hyperparameter, Number, declare, schedulable
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import copy_in_compute_dtype, map_arrays
from fromax._core._types import OptState, PyTree, ScalarOrSchedule

__all__ = ["EmaState", "ema", "ema_params"]


class EmaState(NamedTuple):
    """``ema``'s own state (in its ``TransformState``'s ``inner``).

    Attributes:
        average: the running average of the parameters, float32 (or wider);
            with debiasing, not yet divided by ``weight``.
        weight: float32 scalar: ``1 - prod(decay_t)`` with debiasing (0
            before the first update), 1 without.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.ema(0.9).init({"w": jnp.ones(2)})
        >>> state.inner.average["w"], float(state.inner.weight)
        (Array([1., 1.], dtype=float32), 0.0)
    """

    average: Any
    weight: jax.Array


@declare(
    Hyperparameter("decay", Number(DECAY_RATE), "the average's decay per update"),
    Hyperparameter("debias", Flag(), "divide by 1 - prod(decay), as optax.ema"),
    summary="keeps an exponential moving average of the parameters; updates pass through",
    role="transform",
)
def ema(decay: ScalarOrSchedule, debias: bool = True) -> GradientTransformation:
    """Keeps an exponential moving average of the parameters; the updates pass through.

    Put it last in a chain: it averages the parameters the updates lead to,
    ``params + updates``, so ``update`` needs ``params``. After update t,
    with ``p_t`` those new parameters::

        a_t = decay_t * a_{t-1} + (1 - decay_t) * p_t

    With ``debias`` (as optax's ``ema`` does for its own quantity), ``a_0 =
    0`` and the average read is ``a_t / (1 - prod(decay_1..t))``: the
    weighted mean of ``p_1 .. p_t``, with no pull towards zero (with a
    constant decay the divisor is optax's ``1 - decay**t``). Without it,
    ``a_0`` is the initial parameters (as the weight averages of timm and
    most training code). :func:`ema_params` reads the average (the initial
    parameters before any update). The average is kept in float32 (or
    wider) whatever the parameters' dtype: averaging bfloat16 weights at
    ``decay=0.999`` in bfloat16 would never move.

    Args:
        decay: the decay, in [0, 1): a constant or a schedule (a warm-up
            of the decay, as ``min(decay, (1 + t) / (10 + t))``, is one).
        debias: whether to start from zero and divide by ``1 - prod(decay)``.

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is a
        :class:`~fromax.TransformState` with an :class:`EmaState` inside.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.chain(fromax.sgd(1.0), fromax.ema(0.5))
        >>> params = {"w": jnp.zeros(1)}
        >>> state = opt.init(params)
        >>> for g in (-2.0, -2.0):
        ...     updates, state = opt.update({"w": jnp.array([g])}, state, params)
        ...     params = fromax.apply_updates(params, updates)
        >>> params["w"], fromax.ema_params(state)["w"]  # (0.5 * 2 + 1 * 4) / 1.5
        (Array([4.], dtype=float32), Array([3.3333333], dtype=float32))
    """

    def init(params: Any) -> EmaState:
        average = copy_in_compute_dtype(params)
        weight = jnp.zeros((), jnp.float32) if debias else jnp.ones((), jnp.float32)
        return EmaState(average, weight)

    def update(
        updates: Any, state: EmaState, params: Any, values: dict[str, jax.Array], step: jax.Array
    ) -> tuple[Any, EmaState]:
        del step
        rate = values["decay"]
        # With debiasing, the first update forgets a_0 (the initial parameters, kept
        # only for ema_params before any update): as if the average had started at 0.
        kept = jnp.where(state.weight > 0, rate, 0.0) if debias else rate
        fresh = 1.0 - rate

        def average(a: jax.Array, p: jax.Array, u: jax.Array) -> jax.Array:
            new = p.astype(a.dtype) + u.astype(a.dtype)
            return kept.astype(a.dtype) * a + fresh.astype(a.dtype) * new

        averaged = map_arrays(
            average,
            state.average,
            params,
            updates,
            names=("state.average", "params", "updates"),
        )
        # 1 - prod(decay) as the average of ones: exact to an ulp at every step, where
        # 1 - prod would lose the digits of a decay near 1.
        weight = kept * state.weight + fresh if debias else state.weight
        return updates, EmaState(averaged, weight)

    return scheduled_transformation(
        "ema", schedulable("ema", decay=decay), init, update, needs_params=True
    )


def ema_params(state: OptState) -> PyTree:
    """The averaged parameters of the one :func:`ema` in ``state`` (a chain's, a wrapper's...).

    Args:
        state: an optimiser state holding one ``ema``'s state.

    Returns:
        The average (debiased where ``ema`` debiases), float32 or wider; the
        initial parameters before any update.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.chain(fromax.adam(0.1), fromax.ema(0.9))
        >>> params = {"w": jnp.ones(2)}
        >>> state = opt.init(params)
        >>> fromax.ema_params(state)["w"]
        Array([1., 1.], dtype=float32)
    """
    found = [
        node
        for node in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, EmaState))
        if isinstance(node, EmaState)
    ]
    if len(found) != 1:
        raise ValueError(
            f"ema_params needs a state holding one ema's state, found {len(found)}: "
            + ("add fromax.ema(decay) last in the chain" if not found else "pass the part you want")
        )
    average, weight = found[0]
    divisor = jnp.where(weight > 0, weight, 1.0)
    return map_arrays(lambda a: a / divisor.astype(a.dtype), average, names=("state.average",))
