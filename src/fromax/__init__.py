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
from fromax._checkpoint import load_checkpoint_metadata, restore_checkpoint, save_checkpoint
from fromax._core._bounds import ANY, NONNEGATIVE, POSITIVE, Bounds
from fromax._core._hyperparams import (
    TransformState,
    hyperparams,
    scheduled_transformation,
    set_hyperparams,
)
from fromax._core._numerics import bias_correction
from fromax._core._transformation import GradientTransformation, apply_updates, chain
from fromax.optimizers import (
    AdafactorState,
    AdagradState,
    AdamState,
    FromageState,
    LarsState,
    LionState,
    MadamState,
    NeroState,
    RMSpropState,
    ScheduleFreeState,
    SgdState,
    adafactor,
    adagrad,
    adam,
    adam_direction,
    adamw,
    fromage,
    fromage_update,
    lamb,
    lars,
    lion,
    madam,
    nadam,
    nero,
    nero_project,
    rmsprop,
    scale_by_adam,
    scale_by_trust_ratio,
    schedule_free_adamw,
    schedule_free_eval_params,
    schedule_free_sgd,
    sgd,
    trust_ratio,
)
from fromax.transforms import (
    AccumulateState,
    MaskedState,
    SkipNonfiniteState,
    TraceState,
    accumulate_gradients,
    add_decayed_weights,
    all_finite,
    clip,
    clip_by_global_norm,
    global_norm,
    masked,
    momentum_update,
    scale_by_learning_rate,
    skip_nonfinite,
    trace,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "ANY",
    "NONNEGATIVE",
    "POSITIVE",
    "AccumulateState",
    "AdafactorState",
    "AdagradState",
    "AdamState",
    "Bounds",
    "FromageState",
    "GradientTransformation",
    "LarsState",
    "LionState",
    "MadamState",
    "MaskedState",
    "NeroState",
    "RMSpropState",
    "ScheduleFreeState",
    "SgdState",
    "SkipNonfiniteState",
    "TraceState",
    "TransformState",
    "accumulate_gradients",
    "adafactor",
    "adagrad",
    "adam",
    "adam_direction",
    "adamw",
    "add_decayed_weights",
    "all_finite",
    "apply_updates",
    "bias_correction",
    "chain",
    "clip",
    "clip_by_global_norm",
    "fromage",
    "fromage_update",
    "global_norm",
    "hyperparams",
    "lamb",
    "lars",
    "lion",
    "load_checkpoint_metadata",
    "madam",
    "masked",
    "momentum_update",
    "nadam",
    "nero",
    "nero_project",
    "restore_checkpoint",
    "rmsprop",
    "save_checkpoint",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_trust_ratio",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "scheduled_transformation",
    "schedules",
    "set_hyperparams",
    "sgd",
    "skip_nonfinite",
    "trace",
    "trust_ratio",
]
