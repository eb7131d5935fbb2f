"""Shared test settings: deterministic hypothesis, strict JAX promotion, no lasting flag changes.

Strict promotion makes every dtype change and every broadcast in fromax's own
code explicit: ``float32 + float64`` or ``(3,) + (1, 3)`` raise instead of
quietly widening or broadcasting. The flags are set at import, before any test
or doctest is collected, so doctests run under them too. Comparisons that call
optax (whose own code promotes implicitly) opt out around the optax call only,
with ``jax.numpy_dtype_promotion("standard")``, which restores the flag on exit.
"""

import functools
import os
import tempfile

import hypothesis
import jax
from jax._src.interpreters import mlir

import compilation

hypothesis.settings.register_profile(
    "fromax", derandomize=True, deadline=None, max_examples=40, print_blob=True
)
hypothesis.settings.load_profile("fromax")

# The suite compiles thousands of small programs and runs each for a few steps, so
# XLA's optimisation passes cost more than they save there (measured: the contract
# suite and tests/lab, 440 tests on 2 workers, 136 s with the flag, 169 s without).
# The numbers are unchanged in kind (float32, no fast-math either way); speed is
# measured by benchmarks/, which leave the flag off.
jax.config.update("jax_disable_most_optimizations", True)
# The same for the Python processes some tests start (8 simulated devices, the
# console command): JAX reads the flag from the environment at import.
os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "true"
# XLA:CPU's older loop emitters compile each program in about 55% of the time
# (compilation.py says which tests opt out, and why). XLA reads XLA_FLAGS when JAX
# makes its CPU backend, at the first computation: no import above makes one.
os.environ["XLA_FLAGS"] = compilation.with_flag(os.environ.get("XLA_FLAGS", ""))
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

# JAX makes a new MLIR context for every program it lowers, loading and registering
# its dialects each time: about 5 ms of the 20-25 ms that lowering one of the suite's
# small programs takes, over about 4,000 programs. Each test process makes one and
# lowers every program in it (a context holds any number of modules; the types and
# attributes it uniques are shared between them). Only where JAX still has the
# function this replaces; the programs lowered are the same either way.
if hasattr(mlir, "make_ir_context"):
    mlir.make_ir_context = functools.cache(mlir.make_ir_context)

# Many tests build the same small programs from fresh closures (an optimiser per test,
# a train step per run), which jax.jit's in-memory cache cannot reuse: a persistent
# compilation cache, keyed by the program itself, compiles each once per process.
# One folder per process (an xdist worker, or the one pytest process), so no entry is
# read while another process writes it; made under the system's temp folder, cold at
# every run, and removed when pytest ends (pytest_unconfigure, or at exit).
_COMPILATION_CACHE = tempfile.TemporaryDirectory(prefix="fromax-tests-jax-cache-")
jax.config.update("jax_compilation_cache_dir", _COMPILATION_CACHE.name)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


def pytest_unconfigure(config):
    _COMPILATION_CACHE.cleanup()
