"""Muon on matrices split FSDP-style over 8 simulated CPU devices; prints a JSON report.

Run by ``test_muon_sharding.py`` in a fresh process (the device count is
fixed when jax starts), or by hand::

    PYTHONPATH=src python tests/optimizers/sharded_muon_step.py

Each matrix's first axis (fan_in) is split over the mesh axis ``fsdp``, as
FSDP keeps parameters; the bias is split too. The report holds the
shardings of ``init``'s state, the largest difference between the sharded
jitted step and the same step on one device, the updated parameters'
shardings, and the collectives the compiled step runs, read from its HLO.
"""

from __future__ import annotations

import json
import os
import re

DEVICES = 8
SHAPES = {
    "attention": (64, 64),
    "mlp_in": (64, 256),
    "mlp_out": (256, 64),
    "mlp_in_2": (64, 256),
    "bias": (256,),
}
COLLECTIVES = ("all-gather", "all-reduce", "reduce-scatter", "all-to-all", "collective-permute")


def main() -> dict:
    # Before jax starts: the simulated devices are fixed when its CPU backend is made.
    devices = f"--xla_force_host_platform_device_count={DEVICES}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {devices}"
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    import fromax

    assert jax.device_count() == DEVICES, jax.devices()
    mesh = Mesh(np.array(jax.devices()), ("fsdp",))
    split = NamedSharding(mesh, PartitionSpec("fsdp"))
    rng = np.random.default_rng(0)
    host = {k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}
    grads_host = {k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}

    schedule = fromax.schedules.warmup_cosine_decay(0.0, 0.02, 2, 10)
    opt = fromax.muon(schedule, weight_decay=0.1, adam_weight_decay=0.1)

    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return fromax.apply_updates(params, updates), state

    # One device: the reference numbers.
    one = jax.devices()[0]
    params = jax.device_put(host, one)
    state = opt.init(params)
    single = jax.jit(step)
    for _ in range(3):
        params, state = single(params, state, jax.device_put(grads_host, one))
    want = jax.tree.map(np.asarray, params)

    # Eight devices, every matrix and the bias split along its first axis.
    params = jax.device_put(host, split)
    grads = jax.device_put(grads_host, split)
    state = opt.init(params)
    state_specs = {
        part: {
            k: str(x.sharding.spec) for k, x in getattr(state.inner, part).items() if x is not None
        }
        for part in ("momentum", "mu", "nu")
    }
    # The program compiled for reading its HLO is the one run (one compilation).
    sharded = jax.jit(step, donate_argnums=(0, 1)).lower(params, state, grads).compile()
    hlo = sharded.as_text()
    for _ in range(3):
        params, state = sharded(params, state, grads)
    got = jax.tree.map(np.asarray, params)
    difference = max(float(np.abs(got[k] - want[k]).max()) for k in SHAPES)
    counts = {name: len(re.findall(rf"= \S+ {name}(-start)?\(", hlo)) for name in COLLECTIVES}
    shapes = {
        name: sorted(set(re.findall(rf"= (\S+) {name}(?:-start)?\(", hlo))) for name in COLLECTIVES
    }
    report = {
        "devices": jax.device_count(),
        "param_specs": {k: str(x.sharding.spec) for k, x in params.items()},
        "state_specs": state_specs,
        "max_difference": difference,
        "collectives": counts,
        "collective_shapes": {k: v for k, v in shapes.items() if v},
    }
    return report


if __name__ == "__main__":
    print(json.dumps(main()))
