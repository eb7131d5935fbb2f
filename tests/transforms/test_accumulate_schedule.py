"""accumulate_gradients with every_k as data: a schedule, set_hyperparams, a saturated count."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import fromax
from fromax import schedules
from tracing import assert_max_traces

GRADS = [jnp.array([float(t + 1), -2.0 * t]) for t in range(9)]


def _run(opt, grads, state=None):
    params = jnp.zeros(2)
    state = opt.init(params) if state is None else state
    step = jax.jit(assert_max_traces(opt.update, max_traces=1))
    out = []
    for g in grads:
        updates, state = step(g, state, params)
        out.append(np.asarray(updates))
    return out, state


def test_a_scheduled_every_k_applies_the_mean_of_the_gradients_held():
    # k = 2 for calls 0 to 3, then 3: applied at calls 1, 3 and 6; calls 7 and 8 are held.
    every_k = schedules.piecewise_constant(2.0, {4: 1.5})
    got, state = _run(fromax.accumulate_gradients(fromax.sgd(1.0), every_k), GRADS)
    groups = [(0, 2), (2, 4), (4, 7)]
    applied = {
        end - 1: -np.mean([np.asarray(GRADS[i]) for i in range(a, end)], axis=0)
        for a, end in groups
    }
    for t, updates in enumerate(got):
        np.testing.assert_allclose(updates, applied.get(t, np.zeros(2)), rtol=1e-6)
    assert int(state.inner.count) == 3 and int(state.clock.count) == 9
    assert int(state.count) == 2
    assert float(fromax.hyperparams(state)["every_k"]) == 3.0


def test_lowering_every_k_mid_way_applies_at_once_without_a_retrace():
    opt = fromax.accumulate_gradients(fromax.sgd(1.0), jnp.float32(4))
    params = jnp.zeros(2)
    step = jax.jit(assert_max_traces(opt.update, max_traces=1))
    state = opt.init(params)
    for g in GRADS[:2]:
        updates, state = step(g, state, params)
    state = fromax.set_hyperparams(state, every_k=2)
    updates, state = step(GRADS[2], state, params)  # three held, k now 2: their mean
    want = -np.mean([np.asarray(g) for g in GRADS[:3]], axis=0)
    np.testing.assert_allclose(updates, want, rtol=1e-6)
    assert int(state.count) == 0


def test_nothing_wraps_at_the_saturated_count():
    opt = fromax.accumulate_gradients(fromax.sgd(1.0), schedules.constant(2))
    state = opt.init(jnp.zeros(2))
    near = dataclasses.replace(state.clock, count=jnp.int32(2**31 - 3))
    got, state = _run(opt, GRADS[:6], state._replace(clock=near))
    assert int(state.clock.count) == 2**31 - 1  # saturated, and still every second call
    for t, updates in enumerate(got):
        want = -(np.asarray(GRADS[t - 1]) + np.asarray(GRADS[t])) / 2 if t % 2 else np.zeros(2)
        np.testing.assert_allclose(updates, want, rtol=1e-6)
    # A static k as large as int32 allows counts up to it without wrapping.
    opt = fromax.accumulate_gradients(fromax.sgd(1.0), 2**31 - 1)
    state = opt.init(jnp.zeros(2))
    state = state._replace(count=jnp.int32(2**31 - 2))
    updates, state = opt.update(jnp.ones(2), state)
    assert int(state.count) == 0 and np.all(np.asarray(updates) < 0)
