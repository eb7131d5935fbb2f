"""Shared benchmark mechanics: parameter trees, compiled donated steps, interleaved medians.

Contenders take turns in rounds (an untimed call, then a few timed ones), so
drift on a shared machine hits them alike; each reports the median of its
timed calls. The untimed call matters: the first call after another
contender's step is slower (caches and pages left cold), and timing it would
measure the switch, not the step.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Call = Callable[[], Any]

# The machine's limit: a = a + s * c in place reads a and c and writes a.
AXPY_BYTES_PER_PARAM = 12


def tree(n_params: int, leaves: int, seed: int) -> list[jax.Array]:
    """``n_params`` float32 normals split into ``leaves`` equal vectors."""
    size = n_params // leaves
    flat = jax.random.normal(jax.random.key(seed), (size * leaves,), jnp.float32)
    return [jnp.copy(x) for x in jnp.split(flat, leaves)]


def copy_tree(xs: Any) -> Any:
    return jax.tree.map(jnp.copy, xs)


class JaxStep:
    """One optimiser's jitted step (update + apply, parameters and state donated).

    Compiled once, ahead of time, from ``jax.jit`` as users call it; the same
    executable gives the temporary memory XLA allocates. ``compiler_options``
    go to XLA (e.g. :data:`MEMORY_SCHEDULER`).
    """

    def __init__(
        self,
        opt: Any,
        apply: Callable[[Any, Any], Any],
        params: Any,
        grads: Any,
        compiler_options: dict[str, Any] | None = None,
    ):
        def step(params, state, grads):
            updates, state = opt.update(grads, state, params)
            return apply(params, updates), state

        state = opt.init(params)
        jitted = jax.jit(step, donate_argnums=(0, 1), compiler_options=compiler_options)
        self.step = jitted.lower(params, state, grads).compile()
        self.init = opt.init
        self.grads = grads
        self.carry = (params, state)

    def rebuild(self, params: Any) -> None:
        """New buffers (``params`` and a fresh state) for the same compiled step."""
        self.carry = None  # the old buffers go first
        self.carry = (params, self.init(params))

    @property
    def temp_bytes(self) -> int | None:
        analysis = self.step.memory_analysis()
        return None if analysis is None else int(analysis.temp_size_in_bytes)

    def __call__(self) -> Any:
        self.carry = self.step(*self.carry, self.grads)
        return self.carry


# XLA:CPU's default scheduler runs independent kernels concurrently and gives
# every temporary its own buffer; this one reuses buffers between kernels.
MEMORY_SCHEDULER = {"xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED"}


def axpy_step(params: list[jax.Array], other: list[jax.Array]) -> Call:
    """The machine's in-place bandwidth probe: jitted a = a + 0.5 c on donated a."""
    axpy = jax.jit(lambda a, c: [x + 0.5 * y for x, y in zip(a, c, strict=True)], donate_argnums=0)
    box = [params]

    def call():
        box[0] = axpy(box[0], other)
        return box[0]

    return call


def time_calls(call: Call, repeats: int, sync: Callable[[Any], Any] = jax.block_until_ready):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sync(call())
        times.append(time.perf_counter() - start)
    return times


def interleave(
    calls: Mapping[str, Call],
    samples: int,
    per_round: int = 4,
    syncs: Mapping[str, Callable[[Any], Any]] | None = None,
) -> dict[str, float]:
    """Median seconds per call of each contender, taking turns in rounds.

    The order of turns is reversed every other round, so no contender always
    runs right after the same other one.
    """
    syncs = dict(syncs or {})
    for name, call in calls.items():  # warm up: first runs fault pages in
        time_calls(call, 2, syncs.get(name, jax.block_until_ready))
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls.items())
    for _ in range(max(1, -(-samples // per_round))):
        for name, call in order:
            sync = syncs.get(name, jax.block_until_ready)
            time_calls(call, 1, sync)
            times[name] += time_calls(call, per_round, sync)
        order.reverse()
    return {name: statistics.median(t) for name, t in times.items()}


def interleave_balanced(
    steps: Mapping[str, JaxStep], samples: int, params: Callable[[], Any]
) -> dict[str, float]:
    """:func:`interleave` twice: the contenders' buffers allocated in their order, then in
    the reverse order; the mean of the two medians.

    Where a step's buffers lie in memory depends on when they were allocated, and it
    shows: on the development machine the contender allocated last ran 2-7% faster at
    10M parameters, whichever library it was. ``params()`` gives fresh parameters.
    """
    names = list(steps)
    halves = []
    for order in (names, names[::-1]):
        for name in order:
            steps[name].rebuild(params())
        halves.append(interleave({name: steps[name] for name in order}, max(1, samples // 2)))
    return {name: (halves[0][name] + halves[1][name]) / 2 for name in names}


def eager_seconds(opt: Any, apply: Callable[[Any, Any], Any], params: Any, grads: Any, n: int):
    """Median seconds of an un-jitted step (each primitive dispatched on its own)."""
    state = opt.init(params)
    times = []
    for _ in range(n + 1):
        start = time.perf_counter()
        updates, state = opt.update(grads, state, params)
        params = jax.block_until_ready(apply(params, updates))
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))
