"""Records torch.optim.Muon trajectories, the test data of ``test_muon.py``.

torch is never a dependency of fromax: run this with a CPU torch in a
virtual environment of its own, from the repository root::

    python -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install numpy torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/torchvenv/bin/python tests/optimizers/make_torch_muon_trajectories.py

It writes ``tests/optimizers/data/torch_muon_trajectories.npz`` (plain
arrays: ``np.load(..., allow_pickle=False)``) and a ``.json`` beside it with
the settings and versions (the stored data: torch 2.13.0+cpu).

What is stored:

- three matrices in torch's layout (out, in): (6, 4), (4, 6), (5, 5); a JAX
  (in, out) kernel is the transpose of each stored matrix (params and grads);
- 100 gradients per matrix, seeded random numbers rather than a loss's, so a
  JAX run feeds exactly the same values; each step's has a magnitude of
  10**U(-2, 1) (exercising the Frobenius normalisation), and the (5, 5)
  matrix's first one is zero (Newton-Schulz of zero is zero: only the decay
  moves it);
- before each step, ``param_group["lr"]`` and ``["momentum"]`` are set from
  a warm-up + cosine learning rate and a momentum ramp (torch reads both
  every step); both are stored (``lr``, ``momentum``);
- four runs: torch's own Newton-Schulz (always bfloat16 in torch), and with
  torch's module function replaced by the same algorithm without the
  bfloat16 cast, in float32 (with Nesterov, and without it with
  ``adjust_lr_fn="match_rms_adamw"``) and float64. Row 0 of
  ``<run>__params_i`` is the initial matrix, row t + 1 the matrix after step t.
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path

import numpy as np

STEPS = 100
SHAPES = [(6, 4), (4, 6), (5, 5)]  # torch layout (out, in)
PEAK_LR = 0.02
WARMUP = 10
FINAL_LR_FRACTION = 0.1
SEED = 20261130
OUT = Path(__file__).parent / "data" / "torch_muon_trajectories"

RUNS = [
    {
        "name": "stock_bf16_nesterov",
        "ns": "bfloat16",
        "param_dtype": "float32",
        "nesterov": True,
        "adjust_lr_fn": None,
        "weight_decay": 0.1,
    },
    {
        "name": "f32_nesterov",
        "ns": "float32",
        "param_dtype": "float32",
        "nesterov": True,
        "adjust_lr_fn": None,
        "weight_decay": 0.1,
    },
    {
        "name": "f32_plain_rmsmatch",
        "ns": "float32",
        "param_dtype": "float32",
        "nesterov": False,
        "adjust_lr_fn": "match_rms_adamw",
        "weight_decay": 0.01,
    },
    {
        "name": "f64_nesterov",
        "ns": "float64",
        "param_dtype": "float64",
        "nesterov": True,
        "adjust_lr_fn": None,
        "weight_decay": 0.1,
    },
]


def learning_rates() -> np.ndarray:
    """Linear warm-up to the peak over 10 steps, then a cosine to 0.1 x peak at step 99."""
    rates = np.empty(STEPS)
    for t in range(STEPS):
        if t < WARMUP:
            rates[t] = PEAK_LR * (t + 1) / WARMUP
        else:
            progress = (t - WARMUP) / (STEPS - 1 - WARMUP)
            cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
            rates[t] = PEAK_LR * (FINAL_LR_FRACTION + (1.0 - FINAL_LR_FRACTION) * cosine)
    return rates


def momenta() -> np.ndarray:
    """0.85 rising linearly to 0.95 over the first 30 steps, then 0.95."""
    t = np.arange(STEPS)
    return np.where(t < 30, 0.85 + (0.95 - 0.85) * t / 30.0, 0.95)


def make_data() -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(SEED)
    init = [0.5 * rng.standard_normal(s) for s in SHAPES]
    magnitudes = 10.0 ** rng.uniform(-2.0, 1.0, size=(STEPS, len(SHAPES)))
    grads = [
        magnitudes[:, i, None, None] * rng.standard_normal((STEPS, *s))
        for i, s in enumerate(SHAPES)
    ]
    grads[2][0] = 0.0
    # float32, so that every run (and a JAX run) sees the same values.
    return [a.astype(np.float32) for a in init], [g.astype(np.float32) for g in grads]


def _newton_schulz_without_cast(grad, ns_coefficients, ns_steps, eps):
    """torch's algorithm (clamped eps, transposed when rows > cols) in the input's dtype."""
    a, b, c = ns_coefficients
    tall = grad.size(0) > grad.size(1)
    x = grad.T if tall else grad.clone()
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def _run(torch, module, run, init, grads, rates, moms):
    dtype = getattr(torch, run["param_dtype"])
    original = module._zeropower_via_newtonschulz
    if run["ns"] != "bfloat16":
        module._zeropower_via_newtonschulz = _newton_schulz_without_cast
    try:
        params = [torch.nn.Parameter(torch.tensor(w, dtype=dtype)) for w in init]
        opt = torch.optim.Muon(
            params,
            lr=float(rates[0]),
            momentum=float(moms[0]),
            weight_decay=run["weight_decay"],
            nesterov=run["nesterov"],
            adjust_lr_fn=run["adjust_lr_fn"],
        )
        history = [np.empty((STEPS + 1, *s), dtype=run["param_dtype"]) for s in SHAPES]
        for i, p in enumerate(params):
            history[i][0] = p.detach().numpy()
        for t in range(STEPS):
            for group in opt.param_groups:
                group["lr"] = float(rates[t])
                group["momentum"] = float(moms[t])
            for i, p in enumerate(params):
                p.grad = torch.tensor(grads[i][t], dtype=dtype)
            opt.step()
            for i, p in enumerate(params):
                history[i][t + 1] = p.detach().numpy()
        return history
    finally:
        module._zeropower_via_newtonschulz = original


def main() -> None:
    import torch  # only here: collecting fromax's tests never imports torch
    import torch.optim._muon as module

    torch.manual_seed(0)
    init, grads = make_data()
    rates, moms = learning_rates(), momenta()
    arrays = {"lr": rates, "momentum": moms}
    for i in range(len(SHAPES)):
        arrays[f"init_{i}"] = init[i]
        arrays[f"grads_{i}"] = grads[i]
    for run in RUNS:
        history = _run(torch, module, run, init, grads, rates, moms)
        for i in range(len(SHAPES)):
            arrays[f"{run['name']}__params_{i}"] = history[i]
    np.savez_compressed(OUT.with_suffix(".npz"), **arrays)
    settings = {
        "generator": "tests/optimizers/make_torch_muon_trajectories.py",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "steps": STEPS,
        "seed": SEED,
        "layout": "torch (out, in); transpose every matrix for a JAX (in, out) kernel",
        "defaults": {
            "ns_coefficients": [module.DEFAULT_A, module.DEFAULT_B, module.DEFAULT_C],
            "ns_steps": module.DEFAULT_NS_STEPS,
            "eps": module.EPS,
        },
        "runs": RUNS,
    }
    OUT.with_suffix(".json").write_text(json.dumps(settings, indent=1) + "\n")
    print(f"wrote {OUT}.npz and .json")


if __name__ == "__main__":
    main()
