"""Float64 formulas of the schedules, written from their papers, independent of fromax."""

from __future__ import annotations

import math

import reference


def polynomial(t, init_value, end_value, power, transition_steps, transition_begin=0):
    s = min(max(t - transition_begin, 0), transition_steps)
    return (init_value - end_value) * (1 - s / transition_steps) ** power + end_value


def rex(t, init_value, decay_steps, end_value=0.0):
    p = min(t, decay_steps) / decay_steps
    return end_value + (init_value - end_value) * (1 - p) / (1 - p / 2)


def piecewise_constant(t, init_value, boundaries_and_scales):
    value = init_value
    for boundary, scale in sorted(boundaries_and_scales.items()):
        if t >= boundary:
            value *= scale
    return value


def piecewise_linear(t, boundaries, values):
    if t <= boundaries[0]:
        return values[0]
    for i in range(1, len(boundaries)):
        if t <= boundaries[i]:
            b0, b1, v0, v1 = boundaries[i - 1], boundaries[i], values[i - 1], values[i]
            return v0 + (v1 - v0) * (t - b0) / (b1 - b0)
    return values[-1]


def warmup_constant(t, init_value, peak_value, warmup_steps):
    if t < warmup_steps:
        return init_value + (peak_value - init_value) * t / warmup_steps
    return peak_value


def warmup_exponential(t, init_value, peak_value, warmup_steps, **decay):
    if t < warmup_steps:
        return warmup_constant(t, init_value, peak_value, warmup_steps)
    return reference.exponential(t - warmup_steps, peak_value, **decay)


def inverse_sqrt(t, init_value, peak_value, warmup_steps):
    if t < warmup_steps:
        return warmup_constant(t, init_value, peak_value, warmup_steps)
    return peak_value * math.sqrt(warmup_steps / t)


def warmup_stable_decay(
    t, init_value, peak_value, warmup_steps, decay_steps, cooldown, shape, end_value=0.0
):
    """``cooldown``: the cooldown's length in steps (cooldown_fraction * T for a fraction)."""
    if t < warmup_steps:
        return warmup_constant(t, init_value, peak_value, warmup_steps)
    start = decay_steps - cooldown
    if t < start:
        return peak_value
    if t >= decay_steps:
        return end_value
    p = (t - start) / cooldown
    drop = peak_value - end_value
    return {
        "linear": lambda: end_value + drop * (1 - p),
        "cosine": lambda: end_value + drop * (1 + math.cos(math.pi * p)) / 2,
        "1-sqrt": lambda: end_value + drop * (1 - math.sqrt(p)),
        "exponential": lambda: peak_value * (end_value / peak_value) ** p,
    }[shape]()


def sgdr(t, init_value, decay_steps, t_mult=1.0, m_mul=1.0, alpha=0.0, warmup_steps=0):
    """Walks the cycles one by one (Loshchilov & Hutter, with Keras' t_mul and m_mul)."""
    start, length, peak = 0.0, float(decay_steps), init_value
    if t_mult == 1.0:  # equal cycles: jump to t's, exactly (2**31 steps are 10**8 cycles)
        cycles = t // decay_steps
        start, peak = float(cycles * decay_steps), init_value * m_mul**cycles
    while t >= start + length:
        start, length, peak = start + length, length * t_mult, peak * m_mul
    s, low = t - start, alpha * peak
    if s < warmup_steps:
        return low + (peak - low) * s / warmup_steps
    c = (1 + math.cos(math.pi * (s - warmup_steps) / (length - warmup_steps))) / 2
    return low + (peak - low) * c


def one_cycle(
    t,
    transition_steps,
    peak_value,
    pct_start=0.3,
    div_factor=25.0,
    final_div_factor=1e4,
    anneal_strategy="cos",
    three_phase=False,
):
    """Smith & Topin: up over pct_start * T, then down (three phases: back, then down)."""

    def anneal(start, end, p):
        p = min(max(p, 0.0), 1.0)
        if anneal_strategy == "linear":
            return start + (end - start) * p
        return end + (start - end) * (1 + math.cos(math.pi * p)) / 2

    total, up = transition_steps, pct_start * transition_steps
    low = peak_value / div_factor
    final = low / final_div_factor
    if t < up:
        return anneal(low, peak_value, t / up)
    if three_phase:
        if t < 2 * up:
            return anneal(peak_value, low, (t - up) / up)
        return anneal(low, final, (t - 2 * up) / (total - 2 * up))
    return anneal(peak_value, final, (t - up) / (total - up))


def cyclic(
    t, init_value, peak_value, step_size_up, step_size_down=None, mode="triangular", gamma=1.0
):
    """Smith (2017), as PyTorch's CyclicLR writes it (1-based cycle, x in [0, 1))."""
    step_size_down = step_size_up if step_size_down is None else step_size_down
    total = step_size_up + step_size_down
    ratio = step_size_up / total
    cycle = math.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    height = (peak_value - init_value) * factor
    if mode == "triangular2":
        height *= 0.5 ** (cycle - 1)
    elif mode == "exp_range":
        height *= gamma**t
    return init_value + height
