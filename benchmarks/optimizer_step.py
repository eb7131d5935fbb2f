"""Times one jitted step of every fromax optimiser that optax also has, against optax's.

One step is update + apply_updates on donated parameters and state, 20
float32 leaves. The two libraries take turns in rounds in the same process
(see ``_timing.py``); each reports the median, and the table gives the ratio
optax / fromax (above 1: fromax is faster). Optimisers are looked up by name,
so ones that fromax lacks are skipped.

    python benchmarks/optimizer_step.py [--size 1e7] [--repeats N] [--only adam,lamb]
"""

from __future__ import annotations

import argparse

import jax
import optax

import fromax
from _timing import LEAVES, compare

# name: the keyword arguments given to both libraries' constructors.
SETTINGS: dict[str, dict[str, object]] = {
    "sgd": {"learning_rate": 1e-2, "momentum": 0.9},
    "adam": {"learning_rate": 1e-3},
    "adamw": {"learning_rate": 1e-3, "weight_decay": 1e-2},
    "nadam": {"learning_rate": 1e-3},
    "lars": {"learning_rate": 1e-1, "weight_decay": 1e-4},
    "lamb": {"learning_rate": 1e-3, "weight_decay": 1e-2},
    "fromage": {"learning_rate": 1e-2},
    "lion": {"learning_rate": 1e-4},
    "rmsprop": {"learning_rate": 1e-3},
    "adagrad": {"learning_rate": 1e-2},
    "adafactor": {"learning_rate": 1e-3},
    "schedule_free_sgd": {"learning_rate": 1e-2},
    "schedule_free_adamw": {"learning_rate": 1e-3},
}


def _optax(name: str):
    return getattr(optax, name, None) or getattr(optax.contrib, name, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1e7")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated names (default: all)")
    args = parser.parse_args()
    n = int(float(args.size))
    names = [s for s in args.only.split(",") if s] or list(SETTINGS)
    print(
        f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].platform}, "
        f"{n / 1e6:g}M params in {LEAVES} leaves, float32, median of interleaved runs"
    )
    print("| optimiser | fromax | optax | optax / fromax |")
    print("| --- | --- | --- | --- |")
    for name in names:
        ours, theirs = getattr(fromax, name, None), _optax(name)
        if ours is None or theirs is None:
            continue
        kwargs = SETTINGS[name]
        t = compare(
            {
                "fromax": (ours(**kwargs), fromax.apply_updates),
                "optax": (theirs(**kwargs), optax.apply_updates),
            },
            n,
            args.repeats,
        )
        print(
            f"| {name} | {t['fromax'] * 1e3:.2f} ms | {t['optax'] * 1e3:.2f} ms "
            f"| {t['optax'] / t['fromax']:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
