"""reduce_on_plateau against optax.contrib.reduce_on_plateau, and its hyperparameters as data."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax
from tracing import assert_max_traces

# Falls, plateaus, a small rise, a fall within rtol (no improvement), then falls again.
LOSSES = [5.0, 4.0, 4.0, 4.1, 4.0, 4.0, 3.9996, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0]
LOSSES += [2.0, 2.5, 2.0, 2.0, 2.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
SETTINGS = [
    dict(factor=0.5, patience=2, rtol=1e-4, atol=0.0, cooldown=0, accumulation_size=1),
    dict(
        factor=0.5, patience=1, rtol=0.0, atol=0.05, cooldown=2, accumulation_size=2, min_scale=0.1
    ),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_scale_per_step_equals_optax(settings):
    mine = fromax.reduce_on_plateau(**settings)
    theirs = optax.contrib.reduce_on_plateau(**settings)
    params = jnp.zeros(2)
    state, their_state = mine.init(params), theirs.init(params)
    step = jax.jit(mine.update)
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        their_step = jax.jit(theirs.update)
        scales = []
        for loss in LOSSES:
            updates, state = step(jnp.ones(2), state, params, value=jnp.float32(loss))
            their_updates, their_state = their_step(
                jnp.ones(2), their_state, params, value=jnp.float32(loss)
            )
            scale = fromax.hyperparams(state)["scale"]
            assert float(scale) == float(their_state.scale)
            np.testing.assert_array_equal(updates, their_updates)
            assert int(state.inner.plateau_count) == int(their_state.plateau_count)
            assert int(state.inner.cooldown_count) == int(their_state.cooldown_count)
            scales.append(float(scale))
    assert len(set(scales)) >= 3  # the sequence does reduce, more than once


def test_hyperparameters_and_scale_change_without_a_retrace():
    opt = fromax.chain(fromax.sgd(0.1), fromax.reduce_on_plateau(factor=0.5, patience=3))
    params = jnp.zeros(1)
    step = jax.jit(assert_max_traces(opt.update, max_traces=1))
    state = opt.init(params)
    for _ in range(2):
        updates, state = step(jnp.ones(1), state, params, value=jnp.float32(1.0))
    state = fromax.set_hyperparams(state, patience=1, factor=0.25)  # one flat step: a plateau
    updates, state = step(jnp.ones(1), state, params, value=jnp.float32(1.0))
    # lr * scale: the effective learning rate is 0.1 * 0.25.
    np.testing.assert_allclose(updates, [-0.025], rtol=1e-6)
    state = fromax.set_hyperparams(state, scale=1.0)
    assert float(fromax.hyperparams(state)["scale"]) == 1.0
    updates, state = step(jnp.ones(1), state, params, value=jnp.float32(0.5))
    np.testing.assert_allclose(updates, [-0.1], rtol=1e-6)
    assert sorted(fromax.hyperparams(state)) == [
        "accumulation_size",
        "atol",
        "cooldown",
        "factor",
        "learning_rate",
        "min_scale",
        "patience",
        "rtol",
        "scale",
    ]


def test_reduce_on_plateau_refuses_bad_arguments():
    with pytest.raises(ValueError, match="reduce_on_plateau's factor must be"):
        fromax.reduce_on_plateau(factor=1.0)
    with pytest.raises(ValueError, match="rtol and atol are both 0"):
        fromax.reduce_on_plateau(rtol=0.0, atol=0.0)
    with pytest.raises(TypeError, match="reduce_on_plateau's patience must be an integer >= 1"):
        fromax.reduce_on_plateau(patience=2.5)
    opt = fromax.reduce_on_plateau()
    with pytest.raises(ValueError, match="needs the monitored value: call update"):
        opt.update(jnp.ones(1), opt.init(jnp.zeros(1)))
