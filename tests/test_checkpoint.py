"""Checkpoints: exact round trips, no pickle, clear mismatches, atomic writes."""

from __future__ import annotations

import io
import json
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
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


# A checkpoint is read as untrusted input: the stored arrays, the index and the
# template must agree, and a damaged or foreign file is one clear line.


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _npy(array, shape=None):
    """The .npy bytes of ``array``, with its header declaring ``shape`` if given."""
    array = np.asarray(array)
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False}
    header["shape"] = tuple(array.shape if shape is None else shape)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + array.tobytes()


def _rewrite(path, members=None, index=None):
    """Rewrites the checkpoint at ``path`` with some members' bytes or its index changed."""
    found = _members(path)
    for name, data in (members or {}).items():
        found[f"{name}.npy"] = data
    if index is not None:
        old = json.loads(str(np.load(path, allow_pickle=False)["__fromax__"]))
        found["__fromax__.npy"] = _npy(np.array(json.dumps(index(old))))
    with zipfile.ZipFile(path, "w") as z:
        for name, data in found.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("stored", "words"),
    [
        (np.ones((4, 3), np.float32), "leaf_000001 holds float32[4, 3] where the index says"),
        (np.arange(12, dtype=np.int32), "holds int32[12] where the index says float32[3, 4]"),
        (np.ones((3, 4), np.float64), "holds float64[3, 4] where the index says float32[3, 4]"),
        (np.ones((3, 4), ">f4"), "where the index says float32[3, 4]"),
    ],
)
def test_a_stored_array_that_differs_from_its_index_is_refused(tmp_path, stored, words):
    # Before: a (4, 3) array indexed as (3, 4) came back (4, 3), an int32 one indexed
    # as float32 had its bits reinterpreted, a float64 one came back float32.
    path = fromax.save_checkpoint(tmp_path / "ck.npz", {"b": jnp.ones(2), "w": jnp.ones((3, 4))})
    _rewrite(path, {"leaf_000001": _npy(stored)})
    with pytest.raises(ValueError) as info:
        fromax.restore_checkpoint(path, {"b": jnp.ones(2), "w": jnp.ones((3, 4))})
    message = str(info.value)
    assert "does not match its index at tree['w']" in message and words in message
    assert "\n" not in message


def test_a_member_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    huge = (100_000, 100_000)  # 40 GB of float32, which the file does not hold
    path = fromax.save_checkpoint(tmp_path / "ck.npz", {"w": jnp.ones(3)})
    _rewrite(path, {"leaf_000000": _npy(np.ones(3, np.float32), shape=huge)})
    with pytest.raises(ValueError, match=r"tree\['w'\]: member leaf_000000 holds float32\[100000"):
        fromax.restore_checkpoint(path, {"w": jnp.ones(3)})
    # Index and template agree on the huge shape: the member's size still gives it away.
    _rewrite(path, index=lambda index: {**index, "leaves": [{**index["leaves"][0], "shape": huge}]})
    template = {"w": jax.ShapeDtypeStruct(huge, jnp.float32)}
    with pytest.raises(
        ValueError,
        match=r"member leaf_000000 \(tree\['w'\]\) declares float32\[100000, 100000\] "
        r"\(40,000,000,000 bytes\) but holds 12; the file is truncated or damaged",
    ):
        fromax.restore_checkpoint(path, template)


def test_one_optimizers_state_is_not_restored_into_anothers(tmp_path):
    params = {"w": jnp.ones(3)}
    adam, nadam = fromax.adam(0.1), fromax.nadam(0.1)
    path = fromax.save_checkpoint(tmp_path / "ck.npz", (params, adam.init(params)))
    # Same leaves, same paths: only the owners tell them apart.
    assert jax.tree.structure(adam.init(params)) != jax.tree.structure(nadam.init(params))
    with pytest.raises(
        ValueError,
        match=r"holds adam's state at tree\[1\], but the template has nadam's at tree\[1\]: "
        r"restore it into a template built by adam",
    ):
        fromax.restore_checkpoint(path, (params, nadam.init(params)))
    restored = fromax.restore_checkpoint(path, (params, adam.init(params)))
    assert restored[1].owner == "adam"


def test_nested_optimizer_states_are_recorded_and_checked(tmp_path):
    # A wrapper (its own state) around a chain: the owners sit two levels down.
    params = {"w": jnp.ones(3)}

    def wrapped(inner):
        return fromax.accumulate_gradients(fromax.chain(fromax.clip(1.0), inner), every_k=2)

    path = fromax.save_checkpoint(tmp_path / "ck.npz", wrapped(fromax.adam(0.1)).init(params))
    index = json.loads(str(np.load(path, allow_pickle=False)["__fromax__"]))
    assert index["owners"] == [
        {"path": ".inner[0]", "owner": "clip"},
        {"path": ".inner[1]", "owner": "adam"},
    ]
    with pytest.raises(ValueError, match=r"holds adam's state at tree\.inner\[1\]"):
        fromax.restore_checkpoint(path, wrapped(fromax.nadam(0.1)).init(params))
    with pytest.raises(
        ValueError,
        match=r"holds the states of \[clip, adam\] but the template has \[clip\]",
    ):
        fromax.restore_checkpoint(path, wrapped(optax.sgd(0.1)).init(params))


def test_a_version_1_checkpoint_without_owners_still_restores(tmp_path):
    path = fromax.save_checkpoint(tmp_path / "ck.npz", {"w": jnp.arange(3.0)}, metadata=4)

    def version_1(index):
        del index["owners"]
        return {**index, "version": 1}

    _rewrite(path, index=version_1)
    restored = fromax.restore_checkpoint(path, {"w": jnp.ones(3)})
    np.testing.assert_array_equal(restored["w"], [0, 1, 2])
    assert fromax.load_checkpoint_metadata(path) == 4


def _write_npy(path):
    with path.open("wb") as f:
        np.save(f, np.ones(3))


def _saved(tmp_path):
    return fromax.save_checkpoint(tmp_path / "ck.npz", {"w": jnp.ones(3)}, metadata={"step": 1})


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda p: p.write_bytes(b""), "is not a readable fromax checkpoint (File is not a zip"),
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "is not a readable fromax checkpoint"),
        (lambda p: p.write_bytes(p.read_bytes()[:-30]), "is not a readable fromax checkpoint"),
        (lambda p: p.write_text("step,loss\n1,0.5\n"), "is not a readable fromax checkpoint"),
        (_write_npy, "is not a readable fromax checkpoint"),
        (lambda p: np.savez(p, x=np.ones(3)), "has no member __fromax__ (the index)"),
        (
            lambda p: _rewrite(p, {"__fromax__": _npy(np.array("{not json"))}),
            "has an index that is not valid JSON",
        ),
        (
            lambda p: _rewrite(p, {"__fromax__": _npy(np.array("[" * 100_000))}),
            "has an index that is not valid JSON",
        ),
        (
            lambda p: _rewrite(p, {"__fromax__": _npy(np.ones(3))}),
            "member __fromax__ holds float64[3] where the index says a string",
        ),
        (
            lambda p: _rewrite(p, index=lambda i: {**i, "version": 9}),
            "has format 'fromax-checkpoint' version '9'; this fromax reads",
        ),
        (
            lambda p: _rewrite(p, index=lambda i: {**i, "leaves": [{"path": 1}]}),
            "has a malformed index (its 'leaves' list)",
        ),
        (
            lambda p: _rewrite(p, index=lambda i: {**i, "owners": [None]}),
            "has a malformed index (its 'owners' list)",
        ),
    ],
)
def test_a_damaged_or_foreign_file_is_one_line_naming_it(tmp_path, damage, words):
    # Before: BadZipFile, EOFError, or NumPy's message suggesting allow_pickle.
    path = _saved(tmp_path)
    damage(path)
    for read in (
        lambda: fromax.restore_checkpoint(path, {"w": jnp.ones(3)}),
        lambda: fromax.load_checkpoint_metadata(path),
    ):
        with pytest.raises(ValueError) as info:
            read()
        message = str(info.value)
        assert words in message
        assert str(path) in message and "\n" not in message and "pickle" not in message


@pytest.mark.parametrize(
    ("member", "words"),
    [
        (b"\x93NUMPY garbage", "member leaf_000000 has no valid .npy header"),
        (b"", "member leaf_000000 has no valid .npy header"),
        (_npy(np.ones(3, np.float32))[:-4], "declares float32[3] (12 bytes) but holds 8"),
        (_npy(np.ones(3, np.float32)) + b"more", "declares float32[3] (12 bytes) but holds 16"),
    ],
)
def test_a_damaged_leaf_is_one_line_naming_the_file(tmp_path, member, words):
    path = _rewrite(_saved(tmp_path), {"leaf_000000": member})
    assert fromax.load_checkpoint_metadata(path) == {"step": 1}  # the index is whole
    with pytest.raises(ValueError) as info:
        fromax.restore_checkpoint(path, {"w": jnp.ones(3)})
    message = str(info.value)
    assert words in message and str(path) in message and "\n" not in message


def test_a_flipped_bit_in_a_stored_array_is_caught_by_the_zip_checksum(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    stored = _members(path)["leaf_000000.npy"]
    at = bytes(data).index(stored) + len(stored) - 1  # the last byte of w's data
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    assert fromax.load_checkpoint_metadata(path) == {"step": 1}
    with pytest.raises(ValueError, match=r"is not a readable fromax checkpoint \(Bad CRC-32"):
        fromax.restore_checkpoint(path, {"w": jnp.ones(3)})
