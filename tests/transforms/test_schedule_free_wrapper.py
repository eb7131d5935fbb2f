"""schedule_free around fromax optimisers against optax.contrib.schedule_free around optax's."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax
from fromax import schedules

CURVATURE = [jnp.array([1.0, 3.0, 0.5]), jnp.array([[2.0, 0.2], [1.0, 4.0]])]
START = [jnp.array([1.0, -2.0, 0.5]), jnp.array([[0.3, -1.0], [2.0, 1.5]])]
STEPS = 6


def _grad(params):
    return [a * p for a, p in zip(CURVATURE, params, strict=True)]


def _run(opt, eval_params, standard=False):
    """Params and evaluation params after each of STEPS updates."""
    params, out = START, []
    state = opt.init(params)
    step = jax.jit(opt.update)
    for _ in range(STEPS):
        if standard:
            with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
                updates, state = step(_grad(params), state, params)
                params = optax.apply_updates(params, updates)
                out.append((params, eval_params(state, params)))
        else:
            updates, state = step(_grad(params), state, params)
            params = fromax.apply_updates(params, updates)
            out.append((params, eval_params(state, params)))
    return out, state


def _close(got, want, rtol):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("base", ["sgd", "adam"])
def test_schedule_free_matches_optax(base):
    if base == "sgd":
        mine, theirs = fromax.sgd(0.2), optax.sgd(0.2)
    else:
        mine, theirs = fromax.adam(0.05, b1=0.0), optax.adam(0.05, b1=0.0)
    got, state = _run(
        fromax.schedule_free(mine, b1=0.8, weight_lr_power=1.5), fromax.schedule_free_eval_params
    )
    want, _ = _run(
        optax.contrib.schedule_free(theirs, 0.2 if base == "sgd" else 0.05, 0.8, 1.5),
        optax.contrib.schedule_free_eval_params,
        standard=True,
    )
    _close(got, want, rtol=2e-6)
    assert set(fromax.hyperparams(state)) >= {"b1", "weight_lr_power", "learning_rate"}


def test_schedule_free_reads_a_warm_up_from_the_base():
    # optax evaluates its averaging learning rate one step later than its base's: shifted.
    warmup = schedules.linear(0.0, 0.3, transition_steps=4)
    mine = fromax.schedule_free(fromax.sgd(warmup))
    with jax.numpy_dtype_promotion("standard"):
        theirs = optax.contrib.schedule_free(
            optax.sgd(optax.linear_schedule(0.0, 0.3, 4)),
            lambda count: optax.linear_schedule(0.0, 0.3, 4)(count - 1),
        )
    got, _ = _run(mine, fromax.schedule_free_eval_params)
    want, _ = _run(theirs, optax.contrib.schedule_free_eval_params, standard=True)
    _close(got, want, rtol=2e-6)
    # And it is fromax's own schedule_free_sgd.
    same, _ = _run(fromax.schedule_free_sgd(warmup), fromax.schedule_free_eval_params)
    _close(got, same, rtol=1e-6)


def test_schedule_free_needs_a_learning_rate_it_can_read():
    with pytest.raises(ValueError, match=r"pass schedule_free\(base, learning_rate=\.\.\.\)"):
        fromax.schedule_free(optax.sgd(0.1)).init(START)
    opt = fromax.schedule_free(optax.sgd(0.1), learning_rate=0.1)
    got, _ = _run(opt, fromax.schedule_free_eval_params, standard=True)
    want, _ = _run(fromax.schedule_free(fromax.sgd(0.1)), fromax.schedule_free_eval_params)
    _close(got, want, rtol=1e-6)
    with pytest.raises(ValueError, match="schedule_free's b1 must be"):
        fromax.schedule_free(fromax.sgd(0.1), b1=0.0)
