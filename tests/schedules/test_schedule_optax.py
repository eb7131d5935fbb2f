"""fromax's schedules equal optax's (rtol 1e-6) over many argument sets (hypothesis).

Deliberate differences, allowed here and documented in the docstrings:
- cosine anneals: optax's float32 (1 + cos(pi p)) / 2 cancels near the end of
  a decay (up to 4e-5 relative there); fromax's does not. Near the end of
  polynomial decays and of one-cycle anneals optax's 1 - t / T cancels too.
  Both stay within 1e-6 of the schedule's largest value, which is the
  absolute tolerance below.
- warmup_constant with warmup_steps=0: optax stays at init_value for ever,
  fromax starts at the peak (tested in test_schedules.py); drawn here >= 1.
- one_cycle: optax rounds pct_start * T down to a whole step; drawn here so
  that it is one.
- polynomial: past the end optax's 1 - t / T can be 2**-24 instead of 0,
  which a power < 1 amplifies (2.4e-4 of the range at power 0.5); fromax's
  is exactly end_value there. The tolerance allows optax's error.
- optax accepts arguments that fromax rejects (a negative transition_begin,
  transition_steps <= 0): drawn here within fromax's domain.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
import schedule_reference as ref
from fromax import schedules

# Steps 0..2T for every T drawn below (T <= 200): one compilation per schedule kind.
STEPS = jnp.arange(401, dtype=jnp.int32)
fromax_values = jax.jit(lambda schedule: jax.vmap(schedule)(STEPS))

value = st.floats(1e-4, 10.0)
small_value = st.floats(0.0, 1e-2)
length = st.integers(1, 200)
begin = st.integers(0, 50)
examples = settings(max_examples=25)


def assert_agrees(ours, theirs, atol=1e-6):
    got = np.asarray(fromax_values(ours))
    with jax.numpy_dtype_promotion("standard"):  # optax's schedules mix int steps and floats
        want = np.asarray(jax.vmap(theirs)(STEPS), dtype=np.float64)
    scale = float(np.max(np.abs(want)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=atol * scale)


def _f32(value):
    """Floats rounded to float32, as the schedules hold them (the formula is float64)."""
    if isinstance(value, dict):
        return {k: _f32(v) for k, v in value.items()}
    return float(np.float32(value)) if isinstance(value, float) else value


def assert_agrees_but_on_stairs(ours, theirs, formula, first, every):
    """As ``assert_agrees``, with the float64 ``formula`` in place of optax on the stairs
    of a staircase (steps ``first + k * every``, k >= 1; ``every`` None: no stairs).

    Deliberate difference: optax's staircase floors a float32 division, which
    XLA:CPU can round below a whole number (107 / 107 -> 0.99999994): a stair one
    step late. fromax divides integers.
    """
    got = np.asarray(fromax_values(ours))
    want = np.asarray(jax.vmap(theirs)(STEPS), dtype=np.float64)
    if every is not None:
        steps = np.asarray(STEPS)
        stairs = (steps > first) & ((steps - first) % every == 0)
        want = np.where(stairs, [formula(int(t)) for t in steps], want)
    scale = float(np.max(np.abs(want)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * scale)


@examples
@given(value, value, length, begin)
def test_linear(init_value, end_value, transition_steps, transition_begin):
    args = (init_value, end_value, transition_steps, transition_begin)
    assert_agrees(schedules.linear(*args), optax.linear_schedule(*args))


@examples
@given(value, small_value, st.floats(0.5, 4.0), length, begin)
def test_polynomial(init_value, end_value, power, transition_steps, transition_begin):
    args = (init_value, end_value, power, transition_steps, transition_begin)
    ours = schedules.polynomial(*args)
    assert float(ours(transition_begin + transition_steps)) == np.float32(end_value)
    # optax's 1 - t/T may be an ulp (2**-24) above 0 at and past the end (when
    # XLA divides by multiplying by 1/T), and the power amplifies it: 2.4e-4
    # of the range for power 0.5. fromax's (T - t)/T is exactly 0 there.
    assert_agrees(ours, optax.polynomial_schedule(*args), atol=max(1e-6, 2.0 ** (-23 * power)))


@examples
@given(value, st.dictionaries(st.integers(0, 300), st.floats(0.0, 3.0), max_size=5))
def test_piecewise_constant(init_value, boundaries_and_scales):
    assert_agrees(
        schedules.piecewise_constant(init_value, boundaries_and_scales),
        optax.piecewise_constant_schedule(init_value, boundaries_and_scales),
    )


@examples
@given(value, length, st.floats(0.1, 1.5), begin, st.booleans(), st.none() | small_value)
def test_exponential_decay(init_value, steps, rate, transition_begin, staircase, end_value):
    kwargs = dict(
        transition_steps=steps,
        decay_rate=rate,
        transition_begin=transition_begin,
        staircase=staircase,
        end_value=end_value,
    )
    assert_agrees_but_on_stairs(
        schedules.exponential_decay(init_value, **kwargs),
        optax.exponential_decay(init_value, **kwargs),
        lambda t: reference.exponential(t, _f32(init_value), **_f32(kwargs)),
        first=transition_begin,
        every=steps if staircase else None,
    )


@examples
@given(value, length, st.floats(0.0, 0.5), st.floats(0.5, 3.0))
def test_cosine_decay(init_value, decay_steps, alpha, exponent):
    args = (init_value, decay_steps, alpha, exponent)
    assert_agrees(schedules.cosine_decay(*args), optax.cosine_decay_schedule(*args))


@examples
@given(small_value, value, st.integers(1, 200))
def test_warmup_constant(init_value, peak_value, warmup_steps):
    args = (init_value, peak_value, warmup_steps)
    assert_agrees(schedules.warmup_constant(*args), optax.warmup_constant_schedule(*args))


@examples
@given(small_value, value, st.integers(0, 100), length, small_value, st.floats(0.5, 3.0))
def test_warmup_cosine_decay(init_value, peak_value, warmup_steps, extra, end_value, exponent):
    args = (init_value, peak_value, warmup_steps, warmup_steps + extra, end_value, exponent)
    assert_agrees(schedules.warmup_cosine_decay(*args), optax.warmup_cosine_decay_schedule(*args))


@examples
@given(
    small_value,
    value,
    st.integers(0, 100),
    length,
    st.floats(0.1, 0.99),
    begin,
    st.booleans(),
    st.none() | small_value,
)
def test_warmup_exponential_decay(
    init_value, peak_value, warmup_steps, steps, rate, transition_begin, staircase, end_value
):
    args = (init_value, peak_value, warmup_steps, steps, rate, transition_begin, staircase)
    assert_agrees_but_on_stairs(
        schedules.warmup_exponential_decay(*args, end_value=end_value),
        optax.warmup_exponential_decay_schedule(*args, end_value=end_value),
        lambda t: ref.warmup_exponential(
            t,
            _f32(init_value),
            _f32(peak_value),
            warmup_steps,
            transition_steps=steps,
            decay_rate=_f32(rate),
            transition_begin=transition_begin,
            staircase=staircase,
            end_value=_f32(end_value),
        ),
        first=warmup_steps + transition_begin,
        every=steps if staircase else None,
    )


@examples
@given(value, st.integers(20, 150), st.sampled_from([1, 2, 3]), st.floats(0.3, 1.0),
       st.floats(0.0, 0.5), st.integers(0, 10))  # fmt: skip
def test_sgdr(init_value, decay_steps, t_mult, m_mul, alpha, warmup):
    warmup = min(warmup, decay_steps - 1)
    # optax's sgdr_schedule takes each cycle's warm-up + cosine arguments.
    cycles, start = [], 0
    while start < len(STEPS):
        i = len(cycles)
        low, peak = alpha * init_value * m_mul**i, init_value * m_mul**i
        length = decay_steps * t_mult**i
        cycles.append(dict(init_value=low, peak_value=peak, warmup_steps=warmup,
                           decay_steps=length, end_value=low))  # fmt: skip
        start += length
    assert_agrees(
        schedules.sgdr(init_value, decay_steps, float(t_mult), m_mul, alpha, warmup),
        optax.sgdr_schedule(cycles),
    )


one_cycle_shape = st.tuples(st.integers(1, 25), st.sampled_from([0.125, 0.25, 0.375]))


@examples
@given(one_cycle_shape, value, st.floats(2.0, 50.0), st.floats(1.0, 1e4))
def test_one_cycle_cos(shape, peak_value, div_factor, final_div_factor):
    eighths, pct_start = shape
    steps = 8 * eighths  # pct_start * steps is a whole step, as optax rounds it
    kwargs = dict(pct_start=pct_start, div_factor=div_factor, final_div_factor=final_div_factor)
    assert_agrees(
        schedules.one_cycle(steps, peak_value, **kwargs),
        optax.cosine_onecycle_schedule(steps, peak_value, **kwargs),
    )


@examples
@given(one_cycle_shape, value, st.floats(2.0, 50.0), st.floats(1.0, 1e4))
def test_one_cycle_linear_three_phase(shape, peak_value, div_factor, final_div_factor):
    eighths, pct_start = shape
    steps = 8 * eighths
    kwargs = dict(div_factor=div_factor, final_div_factor=final_div_factor)
    assert_agrees(
        schedules.one_cycle(
            steps, peak_value, pct_start, anneal_strategy="linear", three_phase=True, **kwargs
        ),
        optax.linear_onecycle_schedule(
            steps, peak_value, pct_start, pct_final=2 * pct_start, **kwargs
        ),
    )


@examples
@given(value, value, st.integers(1, 150), st.integers(1, 150), length)
def test_join(first, second, warmup, gap, decay):
    ours = schedules.join(
        [
            schedules.linear(0.0, first, warmup),
            schedules.constant(second),
            schedules.cosine_decay(second, decay),
        ],
        [warmup, warmup + gap],
    )
    theirs = optax.join_schedules(
        [
            optax.linear_schedule(0.0, first, warmup),
            optax.constant_schedule(second),
            optax.cosine_decay_schedule(second, decay),
        ],
        [warmup, warmup + gap],
    )
    assert_agrees(ours, theirs)
