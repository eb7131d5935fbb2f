"""skip_nonfinite's limit (optax's apply_if_finite) and its check of the inner state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax

GOOD = jnp.array([0.5, -1.0])
NAN = jnp.array([jnp.nan, 1.0])
# Good and bad steps: runs of 1, 3 and 2 bad ones.
PATTERN = [GOOD, NAN, GOOD, NAN, NAN, NAN, GOOD, NAN, NAN, GOOD]


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_max_consecutive_is_optax_apply_if_finite(limit):
    mine = fromax.skip_nonfinite(fromax.sgd(0.1, momentum=0.5), max_consecutive=limit)
    theirs = optax.apply_if_finite(optax.sgd(0.1, momentum=0.5), max_consecutive_errors=limit)
    params = jnp.zeros(2)
    state, their_state = mine.init(params), theirs.init(params)
    step = jax.jit(mine.update)
    skipped = 0
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        their_step = jax.jit(theirs.update)
        for t, g in enumerate(PATTERN):
            updates, state = step(g, state, params)
            their_updates, their_state = their_step(g, their_state, params)
            np.testing.assert_allclose(updates, their_updates, rtol=1e-6, err_msg=f"step {t}")
            assert int(state.consecutive) == int(their_state.notfinite_count)
            applied = bool(jnp.all(jnp.isfinite(g))) or int(state.consecutive) > limit
            skipped += not applied
            assert int(state.skipped) == skipped
    np.testing.assert_allclose(
        state.inner.inner.velocity, their_state.inner_state[0].trace, rtol=1e-6
    )


def test_check_state_skips_the_step_that_overflows_adam():
    params = jnp.zeros(2)
    grads = [GOOD, jnp.array([1e30, 1.0]), GOOD, -GOOD]
    # Without the option the second moment is inf for ever: updates are 0 from then on.
    plain = fromax.skip_nonfinite(fromax.adam(0.1))
    state = plain.init(params)
    for g in grads:
        updates, state = plain.update(g, state, params)
    assert np.isinf(np.asarray(state.inner.inner.nu)).any() and int(state.skipped) == 0
    assert float(updates[0]) == 0.0
    # With it, the overflowing step is skipped: the run is Adam on the other three.
    checked = fromax.skip_nonfinite(fromax.adam(0.1), check_state=True)
    state = checked.init(params)
    got = []
    for g in grads:
        updates, state = checked.update(g, state, params)
        got.append(updates)
    assert int(state.skipped) == 1 and int(state.consecutive) == 0
    np.testing.assert_array_equal(got[1], 0.0)
    adam = fromax.adam(0.1)
    want_state = adam.init(params)
    for g, u in zip([grads[0], grads[2], grads[3]], [got[0], got[2], got[3]], strict=True):
        want, want_state = adam.update(g, want_state, params)
        np.testing.assert_array_equal(u, want)
    np.testing.assert_array_equal(state.inner.inner.nu, want_state.inner.nu)


def test_skip_nonfinite_refuses_bad_options():
    with pytest.raises(
        ValueError, match="skip_nonfinite's max_consecutive must be an integer >= 0"
    ):
        fromax.skip_nonfinite(fromax.sgd(0.1), max_consecutive=-1)
    with pytest.raises(TypeError, match="skip_nonfinite's check_state must be True or False"):
        fromax.skip_nonfinite(fromax.sgd(0.1), check_state=1)
