"""Times one jitted Fromage step, fromax against optax, in the same process.

One step is update + apply_updates on donated parameters and state, with the
parameters split into 20 float32 leaves. fromax and optax take turns in
rounds (an untimed call, then a few timed ones), so drift hits both alike;
each reports the median of its timed calls. The untimed call matters: the
first call after the other library's step is slower (caches and pages left
cold), and timing it would measure the switch, not the step. Also measures this
machine's in-place update bandwidth (a = a + s * c on a donated buffer) and
reports each step's effective bandwidth as a fraction of it, counting the
minimal traffic of a two-pass Fromage: 20 bytes per parameter (read W and g
for the norms; read W and g, write W for the update).

    python benchmarks/fromage_step.py [--sizes 1e6,1e7,1e8] [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import optax

import fromax

LEAVES = 20
FROMAGE_BYTES_PER_PARAM = 20
COPY_BYTES_PER_PARAM = 12  # read a, read c, write a


def _tree(n_params: int, seed: int) -> list[jax.Array]:
    key = jax.random.key(seed)
    sizes = [n_params // LEAVES] * LEAVES
    return [
        jax.random.normal(k, (s,), jnp.float32)
        for k, s in zip(jax.random.split(key, LEAVES), sizes, strict=True)
    ]


def _step_fn(opt, apply):
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return apply(params, updates), state

    return jax.jit(step, donate_argnums=(0, 1))


def _time_calls(call, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - start)
    return times


def bandwidth(n_params: int, repeats: int) -> float:
    """Bytes per second of a jitted in-place a = a + s * c over n_params float32."""
    a = _tree(n_params, 0)
    c = _tree(n_params, 1)
    axpy = jax.jit(lambda a, c: [x + 0.5 * y for x, y in zip(a, c, strict=True)], donate_argnums=0)
    box = [axpy(a, c)]

    def call():
        box[0] = axpy(box[0], c)
        return box[0]

    _time_calls(call, 3)
    return COPY_BYTES_PER_PARAM * n_params / statistics.median(_time_calls(call, repeats))


def compare(n_params: int, repeats: int, learning_rate: float = 1e-2) -> dict[str, float]:
    grads = _tree(n_params, 2)
    runners = {}
    for name, opt, apply in (
        ("fromax", fromax.fromage(learning_rate), fromax.apply_updates),
        ("optax", optax.fromage(learning_rate), optax.apply_updates),
    ):
        step = _step_fn(opt, apply)
        params = _tree(n_params, 3)
        box = [step(params, opt.init(params), grads)]  # compile and warm up

        def call(step=step, box=box):
            box[0] = step(*box[0], grads)
            return box[0]

        _time_calls(call, 2)
        runners[name] = call
    times: dict[str, list[float]] = {name: [] for name in runners}
    per_round = 5
    for _ in range(max(1, repeats // per_round)):
        for name, call in runners.items():
            _time_calls(call, 1)
            times[name] += _time_calls(call, per_round)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,1e7,1e8")
    parser.add_argument("--repeats", type=int, default=0, help="0: by size")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(
        f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].platform}, "
        f"{LEAVES} leaves, float32, median of interleaved runs"
    )
    print(
        "| params | fromax.fromage | optax.fromage | optax / fromax "
        "| in-place bandwidth (a += s*c) | fromax fraction of it |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for n in sizes:
        repeats = args.repeats or max(10, min(50, int(3e8 / n)))
        t = compare(n, repeats)
        limit = bandwidth(n, repeats)  # per size: small sizes run from cache
        fraction = FROMAGE_BYTES_PER_PARAM * n / t["fromax"] / limit
        print(
            f"| {n / 1e6:g}M | {t['fromax'] * 1e3:.2f} ms | {t['optax'] * 1e3:.2f} ms "
            f"| {t['optax'] / t['fromax']:.1f}x | {limit / 1e9:.1f} GB/s | {fraction:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
