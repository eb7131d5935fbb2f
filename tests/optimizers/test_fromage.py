"""Fromage against a float64 reference of the paper's formula, and against optax."""

from __future__ import annotations

import functools
import math

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax
import reference
from fromax import schedules


def _problem(seed=0, shapes=((8, 5), (5,), (3, 4, 2))):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s).astype(np.float32) for s in shapes]
    targets = [rng.normal(size=s) for s in shapes]
    noise = [rng.normal(size=(200, *s)) for s in shapes]
    return params, targets, noise


def _gradient(w, target, noise_t):
    # A contracting quadratic plus fixed noise: float32 and float64 runs stay close.
    return (w - target) + 0.3 * noise_t


def _run_against_reference(learning_rate, lr_values, steps=200, p_bound=None):
    params, targets, noise = _problem()
    opt = fromax.fromage(learning_rate, p_bound=p_bound)
    state = opt.init(params)

    @jax.jit
    def step(params, state, t):
        grads = [
            _gradient(w, jnp.asarray(tg, jnp.float32), jnp.asarray(n, jnp.float32)[t])
            for w, tg, n in zip(params, targets, noise, strict=True)
        ]
        updates, state = opt.update(grads, state, params)
        return fromax.apply_updates(params, updates), state

    exact = [w.astype(np.float64) for w in params]
    initial = [np.linalg.norm(w) for w in exact]
    for t in range(steps):
        params, state = step(params, state, t)
        exact = [
            reference.fromage_step(w, _gradient(w, tg, n[t]), lr_values(t), n0, p_bound)
            for w, tg, n, n0 in zip(exact, targets, noise, initial, strict=True)
        ]
    for got, want in zip(params, exact, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    return params, exact, state


def test_200_steps_under_warmup_cosine_decay_match_float64_formula():
    lr = schedules.warmup_cosine_decay(0.0, 0.05, warmup_steps=20, decay_steps=200)
    _, _, state = _run_against_reference(
        lr,
        functools.partial(
            reference.warmup_cosine,
            init_value=0.0,
            peak_value=0.05,
            warmup_steps=20,
            decay_steps=200,
        ),
    )
    assert int(state.count) == 200
    assert float(fromax.hyperparams(state)["learning_rate"]) == pytest.approx(
        reference.warmup_cosine(199, 0.0, 0.05, 20, 200), rel=1e-5
    )


def test_200_steps_under_a_user_callable_match_float64_formula():
    _run_against_reference(
        lambda t: 0.02 * 0.5 ** (t // 50).astype(jnp.float32) + 1e-4,  # t: an int32 array
        lambda t: 0.02 * 0.5 ** (t // 50) + 1e-4,
    )


def test_200_steps_with_p_bound_match_float64_formula():
    # A large learning rate pushes norms up; the bound must bite and be exact.
    _, exact, _ = _run_against_reference(0.3, lambda t: 0.3, p_bound=1.05)
    initial = [np.linalg.norm(w) for w in _problem()[0]]
    bound_hit = [
        math.isclose(np.linalg.norm(w), 1.05 * n0, rel_tol=1e-5)
        for w, n0 in zip(exact, initial, strict=True)
    ]
    assert any(bound_hit), "the test problem must exercise the bound"


@pytest.mark.parametrize("eta", [1e-4, 3e-4, 1e-3])
def test_shrink_term_is_exact_at_small_learning_rates_under_a_schedule(eta):
    w = jnp.array([3.0, 4.0, 0.0])
    g = jnp.array([0.0, 0.0, 2.0])  # orthogonal to w: the w-part of the update is the shrink
    want = reference.fromage_step(w, g, eta) - np.asarray(w, np.float64)
    opt = fromax.fromage(schedules.linear(eta, eta / 2, transition_steps=100))
    ours, _ = opt.update(g, opt.init(w), w)
    np.testing.assert_allclose(ours, want, rtol=1e-6)
    # optax 0.2.8, given a schedule, computes m - 1 in float32 and loses it:
    # exactly 0 for eta <= 3e-4, 5% off at 1e-3.
    opt = optax.fromage(optax.linear_schedule(eta, eta / 2, 100), min_norm=0.0)
    theirs, _ = opt.update(g, opt.init(w), w)
    assert abs(float(theirs[0]) - want[0]) / abs(want[0]) > 0.04


def test_zero_tensor_takes_the_plain_step_with_the_prefactor():
    eta = 0.1
    w = jnp.zeros(4)
    g = jnp.array([1.0, -2.0, 0.5, 0.0])
    update = fromax.fromage_update(w, g, jnp.float32(eta))
    np.testing.assert_allclose(update, -eta * np.asarray(g) / math.sqrt(1 + eta**2), rtol=1e-6)
    # optax floors the norm at min_norm and so barely moves a zero bias.
    opt = optax.fromage(eta)
    theirs, _ = opt.update(g, opt.init(w), w)
    assert float(jnp.abs(theirs).max()) < 1e-5 < float(jnp.abs(update).max())


def test_zero_gradient_shrinks_by_the_prefactor():
    eta = 0.2
    w = jnp.array([[1.0, -2.0], [3.0, 0.5]])
    new = w + fromax.fromage_update(w, jnp.zeros_like(w), jnp.float32(eta))
    np.testing.assert_allclose(new, np.asarray(w) / math.sqrt(1 + eta**2), rtol=1e-6)


def test_zero_tensor_and_zero_gradient_stays_zero():
    update = fromax.fromage_update(jnp.zeros(3), jnp.zeros(3), jnp.float32(0.1))
    np.testing.assert_array_equal(update, np.zeros(3))


def test_update_with_p_bound_needs_the_initial_norm():
    with pytest.raises(ValueError, match="fromage_update's p_bound needs initial_norm"):
        fromax.fromage_update(jnp.ones(3), jnp.ones(3), jnp.float32(0.1), p_bound=jnp.float32(2))


@hypothesis.given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    seed=st.integers(0, 2**31 - 1),
    eta=st.floats(1e-4, 1.0),
)
def test_orthogonal_gradient_preserves_the_norm(shape, seed, eta):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=shape)
    v = rng.normal(size=shape)
    g = v - (np.vdot(v, w) / np.vdot(w, w)) * w  # the part of v orthogonal to w
    hypothesis.assume(np.linalg.norm(g) > 1e-3 * np.linalg.norm(v))
    w32 = jnp.asarray(w, jnp.float32)
    new_norm, norm = _norms_after_update(w32, jnp.asarray(g, jnp.float32), jnp.float32(eta))
    assert float(new_norm) == pytest.approx(float(norm), rel=2e-5)


@jax.jit
def _norms_after_update(w, g, eta):
    # Jitted: eagerly, every new shape drawn compiles each operation (3x slower).
    return jnp.linalg.norm(w + fromax.fromage_update(w, g, eta)), jnp.linalg.norm(w)


def test_p_bound_leaves_zero_initialised_tensors_unbounded():
    params = {"w": jnp.ones(3), "b": jnp.zeros(3)}
    opt = fromax.fromage(0.5, p_bound=1.0)
    state = opt.init(params)
    grads = {"w": jnp.array([1.0, -1.0, 0.0]), "b": jnp.ones(3)}
    updates, _ = opt.update(grads, state, params)
    new = fromax.apply_updates(params, updates)
    # b starts at zero: a bound of 1.0 * 0 would pin it; fromax lets it move.
    np.testing.assert_allclose(new["b"], -0.5 / math.sqrt(1.25) * np.ones(3), rtol=1e-6)
    assert float(jnp.linalg.norm(new["w"])) <= math.sqrt(3) * (1 + 1e-6)


def test_p_bound_is_schedulable_and_reported():
    opt = fromax.fromage(0.1, p_bound=schedules.linear(2.0, 1.0, transition_steps=10))
    state = opt.init({"w": jnp.ones(2)})
    _, state = opt.update({"w": jnp.ones(2)}, state, {"w": jnp.ones(2)})
    assert set(fromax.hyperparams(state)) == {"learning_rate", "p_bound"}
    assert float(fromax.hyperparams(state)["p_bound"]) == 2.0


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_low_precision_params_compute_in_float32(dtype):
    w32 = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
    g32 = np.cos(np.arange(12, dtype=np.float32)).reshape(3, 4)
    w, g = jnp.asarray(w32, dtype), jnp.asarray(g32, dtype)
    opt = fromax.fromage(1e-3)
    state = opt.init(w)
    update, state = opt.update(g, state, w)
    assert update.dtype == dtype
    assert fromax.hyperparams(state)["learning_rate"].dtype == jnp.float32
    # The same maths done in float64 on the same (rounded) inputs, then rounded once.
    want = reference.fromage_step(np.asarray(w, np.float64), np.asarray(g, np.float64), 1e-3)
    want = want - np.asarray(w, np.float64)
    np.testing.assert_array_equal(update, np.asarray(want.astype(np.float32)).astype(dtype))


def test_agrees_with_optax_where_optax_is_right():
    # Non-zero norms, min_norm=0 and a learning rate where optax's shrink is accurate.
    params, targets, noise = _problem(seed=3)
    ours, theirs = fromax.fromage(0.1), optax.fromage(0.1, min_norm=0.0)
    p1, p2 = list(params), list(params)
    s1, s2 = ours.init(p1), theirs.init(p2)
    for t in range(20):
        g1 = [
            _gradient(w, tg, n[t]).astype(np.float32)
            for w, tg, n in zip(p1, targets, noise, strict=True)
        ]
        g2 = [
            _gradient(w, tg, n[t]).astype(np.float32)
            for w, tg, n in zip(p2, targets, noise, strict=True)
        ]
        u1, s1 = ours.update(g1, s1, p1)
        u2, s2 = theirs.update(g2, s2, p2)
        p1, p2 = fromax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    for a, b in zip(p1, p2, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def _small_problem():
    params, targets, noise = _problem(seed=1, shapes=((4, 3), (3,)))
    return [jnp.asarray(p) for p in params], targets, noise


def _train_eagerly(learning_rate, steps=10):
    params, targets, noise = _small_problem()
    opt = fromax.fromage(learning_rate)
    state = opt.init(params)
    for t in range(steps):
        grads = [
            _gradient(w, tg, n[t]).astype(jnp.float32)
            for w, tg, n in zip(params, targets, noise, strict=True)
        ]
        updates, state = opt.update(grads, state, params)
        params = fromax.apply_updates(params, updates)
    return params


def _train_with_scan(learning_rate, steps=10):
    params, targets, noise = _small_problem()
    opt = fromax.fromage(learning_rate)

    def body(carry, t):
        params, state = carry
        grads = [
            _gradient(w, jnp.asarray(tg, jnp.float32), jnp.asarray(n, jnp.float32)[t])
            for w, tg, n in zip(params, targets, noise, strict=True)
        ]
        updates, state = opt.update(grads, state, params)
        return (fromax.apply_updates(params, updates), state), None

    (final, _), _ = jax.lax.scan(body, (params, opt.init(params)), jnp.arange(steps))
    return final


def test_schedule_under_jit_scan_and_vmap():
    lr = schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=3, decay_steps=10)
    close = functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-7)
    eager = _train_eagerly(lr)
    for a, b in zip(jax.jit(_train_with_scan)(lr), eager, strict=True):
        close(a, b)
    # vmap over the schedule's peak: the same as separate runs.
    peaks = jnp.array([0.01, 0.05, 0.1, 0.2])
    batched = jax.vmap(lambda peak: _train_with_scan(lr.replace(peak_value=peak)))(peaks)
    for i, peak in enumerate(peaks):
        single = _train_eagerly(lr.replace(peak_value=float(peak)))
        for a, b in zip(batched, single, strict=True):
            close(a[i], b)
