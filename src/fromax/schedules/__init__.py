"""Schedules: hyperparameter values as a function of the step.

Each schedule is a pytree whose numeric parameters are leaves, called as
``schedule(step)`` with a Python or traced integer step, returning float32.
Any fromax hyperparameter accepts one, as it accepts a number or a plain
callable ``step -> scalar``.

Example:
    >>> from fromax import schedules
    >>> s = schedules.warmup_cosine_decay(0.0, 1e-2, warmup_steps=100, decay_steps=1000)
    >>> round(float(s(100)), 6)
    0.01
"""

from fromax.schedules._base import Schedule, function
from fromax.schedules._basic import constant, exponential_decay, linear
from fromax.schedules._convert import as_schedule
from fromax.schedules._cosine import cosine_decay, warmup_cosine_decay
from fromax.schedules._join import join

__all__ = [
    "Schedule",
    "as_schedule",
    "constant",
    "cosine_decay",
    "exponential_decay",
    "function",
    "join",
    "linear",
    "warmup_cosine_decay",
]
