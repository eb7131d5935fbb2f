"""Schedule-free's averaging, shared by the optimisers and the wrapper.

With z the base iterate, x the average (where the model is evaluated) and y
the parameters (where gradients are taken): ``x <- (1 - c) x + c z``, then
``y = b1 x + (1 - b1) z``. Only z is stored: x is recovered from y.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from fromax._core._numerics import safe_ratio


def averaging_weight(
    max_learning_rate: jax.Array, weight_sum: jax.Array, learning_rate: jax.Array, power: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``c = lrmax**p / sum of lrmax**p so far``, with lrmax the largest learning rate
    so far; returns c and the new lrmax and sum (c = 0 while the sum is 0)."""
    max_learning_rate = jnp.maximum(max_learning_rate, learning_rate)
    weight = max_learning_rate**power
    weight_sum = weight_sum + weight
    c = safe_ratio(weight, weight_sum, weight_sum > 0, 0)
    return c, max_learning_rate, weight_sum


def average_from(y, z, b1):
    """x = (y - (1 - b1) z) / b1: the evaluation point behind the parameters y."""
    return (y - (1 - b1) * z) / b1


def change_of_parameters(param, z, new_z, previous_b1, b1, c):
    """The change of y once z moved to ``new_z`` (x moves c of the way to it).

    ``previous_b1`` is the b1 that formed ``param``; the result takes its dtype.
    """
    y = param.astype(new_z.dtype)
    x = average_from(y, z, previous_b1)
    new_x = x + c * (new_z - x)
    new_y = b1 * new_x + (1 - b1) * new_z
    return (new_y - y).astype(param.dtype)
