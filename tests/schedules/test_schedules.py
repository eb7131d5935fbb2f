"""Schedules against their formulas (float64), optax, and the pytree contract."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import reference
import schedule_reference as ref
from fromax import schedules
from tracing import assert_max_traces

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


def _case(schedule, formula, boundaries, optax_schedule=None):
    return (schedule, formula, boundaries, optax_schedule)


# The rest of the library: optax's equivalent where it has one, else None.
CASES.update(
    {
        "polynomial": _case(
            schedules.polynomial(1.0, 0.01, power=2.5, transition_steps=60, transition_begin=15),
            functools.partial(
                ref.polynomial,
                init_value=1.0,
                end_value=0.01,
                power=2.5,
                transition_steps=60,
                transition_begin=15,
            ),
            [15, 75],
            optax.polynomial_schedule(
                1.0, 0.01, power=2.5, transition_steps=60, transition_begin=15
            ),
        ),
        "piecewise_constant": _case(
            schedules.piecewise_constant(0.5, {30: 0.1, 10: 2.0, 50: 0.0}),
            functools.partial(
                ref.piecewise_constant,
                init_value=0.5,
                boundaries_and_scales={30: 0.1, 10: 2.0, 50: 0.0},
            ),
            [10, 30, 50],
            optax.piecewise_constant_schedule(0.5, {30: 0.1, 10: 2.0, 50: 0.0}),
        ),
        "piecewise_linear": _case(
            schedules.piecewise_linear(boundaries=[5, 20, 21, 90], values=[0.0, 1.0, 0.5, 1e-4]),
            functools.partial(
                ref.piecewise_linear, boundaries=[5, 20, 21, 90], values=[0.0, 1.0, 0.5, 1e-4]
            ),
            [5, 20, 21, 90],
        ),
        "warmup_constant": _case(
            schedules.warmup_constant(0.1, 2.0, warmup_steps=25),
            functools.partial(ref.warmup_constant, init_value=0.1, peak_value=2.0, warmup_steps=25),
            [25],
            optax.warmup_constant_schedule(0.1, 2.0, warmup_steps=25),
        ),
        "warmup_exponential_decay": _case(
            schedules.warmup_exponential_decay(
                0.0,
                1.0,
                warmup_steps=20,
                transition_steps=7,
                decay_rate=0.8,
                transition_begin=3,
                staircase=True,
                end_value=0.05,
            ),
            functools.partial(
                ref.warmup_exponential,
                init_value=0.0,
                peak_value=1.0,
                warmup_steps=20,
                transition_steps=7,
                decay_rate=0.8,
                transition_begin=3,
                staircase=True,
                end_value=0.05,
            ),
            [20, 23, 30, 37, 114],
            optax.warmup_exponential_decay_schedule(
                0.0,
                1.0,
                warmup_steps=20,
                transition_steps=7,
                decay_rate=0.8,
                transition_begin=3,
                staircase=True,
                end_value=0.05,
            ),
        ),
        "inverse_sqrt": _case(
            schedules.inverse_sqrt(1e-5, 1e-3, warmup_steps=40),
            functools.partial(ref.inverse_sqrt, init_value=1e-5, peak_value=1e-3, warmup_steps=40),
            [40, 160],
        ),
        "rex": _case(
            schedules.rex(2.0, decay_steps=90, end_value=0.1),
            functools.partial(ref.rex, init_value=2.0, decay_steps=90, end_value=0.1),
            [45, 90],
        ),
        **{
            f"warmup_stable_decay_{shape}": _case(
                schedules.warmup_stable_decay(
                    0.0,
                    1.0,
                    warmup_steps=10,
                    decay_steps=100,
                    cooldown_steps=30,
                    cooldown_shape=shape,
                    end_value=0.01,
                ),
                functools.partial(
                    ref.warmup_stable_decay,
                    init_value=0.0,
                    peak_value=1.0,
                    warmup_steps=10,
                    decay_steps=100,
                    cooldown=30,
                    shape=shape,
                    end_value=0.01,
                ),
                [10, 70, 100],
            )
            for shape in ("linear", "cosine", "exponential", "1-sqrt")
        },
        "warmup_stable_decay_fraction": _case(
            schedules.warmup_stable_decay(
                0.1, 1.0, warmup_steps=0, decay_steps=80, cooldown_fraction=0.25
            ),
            functools.partial(
                ref.warmup_stable_decay,
                init_value=0.1,
                peak_value=1.0,
                warmup_steps=0,
                decay_steps=80,
                cooldown=20,
                shape="linear",
            ),
            [60, 80],
        ),
        "sgdr": _case(
            schedules.sgdr(1.0, decay_steps=20, t_mult=2.0, m_mul=0.5, alpha=0.1, warmup_steps=4),
            functools.partial(
                ref.sgdr,
                init_value=1.0,
                decay_steps=20,
                t_mult=2.0,
                m_mul=0.5,
                alpha=0.1,
                warmup_steps=4,
            ),
            [4, 20, 24, 60, 64, 140],
            optax.sgdr_schedule(
                [
                    dict(
                        init_value=0.1 * 0.5**i,
                        peak_value=0.5**i,
                        warmup_steps=4,
                        decay_steps=20 * 2**i,
                        end_value=0.1 * 0.5**i,
                    )
                    for i in range(24)
                ]
            ),
        ),
        "sgdr_fixed_period": _case(
            schedules.sgdr(0.5, decay_steps=30),
            functools.partial(ref.sgdr, init_value=0.5, decay_steps=30),
            [30, 60, 90],
        ),
        "one_cycle_cos": _case(
            schedules.one_cycle(80, peak_value=1.0, pct_start=0.25),
            functools.partial(ref.one_cycle, transition_steps=80, peak_value=1.0, pct_start=0.25),
            [20, 80],
            optax.cosine_onecycle_schedule(80, peak_value=1.0, pct_start=0.25),
        ),
        "one_cycle_linear_three_phase": _case(
            schedules.one_cycle(
                64,
                peak_value=0.1,
                pct_start=0.375,
                div_factor=10.0,
                final_div_factor=100.0,
                anneal_strategy="linear",
                three_phase=True,
            ),
            functools.partial(
                ref.one_cycle,
                transition_steps=64,
                peak_value=0.1,
                pct_start=0.375,
                div_factor=10.0,
                final_div_factor=100.0,
                anneal_strategy="linear",
                three_phase=True,
            ),
            [24, 48, 64],
            optax.linear_onecycle_schedule(
                64,
                peak_value=0.1,
                pct_start=0.375,
                pct_final=0.75,
                div_factor=10.0,
                final_div_factor=100.0,
            ),
        ),
        **{
            f"cyclic_{mode}": _case(
                schedules.cyclic(
                    0.1, 1.0, step_size_up=10, step_size_down=15, mode=mode, gamma=0.99
                ),
                functools.partial(
                    ref.cyclic,
                    init_value=0.1,
                    peak_value=1.0,
                    step_size_up=10,
                    step_size_down=15,
                    mode=mode,
                    gamma=0.99,
                ),
                [10, 25, 35, 50, 75],
            )
            for mode in ("triangular", "triangular2", "exp_range")
        },
        "scale": _case(
            schedules.scale(schedules.rex(1.0, decay_steps=50), 3.0),
            lambda t: 3.0 * ref.rex(t, 1.0, 50),
            [50],
        ),
        "product": _case(
            schedules.linear(0.0, 1.0, transition_steps=10) * schedules.cosine_decay(2.0, 100),
            lambda t: reference.linear(t, 0.0, 1.0, 10) * reference.cosine(t, 2.0, 100),
            [10, 100],
        ),
        "clip": _case(
            schedules.clip(schedules.inverse_sqrt(0.0, 1.0, 10), min_value=0.1, max_value=0.8),
            lambda t: min(max(ref.inverse_sqrt(t, 0.0, 1.0, 10), 0.1), 0.8),
            [8, 10, 15, 1000],
        ),
        "offset": _case(
            schedules.offset(schedules.linear(1.0, 0.0, transition_steps=20), 15),
            lambda t: reference.linear(max(t - 15, 0), 1.0, 0.0, 20),
            [15, 35],
        ),
        "offset_back": _case(
            schedules.offset(schedules.linear(1.0, 0.0, transition_steps=20), -5),
            lambda t: reference.linear(t + 5, 1.0, 0.0, 20),
            [15],
        ),
    }
)


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


@pytest.mark.parametrize("name", [n for n, case in CASES.items() if case[3] is not None])
def test_matches_optax_on_every_step(name):
    schedule, _, boundaries, optax_schedule = CASES[name]
    steps = jnp.arange(2 * (max(boundaries, default=50) + 1))
    # Ours jitted: an eager vmap compiles each operation afresh for this case's number
    # of steps, ten times slower. optax's stays eager: jitted, its polynomial's
    # 1 - t / T rounds below 0 past the end and gives NaN.
    ours = jax.jit(jax.vmap(schedule))(steps)
    with jax.numpy_dtype_promotion("standard"):  # optax's schedules mix int steps and floats
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
    close(jax.jit(jax.vmap(schedule))(steps), eager)  # jitted: eager vmap is 10x slower
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
    value = jax.jit(assert_max_traces(lambda schedule, step: schedule(step), max_traces=1))
    s = schedules.warmup_cosine_decay(0.0, 1e-2, warmup_steps=10, decay_steps=100)
    first = value(s, 10)
    second = value(s.replace(peak_value=2e-2, warmup_steps=20), 10)
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
