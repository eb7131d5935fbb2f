"""Float64 references for the optimisers built from fromax's blocks, from the papers.

Each ``*_step`` is one step for ONE array, written from the paper's formula
(the conventions fromax documents: optax's names, 0-based step t, so the
bias corrections use t + 1). Independent of fromax.
"""

from __future__ import annotations

import numpy as np


def _norm(x):
    return float(np.linalg.norm(np.asarray(x, np.float64)))


def sgd_step(w, g, velocity, learning_rate, momentum, nesterov):
    """SGD with heavy-ball or Nesterov momentum (Sutskever et al. 2013 form)."""
    velocity = momentum * velocity + g
    direction = g + momentum * velocity if nesterov else velocity
    return w - learning_rate * direction, velocity


def adam_direction(g, m, v, t, b1, b2, eps, eps_root, nesterov=False):
    """Kingma & Ba (2015) Algorithm 1; Dozat (2016) look-ahead with nesterov."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    n = t + 1
    if nesterov:
        m_hat = b1 * m / (1 - b1 ** (n + 1)) + (1 - b1) * g / (1 - b1**n)
    else:
        m_hat = m / (1 - b1**n)
    v_hat = v / (1 - b2**n)
    return m_hat / (np.sqrt(v_hat + eps_root) + eps), m, v


def adam_step(w, g, m, v, t, values, nesterov=False, decay=False):
    """Adam, or AdamW (decoupled decay times the learning rate) when ``decay``."""
    d, m, v = adam_direction(
        g, m, v, t, values["b1"], values["b2"], values["eps"], values["eps_root"], nesterov
    )
    if decay:
        d = d + values["weight_decay"] * w
    return w - values["learning_rate"] * d, m, v


def trust_ratio(w_norm, u_norm, coefficient=1.0, eps=0.0):
    """``coefficient * ||w|| / (||u|| + eps)``, 1 when either norm is 0."""
    if w_norm == 0 or u_norm == 0:
        return 1.0
    return coefficient * w_norm / (u_norm + eps)


def lars_step(w, g, velocity, values, nesterov=False):
    """You, Gitman, Ginsburg (2017) Algorithm 1: the local rate with the paper's denominator."""
    wd = values["weight_decay"]
    w_norm = _norm(w)
    local = trust_ratio(w_norm, _norm(g) + wd * w_norm, values["trust_coefficient"], values["eps"])
    step = -values["learning_rate"] * local * (g + wd * w)
    velocity = values["momentum"] * velocity + step
    direction = step + values["momentum"] * velocity if nesterov else velocity
    return w + direction, velocity


def lamb_step(w, g, m, v, t, values, decay=True):
    """You et al. (2020) Algorithm 2 with phi = identity."""
    r, m, v = adam_direction(
        g, m, v, t, values["b1"], values["b2"], values["eps"], values["eps_root"]
    )
    u = r + values["weight_decay"] * w if decay else r
    ratio = trust_ratio(_norm(w), _norm(u))
    return w - values["learning_rate"] * ratio * u, m, v
