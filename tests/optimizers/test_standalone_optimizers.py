"""Edge cases of Nero, Madam, Lion, RMSprop, Adagrad, Adafactor and schedule-free, and optax.

The contract suite (test_optimizer_contract.py) checks each against its
float64 reference under schedules; here: agreement with optax 0.2.8 where
optax has the algorithm, the papers' edge cases, and bad input.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax
import optimizer_registry_standalone
import reference_standalone as ref

SHAPES = ((5, 3), (3,), (2, 3, 4))


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [jnp.asarray(rng.normal(size=s), jnp.float32) for s in SHAPES]


def _gradients(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[jnp.asarray(rng.normal(size=s), jnp.float32) for s in SHAPES] for _ in range(steps)]


def _trajectory(opt, params, grads, apply=fromax.apply_updates):
    """The parameters after each step of ``opt`` on the fixed gradients (plus a pull to 0)."""
    state = opt.init(params)
    history = []
    for g in grads:
        g = [gi + 0.5 * p for gi, p in zip(g, params, strict=True)]
        updates, state = opt.update(g, state, params)
        params = apply(params, updates)
        history.append(params)
    return history, state


def _assert_same_trajectory(ours, theirs, rtol=2e-5, atol=2e-6):
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {step}")


OPTAX_CASES = [
    ("lion", dict(learning_rate=0.01, b1=0.9, b2=0.99, weight_decay=0.1)),
    ("rmsprop", dict(learning_rate=0.01)),
    ("rmsprop", dict(learning_rate=0.01, centered=True, momentum=0.9, nesterov=True)),
    ("rmsprop", dict(learning_rate=0.01, centered=True, momentum=0.5, eps=1e-3)),
    (
        "rmsprop",
        dict(learning_rate=0.01, eps_in_sqrt=False, bias_correction=True, initial_scale=0.5),
    ),
    ("adagrad", dict(learning_rate=0.1)),
    ("adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.0, eps=1e-3)),
    ("adafactor", dict(learning_rate=0.05, min_dim_size_to_factor=2)),
    (
        "adafactor",
        dict(
            learning_rate=0.05,
            min_dim_size_to_factor=3,
            momentum=0.9,
            weight_decay_rate=0.01,
            clipping_threshold=None,
            eps=1e-3,
        ),
    ),
    ("adafactor", dict(min_dim_size_to_factor=2, decay_rate=0.5)),  # no learning rate
    ("adafactor", dict(learning_rate=0.1, factored=False, multiply_by_parameter_scale=False)),
    ("schedule_free_sgd", dict(learning_rate=0.1)),
    ("schedule_free_sgd", dict(learning_rate=0.1, b1=0.8, weight_decay=0.01)),
    ("schedule_free_adamw", dict(learning_rate=0.01, weight_decay=0.01, b2=0.99)),
]


def _optax_of(name):
    if name.startswith("schedule_free"):
        return getattr(optax.contrib, name)
    return getattr(optax, name)


@pytest.mark.parametrize(("name", "kwargs"), OPTAX_CASES, ids=[c[0] for c in OPTAX_CASES])
def test_agrees_with_optax(name, kwargs):
    params, grads = _params(), _gradients(12)
    ours, our_state = _trajectory(getattr(fromax, name)(**kwargs), params, grads)
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        theirs, their_state = _trajectory(
            _optax_of(name)(**kwargs), params, grads, optax.apply_updates
        )
    _assert_same_trajectory(ours, theirs)
    if name.startswith("schedule_free"):
        mine = fromax.schedule_free_eval_params(our_state, ours[-1])
        with jax.numpy_dtype_promotion("standard"):
            other = optax.contrib.schedule_free_eval_params(their_state, theirs[-1])
        _assert_same_trajectory([mine], [other])


@pytest.mark.parametrize("entry", optimizer_registry_standalone.ENTRIES, ids=repr)
def test_state_shares_no_buffer_with_the_params_so_both_can_be_donated(entry):
    # jit(step, donate_argnums=(0, 1)) refuses a buffer donated twice (schedule-free's z
    # once aliased the float32 parameters, and two of its scalars each other).
    params = _params()
    opt = entry.make(**entry.hyperparams, **entry.options)
    leaves = [*params, *jax.tree.leaves(opt.init(params).inner)]
    pointers = [leaf.unsafe_buffer_pointer() for leaf in leaves if leaf.size]
    assert len(pointers) == len(set(pointers))


# Nero


def test_nero_rows_stay_centred_and_unit_norm_and_the_first_update_projects():
    params = _params()
    grads = _gradients(3)
    history, state = _trajectory(fromax.nero(0.1), params, grads)
    for params_t in history:
        for p in params_t:
            if p.ndim > 1:
                rows = np.asarray(p).reshape(p.shape[0], -1)
                np.testing.assert_allclose(rows.mean(axis=1), 0, atol=1e-6)
                np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1, rtol=1e-6)
    # Vectors are not projected; scale is the mean |b| of a vector, 1 for projected matrices.
    np.testing.assert_allclose(
        history[0][1] - params[1],
        -0.1 * np.mean(np.abs(params[1])) * np.sign(grads[0][1] + 0.5 * params[1]),
        rtol=1e-5,
    )
    np.testing.assert_allclose(state.inner.scales[0], 1.0, rtol=1e-6)


def test_nero_from_projected_params_is_the_papers_first_step():
    w = fromax.nero_project(_params()[0])
    g = _gradients(1)[0][0]
    updates, _ = fromax.nero(0.1).update(g, fromax.nero(0.1).init(w), w)
    expected, _ = ref.nero_step(
        np.asarray(w),
        np.asarray(g),
        ref.nero_init(np.asarray(w)),
        {"learning_rate": 0.1, "beta": 0.999},
        0,
    )
    np.testing.assert_allclose(w + updates, expected, rtol=1e-5, atol=1e-6)
    # First step: each row moves by lr * g_row / ||g_row||, then is re-projected.
    rows = np.asarray(w) - 0.1 * np.asarray(g) / np.linalg.norm(
        np.asarray(g), axis=1, keepdims=True
    )
    np.testing.assert_allclose(expected, ref.nero_projection(rows), rtol=1e-6)


def test_nero_zero_rows_gradients_and_biases():
    params = {"w": jnp.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]), "b": jnp.zeros(2)}
    opt = fromax.nero(0.1)
    state = opt.init(params)
    # A zero bias gets scale 0.01; a row constant at init is zero once centred (scale 1/2).
    np.testing.assert_allclose(state.inner.scales["b"], 0.01)
    np.testing.assert_allclose(state.inner.scales["w"], 0.5, rtol=1e-6)
    grads = {"w": jnp.zeros((2, 3)), "b": jnp.array([0.0, 2.0])}
    updates, state = opt.update(grads, state, params)
    new = fromax.apply_updates(params, updates)
    # Zero gradient: no step (0/0 -> 0); the projection still applies; the constant row -> 0.
    np.testing.assert_allclose(new["w"][0], 0.0)
    np.testing.assert_allclose(new["w"][1], np.array([-1.0, 0.0, 1.0]) / np.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(new["b"], [0.0, -0.1 * 0.01], rtol=1e-6)
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(state))


def test_nero_without_constraints_does_not_project():
    w = jnp.array([[3.0, 4.0]])
    g = jnp.array([[1.0, 0.0]])
    opt = fromax.nero(0.1, constraints=False)
    updates, _ = opt.update(g, opt.init(w), w)
    # scale = ||row|| = 5; step = lr * scale * g / ||g|| on the first update.
    np.testing.assert_allclose(updates, [[-0.5, 0.0]], rtol=1e-6)


# Madam


def test_madam_keeps_signs_zeros_and_the_bound():
    w0 = jnp.array([[0.5, -2.0, 0.0], [1.0, -0.1, 3.0]])
    opt = fromax.madam(learning_rate=0.5, p_scale=1.2, g_bound=10.0)
    state = opt.init(w0)
    bound = 1.2 * np.sqrt(np.mean(np.asarray(w0) ** 2))
    np.testing.assert_allclose(state.inner.initial_rms, bound / 1.2, rtol=1e-6)
    w, largest = w0, []
    rng = np.random.default_rng(3)
    for _ in range(30):
        updates, state = opt.update(jnp.asarray(rng.normal(size=w0.shape), jnp.float32), state, w)
        w = fromax.apply_updates(w, updates)
        np.testing.assert_array_equal(np.sign(w), np.sign(w0))
        largest.append(float(np.abs(np.asarray(w)).max()))
    assert max(largest) <= bound * (1 + 1e-6)
    assert max(largest) == pytest.approx(bound, rel=1e-6)  # the bound was reached


def test_madam_small_steps_are_exact_in_float32():
    # w (exp(x) - 1) with x = -1e-6: a plain exp(x) - 1 in float32 loses about 5% of it.
    w = jnp.array([1.0, -3.0])
    opt = fromax.madam(learning_rate=1e-6)
    updates, _ = opt.update(jnp.array([1.0, 1.0]), opt.init(w), w)
    np.testing.assert_allclose(
        updates, np.asarray(w, np.float64) * np.expm1(-1e-6 * np.sign(w)), rtol=1e-6
    )


def test_madam_and_nero_zero_gradients_do_not_move_or_nan():
    w = jnp.array([1.0, -2.0])
    for opt in (fromax.madam(), fromax.nero()):
        updates, state = opt.update(jnp.zeros(2), opt.init(w), w)
        np.testing.assert_array_equal(updates, 0.0)
        assert all(np.isfinite(x).all() for x in jax.tree.leaves(state))


# Lion, Adagrad


def test_lion_sign_of_zero_is_zero():
    w = jnp.array([2.0, -1.0])
    opt = fromax.lion(0.1, weight_decay=0.5)
    updates, _ = opt.update(jnp.array([0.0, 3.0]), opt.init(w), w)
    np.testing.assert_allclose(updates, [-0.1 * 0.5 * 2.0, -0.1 * (1 - 0.5)], rtol=1e-6)


def test_adagrad_leaves_coordinates_without_history_alone():
    opt = fromax.adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
    updates, state = opt.update(jnp.array([0.0, 4.0]), opt.init(jnp.zeros(2)), None)
    np.testing.assert_array_equal(updates, [0.0, -1.0])
    updates, _ = opt.update(jnp.array([0.0, 3.0]), state, None)
    np.testing.assert_allclose(updates, [0.0, -3.0 / 5.0], rtol=1e-6)


# Adafactor


def test_adafactor_factors_matrices_not_vectors():
    params = {"w": jnp.zeros((4, 6)), "t": jnp.zeros((3, 5, 2)), "b": jnp.zeros(6)}
    state = fromax.adafactor(0.1, min_dim_size_to_factor=2).init(params).inner
    assert state.row_moments["w"].shape == (4,) and state.column_moments["w"].shape == (6,)
    assert state.row_moments["t"].shape == (3, 2) and state.column_moments["t"].shape == (5, 2)
    assert state.moments["w"] is None and state.moments["b"].shape == (6,)
    assert state.row_moments["b"] is None and state.momentum is None
    # A vector is never factored: factored=True and factored=False give the same steps.
    b, g = jnp.linspace(-1.0, 1.0, 6), jnp.cos(jnp.arange(6.0))
    one, two = (fromax.adafactor(0.1, factored=f) for f in (True, False))
    np.testing.assert_array_equal(
        one.update(g, one.init(b), b)[0], two.update(g, two.init(b), b)[0]
    )


def test_adafactor_factored_estimate_is_exact_for_rank_one_squares():
    # G = g**2 = a b^T (rank one): R C / mean(R) = G exactly, so the first factored step
    # equals the unfactored one.
    g = jnp.asarray(np.outer([1.0, -2.0, 0.5], [3.0, 1.0, -1.0, 2.0]), jnp.float32)
    w = jnp.ones((3, 4))
    kwargs = dict(learning_rate=0.1, clipping_threshold=None, eps=0.0, min_dim_size_to_factor=1)
    factored = fromax.adafactor(**kwargs)
    full = fromax.adafactor(**kwargs, factored=False)
    a, _ = factored.update(g, factored.init(w), w)
    b, _ = full.update(g, full.init(w), w)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(b, -0.1 * np.sign(g), rtol=1e-6)  # g / sqrt(g**2), RMS(w) = 1


def test_adafactor_counts_from_decay_offset():
    w, g = jnp.ones(3), jnp.array([1.0, 2.0, 3.0])
    opt = fromax.adafactor(0.1, decay_offset=5, decay_rate=0.8, eps=0.0)
    state = opt.init(w)
    for t in range(7):
        updates, state = opt.update(g, state, w)
        assert np.isfinite(updates).all()
        # While t <= 5, beta2 = 1 - 1 = 0: the moment is the latest g**2.
        if t <= 5:
            np.testing.assert_allclose(state.inner.moments, g**2, rtol=1e-6)


# Schedule-free


def test_schedule_free_eval_params_by_hand_with_a_scheduled_b1():
    b1 = fromax.schedules.linear(0.5, 0.25, transition_steps=1)  # 0.5, then 0.25
    opt = fromax.schedule_free_sgd(1.0, b1=b1)
    y = jnp.array([2.0])
    state = opt.init(y)
    np.testing.assert_array_equal(fromax.schedule_free_eval_params(state, y), y)
    updates, state = opt.update(jnp.array([1.0]), state, y)  # z = 1, c = 1: x = 1, y = 1
    y = fromax.apply_updates(y, updates)
    np.testing.assert_allclose(y, [1.0])
    updates, state = opt.update(jnp.array([1.0]), state, y)  # z = 0, c = 1/2: x = 1/2
    y = fromax.apply_updates(y, updates)
    np.testing.assert_allclose(y, [0.25 * 0.5 + 0.75 * 0.0])
    np.testing.assert_allclose(fromax.schedule_free_eval_params(state, y), [0.5], rtol=1e-6)
    # Found inside a chain too.
    chained = fromax.chain(opt)
    assert fromax.schedule_free_eval_params(chained.init(y), y).shape == (1,)


def test_schedule_free_warmup_follows_the_reference():
    params, grads = _params(), _gradients(6)
    opt = fromax.schedule_free_adamw(0.05, warmup_steps=4, weight_decay=0.01)
    history, _ = _trajectory(opt, params, grads)
    values = dict(learning_rate=0.05, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01)
    values["weight_lr_power"] = 2.0
    exact = [np.asarray(p, np.float64) for p in params]
    states = [ref.schedule_free_init(p) for p in exact]
    for t, g in enumerate(grads):
        for i, p in enumerate(exact):
            grad = np.asarray(g[i], np.float64) + 0.5 * p
            exact[i], states[i] = ref.schedule_free_step(
                p, grad, states[i], values, t, adam=True, warmup_steps=4
            )
        for a, b in zip(history[t], exact, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_schedule_free_eval_params_needs_a_schedule_free_state():
    state = fromax.fromage(0.1).init(jnp.ones(2))
    with pytest.raises(ValueError, match="needs the state of schedule_free_sgd"):
        fromax.schedule_free_eval_params(state, jnp.ones(2))


def test_nero_neuron_axis_last_is_the_transpose_of_rows():
    # JAX kernels are (in, out): neurons are columns. neuron_axis=-1 on W must
    # equal the default (rows) on W.T, transposed back.
    rng = np.random.default_rng(7)
    w = jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)
    g = jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)
    np.testing.assert_allclose(
        fromax.nero_project(w, neuron_axis=-1), fromax.nero_project(w.T).T, rtol=1e-6
    )
    columns, rows = fromax.nero(0.1, neuron_axis=-1), fromax.nero(0.1)
    by_column, state = columns.update(g, columns.init(w), w)
    by_row, _ = rows.update(g.T, rows.init(w.T), w.T)
    np.testing.assert_allclose(by_column, by_row.T, rtol=1e-6, atol=1e-7)
    assert state.inner.second_moments.shape == (3,)
    with pytest.raises(ValueError, match=r"neuron_axis=2 is out of range for a parameter of shape"):
        fromax.nero(neuron_axis=2).init(w)
    with pytest.raises(TypeError, match="neuron_axis must be an int"):
        fromax.nero(neuron_axis="last")
