"""Eager init on sharded parameters: every optimiser's state is sharded as its parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fromax._core._registry import declared

HERE = Path(__file__).parent


def test_every_optimiser_init_gives_its_state_the_parameters_shardings():
    # 8 simulated CPU devices need XLA_FLAGS before jax is imported: a process of its own.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(HERE.parents[1] / "src"), env.get("PYTHONPATH", "")]
    )
    result = subprocess.run(
        [sys.executable, str(HERE / "sharded_init_check.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split()[1].rstrip(":") for line in lines] == [
        d.name for d in declared("optimizer")
    ]
    bad = [line for line in lines if not line.startswith("ok ")]
    assert not bad, "\n".join(bad)
