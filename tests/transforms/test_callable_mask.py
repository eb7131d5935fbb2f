"""A mask that is both a pytree of bools and callable (an Equinox module) is a tree."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

import fromax


@dataclasses.dataclass(frozen=True)
class Model:
    """A small stand-in for an Equinox module: a registered pytree with __call__."""

    w: object
    b: object

    def __call__(self, x):
        raise AssertionError("a mask whose leaves are bools must not be called")


jax.tree_util.register_dataclass(Model, data_fields=["w", "b"], meta_fields=[])

PARAMS = Model(w=jnp.array([[1.0, -2.0], [0.5, 3.0]]), b=jnp.array([0.25, -0.75]))
GRADS = Model(w=jnp.array([[0.1, 0.2], [-0.3, 0.4]]), b=jnp.array([1.0, -1.0]))


def test_masked_uses_a_callable_pytree_of_bools_as_a_tree():
    mask = Model(w=True, b=False)
    ours = fromax.masked(fromax.adam(0.1), mask)
    theirs = optax.masked(optax.adam(0.1), mask)
    updates, state = ours.update(GRADS, ours.init(PARAMS), PARAMS)
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        want, _ = theirs.update(GRADS, theirs.init(PARAMS), PARAMS)
    np.testing.assert_allclose(updates.w, want.w, rtol=1e-5)  # Adam's first step: -0.1 sign
    np.testing.assert_allclose(updates.w, -0.1 * np.sign(GRADS.w), rtol=1e-5)
    np.testing.assert_array_equal(updates.b, GRADS.b)  # passed through
    assert state.inner.inner.mu.b is None


def test_adamw_mask_may_be_a_callable_pytree_of_bools():
    opt = fromax.adamw(0.1, weight_decay=0.5, mask=Model(w=False, b=True))
    zeros = jax.tree.map(jnp.zeros_like, PARAMS)
    updates, _ = opt.update(zeros, opt.init(PARAMS), PARAMS)
    np.testing.assert_array_equal(updates.w, 0.0)
    np.testing.assert_allclose(updates.b, -0.1 * 0.5 * PARAMS.b, rtol=1e-6)


def test_a_plain_callable_is_still_called():
    def mask(params):
        return jax.tree.map(lambda x: x.ndim > 1, params)

    updates, _ = fromax.masked(fromax.sgd(1.0), mask).update(
        GRADS, fromax.masked(fromax.sgd(1.0), mask).init(PARAMS)
    )
    np.testing.assert_allclose(updates.w, -GRADS.w)
    np.testing.assert_array_equal(updates.b, GRADS.b)
