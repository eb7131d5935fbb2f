"""Moments stored in a lower precision (mu_dtype, nu_dtype, ...): storage only, maths in float32.

Every declared optimiser with a storage-dtype argument is run from the test
registry with its moments in bfloat16: the state holds bfloat16 arrays, the
first update is bitwise the float32 one (the direction is computed from the
unrounded moments), and the next stays close. Stochastic rounding is checked
for bias, for its neighbours, and for bitwise resumption through a checkpoint.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
from fromax._core._registry import DType, declared, parse_hyperparameters
from fromax._core._storage import StochasticRounding, store
from optimizer_registry import all_entries

BF16 = jnp.bfloat16
DTYPE_ARGS = {
    s.name: [h.name for h in s.hyperparameters if isinstance(h.kind, DType)] for s in declared(None)
}
WITH_DTYPES = [e for e in all_entries() if DTYPE_ARGS.get(e.name)]


def test_every_optimiser_with_moments_takes_a_storage_dtype():
    takes = {name for name, args in DTYPE_ARGS.items() if args}
    expected = {
        "adam", "adamw", "nadam", "lamb", "lars", "lion", "rmsprop", "adagrad", "sgd", "nero",
        "madam", "schedule_free_sgd", "schedule_free_adamw", "muon", "scion", "adafactor",
        "scale_by_adam", "trace",
    }  # fmt: skip
    assert expected <= takes


def _params():
    rng = np.random.default_rng(0)
    # A list, as the contract suite's: the registry's masks and labels expect one.
    return [jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((6, 4), (4,))]


def _grads(params, t):
    scale = jnp.asarray(t, jnp.float32) + 1  # t: a Python int or an int32 step
    return jax.tree.map(lambda p: jnp.cos(p * scale) + 0.1 * p, params)


@pytest.mark.parametrize("entry", WITH_DTYPES, ids=repr)
def test_bfloat16_moments_store_bfloat16_and_keep_float32_maths(entry):
    settings = {**entry.hyperparams, **entry.options}
    if entry.name == "adafactor":
        settings["momentum"] = 0.9  # its only full-size state in a storage dtype
    if entry.name == "adagrad":
        settings["initial_accumulator_value"] = 0.5  # exact in bfloat16: the same first step
    # z, schedule-free's iterate, starts as the rounded parameters: its first step differs.
    exact = {name: "bfloat16" for name in DTYPE_ARGS[entry.name] if name != "state_dtype"}
    rounded = {name: "bfloat16" for name in DTYPE_ARGS[entry.name]}
    params = _params()
    ref, low = entry.make(**settings), entry.make(**{**settings, **rounded})

    def steps(opt, state):
        updates = []
        for t in range(2):
            u, state = opt.update(_grads(params, t), state, params)
            updates.append(u)
        return updates, state

    (ref_updates, _), (low_updates, low_state) = (
        jax.jit(lambda s: steps(ref, s))(ref.init(params)),
        jax.jit(lambda s: steps(low, s))(low.init(params)),
    )
    dtypes = [x.dtype for x in jax.tree.leaves(low_state)]
    assert BF16 in dtypes, f"{entry.name}: no bfloat16 state with {rounded}"
    for a, b in zip(jax.tree.leaves(ref_updates[0]), jax.tree.leaves(low_updates[0]), strict=True):
        assert a.dtype == b.dtype == jnp.float32
        if exact == rounded:
            np.testing.assert_array_equal(a, b)
    if exact != rounded:
        # z rounded to bfloat16 moves y by ~|z| 2**-9, more than a step: compare the parameters.
        ref_updates = [jax.tree.map(jnp.add, params, u) for u in ref_updates]
        low_updates = [jax.tree.map(jnp.add, params, u) for u in low_updates]
    for a, b in zip(jax.tree.leaves(ref_updates[1]), jax.tree.leaves(low_updates[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=0.05, atol=1e-2 * float(jnp.max(jnp.abs(a))))


def test_adam_stores_its_moments_rounded_to_nearest_bfloat16():
    g = np.array([1 / 3, -2 / 7, 5.0], np.float64)
    opt = fromax.adam(0.1, b1=0.9, b2=0.999, mu_dtype="bfloat16", nu_dtype=jnp.bfloat16)
    _, state = opt.update(jnp.asarray(g, jnp.float32), opt.init(jnp.zeros(3)))
    mu, nu = state.inner.mu, state.inner.nu
    assert mu.dtype == nu.dtype == BF16
    # float64 formula, rounded once to bfloat16 (one rounding from float32 is the same here).
    np.testing.assert_array_equal(mu, jnp.asarray((0.1 * g).astype(np.float32), BF16))
    np.testing.assert_array_equal(nu, jnp.asarray((0.001 * g * g).astype(np.float32), BF16))


def test_none_keeps_the_compute_dtype_and_sgd_takes_optax_positional_order():
    state = fromax.sgd(0.1, 0.9, False, "bfloat16").init({"w": jnp.zeros(2, BF16)})
    assert state.inner.velocity["w"].dtype == BF16
    state = fromax.adam(0.1).init({"w": jnp.zeros(2, BF16)})
    assert state.inner.mu["w"].dtype == jnp.float32  # None: float32, not the parameters' bf16


def test_stochastic_rounding_is_unbiased_and_picks_a_neighbour():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=64), jnp.float32)
    draws = jax.jit(jax.vmap(lambda s: store(x, StochasticRounding(seed=3), step=s, salt=0)))(
        jnp.arange(4000, dtype=jnp.int32)
    ).astype(jnp.float32)
    down = jax.lax.bitcast_convert_type(x, jnp.uint32) & jnp.uint32(0xFFFF0000)
    lower = jax.lax.bitcast_convert_type(down, jnp.float32)
    upper = jnp.nextafter(lower.astype(BF16), jnp.asarray(jnp.inf, BF16) * jnp.sign(x).astype(BF16))
    upper = upper.astype(jnp.float32)
    assert bool(jnp.all((draws == lower[None]) | (draws == upper[None])))
    gap = jnp.abs(upper - lower)
    # The mean of 4000 draws: within 5 standard errors (gap / 2 / sqrt(4000)) of x.
    err = jnp.abs(draws.mean(axis=0) - x)
    assert bool(jnp.all(err <= 5 * gap / 2 / np.sqrt(4000)))
    nearest = x.astype(BF16).astype(jnp.float32)
    assert float(jnp.mean(jnp.abs(nearest - x))) > 10 * float(jnp.mean(err))  # rounding's bias


def test_stochastic_rounding_keeps_small_updates_that_nearest_loses():
    # A moment at 1 taking steps of 1e-4 (an eighth of a bfloat16 ulp): nearest stays at 1.
    def run(spec):
        def body(m, t):
            new = m.astype(jnp.float32) + 1e-4
            return store(new, spec, step=t, salt=0), None

        m, _ = jax.lax.scan(body, jnp.ones(256, BF16), jnp.arange(200, dtype=jnp.int32))
        return m.astype(jnp.float32)

    assert bool(jnp.all(run("bfloat16") == 1.0))
    np.testing.assert_allclose(float(run(StochasticRounding()).mean()), 1.02, rtol=2e-3)


def test_stochastic_rounding_draws_differ_by_leaf_moment_and_step():
    x = {"a": jnp.full(512, 1.0 + 2.0**-9), "b": jnp.full(512, 1.0 + 2.0**-9)}
    first = store(x, StochasticRounding(), step=jnp.int32(0), salt=0)
    again = store(x, StochasticRounding(), step=jnp.int32(0), salt=0)
    assert all(bool(jnp.array_equal(first[k], again[k])) for k in x)  # a pure function
    for other in (
        store(x, StochasticRounding(), step=jnp.int32(1), salt=0)["a"],
        store(x, StochasticRounding(), step=jnp.int32(0), salt=1)["a"],
        store(x, StochasticRounding(seed=1), step=jnp.int32(0), salt=0)["a"],
        first["b"],
    ):
        assert not bool(jnp.array_equal(first["a"], other))


def test_stochastic_rounding_resumes_bitwise_through_a_checkpoint(tmp_path):
    opt = fromax.adam(
        1e-2, mu_dtype=StochasticRounding(seed=7), nu_dtype=StochasticRounding(seed=7)
    )
    params = _params()

    @jax.jit
    def step(params, state, t):
        updates, state = opt.update(_grads(params, t), state, params)
        return fromax.apply_updates(params, updates), state

    def run(params, state, start, stop):
        for t in range(start, stop):
            params, state = step(params, state, jnp.int32(t))
        return params, state

    whole = run(params, opt.init(params), 0, 6)
    half = run(params, opt.init(params), 0, 3)
    fromax.save_checkpoint(tmp_path / "half.npz", half)
    restored = fromax.restore_checkpoint(tmp_path / "half.npz", (params, opt.init(params)))
    resumed = run(*restored, 3, 6)
    assert jax.tree.structure(whole) == jax.tree.structure(resumed)
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(resumed), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert whole[1].inner.mu[0].dtype == BF16


def test_command_line_and_bad_values():
    assert parse_hyperparameters("adam", {"mu_dtype": "bfloat16", "nu_dtype": "none"}) == {
        "mu_dtype": "bfloat16",
        "nu_dtype": None,
    }
    parsed = parse_hyperparameters("sgd", {"accumulator_dtype": "stochastic_bfloat16"})
    assert parsed == {"accumulator_dtype": StochasticRounding()}
    with pytest.raises(ValueError, match="--hyper mu_dtype must be None, a float dtype"):
        parse_hyperparameters("adam", {"mu_dtype": "int8"})
    with pytest.raises(TypeError, match="adam's mu_dtype must be None, a float dtype"):
        fromax.adam(0.1, mu_dtype=jnp.int32)
    with pytest.raises(ValueError, match="StochasticRounding's dtype must be 'bfloat16'"):
        StochasticRounding(dtype="float16")
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        StochasticRounding(seed=-1)
