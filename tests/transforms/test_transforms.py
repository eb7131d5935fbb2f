"""The building blocks: each against optax or hand-computed values, and chains of them
against the named optimisers built from the same per-array maths."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax
from fromax import schedules

SHAPES = ((5, 3), (3,), (2, 2, 2))


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [jnp.asarray(rng.normal(size=s), jnp.float32) for s in SHAPES]


def _grads(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[jnp.asarray(rng.normal(size=s), jnp.float32) for s in SHAPES] for _ in range(steps)]


def _run(opt, params, grads):
    """Applies ``opt`` to the gradient lists in turn; returns (params, updates per step, state)."""
    state = opt.init(params)
    history = []
    step = jax.jit(opt.update)
    for g in grads:
        updates, state = step(g, state, params)
        history.append(updates)
        params = fromax.apply_updates(params, updates)
    return params, history, state


def _close(a, b, rtol=1e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * max(1.0, float(np.abs(y).max())))


def _is_matrix(params):
    return [p.ndim > 1 for p in params]


# Chains of blocks equal the named optimisers (same per-array maths, one state).
CHAINS = {
    "sgd": (
        fromax.sgd(0.1, momentum=0.9, nesterov=True),
        fromax.chain(fromax.trace(0.9, nesterov=True), fromax.scale_by_learning_rate(0.1)),
    ),
    "adam": (
        fromax.adam(0.01, b1=0.8, eps=1e-3),
        fromax.chain(fromax.scale_by_adam(b1=0.8, eps=1e-3), fromax.scale_by_learning_rate(0.01)),
    ),
    "nadam": (
        fromax.nadam(0.01),
        fromax.chain(fromax.scale_by_adam(nesterov=True), fromax.scale_by_learning_rate(0.01)),
    ),
    "adamw": (
        fromax.adamw(0.01, weight_decay=0.1, mask=_is_matrix),
        fromax.chain(
            fromax.scale_by_adam(),
            fromax.add_decayed_weights(0.1, mask=_is_matrix),
            fromax.scale_by_learning_rate(0.01),
        ),
    ),
    "lamb": (
        fromax.lamb(0.01, weight_decay=0.1),
        fromax.chain(
            fromax.scale_by_adam(eps=1e-6),
            fromax.add_decayed_weights(0.1),
            fromax.scale_by_trust_ratio(),
            fromax.scale_by_learning_rate(0.01),
        ),
    ),
    # Without decay: LARS's denominator is the paper's ||g|| + wd ||w||, not ||g + wd w||.
    "lars": (
        fromax.lars(0.5, trust_coefficient=0.1, eps=0.01, momentum=0.8),
        fromax.chain(
            fromax.scale_by_trust_ratio(trust_coefficient=0.1, eps=0.01),
            fromax.scale_by_learning_rate(0.5),
            fromax.trace(0.8),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_of_blocks_equals_the_named_optimiser(name):
    named, chained = CHAINS[name]
    params, grads = _params(), _grads(10)
    want, _, _ = _run(chained, params, grads)
    got, _, _ = _run(named, params, grads)
    _close(got, want, rtol=2e-6)


def test_blocks_agree_with_optax():
    params, grads = _params(), _grads(10)
    pairs = [
        (fromax.trace(0.7, nesterov=True), optax.trace(0.7, nesterov=True)),
        (fromax.scale_by_learning_rate(0.3), optax.scale_by_learning_rate(0.3)),
        (fromax.add_decayed_weights(0.2), optax.add_decayed_weights(0.2)),
        (fromax.scale_by_adam(b1=0.8, eps=1e-4), optax.scale_by_adam(b1=0.8, eps=1e-4)),
        (
            fromax.scale_by_trust_ratio(min_norm=0.5, trust_coefficient=0.3, eps=0.1),
            optax.scale_by_trust_ratio(min_norm=0.5, trust_coefficient=0.3, eps=0.1),
        ),
        (fromax.clip(0.5), optax.clip(0.5)),
    ]
    for ours, theirs in pairs:
        for g in grads[:3]:
            a, _ = ours.update(g, ours.init(params), params)
            with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
                b, _ = theirs.update(g, theirs.init(params), params)
            _close(a, b, rtol=2e-5)


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_by_global_norm_matches_optax_below_and_above_the_limit(max_norm):
    grads = _grads(1)[0]
    norm = float(np.sqrt(sum(np.sum(np.asarray(g, np.float64) ** 2) for g in grads)))
    assert float(fromax.global_norm(grads)) == pytest.approx(norm, rel=1e-6)
    ours = fromax.clip_by_global_norm(max_norm)
    got, _ = ours.update(grads, ours.init(grads))
    want, _ = optax.clip_by_global_norm(max_norm).update(grads, optax.EmptyState())
    _close(got, want, rtol=1e-6)
    # Hand-computed: the direction is kept, the norm is min(norm, max_norm).
    assert float(fromax.global_norm(got)) == pytest.approx(min(norm, max_norm), rel=1e-5)


def test_clip_follows_a_schedule():
    opt = fromax.clip(schedules.linear(1.0, 0.5, transition_steps=1))
    state = opt.init(jnp.zeros(2))
    first, state = opt.update(jnp.array([2.0, -0.75]), state)
    second, state = opt.update(jnp.array([2.0, -0.75]), state)
    np.testing.assert_array_equal(first, [1.0, -0.75])
    np.testing.assert_array_equal(second, [0.5, -0.5])
    assert float(fromax.hyperparams(state)["max_delta"]) == 0.5


def test_masked_bias_mask_with_hyperparams():
    params = {"w": jnp.full((2, 2), 2.0), "b": jnp.full((2,), 2.0)}
    zeros = jax.tree.map(jnp.zeros_like, params)
    for mask in ({"w": True, "b": False}, lambda p: jax.tree.map(lambda x: x.ndim > 1, p)):
        opt = fromax.chain(
            fromax.masked(fromax.add_decayed_weights(schedules.linear(0.1, 0.3, 2)), mask),
            fromax.scale_by_learning_rate(0.5),
        )
        state = opt.init(params)
        updates, state = opt.update(zeros, state, params)
        np.testing.assert_allclose(updates["w"], -0.5 * 0.1 * 2.0)
        np.testing.assert_array_equal(updates["b"], 0.0)
        assert fromax.hyperparams(state) == {
            "weight_decay": pytest.approx(0.1),
            "learning_rate": pytest.approx(0.5),
        }
        # The inner schedule advanced; a change through set_hyperparams reaches it.
        updates, state = opt.update(zeros, state, params)
        np.testing.assert_allclose(updates["w"], -0.5 * 0.2 * 2.0, rtol=1e-6)
        state = fromax.set_hyperparams(state, weight_decay=1.0)
        updates, state = opt.update(zeros, state, params)
        np.testing.assert_allclose(updates["w"], -0.5 * 1.0 * 2.0)
        np.testing.assert_array_equal(updates["b"], 0.0)


def test_masked_adam_has_no_state_for_left_out_leaves_and_matches_optax():
    params, grads = _params(), _grads(5)
    mask = [True, False, True]
    ours = fromax.masked(fromax.adam(0.01), mask)
    theirs = optax.masked(optax.adam(0.01), mask)
    got, _, state = _run(ours, params, grads)
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        want, _, _ = _run(theirs, params, grads)
    _close(got, want, rtol=2e-5)
    # The left-out leaf's updates pass through unchanged: the raw gradients.
    np.testing.assert_allclose(got[1], params[1] + sum(g[1] for g in grads), rtol=1e-6)
    assert type(state) is fromax.MaskedState  # no counter of its own
    assert state.inner.inner.mu[1] is None


def test_masked_refuses_a_mask_of_another_structure():
    opt = fromax.masked(fromax.sgd(0.1), {"a": True})
    with pytest.raises(ValueError, match="masked's mask must have the parameters' tree"):
        opt.init([jnp.ones(2)])
    with pytest.raises(TypeError, match="masked's mask must be a pytree of Python bools"):
        fromax.masked(fromax.sgd(0.1), [jnp.array(True)])
    with pytest.raises(TypeError, match="masked's inner must be a gradient transformation"):
        fromax.masked("adam", [True])


def test_skip_nonfinite_leaves_parameters_and_inner_state_untouched():
    params, grads = _params(), _grads(3)
    bad = [g.at[(0,) * g.ndim].set(jnp.nan) for g in grads[1]]
    inf = [g.at[(0,) * g.ndim].set(jnp.inf) for g in grads[1]]
    opt = fromax.skip_nonfinite(fromax.adam(schedules.linear(0.1, 0.0, 10)))
    got, history, state = _run(opt, params, [grads[0], bad, grads[1], inf, grads[2]])
    want, _, plain = _run(fromax.adam(schedules.linear(0.1, 0.0, 10)), params, grads)
    _close(got, want)  # separately compiled: equal up to an ulp
    for skipped in (history[1], history[3]):
        for u in skipped:
            np.testing.assert_array_equal(u, 0.0)
    assert int(state.skipped) == 2
    assert int(state.inner.count) == 3  # the inner schedule did not advance
    _close(state.inner, plain)


@pytest.mark.parametrize("every_k", [1, 3])
def test_accumulate_gradients_applies_the_mean_every_k_steps(every_k):
    params, grads = _params(), _grads(6)
    inner = fromax.adam(schedules.linear(0.1, 0.05, 2))
    got, history, state = _run(fromax.accumulate_gradients(inner, every_k), params, grads)
    # By hand: the inner optimiser on the mean of each group of k gradients.
    means = [
        [sum(g[i] for g in grads[j : j + every_k]) / every_k for i in range(len(SHAPES))]
        for j in range(0, len(grads), every_k)
    ]
    want, want_history, _ = _run(inner, params, means)
    _close(got, want, rtol=1e-6)
    for t, updates in enumerate(history):
        if (t + 1) % every_k:
            for u in updates:
                np.testing.assert_array_equal(u, 0.0)
        else:
            _close(updates, want_history[t // every_k], rtol=1e-6)
    assert int(state.inner.count) == len(grads) // every_k
    assert int(state.count) == 0  # the sum is empty after an applied step
    # optax's MultiSteps does the same.
    multi = optax.MultiSteps(optax.adam(optax.linear_schedule(0.1, 0.05, 2)), every_k)
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        theirs, _, _ = _run(multi, params, grads)
    _close(got, theirs, rtol=2e-5)


WRAPPERS = {
    "masked": lambda inner: fromax.masked(inner, [True]),
    "skip_nonfinite": fromax.skip_nonfinite,
    "accumulate_gradients": lambda inner: fromax.accumulate_gradients(inner, every_k=1),
}


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_wrappers_pass_extra_arguments_to_the_inner_update(name):
    seen = []

    def update(updates, state, params=None, **extra):
        seen.append(extra)
        return updates, state

    opt = WRAPPERS[name](fromax.GradientTransformation(lambda params: (), update))
    params = [jnp.ones(2)]
    opt.update(params, opt.init(params), params, loss=jnp.float32(3.0))
    assert [set(extra) for extra in seen] == [{"loss"}]
    # An optax transformation without extra arguments is called without them.
    opt = WRAPPERS[name](optax.scale(2.0))
    updates, _ = opt.update(params, opt.init(params), params, loss=jnp.float32(3.0))
    np.testing.assert_array_equal(updates[0], 2.0)


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_wrapper_states_hold_the_inner_state_directly(name):
    opt = fromax.chain(WRAPPERS[name](fromax.sgd(0.1)), fromax.scale_by_learning_rate(0.5))
    state = opt.init([jnp.ones(2)])
    assert not isinstance(state[0], fromax.TransformState)  # no counter of its own
    assert isinstance(state[0].inner, fromax.TransformState)  # sgd's, one level down
    assert set(fromax.hyperparams(state)) == {"0/inner/learning_rate", "1/learning_rate"}
    state = fromax.set_hyperparams(state, {"0/inner/learning_rate": 0.3})
    assert state[0].inner.schedules["learning_rate"] == schedules.constant(0.3)
    with pytest.raises(TypeError, match=f"{name}'s update was given a TransformState: pass"):
        opt.update([jnp.ones(2)], (state[1], state[1]), [jnp.ones(2)])


def test_accumulate_gradients_refuses_bad_k():
    with pytest.raises(ValueError, match="every_k must be an integer >= 1, got 0"):
        fromax.accumulate_gradients(fromax.sgd(0.1), 0)
    with pytest.raises(TypeError, match=r"every_k must be an integer >= 1, got 2\.5"):
        fromax.accumulate_gradients(fromax.sgd(0.1), 2.5)
    with pytest.raises(TypeError, match="every_k must be an integer >= 1, got True"):
        fromax.accumulate_gradients(fromax.sgd(0.1), True)


def test_trace_and_learning_rate_follow_schedules_exactly():
    # v_t = m_t v_{t-1} + g with m_t = 0.5, 0.25, 0.25...; update -eta_t v_t, eta = 1, 0.5, 0.
    opt = fromax.chain(
        fromax.trace(schedules.linear(0.5, 0.25, 1)),
        fromax.scale_by_learning_rate(schedules.linear(1.0, 0.0, 2)),
    )
    state = opt.init(jnp.zeros(1))
    out = []
    for _ in range(3):
        updates, state = opt.update(jnp.ones(1), state)
        out.append(float(updates[0]))
    assert out == [-1.0, -0.5 * 1.25, -0.0]


def test_lamb_and_lars_step_zero_initialised_tensors():
    # ||w|| = 0: ratio 1, so a zero bias takes Adam's (LAMB) or the plain (LARS) step.
    params = [jnp.zeros(3)]
    grads = [jnp.array([1.0, -2.0, 0.5])]
    lamb = fromax.lamb(0.1)
    updates, _ = lamb.update(grads, lamb.init(params), params)
    np.testing.assert_allclose(updates[0], -0.1 * np.sign(grads[0]), rtol=1e-5)
    lars = fromax.lars(0.1, momentum=0.0)
    updates, _ = lars.update(grads, lars.init(params), params)
    np.testing.assert_allclose(updates[0], -0.1 * np.asarray(grads[0]), rtol=1e-6)


def test_blocks_refuse_bad_values_by_name():
    cases = [
        (lambda: fromax.clip(-1.0), ValueError, "clip's max_delta must be"),
        (lambda: fromax.clip_by_global_norm(-1.0), ValueError, "max_norm must be"),
        (lambda: fromax.trace(1.5), ValueError, "trace's decay must be"),
        (lambda: fromax.trace(0.9, nesterov="no"), TypeError, "trace's nesterov must be"),
        (lambda: fromax.scale_by_adam(b2=1.0), ValueError, "scale_by_adam's b2 must be"),
        (lambda: fromax.add_decayed_weights(-0.1), ValueError, "weight_decay must be"),
        (lambda: fromax.scale_by_trust_ratio(min_norm=-1.0), ValueError, "min_norm must be"),
        (lambda: fromax.scale_by_learning_rate(-0.1), ValueError, "learning_rate must be"),
        (lambda: fromax.skip_nonfinite(None), TypeError, "skip_nonfinite's inner must be"),
    ]
    for build, error, fragment in cases:
        with pytest.raises(error, match=fragment):
            build()
    # Ascent: flip_sign=False admits any learning rate.
    opt = fromax.scale_by_learning_rate(-0.1, flip_sign=False)
    np.testing.assert_allclose(opt.update(jnp.ones(1), opt.init(jnp.ones(1)))[0], [-0.1])


def test_readme_chain_lists_every_hyperparameter():
    no_bias = lambda params: jax.tree.map(lambda p: p.ndim > 1, params)  # noqa: E731
    mine = fromax.chain(
        fromax.clip_by_global_norm(1.0),
        fromax.scale_by_adam(b2=schedules.linear(0.95, 0.999, transition_steps=1_000)),
        fromax.masked(fromax.add_decayed_weights(1e-2), no_bias),
        fromax.scale_by_learning_rate(0.01),
    )
    mine = fromax.skip_nonfinite(mine)
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    state = mine.init(params)
    assert sorted(fromax.hyperparams(state)) == [
        "b1",
        "b2",
        "eps",
        "eps_root",
        "learning_rate",
        "max_norm",
        "weight_decay",
    ]
    updates, state = jax.jit(mine.update)(jax.tree.map(jnp.ones_like, params), state, params)
    assert float(fromax.hyperparams(state)["b2"]) == pytest.approx(0.95)
    assert int(state.skipped) == 0
    # Adam's first step is sign(g); the decay reaches the matrix only.
    np.testing.assert_allclose(updates["b"], -0.01, rtol=1e-5)
    np.testing.assert_allclose(updates["w"], -0.01 * (1 + 1e-2), rtol=1e-5)


def test_masked_takes_an_optax_inner():
    params, grads = _params(), _grads(3)
    mask = [True, False, True]
    ours = fromax.chain(
        fromax.masked(optax.add_decayed_weights(0.3), mask), fromax.scale_by_learning_rate(0.1)
    )
    theirs = optax.chain(
        optax.masked(optax.add_decayed_weights(0.3), mask), optax.scale_by_learning_rate(0.1)
    )
    got, _, _ = _run(ours, params, grads)
    want, _, _ = _run(theirs, params, grads)
    _close(got, want)
