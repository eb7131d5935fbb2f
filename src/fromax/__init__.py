"""fromax: optimisers for JAX whose every hyperparameter takes a constant or a schedule.

Hyperparameters are data: each optimiser's state holds its step counter, the
schedule of every hyperparameter, and the values its latest update used.

Example:
    >>> import jax.numpy as jnp, fromax
    >>> from fromax import schedules
    >>> opt = fromax.fromage(schedules.warmup_cosine_decay(0.0, 1e-2, 100, 1000))
    >>> state = opt.init({"w": jnp.ones(4)})
    >>> sorted(fromax.hyperparams(state))
    ['learning_rate']
"""

from fromax import schedules
from fromax._adafactor import AdafactorState, adafactor
from fromax._adagrad import AdagradState, adagrad
from fromax._base import GradientTransformation, apply_updates, chain
from fromax._fromage import FromageState, fromage, fromage_update
from fromax._hyperparams import (
    ANY,
    NONNEGATIVE,
    POSITIVE,
    Bounds,
    TransformState,
    hyperparams,
    scheduled_transformation,
    set_hyperparams,
)
from fromax._lion import LionState, lion
from fromax._madam import MadamState, madam
from fromax._nero import NeroState, nero, nero_project
from fromax._rmsprop import RMSpropState, rmsprop
from fromax._schedule_free import (
    ScheduleFreeState,
    schedule_free_adamw,
    schedule_free_eval_params,
    schedule_free_sgd,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "ANY",
    "NONNEGATIVE",
    "POSITIVE",
    "AdafactorState",
    "AdagradState",
    "Bounds",
    "FromageState",
    "GradientTransformation",
    "LionState",
    "MadamState",
    "NeroState",
    "RMSpropState",
    "ScheduleFreeState",
    "TransformState",
    "adafactor",
    "adagrad",
    "apply_updates",
    "chain",
    "fromage",
    "fromage_update",
    "hyperparams",
    "lion",
    "madam",
    "nero",
    "nero_project",
    "rmsprop",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "scheduled_transformation",
    "schedules",
    "set_hyperparams",
]
