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
from fromax._base import GradientTransformation, apply_updates, chain
from fromax._checkpoint import load_checkpoint_metadata, restore_checkpoint, save_checkpoint
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

__version__ = "0.1.0.dev0"

__all__ = [
    "ANY",
    "NONNEGATIVE",
    "POSITIVE",
    "Bounds",
    "FromageState",
    "GradientTransformation",
    "TransformState",
    "apply_updates",
    "chain",
    "fromage",
    "fromage_update",
    "hyperparams",
    "load_checkpoint_metadata",
    "restore_checkpoint",
    "save_checkpoint",
    "scheduled_transformation",
    "schedules",
    "set_hyperparams",
]
