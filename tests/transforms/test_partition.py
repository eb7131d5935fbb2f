"""partition: optax.multi_transform's updates, '<label>/<name>' keys, frozen groups, shared
hyperparameters with multipliers, and bad input refused at init with the leaf's path."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.tracing import assert_max_traces

import fromax
from fromax import schedules

PARAMS = {"w": jnp.arange(6.0).reshape(2, 3) / 7, "b": jnp.array([0.5, -1.0, 2.0])}
GRADS = [
    {"w": jnp.full((2, 3), 0.1 * (i + 1)) - PARAMS["w"], "b": jnp.array([1.0, -2.0, 0.5]) * i}
    for i in range(3)
]


def _rank_labels(params):
    return jax.tree.map(lambda p: "matrix" if p.ndim == 2 else "vector", params)


@pytest.mark.parametrize("labels", [{"w": "matrix", "b": "vector"}, _rank_labels])
def test_updates_are_optax_multi_transform_s(labels):
    ours = fromax.partition(
        {"matrix": fromax.adam(0.01), "vector": fromax.sgd(0.1, momentum=0.9)}, labels
    )
    theirs = optax.multi_transform(
        {"matrix": optax.adam(0.01), "vector": optax.sgd(0.1, momentum=0.9)}, labels
    )
    state, their_state = ours.init(PARAMS), theirs.init(PARAMS)
    for grads in GRADS:
        updates, state = ours.update(grads, state, PARAMS)
        with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
            expected, their_state = theirs.update(grads, their_state, PARAMS)
        for key in PARAMS:
            # fromax's Adam takes its bias correction exactly, optax's as 1 - b**t: 2e-5 apart.
            np.testing.assert_allclose(updates[key], expected[key], rtol=2e-5, atol=1e-9)


def test_keys_are_label_slash_name_and_set_hyperparams_changes_the_group_without_retrace():
    opt = fromax.partition({"a": fromax.sgd(0.1), "b": fromax.sgd(0.2)}, {"w": "a", "b": "b"})
    state = opt.init(PARAMS)
    assert sorted(fromax.hyperparams(state)) == ["a/learning_rate", "b/learning_rate"]
    # A unique name is prefixed too: adding a group does not rename another's keys.
    alone = fromax.partition({"a": fromax.adam(0.1)}, "a").init(PARAMS)
    assert "a/learning_rate" in fromax.hyperparams(alone)

    step = assert_max_traces(lambda g, s: opt.update(g, s, PARAMS), max_traces=1)
    jitted = jax.jit(step)
    updates, state = jitted(GRADS[1], state)
    np.testing.assert_allclose(updates["b"], -0.2 * GRADS[1]["b"], rtol=1e-6)
    state = fromax.set_hyperparams(state, {"b/learning_rate": 0.5})
    updates, state = jitted(GRADS[1], state)
    np.testing.assert_allclose(updates["b"], -0.5 * GRADS[1]["b"], rtol=1e-6)
    np.testing.assert_allclose(updates["w"], -0.1 * GRADS[1]["w"], rtol=1e-6)
    assert float(fromax.hyperparams(state)["b/learning_rate"]) == 0.5
    assert step.traces() == 1


def test_a_frozen_group_has_zero_updates_and_no_state():
    opt = fromax.partition(
        {"train": fromax.adam(0.1), "frozen": None}, {"w": "train", "b": "frozen"}
    )
    state = opt.init(PARAMS)
    assert state.groups["frozen"] is None
    assert jax.tree.leaves(state.groups["train"].inner.mu)[0].shape == (2, 3)  # only "w"
    updates, state = opt.update(GRADS[1], state, PARAMS)
    np.testing.assert_array_equal(updates["b"], jnp.zeros(3))
    assert updates["b"].dtype == jnp.float32
    assert sorted(fromax.hyperparams(state)) == [
        f"train/{n}" for n in ("b1", "b2", "eps", "eps_root", "learning_rate")
    ]


def _warmup_cosine64(t, peak, warmup=3, total=10):
    if t < warmup:
        return peak * t / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (t - warmup) / (total - warmup)))


def test_one_shared_schedule_drives_both_groups_times_their_multipliers_without_retrace():
    schedule = schedules.warmup_cosine_decay(0.0, 0.02, warmup_steps=3, decay_steps=10)
    opt = fromax.partition(
        {"muon": fromax.sgd(0.0), "adamw": fromax.sgd(0.0, momentum=0.5)},
        {"w": "muon", "b": "adamw"},
        shared={"learning_rate": schedule},
        multipliers={"adamw": {"learning_rate": 0.1}},
    )
    state = opt.init(PARAMS)
    keys = ("learning_rate", "muon/learning_rate", "adamw/learning_rate")
    assert set(keys) | {"adamw/learning_rate_multiplier", "muon/learning_rate_multiplier"} == set(
        fromax.hyperparams(state)
    ) - {"adamw/momentum"}
    step = assert_max_traces(lambda g, s: opt.update(g, s, PARAMS), max_traces=1)
    jitted = jax.jit(step)
    grads = {"w": jnp.ones((2, 3)), "b": jnp.ones(3)}
    peak, mult = 0.02, 0.1
    for t in range(8):
        if t == 4:  # a new peak for both groups, a new multiplier for one: data only
            state = fromax.set_hyperparams(
                state,
                {
                    "learning_rate": schedule.replace(peak_value=0.04),
                    "muon/learning_rate_multiplier": 0.5,
                },
            )
            peak = 0.04
        updates, state = jitted(grads, state)
        lr = _warmup_cosine64(t, peak)
        muon_mult = 0.5 if t >= 4 else 1.0
        h = fromax.hyperparams(state)
        np.testing.assert_allclose(float(h["learning_rate"]), lr, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(
            float(h["muon/learning_rate"]), lr * muon_mult, rtol=1e-6, atol=1e-9
        )
        np.testing.assert_allclose(float(h["adamw/learning_rate"]), lr * mult, rtol=1e-6, atol=1e-9)
        # The values reported are the ones the maths used (plain SGD: -lr * g).
        np.testing.assert_allclose(
            updates["w"], -lr * muon_mult * np.ones((2, 3)), rtol=1e-6, atol=1e-9
        )
    assert step.traces() == 1


def test_setting_a_driven_hyperparameter_directly_is_refused_at_the_next_update():
    opt = fromax.partition(
        {"a": fromax.sgd(0.0), "b": fromax.sgd(0.0)},
        {"w": "a", "b": "b"},
        shared={"learning_rate": 0.1},
    )
    state = fromax.set_hyperparams(opt.init(PARAMS), {"b/learning_rate": 0.3})
    with pytest.raises(ValueError, match="b/learning_rate follows the shared learning_rate"):
        opt.update(GRADS[0], state, PARAMS)


def test_muon_on_the_matrices_and_adamw_on_the_rest_is_muon_s_own_split():
    params = {"w": jnp.arange(12.0).reshape(3, 4) / 10, "b": jnp.ones(4)}
    grads = {"w": jnp.cos(jnp.arange(12.0)).reshape(3, 4), "b": jnp.sin(jnp.arange(4.0))}
    opt = fromax.partition(
        {"muon": fromax.muon(0.02), "adamw": fromax.adamw(0.02, b1=0.9, b2=0.95, weight_decay=0.0)},
        fromax.muon_labels,
    )
    whole = fromax.muon(0.02, adam_b1=0.9, adam_b2=0.95, adam_weight_decay=0.0)
    state, whole_state = opt.init(params), whole.init(params)
    for _ in range(2):
        updates, state = opt.update(grads, state, params)
        expected, whole_state = whole.update(grads, whole_state, params)
        for key in params:
            np.testing.assert_allclose(updates[key], expected[key], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("transforms", "labels", "kwargs", "message"),
    [
        ({"a": fromax.sgd(0.1)}, {"w": "a", "b": None}, {}, r"no label to the leaf at \['b'\]"),
        (
            {"a": fromax.sgd(0.1)},
            {"w": "a", "b": "c"},
            {},
            r"leaf at \['b'\] the label 'c', which has no transformation",
        ),
        (
            {"a": fromax.sgd(0.1), "c": fromax.sgd(0.1)},
            {"w": "a", "b": "a"},
            {},
            r"\['c'\] has no leaf",
        ),
        (
            {"a": fromax.sgd(0.1), "f": None},
            {"w": "a", "b": "f"},
            {"shared": {"momentum": 0.9}},
            "shared momentum drives no group",
        ),
        (
            {"a": fromax.sgd(0.1), "f": None},
            {"w": "a", "b": "f"},
            {"shared": {"learning_rate": 0.1}, "multipliers": {"f": {"learning_rate": 2.0}}},
            r"multipliers\['f'\] names 'learning_rate', which the group 'f' does not have",
        ),
        ({"a": fromax.sgd(0.1)}, {"w": "a"}, {}, "labels must have the parameters' tree structure"),
    ],
)
def test_bad_input_is_refused_at_init_naming_the_leaf(transforms, labels, kwargs, message):
    opt = fromax.partition(transforms, labels, **kwargs)
    with pytest.raises(ValueError, match=message):
        opt.init(PARAMS)


def test_bad_arguments_are_refused_when_built():
    with pytest.raises(ValueError, match="partition's transforms's key must not contain '/'"):
        fromax.partition({"a/b": fromax.sgd(0.1)}, "a/b")
    with pytest.raises(TypeError, match=r"partition's transforms\['a'\] must be a gradient"):
        fromax.partition({"a": "sgd"}, "a")
    with pytest.raises(ValueError, match="names 'b1', which is not shared"):
        fromax.partition({"a": fromax.adam(0.1)}, "a", multipliers={"a": {"b1": 0.5}})
    with pytest.raises(ValueError, match="learning_rate must be"):
        fromax.partition({"a": fromax.sgd(0.1)}, "a", shared={"learning_rate": -1.0}).init(PARAMS)


def test_a_partition_state_survives_a_checkpoint(tmp_path):
    opt = fromax.partition(
        {"a": fromax.adam(0.1), "f": None}, {"w": "a", "b": "f"}, shared={"learning_rate": 0.1}
    )
    state = opt.init(PARAMS)
    _, state = opt.update(GRADS[1], state, PARAMS)
    path = fromax.save_checkpoint(tmp_path / "ckpt.npz", state)
    restored = fromax.restore_checkpoint(path, opt.init(PARAMS))
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored), strict=True):
        np.testing.assert_array_equal(a, b)
