"""Shared timing helpers: parameter trees, jitted donated steps, interleaved medians.

Libraries take turns in rounds (an untimed call, then a few timed ones), so
drift hits them alike; each reports the median of its timed calls. The
untimed call matters: the first call after another library's step is slower
(caches and pages left cold), and timing it would measure the switch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

LEAVES = 20


def tree(n_params: int, seed: int) -> list[jax.Array]:
    """``n_params`` float32 normals split into ``LEAVES`` equal vectors."""
    key = jax.random.key(seed)
    sizes = [n_params // LEAVES] * LEAVES
    return [
        jax.random.normal(k, (s,), jnp.float32)
        for k, s in zip(jax.random.split(key, LEAVES), sizes, strict=True)
    ]


def step_fn(opt: Any, apply: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """One jitted step, update + apply, with the parameters and state donated."""

    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return apply(params, updates), state

    return jax.jit(step, donate_argnums=(0, 1))


def time_calls(call: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - start)
    return times


def compare(
    contenders: Mapping[str, tuple[Any, Callable[[Any, Any], Any]]],
    n_params: int,
    repeats: int,
    per_round: int = 5,
) -> dict[str, float]:
    """Median seconds per step of each ``name: (optimizer, apply_updates)``, interleaved."""
    grads = tree(n_params, 2)
    runners = {}
    for name, (opt, apply) in contenders.items():
        step = step_fn(opt, apply)
        params = tree(n_params, 3)
        box = [step(params, opt.init(params), grads)]  # compile and warm up

        def call(step=step, box=box):
            box[0] = step(*box[0], grads)
            return box[0]

        time_calls(call, 2)
        runners[name] = call
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(max(1, repeats // per_round)):
        for name, call in runners.items():
            time_calls(call, 1)
            times[name] += time_calls(call, per_round)
    return {name: statistics.median(t) for name, t in times.items()}
