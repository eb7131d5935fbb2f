"""Float64 references for Nero, Madam, Lion, RMSprop, Adagrad, Adafactor and schedule-free.

Each is one step for ONE array, written from the paper's formula (and the
documented fromax choices where the paper leaves a case open), independent
of fromax's code: ``step(w, g, state, values, t) -> (new_w, new_state)``
with ``values`` the hyperparameters at step t (0-based).
"""

from __future__ import annotations

import numpy as np


def _f64(x):
    return np.asarray(x, np.float64)


# Nero (Liu et al. 2021): neurons are rows of matrices, entries of vectors.


def _rows(w):
    return w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(-1, 1)


def nero_projection(w):
    """Rows mean-centred and scaled to unit norm (zero rows stay zero)."""
    rows = _rows(_f64(w))
    centred = rows - rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    out = np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)
    return out.reshape(np.shape(w))


def nero_init(w, constraints=True):
    w = _f64(w)
    projected = nero_projection(w) if constraints and w.ndim > 1 else w
    scale = float(np.linalg.norm(_rows(projected), axis=1).mean())
    moments = np.zeros(w.shape[0] if w.ndim > 1 else w.shape)
    return {"v": moments, "scale": scale if scale > 0 else 0.01}


def nero_step(w, g, state, values, t, constraints=True):
    lr, beta = values["learning_rate"], values["beta"]
    rows_g = _rows(_f64(g))
    v = beta * state["v"].reshape(-1) + (1 - beta) * (rows_g**2).sum(axis=1)
    v_hat = v / (1 - beta ** (t + 1))
    step = np.zeros_like(rows_g)
    positive = v_hat > 0
    step[positive] = rows_g[positive] / np.sqrt(v_hat[positive])[:, None]
    new = _f64(w) - lr * state["scale"] * step.reshape(np.shape(w))
    if constraints and np.ndim(w) > 1:
        new = nero_projection(new)
    return new, {**state, "v": v.reshape(state["v"].shape)}


# Madam (Bernstein et al. 2020).


def madam_init(w):
    w = _f64(w)
    return {"v": np.zeros_like(w), "rms0": float(np.sqrt(np.mean(w * w)))}


def madam_step(w, g, state, values, t):
    lr, beta = values["learning_rate"], values["beta"]
    w, g = _f64(w), _f64(g)
    v = beta * state["v"] + (1 - beta) * g * g
    v_hat = v / (1 - beta ** (t + 1))
    g_star = np.divide(g, np.sqrt(v_hat), out=np.zeros_like(g), where=v_hat > 0)
    g_star = np.clip(g_star, -values["g_bound"], values["g_bound"])
    new = w * np.exp(-lr * g_star * np.sign(w))
    bound = values["p_scale"] * state["rms0"]
    return np.clip(new, -bound, bound), {**state, "v": v}


# Lion (Chen et al. 2023, Algorithm 2).


def lion_init(w):
    return {"m": np.zeros(np.shape(w))}


def lion_step(w, g, state, values, t):
    del t
    w, g, m = _f64(w), _f64(g), state["m"]
    c = values["b1"] * m + (1 - values["b1"]) * g
    new = w - values["learning_rate"] * (np.sign(c) + values["weight_decay"] * w)
    return new, {"m": values["b2"] * m + (1 - values["b2"]) * g}


# RMSprop (Hinton), centred (Graves 2013), momentum on the lr-scaled step (optax's order).


def rmsprop_init(w, initial_scale=0.0):
    shape = np.shape(w)
    return {"nu": np.full(shape, initial_scale), "mu": np.zeros(shape), "b": np.zeros(shape)}


def rmsprop_step(
    w, g, state, values, t, *, centered, nesterov, eps_in_sqrt=True, bias_correction=False
):
    w, g = _f64(w), _f64(g)
    rho, eps, mom = values["decay"], values["eps"], values["momentum"]
    nu = rho * state["nu"] + (1 - rho) * g * g
    mu = rho * state["mu"] + (1 - rho) * g
    correction = 1 - rho ** (t + 1) if bias_correction else 1.0
    s = nu / correction - ((mu / correction) ** 2 if centered else 0.0)
    s = np.maximum(s, 0.0)
    if eps_in_sqrt:
        u = values["learning_rate"] * g / np.sqrt(s + eps)
    else:
        u = values["learning_rate"] * g / (np.sqrt(s) + eps)
    b = mom * state["b"] + u
    step = u + mom * b if nesterov else b
    return w - step, {"nu": nu, "mu": mu, "b": b}


# Adagrad (Duchi et al. 2011), eps inside the root as optax.


def adagrad_init(w, initial_accumulator_value=0.1):
    return {"G": np.full(np.shape(w), initial_accumulator_value)}


def adagrad_step(w, g, state, values, t):
    del t
    w, g = _f64(w), _f64(g)
    G = state["G"] + g * g
    scale = np.where(G > 0, 1 / np.sqrt(G + values["eps"]), 0.0)
    return w - values["learning_rate"] * scale * g, {"G": G}


# Adafactor (Shazeer & Stern 2018, Algorithms 4/5 with optax's options).


def adafactor_axes(shape, min_dim_size_to_factor):
    """(second largest, largest) axis, the first of equal sizes counting as smaller."""
    if len(shape) < 2:
        return None
    ranked = sorted(range(len(shape)), key=lambda axis: (shape[axis], axis))
    second, largest = ranked[-2], ranked[-1]
    return (second, largest) if shape[second] >= min_dim_size_to_factor else None


def adafactor_init(w, min_dim_size_to_factor):
    w = _f64(w)
    axes = adafactor_axes(w.shape, min_dim_size_to_factor)
    state = {"m": np.zeros_like(w)}
    if axes is None:
        state["V"] = np.zeros_like(w)
    else:
        second, largest = axes
        state["R"] = np.zeros_like(w.mean(axis=largest))
        state["C"] = np.zeros_like(w.mean(axis=second))
    return state


def _rms(x):
    return np.sqrt(np.mean(x * x))


def adafactor_step(w, g, state, values, t, *, min_dim_size_to_factor, decay_offset=0):
    w, g = _f64(w), _f64(g)
    beta2 = 1 - (max(t - decay_offset, 0) + 1) ** -values["decay_rate"]
    G = g * g + values["eps"]
    axes = adafactor_axes(w.shape, min_dim_size_to_factor)
    new_state = dict(state)
    if axes is None:
        V = beta2 * state["V"] + (1 - beta2) * G
        new_state["V"] = V
    else:
        second, largest = axes
        R = beta2 * state["R"] + (1 - beta2) * G.mean(axis=largest)
        C = beta2 * state["C"] + (1 - beta2) * G.mean(axis=second)
        new_state["R"], new_state["C"] = R, C
        R_full = np.expand_dims(R, largest)
        V = R_full * np.expand_dims(C, second) / R_full.mean(axis=second, keepdims=True)
    u = g / np.sqrt(V)
    u = u / max(1.0, _rms(u) / values["clipping_threshold"])
    u = values["learning_rate"] * max(_rms(w), 1e-3) * u
    m = values["momentum"] * state["m"] + (1 - values["momentum"]) * u
    new_state["m"] = m
    return w - (m + values["weight_decay_rate"] * w), new_state


# Schedule-free (Defazio et al. 2024): y is the parameter, x and z are kept here.


def schedule_free_init(w):
    w = _f64(w)
    return {"x": w.copy(), "z": w.copy(), "v": np.zeros_like(w), "weights": 0.0, "max_lr": 0.0}


def schedule_free_step(w, g, state, values, t, *, adam, warmup_steps=None):
    y, g = _f64(w), _f64(g)
    lr = values["learning_rate"] * (1.0 if warmup_steps is None else min(1, (t + 1) / warmup_steps))
    v = state["v"]
    if adam:
        v = values["b2"] * v + (1 - values["b2"]) * g * g
        direction = g / (np.sqrt(v / (1 - values["b2"] ** (t + 1))) + values["eps"])
    else:
        direction = g
    z = state["z"] - lr * (direction + values.get("weight_decay", 0.0) * y)
    max_lr = max(state["max_lr"], lr)
    weight = max_lr ** values["weight_lr_power"]
    weights = state["weights"] + weight
    c = weight / weights if weights > 0 else 0.0
    x = (1 - c) * state["x"] + c * z
    b1 = values["b1"]
    new_y = b1 * x + (1 - b1) * z
    return new_y, {"x": x, "z": z, "v": v, "weights": weights, "max_lr": max_lr}
