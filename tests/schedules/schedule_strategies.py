"""Hypothesis strategies that draw valid fromax schedules of every kind."""

from __future__ import annotations

from hypothesis import strategies as st

from fromax import schedules

number = st.floats(-10.0, 10.0, allow_nan=False)
positive = st.floats(1e-4, 10.0)
fraction = st.floats(0.0, 1.0)
length = st.integers(1, 1000)
start = st.integers(0, 100)


@st.composite
def increasing_steps(draw, min_size=0, max_size=4):
    steps = draw(st.lists(st.integers(0, 1000), min_size=min_size, max_size=max_size, unique=True))
    return sorted(steps)


@st.composite
def piecewise_linear(draw):
    boundaries = draw(increasing_steps(min_size=1))
    values = draw(st.lists(number, min_size=len(boundaries), max_size=len(boundaries)))
    return schedules.piecewise_linear(boundaries, values)


@st.composite
def warmup_then(draw, build):
    """Schedules that take (init_value, peak_value, warmup_steps, decay_steps, ...)."""
    warmup = draw(st.integers(0, 100))
    total = warmup + draw(length)
    return build(draw(number), draw(positive), warmup, total)


@st.composite
def warmup_stable_decay(draw):
    warmup, cooldown = draw(st.integers(0, 100)), draw(length)
    total = warmup + cooldown + draw(st.integers(0, 500))
    shape = draw(st.sampled_from(["linear", "cosine", "exponential", "1-sqrt"]))
    by_fraction = draw(st.booleans())
    return schedules.warmup_stable_decay(
        draw(number),
        draw(positive),
        warmup,
        total,
        cooldown_steps=None if by_fraction else cooldown,
        cooldown_fraction=cooldown / total if by_fraction else None,
        cooldown_shape=shape,
        end_value=draw(positive),
    )


@st.composite
def sgdr(draw):
    decay_steps = draw(st.integers(2, 300))
    return schedules.sgdr(
        draw(positive),
        decay_steps,
        t_mult=draw(st.floats(1.0, 3.0)),
        m_mul=draw(st.floats(0.1, 1.0)),
        alpha=draw(fraction),
        warmup_steps=draw(st.integers(0, decay_steps - 1)),
    )


@st.composite
def one_cycle(draw):
    three_phase = draw(st.booleans())
    return schedules.one_cycle(
        draw(st.integers(2, 1000)),
        draw(positive),
        pct_start=draw(st.floats(0.05, 0.45 if three_phase else 0.95)),
        div_factor=draw(st.floats(1.0, 100.0)),
        final_div_factor=draw(st.floats(1.0, 1e4)),
        anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
        three_phase=three_phase,
    )


def _clip(schedule, low, span, which):
    return schedules.clip(
        schedule,
        None if which == "max" else low,
        None if which == "min" else low + span,
    )


@st.composite
def join(draw, inner):
    pieces = draw(st.lists(inner, min_size=1, max_size=3))
    boundaries = draw(increasing_steps(min_size=len(pieces) - 1, max_size=len(pieces) - 1))
    return schedules.join(pieces, boundaries)


basic = st.one_of(
    st.builds(schedules.constant, number),
    st.builds(schedules.linear, number, number, length, start),
    st.builds(schedules.polynomial, number, number, st.floats(0.1, 5.0), length, start),
    st.builds(
        schedules.piecewise_constant,
        positive,
        st.dictionaries(st.integers(0, 1000), st.floats(0.0, 2.0), max_size=3),
    ),
    piecewise_linear(),
    st.builds(
        schedules.exponential_decay,
        positive,
        length,
        st.floats(0.1, 2.0),
        start,
        st.booleans(),
        st.none() | positive,
    ),
    st.builds(schedules.cosine_decay, number, length, fraction, st.floats(0.5, 3.0)),
    warmup_then(schedules.warmup_cosine_decay),
    st.builds(schedules.warmup_constant, number, positive, st.integers(0, 100)),
    st.builds(
        schedules.warmup_exponential_decay,
        number,
        positive,
        st.integers(0, 100),
        length,
        st.floats(0.1, 0.99),
        start,
        st.booleans(),
        st.none() | positive,
    ),
    st.builds(schedules.inverse_sqrt, number, positive, length),
    warmup_stable_decay(),
    sgdr(),
    one_cycle(),
    st.builds(
        schedules.cyclic,
        number,
        number,
        length,
        st.none() | length,
        st.sampled_from(["triangular", "triangular2", "exp_range"]),
        st.floats(0.5, 1.0),
    ),
    st.builds(schedules.rex, number, length, number),
)

any_schedule = st.recursive(
    basic,
    lambda inner: st.one_of(
        st.builds(schedules.scale, inner, number),
        st.builds(lambda a, b: schedules.product([a, b]), inner, inner),
        st.builds(
            _clip, inner, number, st.floats(0.0, 5.0), st.sampled_from(["min", "max", "both"])
        ),
        st.builds(schedules.offset, inner, st.integers(-100, 100)),
        join(inner),
    ),
    max_leaves=4,
)
