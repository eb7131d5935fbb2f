"""Shared numerics (_core/_numerics.py) against float64 and hand-computed values, and the
optimisers whose bias correction comes from it."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
import reference_standalone as ref
from fromax._core._numerics import divide_by_root, safe_ratio, squared_norm
from fromax._core._tree import zeros_in_compute_dtype


def _ulps(got, exact):
    """|got - exact| in units of the float32 spacing at ``exact``."""
    exact = np.asarray(exact, np.float64)
    spacing = np.spacing(exact.astype(np.float32)).astype(np.float64)
    return np.abs(np.asarray(got, np.float64) - exact) / spacing


def _exact(beta, t):
    """1 - beta**t in float64, for the float32 beta the optimisers hold."""
    return 1 - np.float64(np.float32(beta)) ** np.asarray(t, np.float64)


# The form Nero, Madam, RMSprop and schedule-free used: float32 pow, then 1 - it.
_naive = jax.jit(lambda beta, t: 1 - beta ** t.astype(jnp.float32))
_corrected = jax.jit(fromax.bias_correction)


@pytest.mark.parametrize(
    ("beta", "t"), [(0.999, 1), (0.999, 2), (0.999, 3), (0.9999, 3), (0.99, 26), (0.9, 1)]
)
def test_bias_correction_is_within_a_few_ulps_of_float64(beta, t):
    got = _corrected(np.float32(beta), np.int32(t))
    assert got.dtype == jnp.float32
    assert _ulps(got, _exact(beta, t)) <= 3


def test_bias_correction_is_far_more_accurate_than_the_naive_float32_form():
    # At t = 1 both are exact (XLA:CPU's pow returns beta itself, and 1 - beta is exact in
    # float32); from t = 2, beta**t rounds to an ulp of 1 and 1 - beta**t
    # keeps that error: 57 ulps at t = 2 for beta = 0.999, 1017 at t = 3 for 0.9999.
    steps = np.arange(1, 1001, dtype=np.int32)
    for beta, naive_at_least in ((0.999, 50), (0.9999, 500)):
        b = np.float32(beta)
        exact = _exact(beta, steps)
        naive = _ulps(jax.vmap(_naive, (None, 0))(b, steps), exact)
        corrected = _ulps(jax.vmap(_corrected, (None, 0))(b, steps), exact)
        assert naive[0] <= 1 and corrected[0] == 0  # t = 1: 1 - beta, exact
        assert naive.max() >= naive_at_least
        assert corrected.max() <= 5


def test_bias_correction_at_the_ends_of_its_range():
    # beta = 0: no memory, nothing to correct; beta = 1 (RMSprop admits it): 0, as 1 - 1**t.
    assert float(fromax.bias_correction(jnp.float32(0.0), 5)) == 1.0
    assert float(fromax.bias_correction(jnp.float32(1.0), 5)) == 0.0


def test_squared_norm_safe_ratio_and_divide_by_root_by_hand():
    x = jnp.array([[3.0, 4.0], [0.0, 12.0]])
    assert float(squared_norm(x)) == 169.0
    norms = jnp.array([2.0, 0.0, 4.0])
    np.testing.assert_array_equal(safe_ratio(1.0, norms, norms > 0, 7.0), [0.5, 7.0, 0.25])
    np.testing.assert_array_equal(
        divide_by_root(jnp.ones(3), norms), [np.float32(2**-0.5), 0.0, 0.5]
    )
    # The undefined entries reach neither the value nor the gradient.
    grad = jax.grad(lambda d: jnp.sum(safe_ratio(1.0, d, d > 0, 0.0)))(norms)
    grad_root = jax.grad(lambda s: jnp.sum(divide_by_root(1.0, s)))(norms)
    assert np.all(np.isfinite(grad)) and np.all(np.isfinite(grad_root))
    np.testing.assert_array_equal(grad, [-0.25, 0.0, -1 / 16])


def test_zeros_in_compute_dtype_is_float32_or_wider():
    params = {"h": jnp.ones((2, 3), jnp.bfloat16), "f": jnp.ones(2), "none": None}
    zeros = zeros_in_compute_dtype(params)
    assert zeros["h"].dtype == jnp.float32 and zeros["h"].shape == (2, 3)
    assert zeros["f"].dtype == jnp.float32 and zeros["none"] is None
    assert not np.any(zeros["h"]) and not np.any(zeros["f"])


# Each optimiser that corrects a decay's bias, at beta = 0.9999 (where the naive form is
# 1e-4 off relative at t = 3), against its float64 reference: the updates of the first
# steps agree to float32 rounding of the parameters (the naive form misses by 5e-5
# relative, about 2e-6 here).
_BETA = 0.9999
_LR = 0.1
_CORRECTED = {
    "nero": (
        fromax.nero(_LR, beta=_BETA),
        {"learning_rate": _LR, "beta": _BETA},
        ref.nero_init,
        ref.nero_step,
    ),
    "madam": (
        fromax.madam(_LR, beta=_BETA),
        {"learning_rate": _LR, "beta": _BETA, "p_scale": 3.0, "g_bound": 10.0},
        ref.madam_init,
        ref.madam_step,
    ),
    "rmsprop": (
        fromax.rmsprop(_LR, decay=_BETA, eps=0.0, bias_correction=True),
        {"learning_rate": _LR, "decay": _BETA, "eps": 0.0, "momentum": 0.0},
        ref.rmsprop_init,
        functools.partial(ref.rmsprop_step, centered=False, nesterov=False, bias_correction=True),
    ),
    "schedule_free_adamw": (
        fromax.schedule_free_adamw(_LR, b2=_BETA, eps=0.0),
        {
            "learning_rate": _LR,
            "b1": 0.9,
            "b2": _BETA,
            "eps": 0.0,
            "weight_decay": 0.0,
            "weight_lr_power": 2.0,
        },
        ref.schedule_free_init,
        functools.partial(ref.schedule_free_step, adam=True),
    ),
}


@pytest.mark.parametrize("name", sorted(_CORRECTED))
def test_bias_corrected_optimisers_match_float64_at_beta_0_9999(name):
    opt, values, reference_init, reference_step = _CORRECTED[name]
    rng = np.random.default_rng(0)
    params = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)
    state = opt.init(params)
    exact = np.asarray(params, np.float64)
    reference_state = reference_init(exact)
    for t in range(4):
        grad = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)
        updates, state = jax.jit(opt.update)(grad, state, params)
        new, reference_state = reference_step(
            exact, np.asarray(grad, np.float64), reference_state, values, t
        )
        # fromax returns new - old in float32: rounded to the parameters' ulp.
        atol = 4 * np.finfo(np.float32).eps * np.abs(exact).max()
        np.testing.assert_allclose(updates, new - exact, rtol=1e-6, atol=atol)
        params = fromax.apply_updates(params, updates)
        exact = np.asarray(params, np.float64)  # both continue from the same point
