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

import jax
import optax

import fromax
from _timing import LEAVES, compare, time_calls, tree

FROMAGE_BYTES_PER_PARAM = 20
COPY_BYTES_PER_PARAM = 12  # read a, read c, write a


def bandwidth(n_params: int, repeats: int) -> float:
    """Bytes per second of a jitted in-place a = a + s * c over n_params float32."""
    a = tree(n_params, 0)
    c = tree(n_params, 1)
    axpy = jax.jit(lambda a, c: [x + 0.5 * y for x, y in zip(a, c, strict=True)], donate_argnums=0)
    box = [axpy(a, c)]

    def call():
        box[0] = axpy(box[0], c)
        return box[0]

    time_calls(call, 3)
    return COPY_BYTES_PER_PARAM * n_params / statistics.median(time_calls(call, repeats))


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
        t = compare(
            {
                "fromax": (fromax.fromage(1e-2), fromax.apply_updates),
                "optax": (optax.fromage(1e-2), optax.apply_updates),
            },
            n,
            repeats,
        )
        limit = bandwidth(n, repeats)  # per size: small sizes run from cache
        fraction = FROMAGE_BYTES_PER_PARAM * n / t["fromax"] / limit
        print(
            f"| {n / 1e6:g}M | {t['fromax'] * 1e3:.2f} ms | {t['optax'] * 1e3:.2f} ms "
            f"| {t['optax'] / t['fromax']:.1f}x | {limit / 1e9:.1f} GB/s | {fraction:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
