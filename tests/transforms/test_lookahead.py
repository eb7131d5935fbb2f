"""lookahead: the paper's algorithm in float64, and optax's fast and slow weights."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax
from fromax import schedules

CURVATURE = [np.array([1.0, 3.0, 0.5]), np.array([[2.0, 0.2], [1.0, 4.0]])]
START = [np.array([1.0, -2.0, 0.5]), np.array([[0.3, -1.0], [2.0, 1.5]])]


def _grad(params):
    """The gradient of sum(a p**2 / 2): the trajectory depends on where the weights are."""
    return [a * p for a, p in zip(CURVATURE, params, strict=True)]


def _reference(steps, k, alphas, lr=0.1, momentum=0.9):
    """Zhang et al. (2019), Algorithm 1, in float64: SGD with momentum as the inner optimiser,
    its momentum kept across synchronisations. Returns the fast weights after each call."""
    slow = [p.copy() for p in START]
    fast = [p.copy() for p in START]
    velocity = [np.zeros_like(p) for p in START]
    out = []
    for t in range(steps):
        velocity = [g + momentum * v for g, v in zip(_grad(fast), velocity, strict=True)]
        fast = [p - lr * v for p, v in zip(fast, velocity, strict=True)]
        if t % k == k - 1:
            slow = [s + alphas(t) * (f - s) for s, f in zip(slow, fast, strict=True)]
            fast = [s.copy() for s in slow]
        out.append(fast)
    return out, slow


def _run(opt, steps):
    params = [jnp.asarray(p, jnp.float32) for p in START]
    state = opt.init(params)
    step = jax.jit(opt.update)
    out = []
    for _ in range(steps):
        updates, state = step(_grad(params), state, params)
        params = fromax.apply_updates(params, updates)
        out.append(params)
    return out, state


def test_lookahead_follows_the_paper_with_a_scheduled_alpha():
    alpha = schedules.linear(0.8, 0.2, transition_steps=8)  # read at the synchronising calls
    opt = fromax.lookahead(fromax.sgd(0.1, momentum=0.9), sync_period=3, alpha=alpha)
    got, state = _run(opt, 8)
    want, slow = _reference(8, 3, lambda t: 0.8 + (0.2 - 0.8) * t / 8)
    for g, w in zip(got, want, strict=True):
        for a, b in zip(g, w, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(state.inner.slow, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(state.inner.since_sync) == 8 % 3
    assert set(fromax.hyperparams(state)) == {"alpha", "learning_rate", "momentum"}


def test_lookahead_gives_optax_fast_and_slow_weights():
    opt = fromax.lookahead(fromax.sgd(0.1, momentum=0.9), sync_period=2, alpha=0.5)
    got, state = _run(opt, 5)
    theirs = optax.lookahead(optax.sgd(0.1, momentum=0.9), sync_period=2, slow_step_size=0.5)
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        params = optax.LookaheadParams.init_synced([jnp.asarray(p, jnp.float32) for p in START])
        their_state = theirs.init(params)
        for t in range(5):
            updates, their_state = theirs.update(_grad(params.fast), their_state, params)
            params = optax.apply_updates(params, updates)
            for a, b in zip(got[t], params.fast, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    for a, b in zip(state.inner.slow, params.slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_lookahead_alpha_is_data_and_arguments_are_checked():
    opt = fromax.lookahead(fromax.sgd(0.1), sync_period=1, alpha=0.5)
    state = fromax.set_hyperparams(opt.init(jnp.zeros(2)), alpha=1.0)
    updates, _ = opt.update(jnp.ones(2), state, jnp.zeros(2))  # alpha 1: plain SGD
    np.testing.assert_allclose(updates, [-0.1, -0.1])
    with pytest.raises(ValueError, match="lookahead's alpha must be"):
        fromax.lookahead(fromax.sgd(0.1), alpha=1.5)
    with pytest.raises(ValueError, match="lookahead's sync_period must be an integer >= 1"):
        fromax.lookahead(fromax.sgd(0.1), sync_period=0)
    with pytest.raises(ValueError, match="lookahead needs the current parameters"):
        opt.update(jnp.ones(2), state)
