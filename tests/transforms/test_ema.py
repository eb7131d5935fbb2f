"""ema and ema_params: float64 recurrences, optax.ema's debiasing, schedulable decay."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.tracing import assert_max_traces

import fromax
from fromax import schedules

P0 = np.array([[0.3, -1.2, 2.0], [0.0, 0.7, -0.4]])
GRADS = [np.cos(np.arange(6.0) * (t + 1)).reshape(2, 3) for t in range(6)]


def _run(decay, debias):
    """fromax's averages after each of the steps, and float64's, of SGD's parameters."""
    opt = fromax.chain(fromax.sgd(0.1), fromax.ema(decay, debias=debias))
    params = {"w": jnp.asarray(P0, jnp.float32)}
    state = opt.init(params)
    got = [np.asarray(fromax.ema_params(state)["w"])]
    p, average, weight = P0.copy(), (np.zeros_like(P0) if debias else P0.copy()), 0.0
    want = [P0.copy()]
    for t, g in enumerate(GRADS):
        updates, state = opt.update({"w": jnp.asarray(g, jnp.float32)}, state, params)
        params = fromax.apply_updates(params, updates)
        got.append(np.asarray(fromax.ema_params(state)["w"]))
        d = float(np.float32(decay(t))) if callable(decay) else decay
        p = p - 0.1 * g
        average = d * average + (1 - d) * p
        weight = d * weight + (1 - d)
        want.append(average / weight if debias else average)
    return got, want


@pytest.mark.parametrize("debias", [True, False])
@pytest.mark.parametrize(
    "decay", [0.9, schedules.linear(0.5, 0.95, transition_steps=4)], ids=["constant", "linear"]
)
def test_ema_params_follow_the_float64_recurrence(decay, debias):
    got, want = _run(decay, debias)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=2e-6, atol=1e-6)


def test_the_debiased_average_is_optax_ema_s_of_the_new_parameters():
    decay = 0.99
    opt = fromax.chain(fromax.sgd(0.1), fromax.ema(decay))
    theirs = optax.ema(decay, debias=True)
    params = {"w": jnp.asarray(P0, jnp.float32)}
    state, their_state = opt.init(params), theirs.init(params)
    for g in GRADS:
        updates, state = opt.update({"w": jnp.asarray(g, jnp.float32)}, state, params)
        params = fromax.apply_updates(params, updates)
        with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
            expected, their_state = theirs.update(params, their_state)
        # optax divides by 1 - decay**t in float32; fromax keeps 1 - prod(decay) exactly.
        np.testing.assert_allclose(fromax.ema_params(state)["w"], expected["w"], rtol=2e-5)


def test_the_updates_pass_through_and_the_decay_is_a_hyperparameter_set_without_retrace():
    opt = fromax.chain(fromax.sgd(0.1), fromax.ema(0.9))
    params = {"w": jnp.asarray(P0, jnp.float32)}
    state = opt.init(params)
    assert sorted(fromax.hyperparams(state)) == ["decay", "learning_rate"]
    step = assert_max_traces(lambda g, s: opt.update(g, s, params), max_traces=1)
    jitted = jax.jit(step)
    grads = {"w": jnp.ones((2, 3))}
    updates, state = jitted(grads, state)
    np.testing.assert_allclose(updates["w"], -0.1 * np.ones((2, 3)), rtol=1e-6)
    state = fromax.set_hyperparams(state, decay=0.5)
    _, state = jitted(grads, state)
    assert float(fromax.hyperparams(state)["decay"]) == 0.5
    assert step.traces() == 1


def test_bfloat16_parameters_are_averaged_in_float32():
    params = {"w": jnp.ones(3, jnp.bfloat16)}
    opt = fromax.ema(0.999, debias=False)
    state = opt.init(params)
    _, state = opt.update({"w": jnp.full(3, 1.0, jnp.bfloat16)}, state, params)
    average = fromax.ema_params(state)["w"]
    assert average.dtype == jnp.float32
    np.testing.assert_allclose(average, 1.001, rtol=1e-6)  # bfloat16 would stay at 1.0


def test_ema_needs_the_params_and_ema_params_needs_one_ema():
    opt = fromax.ema(0.9)
    state = opt.init(jnp.ones(2))
    with pytest.raises(ValueError, match=r"ema needs the current parameters"):
        opt.update(jnp.ones(2), state)
    with pytest.raises(ValueError, match=r"found 0: add fromax\.ema"):
        fromax.ema_params(fromax.sgd(0.1).init(jnp.ones(2)))
    with pytest.raises(ValueError, match="found 2"):
        fromax.ema_params((state, state))
    with pytest.raises(ValueError, match="ema's decay must be"):
        fromax.ema(1.0)
