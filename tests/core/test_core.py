"""The optax-compatible protocol: chains both ways, apply_updates, extra arguments."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax
from fromax import schedules

PARAMS = {"w": jnp.array([[1.0, 2.0], [3.0, 4.0]]), "b": jnp.array([0.5, -0.5])}
GRADS = {"w": jnp.array([[3.0, -4.0], [12.0, 0.0]]), "b": jnp.array([1.0, 2.0])}


def _clipped(grads, max_norm):
    norm = float(optax.tree.norm(grads))
    return jax.tree.map(lambda g: g * min(1.0, max_norm / norm), grads)


def test_fromax_optimiser_inside_optax_chain():
    lr = schedules.linear(0.1, 0.05, transition_steps=10)
    opt = optax.chain(optax.clip_by_global_norm(1.0), fromax.fromage(lr))
    state = opt.init(PARAMS)
    updates, state = opt.update(GRADS, state, PARAMS)
    alone = fromax.fromage(lr)
    want, _ = alone.update(_clipped(GRADS, 1.0), alone.init(PARAMS), PARAMS)
    for key in PARAMS:
        np.testing.assert_allclose(updates[key], want[key], rtol=1e-6)
    assert set(fromax.hyperparams(state)) == {"learning_rate"}


def test_optax_transformation_inside_fromax_chain():
    opt = fromax.chain(optax.clip_by_global_norm(1.0), fromax.fromage(0.1))
    state = opt.init(PARAMS)
    updates, state = opt.update(GRADS, state, PARAMS)
    alone = fromax.fromage(0.1)
    want, _ = alone.update(_clipped(GRADS, 1.0), alone.init(PARAMS), PARAMS)
    for key in PARAMS:
        np.testing.assert_allclose(updates[key], want[key], rtol=1e-6)
    # A plain optax chain after fromax: scale the updates.
    opt = fromax.chain(fromax.fromage(0.1), optax.scale(-2.0))
    updates2, _ = opt.update(GRADS, opt.init(PARAMS), PARAMS)
    np.testing.assert_allclose(
        updates2["w"], -2.0 * alone.update(GRADS, alone.init(PARAMS), PARAMS)[0]["w"], rtol=1e-6
    )


def test_chain_passes_extra_arguments_only_to_those_that_take_them():
    seen = {}

    def init(params):
        return ()

    def update(updates, state, params=None, **extra):
        seen.update(extra)
        return updates, state

    opt = fromax.chain(optax.scale(2.0), fromax.GradientTransformation(init, update))
    updates, _ = opt.update(GRADS, opt.init(PARAMS), PARAMS, value=3.0)
    assert seen == {"value": 3.0}
    np.testing.assert_allclose(updates["b"], 2.0 * GRADS["b"])


def test_chain_of_optax_and_fromax_under_jit():
    opt = fromax.chain(optax.clip_by_global_norm(5.0), fromax.fromage(0.05))
    state = opt.init(PARAMS)
    step = jax.jit(opt.update)
    updates, state = step(GRADS, state, PARAMS)
    eager, _ = opt.update(GRADS, opt.init(PARAMS), PARAMS)
    for key in PARAMS:
        np.testing.assert_allclose(updates[key], eager[key], rtol=1e-6)


def test_apply_updates_adds_in_float32_and_keeps_dtypes():
    params = {"a": jnp.array([1.0, 2.0], jnp.bfloat16), "b": jnp.array([1.0], jnp.float32)}
    updates = {"a": jnp.array([1e-3, -1e-3], jnp.float32), "b": jnp.array([0.25], jnp.float32)}
    new = fromax.apply_updates(params, updates)
    assert new["a"].dtype == jnp.bfloat16 and new["b"].dtype == jnp.float32
    np.testing.assert_array_equal(new["b"], [1.25])
    want = np.array([1.0, 2.0], np.float32) + np.array([1e-3, -1e-3], np.float32)
    np.testing.assert_array_equal(new["a"], jnp.asarray(want, jnp.bfloat16))


def test_apply_updates_leaves_none_updates_alone():
    new = fromax.apply_updates({"a": jnp.ones(2), "b": jnp.ones(1)}, {"a": None, "b": jnp.ones(1)})
    np.testing.assert_array_equal(new["a"], [1.0, 1.0])
    np.testing.assert_array_equal(new["b"], [2.0])


def test_chain_rejects_what_is_not_a_transformation():
    with pytest.raises(TypeError, match="chain's argument 1 must be a gradient transformation"):
        fromax.chain(fromax.fromage(), 0.1)


def test_chain_update_rejects_a_foreign_state():
    opt = fromax.chain(fromax.fromage())
    with pytest.raises(ValueError, match="call init"):
        opt.update(GRADS, fromax.fromage().init(PARAMS), PARAMS)
