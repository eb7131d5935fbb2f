"""Float64 references for Muon, Newton-Schulz and Scion, from the papers' formulas.

Independent of fromax. Matrices are in JAX layout, (fan_in, fan_out). Each
``*_step`` is one step for ONE array with 0-based step t.

Sources: Jordan et al. 2024 (Muon; the average momentum and Nesterov form of
PyTorch's ``torch.optim.Muon``), Amsel et al. arXiv 2505.16932 (Polar
Express, Algorithm 1), Liu et al. arXiv 2502.16982 (Moonlight's scale),
Pethick et al. arXiv 2502.07529 (Scion's LMOs and its two variants).
"""

from __future__ import annotations

import math

import numpy as np

import reference_blocks

JORDAN = (3.4445, -4.7750, 2.0315)

# Amsel et al. (2025), Algorithm 1, before the safety factor 1.01.
POLAR_EXPRESS = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
)


def iteration(preset, steps):
    """``(triples, norm_scale)`` for ``steps`` iterations of a preset or a triple."""
    if preset == "jordan":
        return [JORDAN] * steps, 1.0
    if preset == "polar_express":
        s = 1.01
        safe = [(a / s, b / s**3, c / s**5) for a, b, c in POLAR_EXPRESS[:-1]]
        safe.append(POLAR_EXPRESS[-1])
        return (safe + [safe[-1]] * steps)[:steps], s
    return [tuple(preset)] * steps, 1.0


def newton_schulz(u, triples, norm_scale=1.0, eps=1e-7):
    """X_0 = u / (norm_scale ||u||_F + eps); X <- a X + b (X X^T) X + c (X X^T)^2 X, wide."""
    x = np.asarray(u, np.float64)
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / (norm_scale * np.linalg.norm(x) + eps)
    for a, b, c in triples:
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def polar_factor(u):
    """U V^T of the reduced SVD u = U S V^T."""
    left, _, right = np.linalg.svd(np.asarray(u, np.float64), full_matrices=False)
    return left @ right


def muon_scale(fan_in, fan_out, rule="spectral"):
    if rule == "spectral":
        return math.sqrt(max(1.0, fan_out / fan_in))
    if rule == "match_adamw":
        return 0.2 * math.sqrt(max(fan_in, fan_out))
    return 1.0


def as_matrix(w):
    """The matrix fromax sees: rank 2 as is, rank 4/5 flattened to (prod(rest), out)."""
    return np.reshape(w, (-1, np.shape(w)[-1])) if np.ndim(w) in (4, 5) else w


def muon_matrix_step(w, g, m, values, *, nesterov=True, preset="jordan", steps=5, scale="spectral"):
    """One Muon step on a matrix (Jordan; torch.optim.Muon's average form)::

    m <- beta m + (1 - beta) g;  u = (1 - beta) g + beta m (nesterov) or m
    W <- W (1 - eta lambda) - eta s NS(u)
    """
    beta = values["momentum"]
    m = beta * m + (1 - beta) * g
    u = (1 - beta) * g + beta * m if nesterov else m
    triples, norm_scale = iteration(preset, steps)
    matrix = as_matrix(u)
    o = newton_schulz(matrix, triples, norm_scale, values["eps"]).reshape(np.shape(w))
    s = muon_scale(*np.shape(matrix), scale)
    eta = values["learning_rate"]
    return w * (1 - eta * values["weight_decay"]) - eta * s * o, m


def muon_adamw_step(w, g, m, v, t, values):
    """AdamW on Muon's other leaves, with the adam_* values."""
    eta = values.get("adam_learning_rate", values["learning_rate"])
    adam = {
        "learning_rate": eta,
        "b1": values["adam_b1"],
        "b2": values["adam_b2"],
        "eps": values["adam_eps"],
        "eps_root": 0.0,
        "weight_decay": values["adam_weight_decay"],
    }
    return reference_blocks.adam_step(w, g, m, v, t, adam, decay=True)


def muon_init(w):
    zeros = np.zeros(np.shape(w))
    return {"m": zeros, "v": zeros.copy()}


def muon_step(w, g, state, values, t, **options):
    """Muon for a leaf of rank 2, 4 or 5 (fromax's default labels), AdamW otherwise."""
    if np.ndim(w) in (2, 4, 5):
        w, m = muon_matrix_step(w, g, state["m"], values, **options)
        return w, {**state, "m": m}
    w, m, v = muon_adamw_step(w, g, state["m"], state["v"], t, values)
    return w, {"m": m, "v": v}


# Scion (Pethick et al. 2025). Each LMO returns the unit-ball element that the
# step subtracts; JAX layout (fan_in, fan_out).


def lmo(d, norm, eps, triples=None, norm_scale=1.0):
    d = np.asarray(d, np.float64)
    if norm == "spectral":
        matrix = as_matrix(d)
        fan_in, fan_out = matrix.shape
        o = newton_schulz(matrix, triples, norm_scale, eps)
        return math.sqrt(fan_out / fan_in) * o.reshape(d.shape)
    if norm == "sign":
        fan_in = as_matrix(d).shape[0] if d.ndim >= 2 else 1
        return np.sign(d) / fan_in
    if norm == "colnorm":  # each input unit's row: RMS 1 over the outputs
        rms = np.linalg.norm(d, axis=1, keepdims=True) / math.sqrt(d.shape[1])
        return d / (rms + eps)
    if norm == "rownorm":  # each output unit's column: norm 1/sqrt(fan_in)
        scale = np.linalg.norm(d, axis=0, keepdims=True) * math.sqrt(d.shape[0])
        return d / (scale + eps)
    if norm == "rms":
        return d / (math.sqrt(np.mean(d * d)) + eps)
    if norm == "frobenius":
        return d / (np.linalg.norm(d) + eps)
    raise ValueError(norm)


def scion_init(w):
    return {"d": np.zeros(np.shape(w))}


def scion_step(
    w,
    g,
    state,
    values,
    t,
    *,
    norm,
    unconstrained=False,
    radius_factor=1.0,
    preset="jordan",
    steps=5,
):
    """d <- beta d + (1 - beta) g; W <- (1 - eta) W - eta rho lmo(d) (unconstrained: no shrink)."""
    del t
    beta = values["momentum"]
    d = beta * state["d"] + (1 - beta) * g
    triples, norm_scale = iteration(preset, steps)
    direction = lmo(d, norm, values["eps"], triples, norm_scale)
    eta, rho = values["learning_rate"], values["radius"] * radius_factor
    shrink = 1.0 if unconstrained else 1 - eta
    return shrink * w - eta * rho * direction, {"d": d}


def scion_default_norm(w):
    """fromax's default Scion norm for an unnamed leaf: spectral for rank 2/4/5, else RMS."""
    return "spectral" if np.ndim(w) in (2, 4, 5) else "rms"
