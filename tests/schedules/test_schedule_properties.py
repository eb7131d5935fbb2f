"""Properties of the schedule library, over hypothesis-drawn schedules."""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import schedule_strategies as draw
from fromax import schedules

STEPS = jnp.arange(1201, dtype=jnp.int32)


@jax.jit
def values(schedule):
    return jax.vmap(schedule)(STEPS)


@st.composite
def decay_after_warmup(draw_):
    """A decaying schedule and the step its decay begins (after any warm-up)."""
    kind = draw_(st.sampled_from(sorted(DECAYS)))
    return DECAYS[kind](draw_)


def _warmup_cosine(d):
    warmup, total = d(st.integers(0, 100)), d(st.integers(101, 1000))
    peak = d(draw.positive)
    end = d(st.floats(0.0, 1.0)) * peak
    return schedules.warmup_cosine_decay(
        0.0, peak, warmup, total, end, d(st.floats(0.5, 3))
    ), warmup


def _warmup_stable_decay(d):
    warmup, cooldown = d(st.integers(0, 100)), d(draw.length)
    peak = d(draw.positive)
    s = schedules.warmup_stable_decay(
        0.0,
        peak,
        warmup,
        warmup + cooldown + d(st.integers(0, 500)),
        cooldown_steps=cooldown,
        cooldown_shape=d(st.sampled_from(["linear", "cosine", "exponential", "1-sqrt"])),
        end_value=peak * d(st.floats(1e-3, 1.0)),
    )
    return s, warmup


def _one_cycle(d):
    s = schedules.one_cycle(d(st.integers(2, 1000)), d(draw.positive), d(st.floats(0.05, 0.95)),
                            anneal_strategy=d(st.sampled_from(["cos", "linear"])))  # fmt: skip
    return s, int(np.ceil(float(s.pct_start) * int(s.transition_steps)))


DECAYS = {
    "linear": lambda d: (
        schedules.linear(1.0, d(st.floats(-1, 1)), d(draw.length), d(draw.start)),
        0,
    ),
    "polynomial": lambda d: (
        schedules.polynomial(1.0, d(st.floats(-1, 1)), d(st.floats(0.1, 5)), d(draw.length)),
        0,
    ),
    "cosine_decay": lambda d: (
        schedules.cosine_decay(d(draw.positive), d(draw.length), d(draw.fraction)),
        0,
    ),
    "exponential_decay": lambda d: (
        schedules.exponential_decay(
            d(draw.positive),
            d(draw.length),
            d(st.floats(0.1, 0.99)),
            d(draw.start),
            d(st.booleans()),
        ),
        0,
    ),
    "piecewise_constant": lambda d: (
        schedules.piecewise_constant(
            d(draw.positive), d(st.dictionaries(st.integers(0, 1000), draw.fraction, max_size=4))
        ),
        0,
    ),
    "rex": lambda d: (schedules.rex(d(draw.positive), d(draw.length), d(st.floats(-1, 1e-4))), 0),
    "inverse_sqrt": lambda d: (
        (s := schedules.inverse_sqrt(0.0, d(draw.positive), d(draw.length))),
        int(s.warmup_steps),
    ),
    "warmup_cosine_decay": _warmup_cosine,
    "warmup_exponential_decay": lambda d: (
        (
            s := schedules.warmup_exponential_decay(
                0.0, 1.0, d(st.integers(0, 100)), d(draw.length), d(st.floats(0.1, 0.99))
            )
        ),
        int(s.warmup_steps),
    ),
    "warmup_stable_decay": _warmup_stable_decay,
    "one_cycle": _one_cycle,
}


@settings(max_examples=40)
@given(decay_after_warmup())
def test_decays_do_not_increase_after_warmup(case):
    schedule, decay_start = case
    curve = np.asarray(values(schedule), np.float64)[decay_start:]
    rises = np.diff(curve)
    # float32 rounding may wobble by an ulp or two of the largest value.
    assert np.all(rises <= 4e-7 * np.max(np.abs(curve))), (schedule, np.max(rises))


@settings(max_examples=25)
@given(
    draw.number,
    draw.positive,
    st.integers(1, 500),
    draw.length,
    st.sampled_from(["cosine_decay", "rex", "exponential_decay", "polynomial", "wsd"]),
)
def test_join_is_continuous_where_its_pieces_meet(start, level, boundary, decay, kind):
    """A warm-up ending at ``level`` joined to a decay starting from it."""
    second = {
        "cosine_decay": lambda: schedules.cosine_decay(level, decay),
        "rex": lambda: schedules.rex(level, decay),
        "exponential_decay": lambda: schedules.exponential_decay(level, decay, 0.5),
        "polynomial": lambda: schedules.polynomial(level, 0.0, 2.0, decay),
        "wsd": lambda: schedules.warmup_stable_decay(0.0, level, 0, decay, cooldown_steps=decay),
    }[kind]()
    first = schedules.linear(start, level, boundary)
    joined = schedules.join([first, second], [boundary])
    curve = np.asarray(values(joined), np.float64)
    close = functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-7 * abs(level))
    # At the boundary: the later piece at its step 0, equal to the earlier piece's end
    # (compiled and eager arithmetic may differ by an ulp).
    close(curve[boundary], float(second(0)))
    close(float(second(0)), float(first(boundary)))
    close(curve[boundary - 1], float(first(boundary - 1)))
    # No jump: the step across the boundary is no larger than the pieces' own steps.
    largest_step = max(abs(level - start) / boundary, abs(float(second(1)) - level))
    assert abs(curve[boundary] - curve[boundary - 1]) <= largest_step * (1 + 1e-5) + 1e-6


@settings(max_examples=60)
@given(draw.any_schedule)
def test_config_round_trips_through_json(schedule):
    config = schedule.to_config()
    text = json.dumps(config)  # JSON types only
    rebuilt = schedules.from_config(json.loads(text))
    assert rebuilt == schedule
    assert rebuilt.to_config() == config


@settings(max_examples=60)
@given(draw.any_schedule)
def test_spec_round_trips_through_repr(schedule):
    assert schedules.from_spec(repr(schedule)) == schedule


@settings(max_examples=100)
@given(st.text(max_size=60))
def test_any_text_is_a_schedule_or_a_one_line_spec_error(text):
    try:
        result = schedules.from_spec(text)
    except schedules.SpecError as error:
        assert len(str(error).splitlines()) == 1
    else:
        assert isinstance(result, schedules.Schedule)


@settings(max_examples=100)
@given(draw.any_schedule, st.data())
def test_a_damaged_spec_is_a_schedule_or_a_one_line_spec_error(schedule, data):
    text = repr(schedule)
    where = data.draw(st.integers(0, len(text) - 1))
    damage = data.draw(st.sampled_from(["delete", "insert", "replace"]))
    character = data.draw(st.sampled_from(list("()[],=.'\"-+*_ ax0e{}:;\\")))
    if damage == "delete":
        text = text[:where] + text[where + 1 :]
    elif damage == "insert":
        text = text[:where] + character + text[where:]
    else:
        text = text[:where] + character + text[where + 1 :]
    try:
        result = schedules.from_spec(text)
    except schedules.SpecError as error:
        assert len(str(error).splitlines()) == 1
    else:
        assert isinstance(result, schedules.Schedule)
