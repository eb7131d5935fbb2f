"""Float64 references written from the papers' formulas, independent of fromax."""

from __future__ import annotations

import math

import numpy as np


def fromage_step(w, g, eta, initial_norm=None, p_bound=None):
    """One Fromage step in float64 (Bernstein et al. 2020, eq. for W_{t+1})."""
    w = np.asarray(w, np.float64)
    g = np.asarray(g, np.float64)
    wn, gn = np.linalg.norm(w), np.linalg.norm(g)
    ratio = wn / gn if wn > 0 and gn > 0 else 1.0
    new = (w - eta * ratio * g) / math.sqrt(1 + eta * eta)
    if p_bound is not None and initial_norm > 0:
        limit = p_bound * initial_norm
        norm = np.linalg.norm(new)
        if norm > limit:
            new = new * (limit / norm)
    return new


def _half_cosine(p, exponent):
    return (0.5 * (1 + math.cos(math.pi * p))) ** exponent


def warmup_cosine(
    t, init_value, peak_value, warmup_steps, decay_steps, end_value=0.0, exponent=1.0
):
    if t < warmup_steps:
        return init_value + (peak_value - init_value) * t / warmup_steps
    p = min(max((t - warmup_steps) / (decay_steps - warmup_steps), 0.0), 1.0)
    return end_value + (peak_value - end_value) * _half_cosine(p, exponent)


def cosine(t, init_value, decay_steps, alpha=0.0, exponent=1.0):
    p = min(t, decay_steps) / decay_steps
    return init_value * ((1 - alpha) * _half_cosine(p, exponent) + alpha)


def linear(t, init_value, end_value, transition_steps, transition_begin=0):
    p = min(max((t - transition_begin) / transition_steps, 0.0), 1.0)
    return init_value + (end_value - init_value) * p


def exponential(
    t, init_value, transition_steps, decay_rate, transition_begin=0, staircase=False, end_value=None
):
    p = max(t - transition_begin, 0) / transition_steps
    if staircase:
        p = math.floor(p)
    with np.errstate(over="ignore"):
        value = float(init_value * np.power(np.float64(decay_rate), p))
    if end_value is not None:
        value = max(value, end_value) if decay_rate < 1 else min(value, end_value)
    return value
