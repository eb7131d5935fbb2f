"""Checkpoints: exact round trips, no pickle, clear mismatches, atomic writes."""

from __future__ import annotations

import json
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
from fromax import schedules


def _trained(opt, params, steps):
    state = opt.init(params)
    grads = jax.tree.map(
        lambda p: jnp.cos(jnp.arange(p.size, dtype=jnp.float32)).reshape(p.shape), params
    )
    for _ in range(steps):
        updates, state = opt.update(grads, state, params)
        params = fromax.apply_updates(params, updates)
    return params, state


def _opt():
    lr = schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=3, decay_steps=20)
    return fromax.fromage(lr, p_bound=2.0)


PARAMS = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2, jnp.bfloat16)}


def test_round_trip_is_exact_and_resumes_identically(tmp_path):
    opt = _opt()
    params, state = _trained(opt, PARAMS, 5)
    path = fromax.save_checkpoint(tmp_path / "ck.npz", (params, state), metadata={"step": 5})
    restored_params, restored_state = fromax.restore_checkpoint(path, (PARAMS, opt.init(PARAMS)))
    for a, b in zip(
        jax.tree.leaves((params, state)),
        jax.tree.leaves((restored_params, restored_state)),
        strict=True,
    ):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert int(restored_state.count) == 5
    assert restored_state.schedules["learning_rate"] == state.schedules["learning_rate"]
    assert fromax.load_checkpoint_metadata(path) == {"step": 5}
    # Continuing from the checkpoint gives bit-for-bit the same steps.
    grads = jax.tree.map(jnp.ones_like, params)
    one, _ = opt.update(grads, state, params)
    two, _ = opt.update(grads, restored_state, restored_params)
    for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two), strict=True):
        np.testing.assert_array_equal(a, b)


def test_schedule_numbers_come_from_the_file_not_the_template(tmp_path):
    opt = _opt()
    state = fromax.set_hyperparams(
        opt.init(PARAMS),
        learning_rate=_opt().init(PARAMS).schedules["learning_rate"].replace(peak_value=0.5),
    )
    path = fromax.save_checkpoint(tmp_path / "ck.npz", state)
    restored = fromax.restore_checkpoint(path, opt.init(PARAMS))
    assert float(restored.schedules["learning_rate"].peak_value) == 0.5


def test_file_is_plain_npz_without_pickle(tmp_path):
    path = fromax.save_checkpoint(tmp_path / "ck.npz", (PARAMS, _opt().init(PARAMS)))
    with np.load(path, allow_pickle=False) as archive:
        index = json.loads(str(archive["__fromax__"]))
        assert [leaf["dtype"] for leaf in index["leaves"]].count("bfloat16") == 1
        for name in archive.files:
            assert archive[name].dtype != object
    with zipfile.ZipFile(path) as z:
        assert all(n.endswith(".npy") for n in z.namelist())


def test_mismatched_template_is_named(tmp_path):
    path = fromax.save_checkpoint(tmp_path / "ck.npz", {"w": jnp.ones((3, 2))})
    with pytest.raises(
        ValueError,
        match=r"does not match the template at tree\['w'\]: saved "
        r"tree\['w'\] float32\[3, 2\], template float32\[2, 2\]",
    ):
        fromax.restore_checkpoint(path, {"w": jnp.ones((2, 2))})
    with pytest.raises(ValueError, match="holds 1 arrays but the template has 2"):
        fromax.restore_checkpoint(path, {"w": jnp.ones((3, 2)), "b": jnp.ones(1)})
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        fromax.restore_checkpoint(tmp_path / "missing.npz", {})


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        fromax.save_checkpoint(tmp_path / "ck.npz", {}, metadata={"f": object()})


def test_a_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = fromax.save_checkpoint(tmp_path / "ck.npz", {"w": jnp.zeros(2)}, metadata=1)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        fromax.save_checkpoint(path, {"w": jnp.ones(2)}, metadata=2)
    monkeypatch.undo()
    assert fromax.load_checkpoint_metadata(path) == 1
    np.testing.assert_array_equal(fromax.restore_checkpoint(path, {"w": jnp.ones(2)})["w"], [0, 0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]
