"""fromax: optimisers for JAX whose every hyperparameter takes a constant or a schedule.

Hyperparameters are data: each optimiser's state holds its step counter, the
schedule of every hyperparameter, and the values its latest update used.

Example:
    >>> import jax.numpy as jnp, fromax
    >>> from fromax import optimizers, schedules, transforms
    >>> opt = fromax.fromage(schedules.warmup_cosine_decay(0.0, 1e-2, 100, 1000))
    >>> state = opt.init({"w": jnp.ones(4)})
    >>> sorted(fromax.hyperparams(state))
    ['learning_rate']
"""

from fromax import optimizers, schedules, transforms
from fromax._checkpoint import load_checkpoint_metadata, restore_checkpoint, save_checkpoint
from fromax._core._bounds import ANY, NONNEGATIVE, POSITIVE, Bounds
from fromax._core._hyperparams import (
    TransformState,
    hyperparams,
    scheduled_transformation,
    set_hyperparams,
)
from fromax._core._numerics import bias_correction
from fromax._core._storage import StochasticRounding
from fromax._core._transformation import GradientTransformation, apply_updates, chain
from fromax._flax import install as _install_flax
from fromax._flax import register_flax_serialization
from fromax.optimizers import *  # noqa: F403
from fromax.transforms import *  # noqa: F403

__version__ = "0.1.0.dev0"

__all__ = [
    "ANY",
    "NONNEGATIVE",
    "POSITIVE",
    "Bounds",
    "GradientTransformation",
    "StochasticRounding",
    "TransformState",
    "apply_updates",
    "bias_correction",
    "chain",
    "hyperparams",
    "load_checkpoint_metadata",
    "register_flax_serialization",
    "restore_checkpoint",
    "save_checkpoint",
    "scheduled_transformation",
    "schedules",
    "set_hyperparams",
]
# The optimisers' and the transforms' public names are listed once, in their packages.
__all__ += optimizers.__all__
__all__ += transforms.__all__

_install_flax()  # registers fromax's states with flax.serialization when Flax is there
