"""A grid of GPT recipes trained side by side in one program (``vmap``), on demand.

Hyperparameters are data in fromax's optimisers, so every point of a grid
(peak learning rates, momentum, radius, seed) is one lane of a single
compiled training loop: the default GPT of ``fromax train --model gpt``
(4 layers, width 128, 4 heads, context 64) on tiny-shakespeare, batch 16,
the same batches as ``fromax train --seed S`` (window starts from numpy's
``default_rng([seed, step])``), validation loss on the same 512 fixed
windows. Every peak follows the recipes' schedule shape: linear warm-up over
100 steps, then ``--schedule cosine`` to 0 at the last step, or ``wsd``
(constant, then linear to 0 over the last ``--cooldown`` of the run).

The grid was run on a GPU to choose the recipes of ``fromax/lab/_recipes.py``;
the figures the README reports come from ``fromax compare`` on 2 CPU cores.
Two variants keep optax's defaults where the recipes differ (``adamw_every_leaf``:
weight decay on every leaf; ``muon_every_matrix``: Muon on every 2-d leaf), and
any grid may scale parts of the initialisation (``embed_scale``, ``head_scale``,
``resid_scale``; 0 starts that part at zero).

    python benchmarks/gpt_tune.py muon --grid learning_rate=0.02,0.04 \\
        --grid adam_learning_rate=3e-3,1e-2 [--seeds 0,1] [--steps 2000] \\
        [--schedule cosine|wsd] [--cooldown 0.4] [--json FILE]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import fromax
from fromax import schedules
from fromax._core._registry import spec
from fromax.lab import _gpt, _recipes
from fromax.lab._text import load_corpus, validation_windows, window_starts

Builder = Callable[[Callable[[str], Any], Callable[[str], Any]], Any]


def _adamw(mask: Any) -> Builder:
    return lambda peak, value: fromax.adamw(
        peak("learning_rate"), b2=value("b2"), weight_decay=value("weight_decay"), mask=mask
    )


def _muon(labels: Any) -> Builder:
    return lambda peak, value: fromax.muon(
        peak("learning_rate"),
        momentum=value("momentum"),
        weight_decay=value("weight_decay"),
        adam_learning_rate=peak("adam_learning_rate"),
        adam_b2=value("adam_b2"),
        adam_weight_decay=value("adam_weight_decay"),
        labels=labels,
    )


# Each optimiser's recipe with the grid's values in place of its defaults:
# ``peak(name)`` is that hyperparameter's schedule at the lane's peak,
# ``value(name)`` its constant. The fixed parts are the CLI recipes'.
BUILDERS: dict[str, Builder] = {
    "adamw": _adamw(_gpt.decay_mask),
    "muon": _muon(_recipes.gpt_muon_labels),
    "fromage": lambda peak, value: fromax.fromage(peak("learning_rate")),
    # optax's defaults where the recipes choose otherwise: weight decay on every
    # leaf (no mask), and Muon on every 2-d leaf (embeddings, positions, head).
    "adamw_every_leaf": _adamw(None),
    "muon_every_matrix": _muon(
        lambda params: jax.tree.map(lambda x: "muon" if x.ndim == 2 else "adamw", params)
    ),
    "scion": lambda peak, value: fromax.scion(
        peak("learning_rate"),
        momentum=value("momentum"),
        radius=value("radius"),
        unconstrained=True,
        labels=_recipes.gpt_scion_labels,
    ),
}
# What a grid can vary, per optimiser. A name not on the command line takes
# the GPT recipe's value (fromax/lab/_recipes.py), else the declared default.
TUNABLE: dict[str, tuple[str, ...]] = {
    "adamw": ("learning_rate", "b2", "weight_decay"),
    "muon": (
        "learning_rate",
        "momentum",
        "weight_decay",
        "adam_learning_rate",
        "adam_b2",
        "adam_weight_decay",
    ),
    "fromage": ("learning_rate",),
    "scion": ("learning_rate", "momentum", "radius"),
}


# The variants share their optimiser's recipe and tunable names.
RECIPE_OF = {"adamw_every_leaf": "adamw", "muon_every_matrix": "muon"}
TUNABLE.update({variant: TUNABLE[name] for variant, name in RECIPE_OF.items()})

# Any grid may also scale the initialisation (the GPT's N(0, 0.02^2) draws):
# the token and position embeddings, the head, and the residual projections
# (``proj``, ``down``); 0 starts that part at zero.
INIT_SCALES = ("embed_scale", "head_scale", "resid_scale")


def defaults(name: str) -> dict[str, float]:
    """Each tunable hyperparameter's value where the grid leaves it alone."""
    base = RECIPE_OF.get(name, name)
    recipe = _recipes.GPT_RECIPES[base]
    given = {"learning_rate": recipe.peak, **dict(recipe.scheduled), **recipe.hyper}
    declared = spec(base)
    values = {k: float(given.get(k, declared[k].default)) for k in TUNABLE[name]}
    return values | dict.fromkeys(INIT_SCALES, 1.0)


def scaled_init(params: Any, values: dict[str, Any]) -> Any:
    """The GPT's initial parameters with the lane's ``INIT_SCALES`` applied."""

    def block(b: Any) -> Any:
        attn = {**b["attn"], "proj": b["attn"]["proj"] * values["resid_scale"]}
        mlp = {**b["mlp"], "down": b["mlp"]["down"] * values["resid_scale"]}
        return {**b, "attn": attn, "mlp": mlp}

    return {
        **params,
        "embed": params["embed"] * values["embed_scale"],
        "pos": params["pos"] * values["embed_scale"],
        "head": params["head"] * values["head_scale"],
        "blocks": [block(b) for b in params["blocks"]],
    }


def shape(kind: str, steps: int, cooldown: float) -> Callable[[Any], Any]:
    """The schedule at a (traced) peak."""
    if kind == "cosine":
        return lambda top: schedules.warmup_cosine_decay(0.0, top, _recipes.WARMUP, steps)
    return lambda top: schedules.warmup_stable_decay(
        0.0, top, _recipes.WARMUP, steps, cooldown_steps=max(1, round(cooldown * steps))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("optimizer", choices=sorted(BUILDERS))
    parser.add_argument("--grid", action="append", default=[], help="name=v1,v2,...")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--schedule", choices=("cosine", "wsd"), default="cosine")
    parser.add_argument("--cooldown", type=float, default=0.4)
    parser.add_argument("--scheduled", default="learning_rate,adam_learning_rate")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    values_left = defaults(args.optimizer)
    axes: dict[str, list[float]] = {}
    for item in args.grid:
        name, _, values = item.partition("=")
        if name not in values_left:
            parser.error(f"--grid {name}: {args.optimizer} takes {sorted(values_left)}")
        axes[name] = [float(v) for v in values.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    points = [
        dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())
    ] or [{}]
    lanes = [(seed, point) for seed in seeds for point in points]
    scheduled = set(args.scheduled.split(","))
    at_peak = shape(args.schedule, args.steps, args.cooldown)

    corpus = load_corpus("shakespeare")
    config = _gpt.DEFAULT_CONFIG
    vocab = corpus.vocabulary.size
    train = jnp.asarray(corpus.train, jnp.int32)
    starts = jnp.asarray(
        np.stack(
            [
                np.stack(
                    [
                        window_starts(len(corpus.train), config.context, args.batch_size, s, t)
                        for t in range(args.steps)
                    ]
                )
                for s in seeds
            ]
        ),
        jnp.int32,
    )
    val_x, val_y = (jnp.asarray(a) for a in validation_windows(corpus.validation, config.context))
    offsets = jnp.arange(config.context + 1)
    seed_values = jnp.asarray(seeds, jnp.uint32)
    loss_fn = functools.partial(_gpt.loss, config=config)

    def run(seed_index: Any, values: dict[str, Any]) -> Any:
        def peak(name: str) -> Any:
            return at_peak(values[name]) if name in scheduled else values[name]

        def value(name: str) -> Any:
            return values[name]

        optimizer = BUILDERS[args.optimizer](peak, value)
        params = _gpt._init(jax.random.key(seed_values[seed_index]), vocab, config)
        params = scaled_init(params, values)
        state = optimizer.init(params)

        def body(carry: Any, t: Any) -> Any:
            params, state = carry
            rows = train[starts[seed_index, t][:, None] + offsets[None, :]]
            loss, grads = jax.value_and_grad(loss_fn)(params, rows[:, :-1], rows[:, 1:])
            updates, state = optimizer.update(grads, state, params)
            return (fromax.apply_updates(params, updates), state), loss

        curve = []
        carry = (params, state)
        for begin in range(0, args.steps, args.eval_every):
            end = min(begin + args.eval_every, args.steps)
            carry, losses = jax.lax.scan(body, carry, jnp.arange(begin, end))
            chunks = jnp.stack(
                [
                    loss_fn(carry[0], val_x[i : i + 64], val_y[i : i + 64])
                    for i in range(0, val_x.shape[0], 64)
                ]
            )
            curve.append((jnp.mean(losses), jnp.mean(chunks)))
        return curve

    grid_values = {
        name: jnp.asarray([point.get(name, values_left[name]) for _, point in lanes], jnp.float32)
        for name in values_left
    }
    seed_index = jnp.asarray([seeds.index(seed) for seed, _ in lanes], jnp.int32)
    started = time.perf_counter()
    curves = jax.jit(jax.vmap(run))(seed_index, grid_values)
    curves = jax.device_get(curves)
    seconds = time.perf_counter() - started

    rows = []
    for lane, (seed, point) in enumerate(lanes):
        curve = [(float(tr[lane]), float(va[lane])) for tr, va in curves]
        rows.append({"seed": seed, **point, "curve": curve, "val": curve[-1][1]})
    rows.sort(key=lambda row: row["val"] if np.isfinite(row["val"]) else np.inf)
    print(
        f"{args.optimizer}, {args.schedule} schedule, {args.steps} steps, "
        f"{len(lanes)} lanes in {seconds:.0f} s on {jax.devices()[0].platform}"
    )
    for row in rows:
        point = " ".join(f"{k}={row[k]:g}" for k in axes)
        evals = " ".join(f"{va:.3f}" for _, va in row["curve"])
        print(f"  seed {row['seed']} {point:<50} val {evals}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {"optimizer": args.optimizer, "schedule": args.schedule, "rows": rows},
                handle,
                indent=1,
            )


if __name__ == "__main__":
    main()
