"""Registry entries for the optimisers built from fromax's building blocks.

See ``optimizer_registry.Entry`` for what an entry holds. Test values are
chosen so that every hyperparameter visibly matters within a few steps (eps
of 1e-3, not 1e-8), and b1, b2 are exact in float32 (the reference is float64).
"""

from __future__ import annotations

import numpy as np
import optax

import fromax
import reference_blocks as ref
from fromax import schedules
from optimizer_registry import Entry


def _moments_init(param):
    return {"m": np.zeros_like(param), "v": np.zeros_like(param)}


def _velocity_init(param):
    return {"velocity": np.zeros_like(param)}


def _sgd_step(param, grad, state, values, t):
    del t
    new, velocity = ref.sgd_step(
        param, grad, state["velocity"], values["learning_rate"], values["momentum"], True
    )
    return new, {"velocity": velocity}


def _adam_stepper(nesterov=False, decay=False):
    def step(param, grad, state, values, t):
        new, m, v = ref.adam_step(
            param, grad, state["m"], state["v"], t, values, nesterov, decay and param.ndim > 1
        )
        return new, {"m": m, "v": v}

    return step


def _lars_step(param, grad, state, values, t):
    del t
    new, velocity = ref.lars_step(param, grad, state["velocity"], values)
    return new, {"velocity": velocity}


def _lamb_step(param, grad, state, values, t):
    new, m, v = ref.lamb_step(param, grad, state["m"], state["v"], t, values)
    return new, {"m": m, "v": v}


def _matrices_only(params):
    return [p.ndim > 1 for p in params]


_ADAM = {"b1": 0.875, "b2": 0.9921875, "eps": 1e-3, "eps_root": 1e-2}
_ADAM_SCHEDULED = {
    "learning_rate": schedules.warmup_cosine_decay(0.0, 0.05, warmup_steps=10, decay_steps=100),
    "b1": schedules.linear(0.8, 0.95, transition_steps=50),
    "b2": schedules.linear(0.95, 0.999, transition_steps=80),
}


def _refused(owner, name, value, error=ValueError, fragment=None):
    return ({name: value}, error, fragment or f"{owner}'s {name} must be")


def _adam_invalid(owner):
    return (
        _refused(owner, "b1", 1.0),
        _refused(owner, "b2", -0.1),
        _refused(owner, "eps", -1e-8),
        _refused(owner, "eps_root", float("nan")),
        _refused(owner, "learning_rate", "fast", TypeError, "learning_rate must be a number"),
    )


SGD = Entry(
    name="sgd",
    make=fromax.sgd,
    hyperparams={"learning_rate": 0.05, "momentum": 0.8},
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=10, decay_steps=100),
        "momentum": schedules.linear(0.5, 0.95, transition_steps=70),
    },
    options={"nesterov": True, "accumulator_dtype": None},
    reference_init=_velocity_init,
    reference_step=_sgd_step,
    optax=optax.sgd,
    convergence={"momentum": 0.9},
    invalid=(
        _refused("sgd", "momentum", 1.5),
        ({"momentum": None}, ValueError, "sgd's nesterov=True needs a momentum"),
        ({"nesterov": "yes"}, TypeError, "sgd's nesterov must be True or False"),
    ),
)

ADAM = Entry(
    name="adam",
    make=fromax.adam,
    hyperparams={"learning_rate": 0.02, **_ADAM},
    scheduled=_ADAM_SCHEDULED,
    options={"nesterov": False, "mu_dtype": None, "nu_dtype": None},
    reference_init=_moments_init,
    reference_step=_adam_stepper(),
    optax=optax.adam,
    invalid=(
        *_adam_invalid("adam"),
        ({"nesterov": 1}, TypeError, "adam's nesterov must be True or False"),
    ),
)

ADAMW = Entry(
    name="adamw",
    make=fromax.adamw,
    hyperparams={"learning_rate": 0.02, **_ADAM, "weight_decay": 0.1},
    scheduled={
        **_ADAM_SCHEDULED,
        "weight_decay": schedules.cosine_decay(0.2, decay_steps=100),
    },
    options={"mask": _matrices_only, "nesterov": False, "mu_dtype": None, "nu_dtype": None},
    reference_init=_moments_init,
    reference_step=_adam_stepper(decay=True),
    optax=optax.adamw,
    needs_params=True,
    invalid=(
        *_adam_invalid("adamw"),
        _refused("adamw", "weight_decay", -0.1),
        ({"mask": "biases"}, TypeError, "adamw's mask must be a pytree of Python bools"),
    ),
)

NADAM = Entry(
    name="nadam",
    make=fromax.nadam,
    hyperparams={"learning_rate": 0.02, **_ADAM},
    scheduled=_ADAM_SCHEDULED,
    reference_init=_moments_init,
    reference_step=_adam_stepper(nesterov=True),
    optax=optax.nadam,
    invalid=_adam_invalid("nadam"),
    options={"mu_dtype": None, "nu_dtype": None},
)

LARS = Entry(
    name="lars",
    make=fromax.lars,
    hyperparams={
        "learning_rate": 0.5,
        "weight_decay": 0.05,
        "trust_coefficient": 0.1,
        "eps": 0.1,
        "momentum": 0.8,
    },
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 1.0, warmup_steps=10, decay_steps=100),
        "trust_coefficient": schedules.linear(0.2, 0.05, transition_steps=100),
        "momentum": schedules.linear(0.5, 0.9, transition_steps=50),
    },
    options={
        "weight_decay_mask": True,
        "trust_ratio_mask": True,
        "nesterov": False,
        "mu_dtype": None,
    },
    reference_init=_velocity_init,
    reference_step=_lars_step,
    optax=optax.lars,
    optax_overrides={"weight_decay": 0.0},
    optax_note=(
        "with weight decay, optax divides by ||g + wd w||, the paper (and fromax) by "
        "||g|| + wd ||w||: compared without decay"
    ),
    needs_params=True,
    invalid=(
        _refused("lars", "trust_coefficient", -0.001),
        _refused("lars", "momentum", 2.0),
        _refused("lars", "weight_decay", -1.0),
        ({"trust_ratio_mask": [1, 0, 1]}, TypeError, "lars's trust_ratio_mask must be"),
        ({"nesterov": None}, TypeError, "lars's nesterov must be True or False"),
    ),
)

LAMB = Entry(
    name="lamb",
    make=fromax.lamb,
    hyperparams={"learning_rate": 0.02, **_ADAM, "weight_decay": 0.1},
    scheduled={
        **_ADAM_SCHEDULED,
        "weight_decay": schedules.linear(0.0, 0.3, transition_steps=100),
    },
    options={"mask": None, "mu_dtype": None, "nu_dtype": None},
    reference_init=_moments_init,
    reference_step=_lamb_step,
    optax=optax.lamb,
    needs_params=True,
    invalid=(
        *_adam_invalid("lamb"),
        _refused("lamb", "weight_decay", -0.01),
        ({"mask": 0.5}, TypeError, "lamb's mask must be"),
    ),
)

ENTRIES: list[Entry] = [SGD, ADAM, ADAMW, NADAM, LARS, LAMB]
