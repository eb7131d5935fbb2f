"""How the suite compiles: XLA:CPU's older loop emitters, and the tests that opt out.

The suite compiles about 4,000 small programs and runs each for a few steps, so
compiling is most of its time. XLA:CPU's fusion emitters (its default since
jax 0.5) spend about 45% more time compiling each program than the older loop
emitters: with ``--xla_cpu_use_fusion_emitters=false`` the whole suite takes
406 s of CPU time, against 713 s. tests/conftest.py adds the flag to
``XLA_FLAGS`` before JAX makes its CPU backend, so processes that tests start
inherit it.

The two emitters round differently in places (a reduction's order, say). A
test whose tolerance is a few float32 roundings of an iterated computation,
measured with the default emitters, compiles with ``DEFAULT_EMITTERS``
(``jax.jit(f, compiler_options=DEFAULT_EMITTERS)``): users' programs get the
default emitters, and that is what such a test checks. Speed is measured by
benchmarks/, which set no flag.
"""

from __future__ import annotations

import jax

# The versions whose XLA is known to have the flag (an unknown flag in XLA_FLAGS
# aborts the process); older ones, such as `make test-floor`'s, keep the default.
LEGACY_EMITTERS = jax.__version_info__ >= (0, 10)
XLA_FLAG = "--xla_cpu_use_fusion_emitters=false" if LEGACY_EMITTERS else ""
DEFAULT_EMITTERS = {"xla_cpu_use_fusion_emitters": True} if LEGACY_EMITTERS else None


def with_flag(xla_flags: str) -> str:
    """``xla_flags`` (an ``XLA_FLAGS`` value) with the suite's flag added once.

    Example:
        >>> with_flag("--xla_force_host_platform_device_count=8").split()[0]
        '--xla_force_host_platform_device_count=8'
    """
    return xla_flags if XLA_FLAG in xla_flags.split() else f"{xla_flags} {XLA_FLAG}".strip()
