"""One helper for "jax.jit traced this function at most N times" (no hand-written counters).

``jax.jit`` runs a function's Python body only while tracing it (for a new
tree structure, shape, dtype or static argument); a compiled call runs none
of it. So a counter in the body counts traces, and a test that changes only
data (a hyperparameter's value, a schedule's numbers) can assert that no
retrace happened.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def assert_max_traces(fn: Callable[..., Any], max_traces: int) -> Callable[..., Any]:
    """``fn``, failing with AssertionError when it is traced more than ``max_traces`` times.

    Jit the returned function (not ``fn``); ``traces()`` on it gives the count so far.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> double = assert_max_traces(lambda x: 2 * x, max_traces=1)
        >>> step = jax.jit(double)
        >>> _ = step(jnp.ones(2)), step(jnp.zeros(2))  # same shape and dtype: one trace
        >>> double.traces()
        1
        >>> step(jnp.ones(3))  # a new shape retraces
        Traceback (most recent call last):
        AssertionError: <lambda> was traced 2 times, at most 1 expected...
    """
    count = 0

    @functools.wraps(fn)
    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        if count > max_traces:
            name = getattr(fn, "__name__", repr(fn))
            raise AssertionError(f"{name} was traced {count} times, at most {max_traces} expected")
        return fn(*args, **kwargs)

    counted.traces = lambda: count  # type: ignore[attr-defined]
    return counted
