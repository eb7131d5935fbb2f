"""Hyperparameters are data: one counter, one evaluation per step, readable, changeable."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
from fromax import schedules
from tracing import assert_max_traces

PARAMS = {"w": jnp.array([[1.0, 2.0], [3.0, 4.0]]), "b": jnp.array([0.5, -0.5])}
GRADS = {"w": jnp.array([[0.1, -0.2], [0.3, 0.1]]), "b": jnp.array([1.0, 2.0])}


def test_each_schedule_is_evaluated_once_per_step():
    calls = []

    def lr(step):
        calls.append(step)
        return 0.1 / (1.0 + step.astype(jnp.float32))

    opt = fromax.fromage(lr, p_bound=2.0)
    state = opt.init(PARAMS)
    calls.clear()
    jax.make_jaxpr(opt.update)(GRADS, state, PARAMS)
    assert len(calls) == 1


def test_every_use_within_a_step_sees_the_same_value():
    # Fromage uses eta twice (the step and the prefactor); with the value that
    # the state reports, the float64 formula reproduces the update exactly.
    lr = schedules.exponential_decay(0.3, transition_steps=1, decay_rate=0.5)
    opt = fromax.fromage(lr)
    state = opt.init(PARAMS)
    for _ in range(3):
        updates, state = opt.update(GRADS, state, PARAMS)
    eta = float(fromax.hyperparams(state)["learning_rate"])
    assert eta == pytest.approx(0.3 * 0.5**2)
    w, g = np.asarray(PARAMS["w"], np.float64), np.asarray(GRADS["w"], np.float64)
    want = (w - eta * np.linalg.norm(w) / np.linalg.norm(g) * g) / np.sqrt(1 + eta**2) - w
    np.testing.assert_allclose(updates["w"], want, rtol=1e-6)


def test_step_counter_advances_once_per_update_and_drives_the_schedule():
    opt = fromax.fromage(schedules.linear(0.0, 1.0, transition_steps=10))
    state = opt.init(PARAMS)
    seen = []
    for _ in range(4):
        _, state = opt.update(GRADS, state, PARAMS)
        seen.append(float(fromax.hyperparams(state)["learning_rate"]))
    assert int(state.count) == 4
    np.testing.assert_allclose(seen, [0.0, 0.1, 0.2, 0.3], rtol=1e-6)


def test_hyperparams_before_the_first_update_are_those_it_will_use():
    opt = fromax.fromage(schedules.linear(0.25, 1.0, transition_steps=10))
    state = opt.init(PARAMS)
    assert fromax.hyperparams(state) == {"learning_rate": pytest.approx(0.25)}


def test_hyperparams_are_float32_whatever_the_params_dtype():
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), PARAMS)
    opt = fromax.fromage(0.999)
    state = opt.init(params)
    _, state = opt.update(jax.tree.map(lambda x: x.astype(jnp.bfloat16), GRADS), state, params)
    value = fromax.hyperparams(state)["learning_rate"]
    assert value.dtype == jnp.float32
    assert float(value) == pytest.approx(0.999, rel=1e-7)  # bfloat16 would give 1.0
    assert all(leaf.dtype in (jnp.float32, jnp.int32) for leaf in jax.tree.leaves(state))


def test_changing_a_constant_or_a_schedule_number_does_not_retrace():
    opt = fromax.fromage(schedules.warmup_cosine_decay(0.0, 1e-2, 5, 50))

    @jax.jit
    @functools.partial(assert_max_traces, max_traces=1)
    def step(params, state):
        updates, state = opt.update(GRADS, state, params)
        return fromax.apply_updates(params, updates), state

    state = opt.init(PARAMS)
    params, state = step(PARAMS, state)
    new_schedule = state.schedules["learning_rate"].replace(peak_value=5e-2, warmup_steps=8)
    state = fromax.set_hyperparams(state, learning_rate=new_schedule)
    params, state = step(params, state)
    assert float(fromax.hyperparams(state)["learning_rate"]) == pytest.approx(5e-2 / 8)

    constant_opt = fromax.fromage(0.01)

    @jax.jit
    @functools.partial(assert_max_traces, max_traces=1)
    def constant_step(params, state):
        updates, state = constant_opt.update(GRADS, state, params)
        return fromax.apply_updates(params, updates), state

    state = constant_opt.init(PARAMS)
    for lr in (0.01, 0.02, 0.5):
        state = fromax.set_hyperparams(state, learning_rate=lr)
        _, state = constant_step(PARAMS, state)
        assert float(fromax.hyperparams(state)["learning_rate"]) == pytest.approx(lr)


def test_vmap_over_learning_rates_equals_separate_runs():
    lrs = jnp.array([1e-3, 1e-2, 0.1, 0.3])

    def run(lr):
        opt = fromax.fromage(lr)
        state = opt.init(PARAMS)
        params = PARAMS
        for _ in range(5):
            updates, state = opt.update(GRADS, state, params)
            params = fromax.apply_updates(params, updates)
        return params

    batched = jax.vmap(run)(lrs)
    for i, lr in enumerate(lrs):
        single = run(float(lr))
        for key in PARAMS:
            np.testing.assert_allclose(batched[key][i], single[key], rtol=1e-6)


def test_vmap_over_states_made_by_set_hyperparams():
    opt = fromax.fromage(0.01)
    state = opt.init(PARAMS)
    lrs = jnp.array([0.01, 0.1])
    states = jax.vmap(lambda lr: fromax.set_hyperparams(state, learning_rate=lr))(lrs)
    updates, states = jax.vmap(opt.update, in_axes=(None, 0, None))(GRADS, states, PARAMS)
    np.testing.assert_allclose(fromax.hyperparams(states)["learning_rate"], lrs)
    for i, lr in enumerate(lrs):
        # The state, not the closure, holds the hyperparameters.
        single, _ = opt.update(GRADS, fromax.set_hyperparams(state, learning_rate=lr), PARAMS)
        np.testing.assert_allclose(updates["w"][i], single["w"], rtol=1e-6)


def test_state_structure_is_stable_under_scan_and_cond():
    opt = fromax.fromage(schedules.linear(0.1, 0.0, transition_steps=5), p_bound=3.0)
    state = opt.init(PARAMS)
    _, after = opt.update(GRADS, state, PARAMS)
    assert jax.tree.structure(after) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(state), strict=True):
        assert (a.shape, a.dtype) == (b.shape, b.dtype)

    def body(carry, _):
        params, state = carry
        updates, state = opt.update(GRADS, state, params)
        return (fromax.apply_updates(params, updates), state), None

    (_, scanned), _ = jax.lax.scan(body, (PARAMS, state), None, length=7)
    assert int(scanned.count) == 7

    def maybe_step(skip, state):
        return jax.lax.cond(skip, lambda s: s, lambda s: opt.update(GRADS, s, PARAMS)[1], state)

    assert int(jax.jit(maybe_step)(True, state).count) == 0
    assert int(jax.jit(maybe_step)(False, state).count) == 1


def test_state_round_trips_through_flatten():
    opt = fromax.fromage(schedules.warmup_cosine_decay(0.0, 0.1, 2, 10), p_bound=2.0)
    state = opt.init(PARAMS)
    _, state = opt.update(GRADS, state, PARAMS)
    leaves, treedef = jax.tree.flatten(state)
    rebuilt = jax.tree.unflatten(treedef, leaves)
    updates_a, _ = opt.update(GRADS, state, PARAMS)
    updates_b, _ = opt.update(GRADS, rebuilt, PARAMS)
    for key in PARAMS:
        np.testing.assert_array_equal(updates_a[key], updates_b[key])


def test_names_shared_by_two_transformations_are_keyed_by_position():
    opt = fromax.chain(fromax.fromage(0.1), fromax.fromage(0.2))
    state = opt.init(PARAMS)
    assert set(fromax.hyperparams(state)) == {"0/learning_rate", "1/learning_rate"}
    state = fromax.set_hyperparams(state, {"1/learning_rate": 0.3})
    assert state[1].schedules["learning_rate"] == schedules.constant(0.3)
    assert state[0].schedules["learning_rate"] == schedules.constant(0.1)


def test_set_hyperparams_checks_names_and_values():
    state = fromax.fromage(0.1).init(PARAMS)
    with pytest.raises(
        ValueError, match="no hyperparameter 'lr' in this state; it has: learning_rate"
    ):
        fromax.set_hyperparams(state, lr=0.1)
    with pytest.raises(ValueError, match="fromage's learning_rate must be a finite number >= 0"):
        fromax.set_hyperparams(state, learning_rate=-1.0)
    with pytest.raises(ValueError, match="must return a scalar"):
        fromax.set_hyperparams(state, learning_rate=lambda t: jnp.ones(2) * t.astype(jnp.float32))


def test_scheduled_transformation_builds_a_custom_optimiser():
    def scale(step_size):
        return fromax.scheduled_transformation(
            "scale",
            {"step_size": (step_size, fromax.NONNEGATIVE)},
            init=lambda params: None,
            update=lambda u, s, p, h, step: (jax.tree.map(lambda g: -h["step_size"] * g, u), s),
        )

    opt = scale(schedules.linear(1.0, 0.0, transition_steps=4))
    state = opt.init(PARAMS)
    scales = []
    for _ in range(5):
        updates, state = opt.update(GRADS, state)
        scales.append(float(updates["b"][0] / -GRADS["b"][0]))
    np.testing.assert_allclose(scales, [1.0, 0.75, 0.5, 0.25, 0.0], atol=1e-7)


def test_donating_the_state_leaves_the_users_schedule_and_the_optimiser_usable():
    lr = schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=2, decay_steps=10)
    opt = fromax.fromage(lr)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(params, state):
        updates, state = opt.update(GRADS, state, params)
        return fromax.apply_updates(params, updates), state

    params = jax.tree.map(jnp.copy, PARAMS)
    params, state = step(params, opt.init(params))
    state = fromax.set_hyperparams(state, learning_rate=lr.replace(peak_value=0.2))
    params, state = step(params, state)
    assert float(lr(2)) == pytest.approx(0.1)  # the user's schedule still works
    assert int(opt.init(PARAMS).count) == 0  # and so does the optimiser


def test_a_state_nested_directly_in_another_has_a_key_of_its_own():
    inner = fromax.fromage(0.1)

    def wrap(learning_rate):
        return fromax.scheduled_transformation(
            "wrapper",
            {"learning_rate": (learning_rate, fromax.NONNEGATIVE)},
            init=inner.init,
            update=lambda u, s, p, h, step: inner.update(u, s, p),
        )

    state = wrap(0.5).init(PARAMS)
    assert set(fromax.hyperparams(state)) == {"learning_rate", "inner/learning_rate"}
    state = fromax.set_hyperparams(state, {"inner/learning_rate": 0.2})
    assert state.inner.schedules["learning_rate"] == schedules.constant(0.2)
    assert state.schedules["learning_rate"] == schedules.constant(0.5)


def test_hyperparams_right_after_set_hyperparams_show_the_new_value():
    opt = fromax.fromage(0.1)
    state = opt.init(PARAMS)
    state = fromax.set_hyperparams(state, learning_rate=0.02)
    assert fromax.hyperparams(state) == {"learning_rate": pytest.approx(0.02)}
    # After two updates, a new schedule is reported at the step the next update runs.
    _, state = opt.update(GRADS, state, PARAMS)
    _, state = opt.update(GRADS, state, PARAMS)
    state = fromax.set_hyperparams(
        state, learning_rate=schedules.linear(0.0, 1.0, transition_steps=10)
    )
    assert float(fromax.hyperparams(state)["learning_rate"]) == pytest.approx(0.2)
    _, state = opt.update(GRADS, state, PARAMS)
    assert float(fromax.hyperparams(state)["learning_rate"]) == pytest.approx(0.2)
    # Unchanged hyperparameters keep the value the latest update used.
    opt = fromax.chain(fromax.fromage(0.1), fromax.fromage(schedules.linear(0.0, 1.0, 10)))
    state = opt.init(PARAMS)
    _, state = opt.update(GRADS, state, PARAMS)
    state = fromax.set_hyperparams(state, {"0/learning_rate": 0.3})
    assert float(fromax.hyperparams(state)["0/learning_rate"]) == pytest.approx(0.3)
    assert float(fromax.hyperparams(state)["1/learning_rate"]) == pytest.approx(0.0)
