"""optax's own tests that pass ``mu_dtype`` / ``accumulator_dtype``, run against fromax.

Ported from optax 0.2.8 with fromax's optimisers substituted for optax's:

- ``_src/alias_test.py::test_explicit_dtype`` (sgd with momentum, adam, adamw):
  the stored moment takes the dtype asked. Differences, by design: with
  ``None`` fromax stores float32 (the compute dtype) where optax stores the
  parameters' dtype, so bfloat16 parameters get float32 moments; complex
  dtypes are left out (fromax's moments are real floats); SGD's velocity is
  ``velocity`` where optax's is ``trace``.
- ``transforms/_accumulation_test.py::test_multi_steps_mixed_precision``:
  ``optax.MultiSteps`` around ``fromax.adam(mu_dtype=float32)``, a Flax
  ``Dense`` loss, every mix of float32, float16 and bfloat16 parameters and
  updates: MultiSteps' updates have the inner
  optimiser's dtypes and applying them keeps the parameters' dtypes.
"""

from __future__ import annotations

import functools

import flax.linen
import jax
import jax.numpy as jnp
import optax
import pytest

import fromax
from fromax._core._tree import compute_dtype

_DTYPES = ("bfloat16", "float32", None)


@pytest.mark.parametrize("opt_name", ["sgd_mom", "adam", "adamw"])
@pytest.mark.parametrize("state_dtype", _DTYPES)
@pytest.mark.parametrize("params_dtype", _DTYPES)
def test_explicit_dtype(params_dtype, state_dtype, opt_name):
    if opt_name == "sgd_mom":
        opt = fromax.sgd(0.1, momentum=0.9, accumulator_dtype=state_dtype)
        attribute_name = "velocity"
    else:
        opt = getattr(fromax, opt_name)(0.1, mu_dtype=state_dtype)
        attribute_name = "mu"
    params_dtype = jax.dtypes.canonicalize_dtype(params_dtype or jnp.float32)
    params = jnp.array([0.0, 0.0], dtype=params_dtype)
    state = opt.init(params)
    if state_dtype is None:
        expected_dtype = compute_dtype(params_dtype)  # optax: params_dtype
    else:
        expected_dtype = jax.dtypes.canonicalize_dtype(state_dtype)
    attribute = optax.tree.get(state, attribute_name)
    assert attribute.dtype == expected_dtype


class _Loss(flax.linen.Module):
    @flax.linen.compact
    def __call__(self, x, dtype=jnp.float32, param_dtype=jnp.float32):
        return jnp.sum(flax.linen.Dense(10, dtype=dtype, param_dtype=param_dtype)(x) ** 2)


def test_multi_steps_mixed_precision():
    # optax's second case (mu_dtype=float32); its first, without mu_dtype, adds nothing here.
    opt_kwargs = {"learning_rate": 0.1, "mu_dtype": jnp.float32}
    k_steps = 4
    data = jnp.ones([32, 7])
    loss = _Loss()
    base_opt = fromax.adam(**opt_kwargs)
    ms_opt = optax.MultiSteps(base_opt, k_steps)

    # Traced, not run (optax's runs eagerly): the dtypes asserted are those of the jitted
    # program, which compiling and running it gives back unchanged. One trace per
    # (dtype mix, optimiser), reused for the k_steps + 1 steps; compiling the 18
    # programs took ten seconds.
    @functools.partial(jax.jit, static_argnums=(3, 4))
    def jitted_step(data, opt_state, params, opt_update_fn, upd_dtype):
        grad = jax.grad(lambda p, d: loss.apply({"params": p}, d))(params, data)
        grad = jax.tree.map(lambda x: x.astype(upd_dtype), grad)  # mimic varying dtype
        return opt_update_fn(grad, opt_state, params)

    def train_step(*args):
        return jitted_step.eval_shape(*args)

    apply_updates = jax.jit(optax.apply_updates).eval_shape

    def same_dtypes(tree1, tree2):
        return jax.tree.all(jax.tree.map(lambda x, y: x.dtype == y.dtype, tree1, tree2))

    dtypes = [jnp.float32, jnp.float16, jnp.bfloat16]
    # optax's MultiSteps and Flax promote implicitly, as optax's test does.
    with jax.numpy_dtype_promotion("standard"):
        for upd_dtype in dtypes:
            for param_dtype in dtypes:
                data = data.astype(param_dtype)
                params = loss.init({"params": jax.random.key(0)}, data, param_dtype=param_dtype)[
                    "params"
                ]
                opt_state = base_opt.init(params)
                ms_opt_state = ms_opt.init(params)
                for _ in range(k_steps + 1):
                    updates, opt_state = train_step(
                        data, opt_state, params, base_opt.update, upd_dtype
                    )
                    ms_updates, ms_opt_state = train_step(
                        data, ms_opt_state, params, ms_opt.update, upd_dtype
                    )
                    assert same_dtypes(updates, ms_updates), (upd_dtype, param_dtype)
                    new_params = apply_updates(params, ms_updates)
                    assert same_dtypes(params, new_params), (upd_dtype, param_dtype)
                    params = new_params
