"""Equinox: a fromax optimiser trains an ``eqx.Module``; an Equinox module as ``masked``'s mask."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import fromax


def _model():
    return eqx.nn.MLP(2, 1, width_size=8, depth=1, key=jax.random.key(0))


def _loss(model, x, y):
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


def _data():
    x = jax.random.normal(jax.random.key(1), (32, 2))
    return x, jnp.sin(x[:, :1]) + 0.5 * x[:, 1:]


def _train(opt, model, steps):
    x, y = _data()
    state = opt.init(eqx.filter(model, eqx.is_array))

    @eqx.filter_jit
    def step(model, state):
        loss, grads = eqx.filter_value_and_grad(_loss)(model, x, y)
        updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, loss

    losses = []
    for _ in range(steps):
        model, state, loss = step(model, state)
        losses.append(float(loss))
    return model, losses


def test_adamw_trains_an_equinox_module():
    _, losses = _train(fromax.adamw(3e-2, weight_decay=1e-4), _model(), 60)
    assert losses[-1] < 0.2 * losses[0]


def test_masked_takes_an_equinox_module_of_bools_as_its_mask():
    model = _model()
    # An MLP whose leaves are bools: a callable pytree, read as a tree (not called).
    weights_only = jax.tree.map(lambda x: eqx.is_array(x) and x.ndim > 1, model)
    assert callable(weights_only)
    opt = fromax.masked(fromax.sgd(0.1), weights_only)
    params = eqx.filter(model, eqx.is_array)
    grads = eqx.filter_grad(_loss)(model, *_data())
    updates, _ = opt.update(grads, opt.init(params), params)
    for g, u in zip(grads.layers, updates.layers, strict=True):
        np.testing.assert_allclose(u.weight, -0.1 * g.weight, rtol=1e-6)  # SGD's step
        np.testing.assert_array_equal(u.bias, g.bias)  # left out: passed through, as optax's
