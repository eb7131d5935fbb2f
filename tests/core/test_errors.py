"""Bad input raises an error that names the argument and says what to do."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

import fromax

PARAMS = {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}
GRADS = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (
            {"learning_rate": -0.1},
            ValueError,
            "fromage's learning_rate must be a finite number >= 0",
        ),
        (
            {"learning_rate": float("nan")},
            ValueError,
            "fromage's learning_rate must be finite, got nan",
        ),
        ({"learning_rate": float("inf")}, ValueError, "learning_rate must be finite, got inf"),
        ({"learning_rate": "0.1"}, TypeError, "learning_rate must be a number, a JAX scalar"),
        ({"learning_rate": jnp.ones(3)}, ValueError, "must be a scalar"),
        (
            {"learning_rate": lambda step: jnp.ones(3) * 0.1},
            ValueError,
            "the schedule given for fromage's learning_rate must return a scalar",
        ),
        (
            {"learning_rate": lambda step: 0.1 if step < 10 else 0.01},
            TypeError,
            "jnp.where, not if/else",
        ),
        (
            {"learning_rate": lambda step: "fast"},
            TypeError,
            "failed when called with a traced integer step",
        ),
        ({"learning_rate": True}, TypeError, "must be a number, a JAX scalar or a schedule"),
        ({"p_bound": 0.0}, ValueError, "fromage's p_bound must be a finite number > 0"),
        ({"p_bound": -2.0}, ValueError, "p_bound must be a finite number > 0"),
    ],
)
def test_bad_hyperparameters(kwargs, error, words):
    with pytest.raises(error) as info:
        fromax.fromage(**kwargs)
    assert words in str(info.value)


def test_update_without_params():
    opt = fromax.fromage()
    with pytest.raises(
        ValueError,
        match=r"fromage needs the current parameters: call "
        r"update\(grads, state, params\)",
    ):
        opt.update(GRADS, opt.init(PARAMS))


def test_params_and_updates_with_different_trees():
    opt = fromax.fromage()
    with pytest.raises(ValueError, match="params and updates must have the same tree structure"):
        opt.update(GRADS, opt.init(PARAMS), {"w": jnp.ones((2, 2))})


def test_params_and_updates_with_different_shapes():
    opt = fromax.fromage()
    with pytest.raises(
        ValueError,
        match=r"params\['w'\] has shape \(3, 2\) but "
        r"updates\['w'\] has shape \(2, 2\)",
    ):
        opt.update(GRADS, opt.init(PARAMS), {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)})


def test_state_of_another_transformation():
    with pytest.raises(TypeError, match="pass the state that fromage's init"):
        fromax.fromage().update(GRADS, (), PARAMS)


def test_apply_updates_with_different_trees():
    with pytest.raises(ValueError, match="updates and params must have the same tree structure"):
        fromax.apply_updates(PARAMS, {"w": GRADS["w"]})
