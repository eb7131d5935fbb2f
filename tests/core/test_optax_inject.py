"""optax.inject_hyperparams around fromax's constructors follows the injected values."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax

PARAMS = {"w": jnp.array([[1.0, 2.0], [3.0, 4.0]]), "b": jnp.array([0.5, -0.5])}


def _grads(step: int) -> dict[str, jax.Array]:
    return jax.tree.map(lambda x: jnp.sin(x * (step + 1.0)), PARAMS)


@pytest.mark.parametrize(
    "factory",
    [
        fromax.adam,
        # Built inside a user's function, wrapped: the injected values still reach Adam.
        lambda learning_rate, b2: fromax.masked(fromax.adam(learning_rate, b2=b2), None),
    ],
    ids=["adam", "masked-adam"],
)
def test_inject_hyperparams_follows_a_warmup_from_zero_as_optax_adam_does(factory):
    warmup = optax.linear_schedule(0.0, 0.1, transition_steps=4)
    ours = optax.inject_hyperparams(factory)(learning_rate=warmup, b2=0.999)
    theirs = optax.inject_hyperparams(optax.adam)(learning_rate=warmup, b2=0.999)
    # optax's code runs on both sides (inject_hyperparams wraps ours): it promotes implicitly.
    standard = jax.numpy_dtype_promotion("standard")
    with standard:
        ours_state, theirs_state = ours.init(PARAMS), theirs.init(PARAMS)
    params = PARAMS
    for step in range(8):
        if step == 5:  # optax's way to change a numeric hyperparameter: the state's value
            ours_state.hyperparams["b2"] = jnp.asarray(0.99)
            theirs_state.hyperparams["b2"] = jnp.asarray(0.99)
        grads = _grads(step)
        with standard:
            updates, ours_state = jax.jit(ours.update)(grads, ours_state, params)
            want, theirs_state = jax.jit(theirs.update)(grads, theirs_state, params)
        for key in PARAMS:
            # optax's float32 1 - b2**t is up to 7e-6 off; fromax's is exact.
            np.testing.assert_allclose(updates[key], want[key], rtol=2e-5, atol=1e-9)
        params = optax.apply_updates(params, updates)
        if step == 0:
            assert all(float(jnp.abs(u).max()) == 0.0 for u in jax.tree.leaves(updates))
    assert float(jnp.abs(params["w"] - PARAMS["w"]).max()) > 0.05  # it did train
    assert float(fromax.hyperparams(ours_state)["learning_rate"]) == pytest.approx(0.1)


def test_without_inject_the_states_schedules_still_drive_the_update():
    opt = fromax.adam(0.1)
    state = fromax.set_hyperparams(opt.init(PARAMS), learning_rate=0.0)
    updates, _ = opt.update(_grads(0), state, PARAMS)
    assert all(float(jnp.abs(u).max()) == 0.0 for u in jax.tree.leaves(updates))
