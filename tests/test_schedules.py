"""Schedules against their formulas (float64), optax, and the pytree contract."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import reference
from fromax import schedules

# One registry: (fromax schedule, float64 formula, boundaries, optax equivalent).
CASES = {
    "constant": (
        schedules.constant(0.3),
        lambda t: 0.3,
        [],
        optax.constant_schedule(0.3),
    ),
    "linear": (
        schedules.linear(1.0, 0.1, transition_steps=50, transition_begin=20),
        functools.partial(
            reference.linear,
            init_value=1.0,
            end_value=0.1,
            transition_steps=50,
            transition_begin=20,
        ),
        [20, 70],
        optax.linear_schedule(1.0, 0.1, transition_steps=50, transition_begin=20),
    ),
    "cosine_decay": (
        schedules.cosine_decay(0.5, decay_steps=80, alpha=0.1, exponent=2.0),
        functools.partial(
            reference.cosine, init_value=0.5, decay_steps=80, alpha=0.1, exponent=2.0
        ),
        [80],
        optax.cosine_decay_schedule(0.5, decay_steps=80, alpha=0.1, exponent=2.0),
    ),
    "exponential_decay": (
        schedules.exponential_decay(
            2.0, transition_steps=10, decay_rate=0.7, transition_begin=5, end_value=0.5
        ),
        functools.partial(
            reference.exponential,
            init_value=2.0,
            transition_steps=10,
            decay_rate=0.7,
            transition_begin=5,
            end_value=0.5,
        ),
        [5, 15, 44],
        optax.exponential_decay(
            2.0, transition_steps=10, decay_rate=0.7, transition_begin=5, end_value=0.5
        ),
    ),
    "exponential_decay_staircase": (
        schedules.exponential_decay(
            1.0, transition_steps=10, decay_rate=1.5, staircase=True, end_value=3.0
        ),
        functools.partial(
            reference.exponential,
            init_value=1.0,
            transition_steps=10,
            decay_rate=1.5,
            staircase=True,
            end_value=3.0,
        ),
        [10, 20, 30],
        optax.exponential_decay(
            1.0, transition_steps=10, decay_rate=1.5, staircase=True, end_value=3.0
        ),
    ),
    "warmup_cosine_decay": (
        schedules.warmup_cosine_decay(1e-4, 1e-2, warmup_steps=30, decay_steps=130, end_value=1e-3),
        functools.partial(
            reference.warmup_cosine,
            init_value=1e-4,
            peak_value=1e-2,
            warmup_steps=30,
            decay_steps=130,
            end_value=1e-3,
        ),
        [30, 130],
        optax.warmup_cosine_decay_schedule(
            1e-4, 1e-2, warmup_steps=30, decay_steps=130, end_value=1e-3
        ),
    ),
    "warmup_cosine_decay_no_warmup": (
        schedules.warmup_cosine_decay(0.0, 1.0, warmup_steps=0, decay_steps=40, exponent=0.5),
        functools.partial(
            reference.warmup_cosine,
            init_value=0.0,
            peak_value=1.0,
            warmup_steps=0,
            decay_steps=40,
            exponent=0.5,
        ),
        [40],
        optax.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=0, decay_steps=40, exponent=0.5),
    ),
    "join": (
        schedules.join(
            [
                schedules.linear(0.0, 1.0, transition_steps=10),
                1.0,
                schedules.cosine_decay(1.0, decay_steps=50),
            ],
            boundaries=[10, 25],
        ),
        lambda t: (
            reference.linear(t, 0.0, 1.0, 10)
            if t < 10
            else 1.0
            if t < 25
            else reference.cosine(t - 25, 1.0, 50)
        ),
        [10, 25, 75],
        optax.join_schedules(
            [
                optax.linear_schedule(0.0, 1.0, 10),
                optax.constant_schedule(1.0),
                optax.cosine_decay_schedule(1.0, 50),
            ],
            boundaries=[10, 25],
        ),
    ),
}


def _probe_steps(boundaries):
    steps = {0, 1, 10_000, 2**24}
    for b in boundaries:
        steps |= {max(b - 1, 0), b, b + 1}
    return sorted(steps)


@pytest.mark.parametrize("name", CASES)
def test_matches_formula_at_and_around_boundaries(name):
    schedule, formula, boundaries, _ = CASES[name]
    for t in _probe_steps(boundaries):
        got = schedule(t)
        assert got.dtype == jnp.float32 and got.shape == ()
        np.testing.assert_allclose(float(got), formula(t), rtol=2e-6, atol=1e-9, err_msg=f"t={t}")


@pytest.mark.parametrize("name", CASES)
def test_matches_optax_on_every_step(name):
    schedule, _, boundaries, optax_schedule = CASES[name]
    steps = jnp.arange(2 * (max(boundaries, default=50) + 1))
    ours = jax.vmap(schedule)(steps)
    theirs = jax.vmap(optax_schedule)(steps)
    # Deliberate difference: near the end of a cosine decay optax's float32
    # (1 + cos(pi p)) / 2 cancels (up to 4e-5 relative); fromax's does not. The
    # difference stays below 1e-6 of the schedule's largest value.
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6 * float(jnp.max(jnp.abs(ours))))


@pytest.mark.parametrize("name", CASES)
def test_traced_step_under_jit_scan_and_vmap(name):
    schedule = CASES[name][0]
    steps = jnp.arange(100, dtype=jnp.int32)
    eager = np.array([float(schedule(int(t))) for t in steps])
    # Compiled and eager arithmetic may round differently (fused multiply-add): ~2 ulp.
    close = functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-12)
    close(jax.jit(schedule)(steps[37]), eager[37])
    close(jax.vmap(schedule)(steps), eager)
    _, scanned = jax.lax.scan(lambda c, t: (c, schedule(t)), None, steps)
    close(scanned, eager)


@pytest.mark.parametrize("name", CASES)
def test_is_a_pytree_whose_numbers_are_leaves(name):
    schedule = CASES[name][0]
    leaves, treedef = jax.tree.flatten(schedule)
    rebuilt = jax.tree.unflatten(treedef, leaves)
    assert rebuilt == schedule
    assert repr(rebuilt) == repr(schedule)
    assert all(leaf.dtype in (jnp.float32, jnp.int32) for leaf in leaves)


@pytest.mark.parametrize("name", CASES)
def test_repr_is_the_code_that_builds_it(name):
    schedule = CASES[name][0]
    namespace = {n: getattr(schedules, n) for n in schedules.__all__}
    # The repr is the constructor call; rebuild it by calling the constructor.
    rebuilt = _call_repr(repr(schedule), namespace)
    assert rebuilt == schedule


def _call_repr(text, namespace):
    import ast

    def build(node):
        if isinstance(node, ast.Call):
            fn = namespace[node.func.id]
            return fn(
                *[build(a) for a in node.args], **{k.arg: build(k.value) for k in node.keywords}
            )
        if isinstance(node, ast.List):
            return [build(e) for e in node.elts]
        return ast.literal_eval(node)

    return build(ast.parse(text, mode="eval").body)


def test_changing_a_number_does_not_retrace():
    traces = []

    @jax.jit
    def value(schedule, step):
        traces.append(1)
        return schedule(step)

    s = schedules.warmup_cosine_decay(0.0, 1e-2, warmup_steps=10, decay_steps=100)
    first = value(s, 10)
    second = value(s.replace(peak_value=2e-2, warmup_steps=20), 10)
    assert len(traces) == 1
    assert float(first) == pytest.approx(1e-2)
    assert float(second) == pytest.approx(reference.warmup_cosine(10, 0.0, 2e-2, 20, 100))


def test_vmap_over_a_schedule_parameter():
    peaks = jnp.array([1.0, 2.0, 3.0])
    values = jax.vmap(lambda p: schedules.cosine_decay(p, decay_steps=10)(5))(peaks)
    np.testing.assert_allclose(values, 0.5 * peaks, rtol=1e-6)


def test_function_wraps_a_callable():
    s = schedules.function(lambda t: 0.1 * 0.5 ** (t // 10))
    assert float(s(25)) == pytest.approx(0.025)
    assert s(3).dtype == jnp.float32


def test_join_past_the_last_boundary_runs_the_last_piece_for_ever():
    s = schedules.join([0.1, 0.2], boundaries=[5])
    assert float(s(4)) == pytest.approx(0.1)
    assert float(s(5)) == pytest.approx(0.2)
    assert float(s(10**9)) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda: schedules.constant(float("nan")), ValueError, "value must be finite"),
        (lambda: schedules.constant("0.1"), TypeError, "value must be a number"),
        (lambda: schedules.constant(jnp.ones(2)), ValueError, "value must be a scalar"),
        (
            lambda: schedules.linear(0, 1, transition_steps=0),
            ValueError,
            "transition_steps must be positive",
        ),
        (
            lambda: schedules.linear(0, 1, transition_steps=10, transition_begin=-1),
            ValueError,
            "transition_begin must be >= 0",
        ),
        (lambda: schedules.linear(0, 1, transition_steps=2.5), ValueError, "whole number"),
        (
            lambda: schedules.cosine_decay(1.0, decay_steps=-3),
            ValueError,
            "decay_steps must be positive",
        ),
        (
            lambda: schedules.exponential_decay(1.0, 10, decay_rate=0.0),
            ValueError,
            "decay_rate must be positive",
        ),
        (
            lambda: schedules.exponential_decay(1.0, 10, 0.5, staircase=1),
            TypeError,
            "staircase must be True or False",
        ),
        (
            lambda: schedules.warmup_cosine_decay(0, 1, warmup_steps=100, decay_steps=100),
            ValueError,
            "decay_steps (100) must be greater than warmup_steps (100)",
        ),
        (
            lambda: schedules.join([0.1, 0.2], boundaries=[]),
            ValueError,
            "boundaries must hold len(schedules) - 1 = 1",
        ),
        (
            lambda: schedules.join([0.1, 0.2, 0.3], boundaries=[5, 5]),
            ValueError,
            "boundaries must increase strictly",
        ),
        (lambda: schedules.join([], boundaries=[]), ValueError, "at least one"),
        (lambda: schedules.function(3.0), TypeError, "fn must be callable"),
        (
            lambda: schedules.constant(0.1).replace(peak_value=1.0),
            TypeError,
            "constant has no parameter",
        ),
    ],
)
def test_bad_arguments_say_which_and_why(build, error, words):
    with pytest.raises(error) as info:
        build()
    assert words in str(info.value)
