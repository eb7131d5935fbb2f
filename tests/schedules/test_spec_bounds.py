"""Hostile or mistaken specs and configs: one-line errors, quickly, before building."""

from __future__ import annotations

import time

import pytest

from fromax import schedules


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "cosine_decay(1e-3, decay_steps=10000, decay_steps=100)",
            "decay_steps is given twice (again at column 39)",
        ),
        ("cosine_decay(1e-3, 100, decay_steps=100)", "multiple values for argument 'decay_steps'"),
        (
            "join([constant(1), linear(0, 1, 5, transition_steps=6)], [3])",
            "multiple values for argument 'transition_steps'",
        ),
        (
            "scale(rex(1, decay_steps=5, end_value=0, end_value=1), 2)",
            "rex at column 7: end_value is given twice",
        ),
    ],
)
def test_an_argument_given_twice_is_a_spec_error(text, words):
    with pytest.raises(schedules.SpecError) as info:
        schedules.from_spec(text)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text", ["constant(1e39)", "linear(0, -1e39, 10)", "constant(1" + "0" * 45 + ")"]
)
def test_a_number_beyond_float32_in_a_spec_is_refused(text):
    # Before: constant(1e39) was constant(value=inf).
    with pytest.raises(schedules.SpecError, match=r"number too large at column 1[02].*float32"):
        schedules.from_spec(text)


def _nested(depth):
    config = {"name": "constant", "value": 0.1}
    for _ in range(depth):
        config = {"name": "scale", "schedule": config, "factor": 1.0}
    return config


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"name": "constant", "value": 10**400}, "config.value is an integer of about 401 digits"),
        ({"name": "constant", "value": -(10**39)}, "beyond float32"),
        ({"name": "constant", "value": 1e39}, "config.value is 1e+39, not a finite float32"),
        ({"name": "constant", "value": float("nan")}, "config.value is nan"),
        ({"name": "constant", "value": float("-inf")}, "config.value is -inf"),
        (
            {
                "name": "join",
                "schedules": [1.0, {"name": "constant", "value": 1e300}],
                "boundaries": [5],
            },
            "config.schedules[1].value is 1e+300",
        ),
        (_nested(2_000), "config is nested more than 64 deep"),
        (
            {
                "name": "piecewise_linear",
                "boundaries": list(range(20_000)),
                "values": [0.1] * 20_000,
            },
            "config.boundaries has 20,000 elements; a config list holds at most 10,000",
        ),
        (
            {
                "name": "piecewise_constant",
                "init_value": 1.0,
                "boundaries_and_scales": [[i, 1.0] for i in range(10_000)],
                "extra": [[0] * 10] * 9_000,
            },
            "config holds more than 100,000 values",
        ),
        ({"name": "cyclic", "mode": "x" * 5_000}, "config.mode is a string of 5,000 characters"),
        ({"name": ["constant"], "value": 1}, "names an unknown schedule ['constant']"),
        ({"name": "constant", 7: 1}, "config has a key that is not a short string"),
    ],
)
def test_config_out_of_bounds_is_refused_in_one_line_at_once(config, words):
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        schedules.from_config(config)
    assert words in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    # Refused before anything is built (building 20,000 points took minutes).
    assert time.perf_counter() - start < 5.0


def test_a_config_at_the_bounds_is_built():
    assert schedules.from_config(_nested(63)) == schedules.from_spec(
        "scale(" * 63 + "constant(0.1)" + ", 1.0)" * 63
    )
    n = 10_000
    config = {"name": "piecewise_linear", "boundaries": list(range(0, 2 * n, 2)), "values": []}
    config["values"] = [float(i % 7) for i in range(n)]
    start = time.perf_counter()
    s = schedules.from_config(config)
    # One NumPy pass, not 10,000 JAX scalars stacked (a 5,000-point list took 58 s).
    assert time.perf_counter() - start < 10.0
    assert float(s(2 * 4000 + 1)) == pytest.approx((4000 % 7 + 4001 % 7) / 2)
    assert schedules.from_config(s.to_config()) == s


def test_piecewise_lists_are_still_checked_one_by_one():
    with pytest.raises(ValueError, match=r"values\[2\] must be finite"):
        schedules.piecewise_linear([0, 1, 2], [0.0, 1.0, float("inf")])
    with pytest.raises(ValueError, match=r"boundaries\[1\] must be a whole number"):
        schedules.piecewise_linear([0, 1.5, 2], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"boundaries\[1\] must fit in int32"):
        schedules.piecewise_linear([0, 2**31], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"scale at step 3 must be >= 0\.0"):
        schedules.piecewise_constant(1.0, [[1, 0.5], [3, -0.5]])
    with pytest.raises(TypeError, match=r"values\[1\] must be a number"):
        schedules.piecewise_linear([0, 1], [0.0, True])
