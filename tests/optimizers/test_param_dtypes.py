"""Parameter dtypes: integers refused, complex numbers as optax or refused, x64 keeps dtypes.

Every registered optimiser: integer parameters are refused at ``init`` in one
line naming the leaf; complex parameters either take optax's steps (|g|**2 in
second moments) or are refused at ``init`` saying why; with
``jax_enable_x64`` on, ``update`` never changes a dtype of the state, so
``lax.scan`` runs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optimizer_registry import all_entries

ENTRIES = all_entries()
# Optimisers whose complex steps are optax's (compared below); every other one refuses.
COMPLEX_AS_OPTAX = ("sgd", "adam", "adamw", "nadam", "lars", "lamb", "rmsprop", "adagrad")


def _build(entry, **overrides):
    return entry.make(**{**entry.hyperparams, **overrides}, **entry.options)


def _params(dtype):
    # A list: adamw's test mask reads the parameters as a sequence.
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,)]
    real = [rng.standard_normal(s) for s in shapes]
    if np.issubdtype(dtype, np.complexfloating):
        real = [r + 1j * rng.standard_normal(r.shape) for r in real]
    return [jnp.asarray(r, dtype) for r in real]


def test_every_entry_is_either_compared_on_complex_or_refuses():
    names = {e.name for e in ENTRIES}
    assert set(COMPLEX_AS_OPTAX) <= names


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_integer_parameters_are_refused_at_init(entry):
    params = [jnp.ones((3, 4), jnp.float32), jnp.arange(4, dtype=jnp.int32)]
    with pytest.raises(TypeError) as error:
        _build(entry).init(params)
    message = str(error.value)
    assert "\n" not in message
    assert "params[1]" in message and "int32" in message and "float dtype" in message


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_complex_parameters_take_optax_steps_or_are_refused(entry):
    params = _params(np.complex64)
    grads = [0.1 * p + 0.05j for p in _params(np.complex64)]
    if entry.name not in COMPLEX_AS_OPTAX:
        with pytest.raises(TypeError) as error:
            _build(entry).init(params)
        message = str(error.value)
        assert "\n" not in message and f"{entry.name} does not take complex" in message
        return
    ours = _build(entry, **entry.optax_overrides)
    theirs = entry.optax(**{**entry.hyperparams, **entry.optax_overrides}, **entry.optax_options)

    def run(opt):
        def steps(params):
            state = opt.init(params)
            for _ in range(3):
                updates, state = opt.update(grads, state, params)
                params = [p + u for p, u in zip(params, updates, strict=True)]
            return params

        return jax.jit(steps)(params)

    got = run(ours)
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        expected = run(theirs)
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == jnp.complex64
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_state_dtypes_never_change_under_x64(entry):
    with jax.enable_x64(True):
        opt = _build(entry)  # built under x64: Python numbers must still be float32
        params = _params(np.float32)
        state = opt.init(params)
        before = jax.tree.map(lambda a: a.dtype, state)

        def step(state, _):
            updates, state = opt.update(params, state, params)
            return state, updates[0]

        after, updates = jax.jit(lambda s: jax.lax.scan(step, s, length=3))(state)
        assert jax.tree.map(lambda a: a.dtype, after) == before
        assert updates.dtype == jnp.float32
