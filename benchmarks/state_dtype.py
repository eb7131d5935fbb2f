"""Adam with its moments in float32 and in bfloat16: state bytes and step time at 100M parameters.

Contenders, on a list of large matrices (24 of 2048 x 2048, 100.7M float32
parameters), each one jitted step (update + apply, parameters and state
donated), taking turns (``_timing.interleave_balanced``):

- fromax.adam, moments float32 (the default);
- fromax.adam(mu_dtype=bfloat16, nu_dtype=bfloat16);
- the same with stochastic rounding (``fromax.StochasticRounding()``);
- optax.adam, and optax.adam(mu_dtype=bfloat16) (optax keeps nu in the
  parameters' dtype: float32 here).

State bytes are counted from the state's shapes (``jax.eval_shape``).
Writes ``benchmarks/results/state_dtype.md`` and ``state_dtype.json``.

    python benchmarks/state_dtype.py [--params 1e8] [--samples 8]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import optax

import fromax
from _timing import JaxStep, interleave_balanced

SIDE = 2048
RESULTS = Path(__file__).parent / "results"


def contenders() -> dict[str, Any]:
    bf16 = jnp.bfloat16
    return {
        "fromax adam, float32 moments": fromax.adam(1e-3),
        "fromax adam, bfloat16 mu and nu": fromax.adam(1e-3, mu_dtype=bf16, nu_dtype=bf16),
        "fromax adam, bfloat16 stochastic": fromax.adam(
            1e-3, mu_dtype=fromax.StochasticRounding(), nu_dtype=fromax.StochasticRounding()
        ),
        "fromax adam, bfloat16 mu": fromax.adam(1e-3, mu_dtype=bf16),
        "optax adam, float32 moments": optax.adam(1e-3),
        "optax adam(mu_dtype=bfloat16)": optax.adam(1e-3, mu_dtype=bf16),
    }


def matrices(n_params: float, seed: int) -> list[jax.Array]:
    count = max(1, round(n_params / SIDE**2))
    keys = jax.random.split(jax.random.key(seed), count)
    return [jax.random.normal(k, (SIDE, SIDE), jnp.float32) for k in keys]


def state_bytes(opt: Any, params: Any) -> int:
    """The bytes of ``opt``'s state for ``params``, from shapes only (nothing allocated)."""
    shapes = jax.eval_shape(opt.init, params)
    return sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree.leaves(shapes))


def apply(params: Any, updates: Any) -> Any:
    return jax.tree.map(lambda p, u: p + u.astype(p.dtype), params, updates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=float, default=1e8)
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args()
    params = matrices(args.params, 0)
    grads = [0.01 * x for x in matrices(args.params, 1)]
    n = sum(x.size for x in params)
    opts = contenders()
    steps = {name: JaxStep(opt, apply, params, grads) for name, opt in opts.items()}
    del params
    seconds = interleave_balanced(steps, args.samples, lambda: matrices(args.params, 0))
    rows = {
        name: {"state_bytes": state_bytes(opt, _shapes(n)), "step_ms": 1e3 * seconds[name]}
        for name, opt in opts.items()
    }
    report = {
        "parameters": n,
        "leaves": len(grads),
        "machine": {"platform": platform.platform(), "devices": str(jax.devices())},
        "jax": jax.__version__,
        "results": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "state_dtype.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "state_dtype.md").write_text(markdown(report))
    print(markdown(report))


def _shapes(n_params: int) -> list[jax.ShapeDtypeStruct]:
    count = n_params // SIDE**2
    return [jax.ShapeDtypeStruct((SIDE, SIDE), jnp.float32)] * count


def markdown(report: dict) -> str:
    base = report["results"]["fromax adam, float32 moments"]
    lines = [
        "# Adam's state in bfloat16",
        "",
        f"{report['parameters'] / 1e6:.1f}M float32 parameters in {report['leaves']} matrices "
        f"of {SIDE} x {SIDE}; one jitted step (update + apply, donated), median of interleaved "
        f"runs. jax {report['jax']}, {report['machine']['devices']}, "
        f"{report['machine']['platform']}. `python benchmarks/state_dtype.py`.",
        "",
        "| contender | state | bytes/param | step | vs fromax float32 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in report["results"].items():
        lines.append(
            f"| {name} | {row['state_bytes'] / 2**20:,.0f} MiB "
            f"| {row['state_bytes'] / report['parameters']:.2f} "
            f"| {row['step_ms']:.1f} ms | {base['step_ms'] / row['step_ms']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
