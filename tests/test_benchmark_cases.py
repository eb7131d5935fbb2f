"""The benchmark suite's list of optimisers is the registry's (the suite itself is not run)."""

from __future__ import annotations

import importlib
import pathlib
import sys

import pytest

import fromax
from fromax._core import _registry
from fromax._core._registry import Hyperparameter, Number, declare, declared

BENCHMARKS = pathlib.Path(__file__).parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def suite():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("suite")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_the_suite_times_every_declared_optimizer(suite):
    cases = suite.build_cases()
    assert [c.name for c in cases] == [s.name for s in declared("optimizer")]
    for case in cases:
        # Each one the suite knows has its byte count and an optax step to race.
        assert case.bytes_per_param and case.has_optax, case.name
        assert callable(case.fromax().update) and callable(case.optax().update)


def test_an_optimizer_without_suite_data_is_still_timed(suite):
    @declare(
        Hyperparameter("learning_rate", Number(fromax.NONNEGATIVE), "the step size"),
        summary="a toy for the suite's test",
    )
    def toy_without_extras(learning_rate):
        return fromax.sgd(learning_rate)

    try:
        case = next(c for c in suite.build_cases() if c.name == "toy_without_extras")
        assert case.kwargs == {"learning_rate": 1e-3}
        assert case.bytes_per_param is None and not case.has_optax and case.optax() is None
        assert callable(case.fromax().update)
    finally:
        del _registry._REGISTRY["toy_without_extras"]


def test_state_dtype_benchmark_counts_the_state_bytes():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        bench = importlib.import_module("state_dtype")
    finally:
        sys.path.remove(str(BENCHMARKS))
    shapes = bench._shapes(4 * bench.SIDE**2)  # shapes only: nothing is allocated
    n = 4 * bench.SIDE**2
    opts = bench.contenders()
    scalars = {name: bench.state_bytes(opt, []) for name, opt in opts.items()}
    per_param = {
        name: (bench.state_bytes(opt, shapes) - scalars[name]) / n for name, opt in opts.items()
    }
    assert per_param == {
        "fromax adam, float32 moments": 8,
        "fromax adam, bfloat16 mu and nu": 4,
        "fromax adam, bfloat16 stochastic": 4,
        "fromax adam, bfloat16 mu": 6,
        "optax adam, float32 moments": 8,
        "optax adam(mu_dtype=bfloat16)": 6,
    }
