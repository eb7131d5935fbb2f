"""Shared test settings: deterministic hypothesis, strict JAX promotion, no lasting flag changes.

Strict promotion makes every dtype change and every broadcast in fromax's own
code explicit: ``float32 + float64`` or ``(3,) + (1, 3)`` raise instead of
quietly widening or broadcasting. The flags are set at import, before any test
or doctest is collected, so doctests run under them too. Comparisons that call
optax (whose own code promotes implicitly) opt out around the optax call only,
with ``jax.numpy_dtype_promotion("standard")``, which restores the flag on exit.
"""

import hypothesis
import jax

hypothesis.settings.register_profile(
    "fromax", derandomize=True, deadline=None, max_examples=40, print_blob=True
)
hypothesis.settings.load_profile("fromax")

# The suite compiles thousands of small programs and runs each for a few steps, so
# XLA's optimisation passes cost more than they save there (the saving is not yet
# measured on a quiet machine). The numbers are unchanged in kind (float32, no
# fast-math either way); speed is measured by benchmarks/, which leave the flag off.
jax.config.update("jax_disable_most_optimizations", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
