"""Long runs: every registered optimiser right at counts near 2**24, 2**27 and 2**31 - 1.

The step counter is int32 and saturates at 2**31 - 1; an update's 1-based
index ``step + 1`` taken in int32 wraps to -2**31 there (Adafactor then gave
NaN, Adam's bias corrections -inf). Each optimiser is started at such a
count (its own state fresh) and checked for two steps against its float64
reference step at that t.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
import reference_standalone as ref
from optimizer_registry import all_entries


def _variant(name, options, reference_step):
    """A registry entry with other options: the ones whose step arithmetic the
    registry's options leave out (rmsprop's bias correction, a schedule-free warm-up)."""
    entry = next(e for e in all_entries() if e.name == name)
    return dataclasses.replace(
        entry, options={**entry.options, **options}, reference_step=reference_step
    )


ENTRIES = [
    *all_entries(),
    _variant(
        "rmsprop",
        {"bias_correction": True},
        functools.partial(ref.rmsprop_step, centered=True, nesterov=True, bias_correction=True),
    ),
    *(
        _variant(
            name,
            {"warmup_steps": 2**30},
            functools.partial(ref.schedule_free_step, adam=adam, warmup_steps=2**30),
        )
        for name, adam in (("schedule_free_sgd", False), ("schedule_free_adamw", True))
    ),
]
IDS = [e.name for e in all_entries()] + [
    "rmsprop-bias_correction",
    "schedule_free_sgd-warmup",
    "schedule_free_adamw-warmup",
]
MAX = 2**31 - 1
SHAPES = ((6, 4), (4,), (3, 2, 2))


def _problem():
    rng = np.random.default_rng(3)
    params = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(2)]
    return params, grads


@pytest.mark.parametrize("count", [2**24 - 1, 2**27, MAX - 1], ids=["2^24-1", "2^27", "2^31-2"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_steps_at_a_large_count_match_float64(entry, count):
    opt = entry.make(**entry.hyperparams, **entry.options)
    params, grads = _problem()
    state = opt.init([jnp.asarray(p) for p in params])
    assert isinstance(state, fromax.TransformState)
    state = dataclasses.replace(state, count=jnp.asarray(count, jnp.int32))

    @jax.jit
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return fromax.apply_updates(params, updates), state

    got = [jnp.asarray(p) for p in params]
    exact = [p.astype(np.float64) for p in params]
    states = [entry.reference_init(p) for p in exact]
    for k, grad in enumerate(grads):
        got, state = step(got, state, [jnp.asarray(g) for g in grad])
        # The counter saturates: from 2**31 - 1 on, every update is update 2**31 - 1.
        t = min(count + k, MAX)
        for i, g in enumerate(grad):
            exact[i], states[i] = entry.reference_step(
                exact[i], g.astype(np.float64), states[i], dict(entry.hyperparams), t
            )
    assert int(state.count) == min(count + 2, MAX)
    for g, e in zip(got, exact, strict=True):
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, e, rtol=entry.rtol, atol=entry.rtol * np.abs(e).max())
