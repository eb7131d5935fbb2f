"""Muon on 8 simulated devices, matrices split FSDP-style (``sharded_muon_step.py``).

The device count is fixed when jax starts, so the step runs in a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sharded_muon_step

SCRIPT = Path(__file__).with_name("sharded_muon_step.py")


def test_sharded_muon_step_equals_one_device():
    devices = "--xla_force_host_platform_device_count=8"
    env = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {devices}"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["devices"] == 8
    split = "P('fsdp',)"
    # init gives the state the parameters' shardings; the step keeps the parameters split.
    assert set(report["param_specs"].values()) == {split}
    matrices = [k for k, s in sharded_muon_step.SHAPES.items() if len(s) == 2]
    assert report["state_specs"]["momentum"] == dict.fromkeys(matrices, split)
    assert report["state_specs"]["mu"] == report["state_specs"]["nu"] == {"bias": split}
    # Three jitted steps, split over 8 devices, give one device's numbers.
    assert report["max_difference"] < 1e-5
    # Newton-Schulz on row-split matrices: XLA gathers the rows it multiplies by
    # (jax 0.10: 32 all-gathers, no reduction; see docs/optimizers/muon-scion.md, "Sharding").
    assert report["collectives"]["all-gather"] > 0
