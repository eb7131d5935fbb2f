"""Bad arguments to the schedule library: a ValueError or TypeError naming the argument."""
# ruff: noqa: E501  (a table of cases, one per line)

from __future__ import annotations

import pytest

from fromax import schedules as s

NAN = float("nan")

BAD = [
    (lambda: s.polynomial(1, 0, power=0, transition_steps=10), ValueError, "power must be positive"),
    (lambda: s.polynomial(1, 0, 1, transition_steps=0), ValueError, "transition_steps must be positive"),
    (lambda: s.polynomial(1, NAN, 1, 10), ValueError, "end_value must be finite"),
    (lambda: s.rex(1.0, decay_steps=-1), ValueError, "decay_steps must be positive"),
    (lambda: s.piecewise_constant(1.0, {10: -0.5}), ValueError, "scale at step 10 must be >= 0.0"),
    (lambda: s.piecewise_constant(1.0, [[20, 0.1], [10, 0.1]]), ValueError, "must increase strictly"),
    (lambda: s.piecewise_constant(1.0, [[20, 0.1, 3]]), ValueError, "must be a [step, scale] pair"),
    (lambda: s.piecewise_constant(1.0, 0.1), TypeError, "boundaries_and_scales must be a {step: scale}"),
    (lambda: s.piecewise_constant(1.0, {-5: 0.1}), ValueError, "boundaries_and_scales steps[0] must be >= 0"),
    (lambda: s.piecewise_linear([0, 10], [1.0]), ValueError, "values must hold one value per boundary"),
    (lambda: s.piecewise_linear([], []), ValueError, "boundaries must hold at least one step"),
    (lambda: s.piecewise_linear([10, 10], [1, 2]), ValueError, "boundaries must increase strictly"),
    (lambda: s.piecewise_linear(5, [1]), TypeError, "boundaries must be a list of steps"),
    (lambda: s.warmup_constant(0, 1, warmup_steps=-1), ValueError, "warmup_steps must be >= 0"),
    (lambda: s.warmup_constant(0, "1", 10), TypeError, "peak_value must be a number"),
    (lambda: s.warmup_exponential_decay(0, 1, 10, 5, decay_rate=-1), ValueError, "decay_rate must be positive"),
    (lambda: s.warmup_exponential_decay(0, 1, 10, 5, 0.5, staircase="yes"), TypeError, "staircase must be True or False"),
    (lambda: s.inverse_sqrt(0, 1, warmup_steps=0), ValueError, "warmup_steps must be positive"),
    (lambda: s.warmup_stable_decay(0, 1, 50, 100, cooldown_steps=60), ValueError, "warmup_steps (50) plus the cooldown (60 steps) must not exceed decay_steps (100)"),
    (lambda: s.warmup_stable_decay(0, 1, 10, 100, cooldown_steps=10, cooldown_fraction=0.1), ValueError, "give cooldown_steps or cooldown_fraction, not both"),
    (lambda: s.warmup_stable_decay(0, 1, 10, 100, cooldown_fraction=1.5), ValueError, "cooldown_fraction must be <= 1.0"),
    (lambda: s.warmup_stable_decay(0, 1, 10, 100, cooldown_shape="sqrt"), ValueError, "cooldown_shape must be one of 'linear', 'cosine', 'exponential', '1-sqrt'"),
    (lambda: s.warmup_stable_decay(0, 1, 10, 100, cooldown_shape="exponential"), ValueError, "cooldown_shape='exponential' needs peak_value and end_value of the same sign"),
    (lambda: s.sgdr(1.0, decay_steps=10, t_mult=0.5), ValueError, "t_mult must be >= 1.0"),
    (lambda: s.sgdr(1.0, decay_steps=10, m_mul=0), ValueError, "m_mul must be positive"),
    (lambda: s.sgdr(1.0, decay_steps=10, warmup_steps=10), ValueError, "warmup_steps (10) must be less than decay_steps (10)"),
    (lambda: s.one_cycle(100, 1.0, pct_start=1.0), ValueError, "pct_start must be less than 1.0"),
    (lambda: s.one_cycle(100, 1.0, pct_start=0.5, three_phase=True), ValueError, "pct_start must be less than 0.5 with three_phase=True"),
    (lambda: s.one_cycle(100, 1.0, anneal_strategy="cosine"), ValueError, "anneal_strategy must be one of 'cos', 'linear'"),
    (lambda: s.one_cycle(0, 1.0), ValueError, "transition_steps must be positive"),
    (lambda: s.one_cycle(100, 1.0, div_factor=0), ValueError, "div_factor must be positive"),
    (lambda: s.cyclic(0, 1, step_size_up=0), ValueError, "step_size_up must be positive"),
    (lambda: s.cyclic(0, 1, 10, mode="sine"), ValueError, "mode must be one of"),
    (lambda: s.cyclic(0, 1, 10, gamma=1.5), ValueError, "gamma must be <= 1.0"),
    (lambda: s.scale(s.constant(1.0), NAN), ValueError, "factor must be finite"),
    (lambda: s.scale("x", 2.0), TypeError, "schedule must be a number, a JAX scalar or a schedule"),
    (lambda: s.product([]), ValueError, "schedules must hold at least one schedule"),
    (lambda: s.product(s.constant(1.0)), TypeError, "schedules must be a list of schedules"),
    (lambda: s.clip(s.constant(1.0)), ValueError, "give min_value, max_value or both"),
    (lambda: s.clip(s.constant(1.0), 2.0, 1.0), ValueError, "min_value (2.0) must not exceed max_value (1.0)"),
    (lambda: s.offset(s.constant(1.0), 2.5), ValueError, "steps must be a whole number of steps"),
    (lambda: s.offset(s.constant(1.0), "5"), TypeError, "steps must be a whole number of steps"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "error", "words"), BAD)
def test_bad_arguments_say_which_and_why(build, error, words):
    with pytest.raises(error) as info:
        build()
    assert words in str(info.value)
