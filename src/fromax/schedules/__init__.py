"""Schedules: hyperparameter values as a function of the step.

Each schedule is a pytree whose numeric parameters are leaves, called as
``schedule(step)`` with a Python or traced integer step, returning float32.
Any fromax hyperparameter accepts one, as it accepts a number or a plain
callable ``step -> scalar``. Every schedule but ``function`` round-trips
through a JSON config (``to_config`` / ``from_config``) and through a
one-line spec (``repr`` / ``from_spec``).

Steps are int32, as the optimisers' counters (which saturate at 2**31 - 1):
positions within a phase or cycle are taken in integer arithmetic before
any float32 one, so every schedule is right at every step below 2**31
(a float32 step is exact only up to 2**24). Where a boundary is itself a
fraction of a step, computed in float32, its own rounding remains: see
:class:`sgdr` (a fractional ``t_mult``) and :class:`one_cycle`.

Example:
    >>> from fromax import schedules
    >>> s = schedules.warmup_cosine_decay(0.0, 1e-2, warmup_steps=100, decay_steps=1000)
    >>> round(float(s(100)), 6)
    0.01
    >>> schedules.from_spec(repr(s)) == schedules.from_config(s.to_config()) == s
    True
"""

from fromax.schedules import _compose, _config
from fromax.schedules._base import Schedule, function
from fromax.schedules._basic import constant, exponential_decay, linear
from fromax.schedules._compose import clip, offset, product, scale
from fromax.schedules._config import from_config
from fromax.schedules._convert import as_schedule
from fromax.schedules._cosine import cosine_decay, warmup_cosine_decay
from fromax.schedules._cyclic import cyclic
from fromax.schedules._join import join
from fromax.schedules._one_cycle import one_cycle
from fromax.schedules._piecewise import piecewise_constant, piecewise_linear
from fromax.schedules._polynomial import polynomial, rex
from fromax.schedules._sgdr import sgdr
from fromax.schedules._spec import SpecError, from_spec
from fromax.schedules._warmup import inverse_sqrt, warmup_constant, warmup_exponential_decay
from fromax.schedules._warmup_stable_decay import warmup_stable_decay

__all__ = [
    "Schedule",
    "SpecError",
    "as_schedule",
    "clip",
    "constant",
    "cosine_decay",
    "cyclic",
    "exponential_decay",
    "from_config",
    "from_spec",
    "function",
    "inverse_sqrt",
    "join",
    "linear",
    "offset",
    "one_cycle",
    "piecewise_constant",
    "piecewise_linear",
    "polynomial",
    "product",
    "rex",
    "scale",
    "sgdr",
    "warmup_constant",
    "warmup_cosine_decay",
    "warmup_exponential_decay",
    "warmup_stable_decay",
]

# Schedule's `*` and `to_config` are written in modules that build on Schedule; they are
# put on it here, above both, so that no module of the package imports another in a circle.
Schedule._operations.update(multiply=_compose.multiply, to_config=_config.schedule_to_config)
