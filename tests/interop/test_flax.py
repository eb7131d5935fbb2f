"""Flax: fromax's states through ``flax.serialization``; hyperparameters in ``nnx.Optimizer``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx, serialization

import fromax
from fromax import schedules

SRC = Path(__file__).parents[2] / "src"


def _same(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _optimisers():
    lr = schedules.warmup_cosine_decay(0.0, 1e-2, 3, 20)
    return {
        "adam": fromax.adam(lr, b2=schedules.linear(0.9, 0.999, 10), mu_dtype="bfloat16"),
        "chain of wrappers": fromax.chain(
            fromax.clip_by_global_norm(1.0),
            fromax.skip_nonfinite(fromax.accumulate_gradients(fromax.lion(lr), 2)),
        ),
        "muon": fromax.muon(lr),
        "schedule_free_adamw": fromax.schedule_free_adamw(lr * 0.5),
    }


@pytest.mark.parametrize("name", list(_optimisers()))
def test_to_bytes_from_bytes_round_trip(name):
    opt = _optimisers()[name]
    params = {"w": jnp.ones((4, 3)), "b": jnp.zeros(3)}
    state = opt.init(params)
    for t in range(3):  # past the warm-up's start: counts and moments are not their init
        grads = jax.tree.map(lambda p, t=t: jnp.cos(p + t), params)
        _, state = opt.update(grads, state, params)
    data = serialization.to_bytes(state)
    restored = serialization.from_bytes(opt.init(params), data)
    _same(state, restored)
    assert fromax.hyperparams(restored) == fromax.hyperparams(state)
    # The restored state keeps working: the next update is the uninterrupted one.
    _same(opt.update(params, state, params), opt.update(params, restored, params))


def test_a_state_from_another_optimiser_is_refused_naming_the_field():
    state = fromax.adam(0.1).init(jnp.ones(2))
    data = serialization.to_bytes(state)
    with pytest.raises(ValueError, match="serialized ScheduleMap has no 'momentum'"):
        serialization.from_bytes(fromax.sgd(0.1, 0.9).init(jnp.ones(2)), data)


def test_registration_is_automatic_when_flax_is_imported_after_fromax():
    code = (
        "import jax.numpy as jnp, fromax\n"
        "from flax import serialization\n"
        "state = fromax.adam(fromax.schedules.cosine_decay(0.1, 10)).init(jnp.ones(2))\n"
        "back = serialization.from_bytes(state, serialization.to_bytes(state))\n"
        "print(back.schedules['learning_rate'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "JAX_PLATFORMS": "cpu", "PATH": ""},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        result.stdout.strip()
        == "cosine_decay(init_value=0.1, decay_steps=10, alpha=0.0, exponent=1.0)"
    )


def test_nnx_optimizer_hyperparameters_are_read_and_changed_through_as_pure():
    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, fromax.adam(1e-3), wrt=nnx.Param)
    assert float(fromax.hyperparams(nnx.as_pure(opt.opt_state))["learning_rate"]) == np.float32(
        1e-3
    )
    with pytest.raises(TypeError):  # plain reassignment: the schedules are read-only
        opt.opt_state.schedules["learning_rate"] = 1e-2
    changed = fromax.set_hyperparams(nnx.as_pure(opt.opt_state), learning_rate=1e-2)
    nnx.update(opt.opt_state, nnx.state(changed))
    assert float(fromax.hyperparams(nnx.as_pure(opt.opt_state))["learning_rate"]) == np.float32(
        1e-2
    )

    @nnx.jit
    def step(model, opt):
        grads = nnx.grad(lambda m: jnp.sum(m(jnp.ones((1, 3))) ** 2))(model)
        opt.update(model, grads)

    before = model.kernel[...]
    step(model, opt)
    # Adam's first step is the learning rate times sign(g): the new 1e-2, not 1e-3.
    moved = jnp.abs(model.kernel[...] - before)
    np.testing.assert_allclose(moved, jnp.full_like(moved, 1e-2), rtol=1e-4)
