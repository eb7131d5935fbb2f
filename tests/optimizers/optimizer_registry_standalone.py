"""Registry entries for the optimisers with maths of their own (Nero, Madam, Lion, ...).

See ``optimizer_registry.Entry`` for what an entry holds. The float64
references are in ``reference_standalone.py``.
"""

from __future__ import annotations

import functools

import optax

import fromax
import reference_standalone as ref
from fromax import schedules
from optimizer_registry import Entry

NERO = Entry(
    name="nero",
    make=fromax.nero,
    hyperparams={"learning_rate": 0.05, "beta": 0.99},
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=10, decay_steps=100),
        "beta": schedules.linear(0.9, 0.999, transition_steps=50),
    },
    options={"constraints": True, "neuron_axis": 0, "nu_dtype": None},
    # Nero's constraints pin every neuron of a matrix to the centred unit sphere,
    # so problems whose optimum lies off it (these) are solved with them off;
    # the suite's MLP keeps JAX's (in, out) kernels: neurons are columns.
    convergence={"constraints": False, "neuron_axis": -1},
    # Nero has no momentum: its per-coordinate normalised steps crawl along
    # Rosenbrock's curved valley (24.2 -> 0.127 in 400 steps, not 0.05).
    convergence_thresholds={"rosenbrock": 0.2},
    invalid=(
        ({"beta": 1.0}, ValueError, "nero's beta must be a finite number >= 0 and < 1"),
        ({"learning_rate": -0.1}, ValueError, "nero's learning_rate must be"),
    ),
    reference_init=ref.nero_init,
    reference_step=ref.nero_step,
    optax_note="optax has no Nero",
    needs_params=True,
)

MADAM = Entry(
    name="madam",
    make=fromax.madam,
    hyperparams={"learning_rate": 0.05, "p_scale": 1.5, "g_bound": 2.0, "beta": 0.99},
    scheduled={
        "learning_rate": schedules.cosine_decay(0.1, decay_steps=100),
        "p_scale": schedules.linear(1.5, 1.1, transition_steps=60),
        "g_bound": schedules.linear(3.0, 1.0, transition_steps=80),
        "beta": schedules.linear(0.9, 0.99, transition_steps=40),
    },
    # Madam's steps are multiplicative: no weight crosses zero and a zero stays zero.
    convergence_thresholds={
        # 95.7 -> 17.818: exactly the optimum with every sign kept and |w| <= 3 RMS(W_0).
        "quadratic": 17.9,
        # 24.2 -> 1.000: x starts at -1.2 and cannot reach x > 0; its best there is (0, 0).
        "rosenbrock": 1.05,
        # 7.68 -> 0.106: the zero-initialised biases never move, no weight changes sign.
        "mlp": 0.15,
    },
    invalid=(
        ({"p_scale": 0.0}, ValueError, "madam's p_scale must be a finite number > 0"),
        ({"g_bound": -1.0}, ValueError, "madam's g_bound must be"),
        ({"beta": 1.5}, ValueError, "madam's beta must be"),
    ),
    reference_init=ref.madam_init,
    reference_step=ref.madam_step,
    optax_note="optax has no Madam",
    needs_params=True,
    options={"nu_dtype": None},
)

LION = Entry(
    name="lion",
    make=fromax.lion,
    hyperparams={"learning_rate": 0.01, "b1": 0.9, "b2": 0.99, "weight_decay": 0.1},
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.02, warmup_steps=10, decay_steps=100),
        "b1": schedules.linear(0.8, 0.95, transition_steps=50),
        "weight_decay": schedules.linear(0.2, 0.0, transition_steps=100),
    },
    # Sign steps of the full learning rate on every weight: at the defaults (0.9, 0.99)
    # the MLP's best is 0.0120 (start 7.68), not 0.01; with b1 = 0.95 (more momentum
    # in the step) and b2 = 0.98 (a shorter memory): 0.0025.
    convergence={"b1": 0.95, "b2": 0.98},
    invalid=(
        ({"b1": 1.5}, ValueError, "lion's b1 must be"),
        ({"weight_decay": -1.0}, ValueError, "lion's weight_decay"),
        ({"b2": 0.0}, ValueError, "lion's b2 must be .* > 0"),
    ),
    reference_init=ref.lion_init,
    reference_step=ref.lion_step,
    optax=optax.lion,
    optax_note=(
        "optax's mu_dtype and mask are not offered: the momentum is float32 (or wider); "
        "chain a masked decay instead of mask"
    ),
    needs_params=True,
    options={"mu_dtype": None},
)

_RMSPROP_OPTIONS = {
    "initial_scale": 0.0,
    "eps_in_sqrt": True,
    "centered": True,
    "nesterov": True,
    "bias_correction": False,
}

RMSPROP = Entry(
    name="rmsprop",
    make=fromax.rmsprop,
    hyperparams={"learning_rate": 0.01, "decay": 0.9, "eps": 0.01, "momentum": 0.9},
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.02, warmup_steps=10, decay_steps=100),
        "decay": schedules.linear(0.8, 0.95, transition_steps=50),
        "momentum": schedules.linear(0.5, 0.9, transition_steps=30),
    },
    options={**_RMSPROP_OPTIONS, "mu_dtype": None, "nu_dtype": None},
    # Without momentum its normalised steps crawl along Rosenbrock's curved valley
    # (24.2 -> 0.108 at the defaults); with momentum 0.9: 1.5e-7.
    convergence={"momentum": 0.9},
    invalid=(
        ({"decay": 2.0}, ValueError, "rmsprop's decay must be"),
        ({"eps": -1.0}, ValueError, "rmsprop's eps must be"),
        ({"momentum": None}, ValueError, "rmsprop's nesterov=True needs a momentum"),
        ({"initial_scale": -1.0}, ValueError, "initial_scale must be a finite number >= 0"),
        ({"initial_scale": "0"}, TypeError, "initial_scale must be a Python number"),
    ),
    reference_init=ref.rmsprop_init,
    reference_step=functools.partial(ref.rmsprop_step, centered=True, nesterov=True),
    optax=optax.rmsprop,
    optax_note=(
        "centred: nu - mu**2 is floored at 0 (optax can take the root of a rounding-negative "
        "value and return NaN)"
    ),
)

ADAGRAD = Entry(
    name="adagrad",
    make=fromax.adagrad,
    hyperparams={"learning_rate": 0.1, "eps": 0.1},
    scheduled={
        "learning_rate": schedules.linear(0.2, 0.05, transition_steps=100),
        "eps": schedules.exponential_decay(1.0, transition_steps=10, decay_rate=0.5),
    },
    options={"initial_accumulator_value": 0.1, "accumulator_dtype": None},
    # The summed squared gradients only grow, so the steps shrink as the iterate crawls
    # along Rosenbrock's valley: 24.2 -> 0.709 (past the valley's midpoint x = 0, loss 1).
    convergence_thresholds={"rosenbrock": 1.0},
    invalid=(
        ({"eps": -1.0}, ValueError, "adagrad's eps must be"),
        (
            {"initial_accumulator_value": -0.1},
            ValueError,
            "initial_accumulator_value must be a finite number >= 0",
        ),
    ),
    reference_init=ref.adagrad_init,
    reference_step=ref.adagrad_step,
    optax=optax.adagrad,
)

_ADAFACTOR_OPTIONS = {
    "min_dim_size_to_factor": 2,
    "decay_offset": 0,
    "multiply_by_parameter_scale": True,
    "factored": True,
}

ADAFACTOR = Entry(
    name="adafactor",
    make=fromax.adafactor,
    hyperparams={
        "learning_rate": 0.05,
        "decay_rate": 0.8,
        "clipping_threshold": 1.0,
        "momentum": 0.9,
        "weight_decay_rate": 0.01,
        "eps": 1e-3,
    },
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=10, decay_steps=100),
        "decay_rate": schedules.linear(0.6, 0.9, transition_steps=50),
        "clipping_threshold": schedules.linear(0.5, 1.5, transition_steps=100),
        "momentum": schedules.linear(0.5, 0.9, transition_steps=30),
    },
    options={**_ADAFACTOR_OPTIONS, "dtype_momentum": None},
    # Without momentum (its default) its clipped, normalised steps crawl along
    # Rosenbrock's curved valley (24.2 -> 0.985); with momentum 0.9: 4.9e-4.
    convergence={"momentum": 0.9},
    invalid=(
        (
            {"min_dim_size_to_factor": 0},
            ValueError,
            "adafactor's min_dim_size_to_factor must be an integer >= 1",
        ),
        ({"decay_offset": -1}, ValueError, "decay_offset must be an integer >= 0"),
        ({"clipping_threshold": 0.0}, ValueError, "clipping_threshold must be"),
        ({"momentum": 1.5}, ValueError, "adafactor's momentum must be"),
    ),
    reference_init=functools.partial(ref.adafactor_init, min_dim_size_to_factor=2),
    reference_step=functools.partial(ref.adafactor_step, min_dim_size_to_factor=2),
    optax=optax.adafactor,
    optax_note=(
        "optax's dtype_momentum and weight_decay_mask are not offered; a count below "
        "decay_offset counts as step 1 (optax: NaN)"
    ),
    needs_params=True,
)

_SCHEDULE_FREE_NOTE = (
    "one step counter: optax evaluates the learning rate at t for the step on z and at t + 1 "
    "for the averaging weight, so under a non-constant schedule (and its warm-up) the two "
    "differ; they agree under a constant learning rate. state_dtype is not offered"
)

SCHEDULE_FREE_SGD = Entry(
    name="schedule_free_sgd",
    make=fromax.schedule_free_sgd,
    hyperparams={"learning_rate": 0.1, "b1": 0.9, "weight_decay": 0.01, "weight_lr_power": 2.0},
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.2, warmup_steps=10, decay_steps=100),
        "b1": schedules.linear(0.9, 0.7, transition_steps=60),
        "weight_lr_power": schedules.linear(2.0, 1.0, transition_steps=50),
    },
    options={"warmup_steps": None, "state_dtype": None},
    # Plain SGD steps are stable on Rosenbrock only for a peak below about 0.006 (the
    # curvature is 1330 at the start), where the valley takes longer than 400 steps:
    # 24.2 -> 1.67 (at a peak of 0.0032; 0.01 diverges), i.e. x from -1.2 to -0.3.
    convergence_thresholds={"rosenbrock": 2.0},
    invalid=(
        ({"b1": 0.0}, ValueError, "schedule_free_sgd's b1 must be"),
        ({"warmup_steps": 0}, ValueError, "warmup_steps must be an integer >= 1, got 0"),
    ),
    reference_init=ref.schedule_free_init,
    reference_step=functools.partial(ref.schedule_free_step, adam=False),
    optax=optax.contrib.schedule_free_sgd,
    optax_note=_SCHEDULE_FREE_NOTE,
    needs_params=True,
)

SCHEDULE_FREE_ADAMW = Entry(
    name="schedule_free_adamw",
    make=fromax.schedule_free_adamw,
    hyperparams={
        "learning_rate": 0.01,
        "b1": 0.9,
        "b2": 0.99,
        "eps": 1e-3,
        "weight_decay": 0.01,
        "weight_lr_power": 2.0,
    },
    scheduled={
        "learning_rate": schedules.warmup_cosine_decay(0.0, 0.02, warmup_steps=10, decay_steps=100),
        "b1": schedules.linear(0.9, 0.7, transition_steps=60),
        "b2": schedules.linear(0.9, 0.999, transition_steps=50),
    },
    options={"warmup_steps": None, "state_dtype": None, "nu_dtype": None},
    invalid=(
        ({"warmup_steps": 2.5}, TypeError, "warmup_steps must be an integer >= 1, got 2.5"),
        ({"b2": 1.0}, ValueError, "schedule_free_adamw's b2 must be"),
    ),
    reference_init=ref.schedule_free_init,
    reference_step=functools.partial(ref.schedule_free_step, adam=True),
    optax=optax.contrib.schedule_free_adamw,
    optax_note=_SCHEDULE_FREE_NOTE,
    needs_params=True,
)

ENTRIES: list[Entry] = [
    NERO,
    MADAM,
    LION,
    RMSPROP,
    ADAGRAD,
    ADAFACTOR,
    SCHEDULE_FREE_SGD,
    SCHEDULE_FREE_ADAMW,
]
