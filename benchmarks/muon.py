"""Muon's step, fromax against optax.contrib.muon, and Newton-Schulz against a plain matmul.

Run on demand (not part of the tests or of ``suite.py``)::

    PYTHONPATH=src python benchmarks/muon.py            # both models, about 5 minutes
    PYTHONPATH=src python benchmarks/muon.py --widths 256:4

For each model (the matrices of a GPT: per layer q, k, v, o (d, d), the MLP's
(d, 4d) and (4d, d); embeddings and gains are AdamW's, left out), it times
one jitted step (update + apply, donated) of each library, with the same
coefficients (Jordan's), dtype (float32) and 5 steps, taking turns. It also
times a plain jitted matmul X X^T of every matrix (wide side, batched by
shape, as Newton-Schulz's first product), which gives the machine's matmul
rate for these shapes. A step's Newton-Schulz rate is the plain chain's
flops (5 x (4 m^2 n + 2 m^3) per m x n matrix, m <= n) over the step's time,
so it counts what optax computes; fromax computes fewer (the Gram form,
symmetric products at 3/4: its executed rate is reported too). Orthogonality: each library's
Newton-Schulz of one matrix per shape against the float64 iterates.

Writes ``benchmarks/results/muon.json`` and ``muon.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import fromax
from _timing import JaxStep, time_calls
from fromax.optimizers._newton_schulz import chain_flops, gram_is_cheaper

STEPS = 5
JORDAN = (3.4445, -4.7750, 2.0315)
RESULTS = Path(__file__).parent / "results"


def gpt_matrices(width: int, layers: int) -> list[tuple[int, int]]:
    per_layer = [(width, width)] * 4 + [(width, 4 * width), (4 * width, width)]
    return per_layer * layers


def plain_flops(shape: tuple[int, int]) -> int:
    m, n = sorted(shape)
    return STEPS * (4 * m * m * n + 2 * m**3)


def executed_flops(shape: tuple[int, int]) -> int:
    """fromax's: the Gram form where it is cheaper, symmetric products at 3/4."""
    return 2 * chain_flops(*shape, STEPS, gram_is_cheaper(*shape, STEPS))


def matmul_probe(matrices: list[jax.Array]):
    """A jitted X X^T of every matrix, wide side, batched by shape."""
    groups: dict[tuple[int, int], list[jax.Array]] = {}
    for x in matrices:
        wide = x if x.shape[0] <= x.shape[1] else x.T
        groups.setdefault(wide.shape, []).append(wide)
    stacks = [jnp.stack(g) for g in groups.values()]
    flops = sum(2 * s.shape[0] * s.shape[1] ** 2 * s.shape[2] for s in stacks)
    product = jax.jit(
        lambda xs: [jnp.einsum("bij,bkj->bik", x, x, precision="highest") for x in xs]
    )
    compiled = product.lower(stacks).compile()
    return (lambda: compiled(stacks)), flops


def take_turns(calls: dict, samples: int) -> dict[str, float]:
    """Median seconds per call: one untimed call each, then ``samples`` rounds of one timed
    call each, the order reversed every other round. (A width-768 optax step takes 14 s or
    more, so :func:`_timing.interleave`'s warm-up and rounds of 4 would take many minutes.)"""
    for call in calls.values():
        time_calls(call, 1)
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls.items())
    for _ in range(samples):
        for name, call in order:
            times[name] += time_calls(call, 1)
        order.reverse()
    return {name: float(np.median(t)) for name, t in times.items()}


def orthogonality(shapes: list[tuple[int, int]], seed: int) -> dict[str, dict[str, float]]:
    """Max |NS(G) - float64 iterates| of one matrix per shape, fromax's and optax's."""
    from optax.contrib._muon import orthogonalize_via_newton_schulz

    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, float]] = {}
    for shape in sorted(set(shapes)):
        g = rng.normal(size=shape).astype(np.float32)
        x = g.astype(np.float64)
        x = x.T if shape[0] > shape[1] else x
        x = x / (np.linalg.norm(x) + 1e-8)
        for a, b, c in [JORDAN] * STEPS:
            gram = x @ x.T
            x = a * x + (b * gram + c * gram @ gram) @ x
        want = x.T if shape[0] > shape[1] else x
        ours = fromax.newton_schulz(jnp.asarray(g), STEPS, JORDAN, 1e-8)
        theirs = orthogonalize_via_newton_schulz(
            jnp.asarray(g), jnp.asarray(JORDAN), STEPS, eps=1e-8
        )
        out[f"{shape[0]}x{shape[1]}"] = {
            "fromax": float(np.abs(np.asarray(ours, np.float64) - want).max()),
            "optax": float(np.abs(np.asarray(theirs, np.float64) - want).max()),
        }
    return out


def run_model(width: int, layers: int, samples: int) -> dict:
    shapes = gpt_matrices(width, layers)
    key = jax.random.key(width)

    def fresh(seed: int) -> list[jax.Array]:
        keys = jax.random.split(jax.random.fold_in(key, seed), len(shapes))
        return [jax.random.normal(k, s, jnp.float32) for k, s in zip(keys, shapes, strict=True)]

    grads = fresh(1)
    contenders = {
        "fromax": fromax.muon(0.02, ns_coefficients=JORDAN, ns_steps=STEPS),
        "optax": optax.contrib.muon(0.02, ns_coeffs=JORDAN, ns_steps=STEPS),
    }
    steps, compile_seconds = {}, {}
    for name, opt in contenders.items():
        start = time.perf_counter()
        steps[name] = JaxStep(opt, optax.apply_updates, fresh(0), grads)
        compile_seconds[name] = time.perf_counter() - start
    probe, probe_flops = matmul_probe(grads)
    seconds = take_turns({**steps, "matmul": probe}, samples)
    plain = sum(plain_flops(s) for s in shapes)
    executed = sum(executed_flops(s) for s in shapes)
    matmul_rate = probe_flops / seconds["matmul"]
    rates = {
        "fromax": plain / seconds["fromax"],
        "optax": plain / seconds["optax"],
        "fromax_executed": executed / seconds["fromax"],
    }
    return {
        "width": width,
        "layers": layers,
        "matrices": len(shapes),
        "parameters": int(sum(np.prod(s) for s in shapes)),
        "samples": samples,
        "seconds": seconds,
        "compile_seconds": compile_seconds,
        "speedup": seconds["optax"] / seconds["fromax"],
        "plain_gflop": plain / 1e9,
        "executed_gflop": executed / 1e9,
        "matmul_gflops": matmul_rate / 1e9,
        "ns_gflops": {k: v / 1e9 for k, v in rates.items()},
        "ns_rate_vs_matmul": {k: v / matmul_rate for k, v in rates.items()},
        "orthogonality_max_error": orthogonality(shapes, width),
    }


def markdown(report: dict) -> str:
    lines = [
        f"Muon step, {report['machine']}, jax {report['jax']}, optax {report['optax']}, "
        f"{report['date']} ({report['minutes']:.1f} minutes).",
        "",
        "| model | matrices | fromax step | optax step | fromax / optax | "
        "NS rate / matmul: fromax (executed) | optax |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in report["models"]:
        r = m["ns_rate_vs_matmul"]
        lines.append(
            f"| {m['layers']} layers, width {m['width']} | {m['matrices']} "
            f"({m['parameters'] / 1e6:.1f}M) | {m['seconds']['fromax']:.3g} s | "
            f"{m['seconds']['optax']:.3g} s | {m['speedup']:.2f}x | "
            f"{r['fromax']:.2f} ({r['fromax_executed']:.2f}) | {r['optax']:.2f} |"
        )
    lines += ["", "Orthogonality, max |NS(G) - float64 iterates|:", ""]
    for m in report["models"]:
        for shape, e in m["orthogonality_max_error"].items():
            lines.append(f"- {shape}: fromax {e['fromax']:.1e}, optax {e['optax']:.1e}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="768:12,256:4", help="width:layers, comma-separated")
    parser.add_argument("--samples", type=int, default=3, help="timed calls per contender")
    args = parser.parse_args()
    start = time.perf_counter()
    models = []
    for item in args.widths.split(","):
        width, layers = (int(x) for x in item.split(":"))
        models.append(run_model(width, layers, args.samples if width >= 512 else 3 * args.samples))
        print(json.dumps(models[-1]), flush=True)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "jax": jax.__version__,
        "optax": optax.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg(),
        "minutes": (time.perf_counter() - start) / 60,
        "models": models,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "muon.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "muon.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
