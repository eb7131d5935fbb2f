"""Registry entries for Muon and Scion (see ``optimizer_registry.Entry``).

The float64 references are in ``reference_muon.py``. Both are compared with
optax and PyTorch in ``test_muon.py`` rather than through ``Entry.optax``:
they agree with optax.contrib.muon only with ``nesterov=False`` (an option,
which the contract's optax test cannot change), and optax has no Scion.
"""

from __future__ import annotations

import fromax
import reference_muon as ref
from fromax import schedules
from optimizer_registry import Entry

MUON_OPTIONS = {
    "nesterov": True,
    "ns_steps": 5,
    "ns_coefficients": "jordan",
    "scale": "spectral",
    "labels": None,
    "ns_dtype": "float32",
}

MUON = Entry(
    name="muon",
    make=fromax.muon,
    hyperparams={
        "learning_rate": 0.02,
        "momentum": 0.9,
        "weight_decay": 0.1,
        # Large enough that scheduling it changes float32 results (the gradients' norms are ~5).
        "eps": 1e-2,
        "adam_learning_rate": 0.01,
        "adam_b1": 0.9,
        "adam_b2": 0.99,
        "adam_eps": 1e-3,
        "adam_weight_decay": 0.05,
    },
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.05, warmup_steps=10, decay_steps=100),
        "momentum": schedules.linear(0.85, 0.95, transition_steps=30),
        "adam_learning_rate": schedules.cosine_decay(0.02, decay_steps=100),
        "adam_b1": schedules.linear(0.8, 0.9, transition_steps=50),
    },
    options={**MUON_OPTIONS, "mu_dtype": None, "nu_dtype": None},
    reference_init=ref.muon_init,
    reference_step=ref.muon_step,
    optax_note="optax.contrib.muon agrees with nesterov=False: compared in test_muon.py",
    needs_params=True,
    invalid=(
        ({"momentum": 1.0}, ValueError, "muon's momentum must be a finite number >= 0 and < 1"),
        ({"ns_steps": 0}, ValueError, "muon's ns_steps must be an integer >= 1, got 0"),
        ({"ns_coefficients": "cubic"}, ValueError, "'jordan', 'polar_express'"),
        ({"scale": "rms"}, ValueError, "muon's scale must be one of 'spectral', 'match_adamw'"),
        ({"ns_dtype": "float16"}, ValueError, "muon's ns_dtype must be one of"),
        ({"labels": {"w": "sgd"}}, ValueError, "'muon', 'adamw' or fromax.MatrixAxes"),
    ),
)

SCION_OPTIONS = {
    "unconstrained": False,
    "labels": None,
    "ns_steps": 5,
    "ns_coefficients": "jordan",
    "ns_dtype": "float32",
}


def _scion_step(w, g, state, values, t):
    # fromax's default norms for the suite's unnamed leaves: (6, 4) spectral, the others RMS.
    return ref.scion_step(w, g, state, values, t, norm=ref.scion_default_norm(w))


SCION = Entry(
    name="scion",
    make=fromax.scion,
    hyperparams={"learning_rate": 0.05, "momentum": 0.9, "radius": 2.0, "eps": 1e-2},
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=10, decay_steps=100),
        "momentum": schedules.linear(0.8, 0.95, transition_steps=40),
        "radius": schedules.linear(1.0, 3.0, transition_steps=60),
    },
    options={**SCION_OPTIONS, "mu_dtype": None},
    reference_init=ref.scion_init,
    reference_step=_scion_step,
    optax_note="optax has no Scion",
    needs_params=True,
    # The constrained variant's fixed points lie on its norm ball (SCG pulls W to
    # -rho lmo(d), which is 0 where the gradient is): the optima of the suite's
    # problems lie inside, so they are solved unconstrained.
    convergence={"unconstrained": True},
    invalid=(
        ({"momentum": 1.0}, ValueError, "scion's momentum must be a finite number >= 0 and < 1"),
        ({"radius": -1.0}, ValueError, "scion's radius must be a finite number >= 0"),
        ({"labels": {"w": "nuclear"}}, ValueError, "'spectral', 'sign', 'colnorm', 'rownorm'"),
        ({"ns_steps": 0}, ValueError, "scion's ns_steps must be an integer >= 1, got 0"),
    ),
)

ENTRIES = [MUON, SCION]
