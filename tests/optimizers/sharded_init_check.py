"""Run in a subprocess by test_sharded_init.py: XLA_FLAGS must be set before jax loads.

Prints one line per optimiser: ``ok NAME`` or ``bad NAME: where``, for every
state array of a parameter's rank that lies anywhere but as the parameter does.
"""

from __future__ import annotations

import os

# After the flags the suite passes down (tests/compilation.py).
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
)
os.environ["JAX_PLATFORMS"] = "cpu"

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

import fromax  # noqa: F401  (declares the optimisers)
from fromax._core._registry import declared
from optimizer_registry import all_entries


def _params(mesh):
    def put(shape, spec):
        x = jnp.asarray(np.linspace(-1.0, 1.0, int(np.prod(shape)), dtype=np.float32))
        return jax.device_put(x.reshape(shape), NamedSharding(mesh, PartitionSpec(*spec)))

    # FSDP: each matrix split over the 8 devices along one axis, a vector too.
    return {
        "w": put((16, 24), ("fsdp", None)),
        "u": put((24, 16), (None, "fsdp")),
        "b": put((16,), ("fsdp",)),
    }


def _expected(param, leaf):
    """The parameter's sharding, with the axes that ``leaf`` lacks dropped."""
    spec = tuple(param.sharding.spec) + (None,) * (param.ndim - len(param.sharding.spec))
    if leaf.shape == param.shape:
        kept = spec
    else:  # a factored moment (Adafactor's rows/columns, Nero's per-neuron): drop axes
        kept, rest = [], list(leaf.shape)
        for size, entry in zip(param.shape, spec, strict=True):
            if rest and rest[0] == size:
                kept.append(entry)
                rest.pop(0)
    return NamedSharding(param.sharding.mesh, PartitionSpec(*kept))


def main() -> None:
    assert jax.device_count() == 8, jax.devices()
    # Both kinds of mesh axes: explicit (jax.make_mesh's default now) and automatic.
    meshes = [
        jax.make_mesh((8,), ("fsdp",), axis_types=(kind,))
        for kind in (jax.sharding.AxisType.Explicit, jax.sharding.AxisType.Auto)
    ]
    entries = {entry.name: entry for entry in all_entries()}
    for declaration in declared("optimizer"):
        entry = entries[declaration.name]
        opt = entry.make(**entry.hyperparams, **entry.options)
        problems = []
        for mesh in meshes:
            params = _params(mesh)
            problems += _misplaced(opt.init(params), params)
        print(f"bad {entry.name}: " + "; ".join(problems) if problems else f"ok {entry.name}")


def _misplaced(state, params):
    """The state's arrays not sharded as their parameter is (scalars aside)."""
    problems = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        if not isinstance(leaf, jax.Array) or leaf.ndim == 0:
            continue  # counters and hyperparameters: scalars, uncommitted
        # The parameter a moment belongs to: the last dict key on its path.
        name = next(
            (str(k.key) for k in reversed(path) if isinstance(k, jax.tree_util.DictKey)), None
        )
        where = jax.tree_util.keystr(path)
        if name not in params:
            problems.append(f"{where} is not keyed by a parameter")
            continue
        want = _expected(params[name], leaf)
        if not leaf.sharding.is_equivalent_to(want, leaf.ndim):
            problems.append(f"{where} {leaf.shape} on {leaf.sharding}, want {want.spec}")
    return problems


if __name__ == "__main__":
    main()
