"""optax's tree utilities on fromax states: tree_get reads, tree_set never corrupts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from optax import tree_utils as otu

import fromax
from fromax import schedules

PARAMS = {"w": jnp.array([[1.0, 2.0], [3.0, 4.0]]), "b": jnp.array([0.5, -0.5])}
GRADS = {"w": jnp.array([[0.1, -0.2], [0.3, 0.1]]), "b": jnp.array([1.0, 2.0])}


def test_tree_get_returns_the_current_value():
    opt = fromax.adam(schedules.linear(0.0, 1.0, transition_steps=10), b1=0.8)
    state = opt.init(PARAMS)
    assert float(otu.tree_get(state, "learning_rate")) == 0.0
    for _ in range(3):
        _, state = jax.jit(opt.update)(GRADS, state, PARAMS)
    assert float(otu.tree_get(state, "learning_rate")) == pytest.approx(0.2)
    assert float(otu.tree_get(state, "b1")) == pytest.approx(0.8)
    # Inside an optax chain too, and after set_hyperparams.
    chained = optax.chain(optax.clip(1.0), opt)
    state = fromax.set_hyperparams(chained.init(PARAMS), learning_rate=0.3)
    assert float(otu.tree_get(state, "learning_rate")) == pytest.approx(0.3)
    assert (
        otu.tree_get_all_with_path(state, "learning_rate")[0][1]
        is fromax.hyperparams(state)["learning_rate"]
    )


def test_tree_set_raises_and_leaves_the_state_usable():
    opt = fromax.adam(0.1)
    state = opt.init(PARAMS)
    with pytest.raises(ValueError, match=r"adam's hyperparameters .* fromax.set_hyperparams"):
        otu.tree_set(state, learning_rate=0.5)
    # The state given is untouched; set_hyperparams is the way, and the next update uses it.
    updates, _ = opt.update(GRADS, fromax.set_hyperparams(state, learning_rate=0.5), PARAMS)
    with jax.numpy_dtype_promotion("standard"):  # optax's own code promotes implicitly
        want, _ = optax.adam(0.5).update(GRADS, optax.adam(0.5).init(PARAMS), PARAMS)
    for key in PARAMS:  # optax's float32 1 - b2**t is 7e-6 off at t = 1; fromax's is exact
        np.testing.assert_allclose(updates[key], want[key], rtol=1e-5)


def test_the_state_flattens_as_with_plain_dicts():
    # Leaves, their order and their paths (what checkpoints record) are those of dicts.
    state = fromax.adam(schedules.linear(0.1, 0.0, 10)).init(PARAMS)
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(state)[0]]
    assert paths[:3] == [".count", ".schedules['b1'].value", ".schedules['b2'].value"]
    assert ".hyperparams['learning_rate']" in paths
    rebuilt = jax.tree.map(lambda x: x, state)
    assert rebuilt.schedules == state.schedules
    assert type(rebuilt.hyperparams) is type(state.hyperparams)
    assert repr(state.schedules).startswith("{'b1': constant(value=0.9)")
